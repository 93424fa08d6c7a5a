import type { App } from '../../src/app';
import { AccountSettings, MAX_TOTAL_MINOR } from '../../src/credits/wallet';
import { poolCapacities } from '../../src/rating';
import { shippedBook, startApiApp } from '../support/api-app';
import { uniqueName } from '../support/stack';

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const OPERATOR = 'operator-secret-token-for-settings-races';
const ROUNDS = 20;

/**
 * Concurrent settings changes on the real HTTP API and real Redis: each pair of requests is
 * sent at once, ROUNDS times on a fresh tenant, and every change that was answered 200 must be
 * in the stored settings afterwards, every round (issue 11, item 3: read-modify-write from
 * TypeScript lost one change in 3 to 9 rounds of 20).
 */
describe('concurrent settings changes never undo each other', () => {
  let app: App;

  beforeAll(async () => {
    app = await startApiApp({ operatorToken: OPERATOR, keyPrefix: `${uniqueName('races')}:` });
  });
  afterAll(() => app.stop());

  const call = async (method: string, path: string, body?: unknown, token = OPERATOR) => {
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

  const licences = [{ capability: 'MCOPSTN1', country: 'US', users: 2 }];
  const moreLicences = [
    { capability: 'MCOPSTN1', country: 'US', users: 5 },
    { capability: 'MCOPSTN6', country: 'GB', users: 1 },
  ];
  const base = {
    billingMode: 'prepaid',
    currency: 'USD',
    lowBalanceThreshold: '1.00',
    autoRecharge: { enabled: false, triggerAmount: '1.00', rechargeAmount: '10.00' },
    paymentMethodRef: 'pm_old_card',
    adminContacts: ['admin@race.example'],
    licences,
  };

  /** A fresh tenant with the base settings and an API key of its own. */
  const freshTenant = async (name: string) => {
    const tenant = uniqueName(name);
    expect((await call('PUT', `/v1/tenants/${tenant}`, base)).status).toBe(201);
    const key = await call('POST', `/v1/tenants/${tenant}/api-keys`);
    return { tenant, key: key.body.apiKey as string };
  };
  const sameEntries = (a: Record<string, number>, b: Record<string, number>) =>
    JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());
  const settingsOf = async (tenant: string): Promise<AccountSettings> =>
    (await app.ledger.reads.readAccount(tenant))!.settings;

  /**
   * Runs `race` ROUNDS times and returns what each round lost (an empty list when nothing
   * was): a list of every loss, so a failure shows how often and what.
   */
  /** Every request answered 200, or what each answered instead. */
  const answered = (replies: Record<string, { status: number; body: unknown }>) =>
    Object.entries(replies).flatMap(([name, r]) =>
      r.status === 200 ? [] : [`${name} answered ${r.status} ${JSON.stringify(r.body)}`],
    );

  const rounds = async (race: (round: number) => Promise<string[]>) => {
    const lost: string[] = [];
    for (let round = 0; round < ROUNDS; round++)
      for (const loss of await race(round)) lost.push(`round ${round}: ${loss}`);
    return lost;
  };

  it('keeps the payment method and the auto-recharge settings a tenant changes at once', async () => {
    const lost = await rounds(async (round) => {
      const { tenant, key } = await freshTenant('pm-ar');
      const [pm, ar] = await Promise.all([
        call('PUT', `/v1/tenants/${tenant}/payment-method`, { paymentMethodRef: `pm_new_${round}` }, key),
        call(
          'PUT',
          `/v1/tenants/${tenant}/auto-recharge`,
          { enabled: true, triggerAmount: '5.00', rechargeAmount: '20.00' },
          key,
        ),
      ]);
      const s = await settingsOf(tenant);
      return [
        ...answered({ pm, ar }),
        ...(s.paymentMethodRef === `pm_new_${round}` ? [] : [`payment method ${s.paymentMethodRef}`]),
        ...(s.autoRecharge.enabled && s.autoRecharge.trigger === 500n && s.autoRecharge.amount === 2000n
          ? []
          : [`auto-recharge ${JSON.stringify(s.autoRecharge, (_, v: unknown) => String(v))}`]),
      ];
    });
    expect(lost).toEqual([]);
  });

  it("keeps a tenant's payment method and auto-recharge beside the operator's PUT of other settings", async () => {
    const lost = await rounds(async (round) => {
      const { tenant, key } = await freshTenant('op-tenant');
      // The operator's PUT names neither the payment method nor auto-recharge: both are kept.
      const operatorPut = { billingMode: 'prepaid', currency: 'USD', lowBalanceThreshold: '7.00' };
      const [op, pm, ar] = await Promise.all([
        call('PUT', `/v1/tenants/${tenant}`, operatorPut),
        call('PUT', `/v1/tenants/${tenant}/payment-method`, { paymentMethodRef: `pm_new_${round}` }, key),
        call('PUT', `/v1/tenants/${tenant}/auto-recharge`, { enabled: true, rechargeAmount: '30.00' }, key),
      ]);
      const s = await settingsOf(tenant);
      return [
        ...answered({ op, pm, ar }),
        ...(s.lowBalanceThreshold === 700n ? [] : [`low-balance threshold ${s.lowBalanceThreshold}`]),
        ...(s.paymentMethodRef === `pm_new_${round}` ? [] : [`payment method ${s.paymentMethodRef}`]),
        ...(s.autoRecharge.enabled && s.autoRecharge.amount === 3000n
          ? []
          : [`auto-recharge enabled ${s.autoRecharge.enabled} amount ${s.autoRecharge.amount}`]),
      ];
    });
    expect(lost).toEqual([]);
  });

  it("keeps the operator's switch to postpaid beside a tenant's payment method and auto-recharge changes", async () => {
    const answers = new Map<number, number>();
    const lost = await rounds(async (round) => {
      const { tenant, key } = await freshTenant('postpaid');
      const [op, pm, ar] = await Promise.all([
        // The operator's credentials need no Redis look-up, so its request tends to come first:
        // held back a few milliseconds in some rounds, the tenant's come first too.
        delay(round % 4).then(() =>
          call('PUT', `/v1/tenants/${tenant}`, { billingMode: 'postpaid', currency: 'USD' }),
        ),
        call('PUT', `/v1/tenants/${tenant}/payment-method`, { paymentMethodRef: `pm_new_${round}` }, key),
        call('PUT', `/v1/tenants/${tenant}/auto-recharge`, { enabled: true, rechargeAmount: '20.00' }, key),
      ]);
      // Enabling auto-recharge after the switch is refused (postpaid tenants buy no credits);
      // before it, it is accepted and the switch turns it off. Either way: never both.
      answers.set(ar.status, (answers.get(ar.status) ?? 0) + 1);
      const refusedAsConflict =
        ar.status === 409 &&
        JSON.stringify(ar.body) ===
          JSON.stringify({
            error: 'settings_conflict',
            message: 'body/enabled: auto-recharge is for prepaid tenants only',
          });
      const s = await settingsOf(tenant);
      return [
        ...answered({ op, pm }),
        ...(ar.status === 200 || refusedAsConflict
          ? []
          : [`ar answered ${ar.status} ${JSON.stringify(ar.body)}`]),
        ...(s.mode === 'postpaid' ? [] : [`billing mode ${s.mode}`]),
        ...(s.paymentMethodRef === `pm_new_${round}` ? [] : [`payment method ${s.paymentMethodRef}`]),
        ...(s.autoRecharge.enabled ? ['auto-recharge enabled on a postpaid tenant'] : []),
      ];
    });
    expect(lost).toEqual([]);
    expect([...answers.values()].reduce((a, b) => a + b, 0)).toBe(ROUNDS);
  });

  it("keeps the licence pool sizes an operator sets beside a tenant's changes", async () => {
    const expected = poolCapacities(shippedBook, moreLicences);
    expect(Object.keys(expected)).toHaveLength(2);
    const lost = await rounds(async (round) => {
      const { tenant, key } = await freshTenant('licences');
      const [op, pm, ar] = await Promise.all([
        call('PUT', `/v1/tenants/${tenant}`, {
          billingMode: 'prepaid',
          currency: 'USD',
          licences: moreLicences,
        }),
        call('PUT', `/v1/tenants/${tenant}/payment-method`, { paymentMethodRef: `pm_new_${round}` }, key),
        call('PUT', `/v1/tenants/${tenant}/auto-recharge`, { enabled: true }, key),
      ]);
      const s = await settingsOf(tenant);
      return [
        ...answered({ op, pm, ar }),
        ...(sameEntries(s.poolCapacities, expected)
          ? []
          : [`pool sizes ${JSON.stringify(s.poolCapacities)}`]),
        ...(s.paymentMethodRef === `pm_new_${round}` ? [] : [`payment method ${s.paymentMethodRef}`]),
        ...(s.autoRecharge.enabled && s.autoRecharge.amount === 1000n ? [] : ['auto-recharge']),
      ];
    });
    expect(lost).toEqual([]);
  });
});

describe('settings on the API: what a PUT names, versions, and the rules of the stored state', () => {
  let app: App;

  beforeAll(async () => {
    app = await startApiApp({ operatorToken: OPERATOR, keyPrefix: `${uniqueName('settings')}:` });
  });
  afterAll(() => app.stop());

  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${app.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${OPERATOR}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    return {
      status: response.status,
      etag: response.headers.get('etag'),
      body: (await response.json()) as Record<string, unknown>,
    };
  };

  it("keeps on the operator's PUT what it does not name, and changes the auto-recharge fields it names", async () => {
    await call('PUT', '/v1/tenants/acme', {
      billingMode: 'prepaid',
      currency: 'USD',
      lowBalanceThreshold: '5.00',
      autoRecharge: { enabled: true, triggerAmount: '2.00', rechargeAmount: '20.00', monthlyCap: 3 },
      paymentMethodRef: 'pm_card_visa',
      adminContacts: ['admin@acme.example'],
      licences: [{ capability: 'MCOPSTN1', country: 'US', users: 2 }],
    });
    expect(
      await call('PUT', '/v1/tenants/acme/payment-method', { paymentMethodRef: 'pm_tenant_card' }),
    ).toEqual({ status: 200, etag: '"2"', body: { tenantId: 'acme', status: 'updated' } });
    expect(
      await call('PUT', '/v1/tenants/acme', {
        billingMode: 'prepaid',
        currency: 'USD',
        autoRecharge: { enabled: false },
      }),
    ).toEqual({ status: 200, etag: '"3"', body: { tenantId: 'acme', status: 'updated' } });
    expect((await app.ledger.reads.readAccount('acme'))!.settings).toEqual({
      mode: 'prepaid',
      currency: 'USD',
      lowBalanceThreshold: 500n,
      autoRecharge: {
        enabled: false,
        trigger: 200n,
        amount: 2000n,
        monthlyCap: 3,
        maxConsecutiveFailures: 3,
      },
      paymentMethodRef: 'pm_tenant_card',
      adminContacts: ['admin@acme.example'],
      poolCapacities: poolCapacities(shippedBook, [{ capability: 'MCOPSTN1', country: 'US', users: 2 }]),
      sessionOverdraft: 0n,
    });
    // Named empty, a field is cleared.
    await call('PUT', '/v1/tenants/acme', {
      billingMode: 'prepaid',
      currency: 'USD',
      paymentMethodRef: '',
      licences: [],
    });
    expect((await app.ledger.reads.readAccount('acme'))!.settings).toMatchObject({
      paymentMethodRef: '',
      poolCapacities: {},
    });
  });

  it('answers an ETag, and with If-Match makes a change only on the version read (412 otherwise)', async () => {
    await call('PUT', '/v1/tenants/versioned', { billingMode: 'prepaid', currency: 'EUR' });
    const read = await call('GET', '/v1/tenants/versioned/balance');
    expect(read.etag).toBe('"1"');
    const ifMatch = { 'if-match': read.etag! };
    expect(
      await call('PUT', '/v1/tenants/versioned/payment-method', { paymentMethodRef: 'pm_a' }, ifMatch),
    ).toEqual({ status: 200, etag: '"2"', body: { tenantId: 'versioned', status: 'updated' } });
    const before = await app.ledger.reads.readAccount('versioned');
    expect(
      await call(
        'PUT',
        '/v1/tenants/versioned/auto-recharge',
        { enabled: true, rechargeAmount: '5.00' },
        ifMatch,
      ),
    ).toEqual({
      status: 412,
      etag: null,
      body: {
        error: 'version_mismatch',
        message: 'headers/if-match: the settings changed since; their version is now "2"',
      },
    });
    expect(
      (await call('PUT', '/v1/tenants/versioned', { billingMode: 'postpaid', currency: 'EUR' }, ifMatch))
        .status,
    ).toBe(412);
    // If-Match names a version of an account: there is none to create.
    expect(
      (await call('PUT', '/v1/tenants/unborn', { billingMode: 'prepaid', currency: 'EUR' }, ifMatch)).status,
    ).toBe(412);
    expect(await app.ledger.reads.readAccount('unborn')).toBeUndefined();
    expect(await app.ledger.reads.readAccount('versioned')).toEqual(before);
    const bad = await call(
      'PUT',
      '/v1/tenants/versioned/payment-method',
      { paymentMethodRef: 'pm_b' },
      { 'if-match': 'W/"2"' },
    );
    expect(bad.status).toBe(400);
    expect(String(bad.body.message)).toContain('headers/if-match');
    expect(
      (
        await call(
          'PUT',
          '/v1/tenants/versioned/payment-method',
          { paymentMethodRef: 'pm_b' },
          { 'if-match': '"2"' },
        )
      ).etag,
    ).toBe('"3"');
  });

  it('answers 409 balance_limit to an adjustment that would take the balance past the bound', async () => {
    await call('PUT', '/v1/tenants/rich', { billingMode: 'prepaid', currency: 'USD' });
    await app.ledger.writes.addFunds('rich', {
      paymentRef: 'p0',
      amount: MAX_TOTAL_MINOR - 1n,
      currency: 'USD',
      purchasedAt: new Date(),
    });
    const buy = (ref: string) =>
      call('POST', '/v1/tenants/rich/adjustments', {
        adjustmentId: ref,
        amount: '0.01',
        currency: 'USD',
        reason: 'bound test',
        madeBy: 'ops',
      });
    expect((await buy('p1')).body).toMatchObject({ balance: { amount: '10000000000000.00' } });
    expect(await buy('p2')).toMatchObject({
      status: 409,
      body: { error: 'balance_limit', message: 'the balance would pass 1000000000000000 minor units' },
    });
  });

  it('refuses with 409 what the stored settings do not allow, and with 400 what the request itself does not', async () => {
    await call('PUT', '/v1/tenants/later', { billingMode: 'postpaid', currency: 'USD' });
    await call('PUT', '/v1/tenants/nocash', { billingMode: 'prepaid', currency: 'USD' });
    expect(
      await call('PUT', '/v1/tenants/later/auto-recharge', { enabled: true, rechargeAmount: '5.00' }),
    ).toEqual({
      status: 409,
      etag: null,
      body: {
        error: 'settings_conflict',
        message: 'body/enabled: auto-recharge is for prepaid tenants only',
      },
    });
    expect(await call('PUT', '/v1/tenants/nocash/auto-recharge', { enabled: true })).toMatchObject({
      status: 409,
      body: {
        error: 'settings_conflict',
        message: 'body/rechargeAmount: the recharge amount must be more than zero to enable auto-recharge',
      },
    });
    expect(
      await call('PUT', '/v1/tenants/nocash', {
        billingMode: 'prepaid',
        currency: 'USD',
        autoRecharge: { enabled: true },
      }),
    ).toMatchObject({
      status: 409,
      body: { message: expect.stringContaining('body/autoRecharge/rechargeAmount') },
    });
    expect(
      await call('PUT', '/v1/tenants/nocash', {
        billingMode: 'postpaid',
        currency: 'USD',
        autoRecharge: { enabled: true, rechargeAmount: '5.00' },
      }),
    ).toMatchObject({
      status: 400,
      body: { message: 'body/autoRecharge/enabled: auto-recharge is for prepaid tenants only' },
    });
    expect((await app.ledger.reads.readAccount('nocash'))!.settings).toMatchObject({
      mode: 'prepaid',
      autoRecharge: { enabled: false },
    });
    expect((await call('PUT', '/v1/tenants/ghost/payment-method', { paymentMethodRef: 'pm_x' })).status).toBe(
      404,
    );
  });
});
