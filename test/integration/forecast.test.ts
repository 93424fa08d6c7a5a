import type { App } from '../../src/app';
import { startApiApp } from '../support/api-app';
import { applyPaid, ledgerFixture, LedgerFixture, paid, prepaid } from '../support/ledger';
import { uniqueName } from '../support/stack';

const OPERATOR = 'operator-token-for-forecast-tests';
const DAY = 86_400_000;

/**
 * GET /v1/tenants/{id}/forecast on the running service, over a ledger whose past the test
 * writes with its own clock: two weeks of spend, then the projection from it.
 */
describe('the runway forecast route', () => {
  let f: LedgerFixture;
  let app: App;
  const tenant = uniqueName('runway');
  const postpaidTenant = uniqueName('owed');
  const today = Math.floor(Date.now() / DAY) * DAY;

  beforeAll(async () => {
    f = ledgerFixture();
    f.clock.set(new Date(today - 20 * DAY).toISOString());
    await f.ledger.writes.upsertAccount(tenant, prepaid());
    await f.ledger.writes.upsertAccount(postpaidTenant, {
      ...prepaid(),
      mode: 'postpaid',
      paymentMethodRef: '',
    });
    await f.ledger.writes.addFunds(tenant, {
      paymentRef: 'p1',
      amount: 10_000n,
      currency: 'USD',
      purchasedAt: f.clock.now,
    });
    // 1.00 USD a day on each of the 14 full days before today, 0.50 postpaid.
    for (let i = 14; i >= 1; i--) {
      const noon = new Date(today - i * DAY + DAY / 2);
      f.clock.set(noon.toISOString());
      const period = noon.toISOString().slice(0, 7);
      await applyPaid(f, tenant, [{ ...paid(`u${i}`, 100n, period), start: noon }]);
      await applyPaid(f, postpaidTenant, [
        { ...paid(`p${i}`, 50n, period), start: noon, source: 'postpaid' },
      ]);
    }
    app = await startApiApp({ operatorToken: OPERATOR, keyPrefix: f.prefix });
  });
  afterAll(async () => {
    await app.stop();
    f.close();
  });

  const forecast = async (id: string, token = OPERATOR) => {
    const response = await fetch(`${app.url}/v1/tenants/${id}/forecast`, {
      headers: { authorization: `Bearer ${token}` },
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  it('projects the zero from the mean of the last 14 full days', async () => {
    const { status, body } = await forecast(tenant);
    expect(status).toBe(200);
    const asOf = Date.parse(String(body.asOf));
    const from = new Date(today - 14 * DAY).toISOString().slice(0, 10);
    const to = new Date(today - DAY).toISOString().slice(0, 10);
    expect(body).toEqual({
      tenantId: tenant,
      billingMode: 'prepaid',
      asOf: expect.any(String),
      balance: { amount: '86.00', currency: 'USD' },
      burnRate: { amount: '1.00', currency: 'USD' },
      basis: { kind: 'mean_of_full_days', from, to, days: 14, total: { amount: '14.00', currency: 'USD' } },
      // 86.00 at 1.00 a day: 86 days from now, to the millisecond.
      depletesAt: new Date(asOf + 86 * DAY).toISOString(),
      rechargeExpectedAt: null,
      runwayDays: 86,
      autoRecharge: 'off',
      projectedRecharges: 0,
      projectedForfeits: { amount: '0.00', currency: 'USD' },
      beyondHorizon: false,
      projectedUntil: new Date(asOf + 86 * DAY).toISOString(),
      owedAtMonthEnd: null,
      method: expect.stringContaining('Burn 1.00 USD a day: the mean of the 14 full days'),
    });
  });

  it('expects auto-recharge instead of the zero when it is on', async () => {
    f.clock.set(new Date().toISOString());
    const set = await f.ledger.writes.updateSettings(tenant, {
      autoRecharge: { enabled: true, trigger: 2_000n, amount: 5_000n, monthlyCap: 0 },
    });
    expect('refused' in set).toBe(false);
    const { body } = await forecast(tenant);
    const asOf = Date.parse(String(body.asOf));
    expect(body).toMatchObject({
      depletesAt: null,
      // Below 20.00 (not at it) once 66.01 is spent: 66.01 days of 1.00 a day.
      rechargeExpectedAt: new Date(asOf + 6601 * (DAY / 100)).toISOString(),
      autoRecharge: 'able',
      beyondHorizon: true,
    });
  });

  it("gives a postpaid tenant no runway, but the month's projected amount owed", async () => {
    const { body } = await forecast(postpaidTenant);
    expect(body).toMatchObject({
      billingMode: 'postpaid',
      burnRate: { amount: '0.50', currency: 'USD' },
      depletesAt: null,
      rechargeExpectedAt: null,
      owedAtMonthEnd: expect.objectContaining({ currency: 'USD' }),
    });
  });

  it('answers 404 for a tenant with no account, and 401 without credentials', async () => {
    expect((await forecast('nobody-here')).status).toBe(404);
    expect((await forecast(tenant, 'wrong')).status).toBe(401);
  });
});
