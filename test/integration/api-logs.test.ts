import type { App } from '../../src/app';
import { createLogger } from '../../src/observability/logs';
import { uniqueName } from '../support/stack';
import { startApiApp } from '../support/api-app';

const OPERATOR = 'operator-secret-token-for-log-tests';

describe('admin API request logs', () => {
  let app: App;
  let output = '';

  beforeAll(async () => {
    // The service's own logger at its most verbose, writing to memory.
    const logger = createLogger('trace', { write: (line: string) => void (output += line) });
    app = await startApiApp({
      operatorToken: OPERATOR,
      keyPrefix: `${uniqueName('logs')}:`,
      logger,
      env: { PAYMENT_GATEWAY: 'simulated' },
    });
  });
  afterAll(() => app.stop());

  const call = async (method: string, path: string, token: string, body?: unknown) => {
    const response = await fetch(`${app.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const lines = () =>
    output
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  const completed = (url: string, method: string) => {
    const incoming = lines().find(
      (l) =>
        l.msg === 'incoming request' &&
        (l.req as { url: string; method: string }).url === url &&
        (l.req as { method: string }).method === method,
    )!;
    return lines().find((l) => l.msg === 'request completed' && l.reqId === incoming.reqId)!;
  };

  it('name the tenant and who asked, and never carry a token or an API key', async () => {
    expect(
      (
        await call('PUT', '/v1/tenants/contoso', OPERATOR, {
          billingMode: 'prepaid',
          currency: 'USD',
          paymentMethodRef: 'pm_sim_visa',
        })
      ).status,
    ).toBe(201);
    const created = await call('POST', '/v1/tenants/contoso/api-keys', OPERATOR);
    expect(created.status).toBe(201);
    const apiKey = String(created.body.apiKey);
    const keyId = String(created.body.keyId);
    expect((await call('GET', '/v1/tenants/contoso/balance', apiKey)).status).toBe(200);
    const purchase = { purchaseId: 'inv-1', amount: '5.00', currency: 'USD' };
    expect((await call('POST', '/v1/tenants/contoso/purchases', apiKey, purchase)).status).toBe(201);
    const call1 = { tenantId: 'contoso', callType: 'user_out', calleeNumber: '+447911123456' };
    expect((await call('POST', '/v1/authorize', apiKey, call1)).status).toBe(200);
    expect((await call('GET', '/v1/tenants/contoso/balance', `${apiKey}x`)).status).toBe(401);
    expect((await call('GET', '/v1/tenants/fabrikam/balance', apiKey)).status).toBe(403);

    expect(completed('/v1/tenants/contoso', 'PUT')).toMatchObject({
      tenantId: 'contoso',
      principal: 'operator',
      res: { statusCode: 201 },
    });
    expect(completed('/v1/tenants/contoso/api-keys', 'POST')).toMatchObject({
      tenantId: 'contoso',
      principal: 'operator',
    });
    expect(completed('/v1/tenants/contoso/purchases', 'POST')).toMatchObject({
      tenantId: 'contoso',
      principal: 'tenant_key',
      keyId,
      res: { statusCode: 201 },
    });
    expect(completed('/v1/tenants/fabrikam/balance', 'GET')).toMatchObject({
      tenantId: 'fabrikam',
      principal: 'tenant_key',
      keyId,
      res: { statusCode: 403 },
    });
    const balanceLines = lines().filter(
      (l) => (l.req as { url?: string } | undefined)?.url === '/v1/tenants/contoso/balance',
    );
    expect(balanceLines.length).toBeGreaterThanOrEqual(2);
    // The request line shows the headers, the credentials redacted.
    for (const l of balanceLines) {
      expect(l.tenantId).toBe('contoso');
      expect((l.req as { headers: Record<string, string> }).headers.authorization).toBe('[redacted]');
    }
    const rejected = lines().filter((l) => l.principal === 'none');
    expect(rejected).toEqual([expect.objectContaining({ tenantId: 'contoso', res: { statusCode: 401 } })]);

    expect(output).toContain('"tenantId":"contoso"');
    expect(output).not.toContain(OPERATOR);
    expect(output).not.toContain(apiKey);
    expect(output).not.toContain(apiKey.slice(apiKey.lastIndexOf('.') + 1));
  });
  it('never log a credential from the query string, refused or not, and no URL logged carries one', async () => {
    output = '';
    const secret = 'query-string-secret-0123456789';
    const urls = [
      `/v1/tenants/contoso/balance?access_token=${secret}`,
      `/v1/tenants/contoso/usage?limit=2&api_key=${secret}`,
      `/no/such/route?token=${secret}&x=1`,
      `/v1/tenants/contoso/balance?Access_Token=${secret}`,
    ];
    for (const url of urls) {
      const response = await fetch(`${app.url}${url}`, { headers: { authorization: `Bearer ${OPERATOR}` } });
      expect([url, response.status]).toEqual([url, 400]);
    }
    expect(output).not.toContain(secret);
    const logged = lines()
      .map((l) => (l.req as { url?: string } | undefined)?.url)
      .filter((u) => u !== undefined);
    expect(logged).toEqual(
      expect.arrayContaining([
        '/v1/tenants/contoso/balance?access_token=[redacted]',
        '/v1/tenants/contoso/usage?limit=2&api_key=[redacted]',
        '/no/such/route?token=[redacted]&x=1',
      ]),
    );
  });
});
