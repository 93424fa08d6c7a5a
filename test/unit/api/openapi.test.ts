import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { adminApiDocument } from '../../../src/api/openapi';

describe('the admin API OpenAPI document', () => {
  it('in the repository is the one the routes generate (npm run openapi rewrites it)', async () => {
    const committed = readFileSync(join(__dirname, '..', '..', '..', 'openapi', 'admin-api.yaml'), 'utf8');
    expect(committed).toBe(await adminApiDocument());
  });

  it('is OpenAPI 3.1 with bearer security and every /v1 route', async () => {
    const document = parse(await adminApiDocument()) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
    };
    expect(document.openapi).toBe('3.1.0');
    expect(
      Object.entries(document.paths)
        .flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`))
        .sort(),
    ).toEqual([
      'DELETE /v1/tenants/{tenantId}/user-blocks/{user}',
      'GET /v1/tenants/{tenantId}/balance',
      'GET /v1/tenants/{tenantId}/forecast',
      'GET /v1/tenants/{tenantId}/sessions',
      'GET /v1/tenants/{tenantId}/statement',
      'GET /v1/tenants/{tenantId}/usage',
      'GET /v1/tenants/{tenantId}/user-limits',
      'POST /v1/authorize',
      'POST /v1/rerates',
      'POST /v1/sessions',
      'POST /v1/sessions/{usageId}/end',
      'POST /v1/sessions/{usageId}/update',
      'POST /v1/tenants/{tenantId}/adjustments',
      'POST /v1/tenants/{tenantId}/api-keys',
      'POST /v1/tenants/{tenantId}/purchases',
      'PUT /v1/tenants/{tenantId}',
      'PUT /v1/tenants/{tenantId}/auto-recharge',
      'PUT /v1/tenants/{tenantId}/payment-method',
      'PUT /v1/tenants/{tenantId}/user-limits',
    ]);
  });
});
