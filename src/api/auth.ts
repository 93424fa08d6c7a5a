import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Who a request is: the operator (every tenant) or one tenant's API key (that tenant only). */
export type Principal = { kind: 'operator' } | { kind: 'tenant'; tenantId: string; keyId: string };

export const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/** Compares digests in constant time (both are SHA-256, so the lengths always match). */
export const sameDigest = (a: Buffer, b: Buffer): boolean => a.length === b.length && timingSafeEqual(a, b);

/** A new tenant API key: `rtk.<tenant>.<key id>.<secret>`; only its SHA-256 is stored. */
export function newApiKey(tenantId: string): { keyId: string; token: string; digest: string } {
  const keyId = randomBytes(6).toString('hex');
  const token = `rtk.${tenantId}.${keyId}.${randomBytes(24).toString('base64url')}`;
  return { keyId, token, digest: sha256(token).toString('hex') };
}

const API_KEY = /^rtk\.([A-Za-z0-9][A-Za-z0-9._-]{0,63})\.([0-9a-f]{12})\.[A-Za-z0-9_-]{32}$/;

/** The tenant and key id a bearer token claims, before it is checked against the stored digest. */
export function parseApiKey(token: string): { tenantId: string; keyId: string } | undefined {
  const match = API_KEY.exec(token);
  return match ? { tenantId: match[1]!, keyId: match[2]! } : undefined;
}
