import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { App } from '../../src/app';
import { uniqueName } from '../support/stack';
import { startApiApp } from '../support/api-app';

const OPERATOR = 'operator-secret-token-for-tests';

describe('admin API /v1 on the running service', () => {
  let app: App;

  beforeAll(async () => {
    app = await startApiApp({
      operatorToken: OPERATOR,
      keyPrefix: `${uniqueName('api')}:`,
      env: { PAYMENT_GATEWAY: 'simulated' },
    });
  });
  afterAll(() => app.stop());

  const call = async (method: string, path: string, body?: unknown, token: string | null = OPERATOR) => {
    const response = await fetch(`${app.url}${path}`, {
      method,
      headers: {
        ...(body ? { 'content-type': 'application/json' } : {}),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  const contoso = {
    billingMode: 'prepaid',
    currency: 'USD',
    lowBalanceThreshold: '5.00',
    autoRecharge: { enabled: true, triggerAmount: '2.00', rechargeAmount: '20.00', monthlyCap: 3 },
    paymentMethodRef: 'pm_card_visa',
    adminContacts: ['admin@contoso.example'],
    licences: [{ capability: 'MCOPSTN1', country: 'US', users: 2 }],
  };

  it('creates a tenant, adds funds once per reference, and shows the balance with its lots', async () => {
    expect(await call('PUT', '/v1/tenants/contoso', contoso)).toEqual({
      status: 201,
      body: { tenantId: 'contoso', status: 'created' },
    });
    expect((await call('PUT', '/v1/tenants/contoso', contoso)).status).toBe(200);

    const funds = {
      adjustmentId: 'inv-1',
      amount: '25.50',
      currency: 'USD',
      reason: 'balance migrated from billing v1',
      madeBy: 'ops@rater.example',
      kind: 'migration',
      purchasedAt: '2026-11-01T00:00:00Z',
    };
    expect(await call('POST', '/v1/tenants/contoso/adjustments', funds)).toEqual({
      status: 201,
      body: {
        adjustmentId: 'inv-1',
        lotId: 'm:inv-1',
        duplicate: false,
        balance: { amount: '25.50', currency: 'USD' },
      },
    });
    expect(await call('POST', '/v1/tenants/contoso/adjustments', funds)).toMatchObject({
      status: 200,
      body: { duplicate: true },
    });

    const balance = await call('GET', '/v1/tenants/contoso/balance');
    expect(balance.status).toBe(200);
    expect(balance.body).toMatchObject({
      billingMode: 'prepaid',
      balance: { amount: '25.50', currency: 'USD' },
      blocked: false,
      autoRecharge: {
        enabled: true,
        triggerAmount: { amount: '2.00', currency: 'USD' },
        rechargeAmount: { amount: '20.00', currency: 'USD' },
        monthlyCap: 3,
      },
      lots: [
        {
          lotId: 'm:inv-1',
          source: 'manual',
          amount: { amount: '25.50', currency: 'USD' },
          expiresAt: '2027-11-01T00:00:00.000Z',
          status: 'active',
        },
      ],
    });
  });

  it('answers 401 without credentials and 403 across tenants; a tenant key reaches its own tenant only', async () => {
    await call('PUT', '/v1/tenants/fabrikam', { billingMode: 'prepaid', currency: 'EUR' });
    expect((await call('GET', '/v1/tenants/contoso/balance', undefined, null)).status).toBe(401);
    expect((await call('GET', '/v1/tenants/contoso/balance', undefined, 'wrong')).status).toBe(401);
    // Credentials first: a stranger learns nothing of what a valid request would look like.
    expect((await call('PUT', '/v1/tenants/contoso', { currency: 'nope' }, null)).status).toBe(401);
    expect((await call('GET', '/v1/tenants/%7Bt:evil%7D/balance', undefined, null)).status).toBe(401);

    const key = await call('POST', '/v1/tenants/contoso/api-keys');
    expect(key.status).toBe(201);
    const apiKey = key.body.apiKey as string;
    expect(apiKey).toMatch(/^rtk\.contoso\.[0-9a-f]{12}\./);
    expect((await call('GET', '/v1/tenants/contoso/balance', undefined, apiKey)).status).toBe(200);
    expect(await call('GET', '/v1/tenants/fabrikam/balance', undefined, apiKey)).toMatchObject({
      status: 403,
      body: { error: 'forbidden' },
    });
    expect((await call('PUT', '/v1/tenants/contoso', contoso, apiKey)).status).toBe(403);
    expect((await call('PUT', '/v1/tenants/contoso', { extra: 1 }, apiKey)).status).toBe(403);
    expect(
      (await call('POST', '/v1/authorize', { tenantId: 'fabrikam', callType: 'nope' }, apiKey)).status,
    ).toBe(403);
    // One character changed (never to itself: a key ends in 'x' one time in 64).
    const tampered = `${apiKey.slice(0, -1)}${apiKey.endsWith('x') ? 'y' : 'x'}`;
    expect((await call('GET', '/v1/tenants/contoso/balance', undefined, tampered)).status).toBe(401);
  });

  it('creates a tenant only in a currency every deck kind is priced in', async () => {
    // GBP is an ISO 4217 currency, but the shipped decks price USD and EUR only: a GBP
    // tenant's every call would be dead-lettered, so it is refused, and nothing is created.
    expect(await call('PUT', '/v1/tenants/tailspin', { ...contoso, currency: 'GBP' })).toEqual({
      status: 400,
      body: {
        error: 'bad_request',
        message:
          'body/currency GBP has no outbound, conference_dialout, tollfree_dialin deck: its calls could not be rated',
      },
    });
    expect((await call('GET', '/v1/tenants/tailspin/balance')).status).toBe(404);
    expect((await call('PUT', '/v1/tenants/tailspin', { ...contoso, currency: 'EUR' })).status).toBe(201);
  });

  it('refuses bad requests with a 4xx that names the field, and changes nothing', async () => {
    const bad = [
      ['PUT', '/v1/tenants/contoso', { ...contoso, currency: 'usd' }, 'body/currency'],
      ['PUT', '/v1/tenants/contoso', { ...contoso, currency: 'XAU' }, 'body/currency XAU is not an ISO 4217'],
      [
        'POST',
        '/v1/tenants/contoso/adjustments',
        { adjustmentId: 'x', amount: '1', currency: 'AAA', reason: 'r', madeBy: 'm' },
        'body/currency AAA is not an ISO 4217 currency',
      ],
      ['PUT', '/v1/tenants/contoso', { ...contoso, adminContacts: ['not-an-email'] }, 'body/adminContacts/0'],
      ['PUT', '/v1/tenants/contoso', { ...contoso, extra: 1 }, 'must NOT have additional properties'],
      [
        'POST',
        '/v1/tenants/contoso/adjustments',
        { adjustmentId: 'x', amount: '-5', currency: 'USD', reason: 'r', madeBy: 'm' },
        'body/amount',
      ],
      [
        'POST',
        '/v1/tenants/contoso/adjustments',
        { adjustmentId: 'x', amount: '1.001', currency: 'USD', reason: 'r', madeBy: 'm' },
        'body/amount',
      ],
      [
        'POST',
        '/v1/tenants/contoso/adjustments',
        { adjustmentId: 'a b', amount: '1', currency: 'USD', reason: 'r', madeBy: 'm' },
        'body/adjustmentId',
      ],
      ['GET', '/v1/tenants/%7Bt:evil%7D/balance', undefined, 'params/tenantId'],
      // More decimals than the currency has, an amount past the ledger's exact range, and
      // funds bought in the future (they would expire later than 12 months after payment).
      [
        'PUT',
        '/v1/tenants/contoso',
        { ...contoso, lowBalanceThreshold: '5.001' },
        'body/lowBalanceThreshold',
      ],
      [
        'PUT',
        '/v1/tenants/contoso',
        { ...contoso, autoRecharge: { enabled: true, rechargeAmount: '1000000000' } },
        'body/autoRecharge/rechargeAmount',
      ],
      [
        'PUT',
        '/v1/tenants/contoso/auto-recharge',
        { enabled: true, rechargeAmount: '1.001' },
        'body/rechargeAmount',
      ],
      [
        'POST',
        '/v1/tenants/contoso/adjustments',
        {
          adjustmentId: 'x',
          amount: '1',
          currency: 'USD',
          reason: 'r',
          madeBy: 'm',
          kind: 'migration',
          purchasedAt: '9999-12-31T23:59:59Z',
        },
        'body/purchasedAt',
      ],
    ] as const;
    for (const [method, path, body, field] of bad) {
      const response = await call(method, path, body);
      expect([path, response.status]).toEqual([path, 400]);
      expect(String(response.body.message)).toContain(field);
    }
    expect((await call('GET', '/v1/tenants/contoso/balance')).body).toMatchObject({
      balance: { amount: '25.50' },
    });
    expect(
      (
        await call('POST', '/v1/tenants/contoso/adjustments', {
          adjustmentId: 'y',
          amount: '1',
          currency: 'EUR',
          reason: 'r',
          madeBy: 'm',
        })
      ).status,
    ).toBe(409);
    expect((await call('GET', '/v1/tenants/nobody/balance')).status).toBe(404);
  });

  it('authorizes calls: how long the balance pays for, emergency always', async () => {
    const ask = (body: object) =>
      call('POST', '/v1/authorize', { tenantId: 'contoso', startDateTime: '2026-11-24T10:00:00Z', ...body });
    // 25.50 USD at 0.1116 a minute to a UK mobile: 228 whole minutes cost 25.44, 229 cost 25.56.
    expect(
      await ask({
        callType: 'user_out',
        calleeNumber: '+447911123456',
        licenseCapability: 'MCOPSTNPP',
        usageCountryCode: 'US',
      }),
    ).toEqual({
      status: 200,
      body: {
        allowed: true,
        reason: 'covered',
        maxSeconds: 228 * 60,
        balance: { amount: '25.50', currency: 'USD' },
      },
    });
    expect(
      await ask({ tenantId: 'fabrikam', callType: 'user_out', calleeNumber: '+447911123456' }),
    ).toMatchObject({
      status: 200,
      body: { allowed: false, reason: 'balance_depleted', maxSeconds: 0 },
    });
    expect(await ask({ tenantId: 'fabrikam', callType: 'emergency', calleeNumber: '+49112' })).toMatchObject({
      body: { allowed: true, reason: 'emergency', maxSeconds: null },
    });
    expect((await ask({ callType: 'user_out', calleeNumber: 'nope' })).status).toBe(400);
    expect(
      await ask({ callType: 'user_out', calleeNumber: '+447911123456', destinationContext: { x: 1 } }),
    ).toMatchObject({ status: 400, body: { message: expect.stringContaining('body/destinationContext') } });
  });

  it('lets a tenant admin set auto-recharge and the payment method, and refuses what cannot work', async () => {
    const apiKey = (await call('POST', '/v1/tenants/contoso/api-keys')).body.apiKey as string;
    expect(
      await call(
        'PUT',
        '/v1/tenants/contoso/auto-recharge',
        { enabled: true, triggerAmount: '3.00', rechargeAmount: '30.00' },
        apiKey,
      ),
    ).toEqual({
      status: 200,
      body: { tenantId: 'contoso', status: 'updated' },
    });
    expect(
      await call('PUT', '/v1/tenants/contoso/payment-method', { paymentMethodRef: 'pm_new_card' }, apiKey),
    ).toMatchObject({ status: 200 });
    const balance = await call('GET', '/v1/tenants/contoso/balance', undefined, apiKey);
    expect(balance.body).toMatchObject({
      autoRecharge: {
        enabled: true,
        triggerAmount: { amount: '3.00' },
        rechargeAmount: { amount: '30.00' },
        monthlyCap: 3,
      },
    });
    expect((await app.ledger.reads.readAccount('contoso'))!.settings.paymentMethodRef).toBe('pm_new_card');
    expect(
      await call('PUT', '/v1/tenants/contoso/auto-recharge', { enabled: true, rechargeAmount: '0' }, apiKey),
    ).toMatchObject({
      status: 400,
      body: { message: 'body/rechargeAmount must be more than zero to enable auto-recharge' },
    });
    expect((await call('PUT', '/v1/tenants/fabrikam/auto-recharge', { enabled: false }, apiKey)).status).toBe(
      403,
    );
  });

  it('lists applied usage with totals per period, and a postpaid statement', async () => {
    await call('PUT', '/v1/tenants/adatum', { billingMode: 'postpaid', currency: 'USD' });
    // Calls that started a moment ago: the listing is by the calls' start.
    const now = Date.now();
    const started = new Date(now - 30_000);
    const period = started.toISOString().slice(0, 7);
    const usage = (id: string, charge: bigint) => ({
      id,
      start: started,
      source: 'postpaid' as const,
      charge,
      pool: '',
      poolSeconds: 0,
      period,
    });
    await app.ledger.writes.applyUsage('adatum', {
      currency: 'USD',
      poolUse: {},
      usages: [usage('a1', 125n), usage('a2', 10n), usage('a3', 1n)],
    });

    const range = `from=${new Date(now - 60_000).toISOString()}&to=${new Date(now + 60_000).toISOString()}`;
    const first = await call('GET', `/v1/tenants/adatum/usage?${range}&limit=2`);
    expect(first.status).toBe(200);
    expect((first.body.items as { usageId: string }[]).map((i) => i.usageId).sort()).toHaveLength(2);
    expect(first.body.nextCursor).toBe('2');
    const second = await call('GET', `/v1/tenants/adatum/usage?${range}&limit=2&cursor=2`);
    expect((second.body.items as unknown[]).length).toBe(1);
    expect(second.body.nextCursor).toBeNull();

    expect(await call('GET', `/v1/tenants/adatum/statement?period=${period}`)).toEqual({
      status: 200,
      body: {
        tenantId: 'adatum',
        period,
        billingMode: 'postpaid',
        usage: { postpaid: { count: 3, charge: { amount: '1.36', currency: 'USD' }, poolSeconds: 0 } },
        amountOwed: { amount: '1.36', currency: 'USD' },
      },
    });
    expect((await call('GET', '/v1/tenants/adatum/statement?period=2026-13')).status).toBe(400);
    expect(
      (await call('GET', `/v1/tenants/adatum/usage?from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z`))
        .status,
    ).toBe(400);
  });

  it('is reachable from the rater command line', async () => {
    // Not spawnSync: the service answering the command runs in this very process.
    const cli = (...args: string[]) =>
      new Promise<{ status: number | null; stdout: string }>((resolve) => {
        const child = spawn(process.execPath, [
          '--require',
          'tsx/cjs',
          join(__dirname, '..', '..', 'src', 'cli.ts'),
          'tenant',
          '--url',
          app.url,
          '--token',
          OPERATOR,
          ...args,
        ]);
        let stdout = '';
        child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        child.on('exit', (status) => resolve({ status, stdout }));
      });
    const funded = await cli(
      'adjust',
      'contoso',
      '--amount',
      '1.25',
      '--currency',
      'USD',
      '--id',
      'cli-1',
      '--reason',
      'goodwill',
      '--made-by',
      'ops',
    );
    expect(funded.status).toBe(0);
    expect(JSON.parse(funded.stdout)).toMatchObject({ lotId: 'm:cli-1', duplicate: false });
    const shown = await cli('show', 'contoso', '--json');
    expect(JSON.parse(shown.stdout)).toMatchObject({
      tenantId: 'contoso',
      balance: { amount: '26.75', currency: 'USD' },
    });
    expect((await cli('show', 'nobody')).status).toBe(1);
  });
  it('takes the bearer scheme in any case, and refuses credentials in the query string naming the parameter', async () => {
    const raw = (path: string, authorization?: string) =>
      fetch(`${app.url}${path}`, { headers: authorization ? { authorization } : {} });
    for (const scheme of ['bearer', 'BEARER', 'Bearer', 'bEaReR']) {
      expect([scheme, (await raw('/v1/tenants/contoso/balance', `${scheme} ${OPERATOR}`)).status]).toEqual([
        scheme,
        200,
      ]);
    }
    expect((await raw('/v1/tenants/contoso/balance', `Basic ${OPERATOR}`)).status).toBe(401);
    expect((await raw('/v1/tenants/contoso/balance', `Bearer${OPERATOR}`)).status).toBe(401);

    for (const parameter of ['access_token', 'api_key', 'token', 'apiKey']) {
      // Refused even with a valid header beside it, and even with the valid token.
      const response = await raw(
        `/v1/tenants/contoso/balance?${parameter}=${OPERATOR}`,
        `Bearer ${OPERATOR}`,
      );
      expect([parameter, response.status, await response.json()]).toEqual([
        parameter,
        400,
        {
          error: 'bad_request',
          message: `query parameter ${parameter}: credentials are refused in the URL; send Authorization: Bearer <token>`,
        },
      ]);
    }
    // Other parameters are the route's own business.
    const usage = '/v1/tenants/contoso/usage?from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00Z&limit=5';
    expect((await raw(usage, `Bearer ${OPERATOR}`)).status).toBe(200);
  });

  it('answers a body that is not JSON with 415', async () => {
    const response = await fetch(`${app.url}/v1/tenants/contoso/adjustments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'text/plain' },
      body: 'paymentRef=inv-9&amount=1.00',
    });
    expect(response.status).toBe(415);
    const form = await fetch(`${app.url}/v1/tenants/contoso/adjustments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'paymentRef=inv-9&amount=1.00',
    });
    expect(form.status).toBe(415);
  });
});
