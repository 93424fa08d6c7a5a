/** Tenant ids reach Redis key names: only this alphabet gets there (no braces, colons or spaces). */
export const TENANT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export const TENANT_ID_RULE = '1-64 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit';

export class InvalidIdError extends Error {
  override readonly name = 'InvalidIdError';
}

export const isTenantId = (value: unknown): value is string =>
  typeof value === 'string' && TENANT_ID_PATTERN.test(value);

export function assertTenantId(tenantId: string): void {
  if (!isTenantId(tenantId)) {
    throw new InvalidIdError(`invalid tenant id ${JSON.stringify(tenantId)}: ${TENANT_ID_RULE}`);
  }
}
