import type { App } from '../../src/app';
import { utcMonth } from '../../src/credits/calendar';
import { tenantCommand } from '../../src/api/tenant-cli';
import { apiCaller, fundedTenant, startApiApp } from '../support/api-app';
import { applyPaid, LedgerFixture, paid } from '../support/ledger';
import { uniqueName } from '../support/stack';

const OPERATOR = 'operator-secret-token-for-user-limits';

describe('per-user spend limits on the admin API', () => {
  let app: App;
  let tenant: string;
  let key: string;

  beforeAll(async () => {
    app = await startApiApp({ operatorToken: OPERATOR, keyPrefix: `${uniqueName('limits')}:` });
    ({ tenant, key } = await fundedTenant(app, call));
  });
  afterAll(() => app.stop());

  const call = apiCaller(() => app.url, OPERATOR);
  const usd = (amount: string) => ({ amount, currency: 'USD' });

  it("sets the default and users' limits, and lists each user's spend this month", async () => {
    const put = await call(
      'PUT',
      `/v1/tenants/${tenant}/user-limits`,
      { default: '1.00', users: { alice: '0.50', bob: 'none' } },
      key,
    );
    expect(put.status).toBe(200);
    // A usage of alice's this month, as the consumer would apply it.
    const start = new Date(Date.now() - 60_000);
    await applyPaid({ ledger: app.ledger } as LedgerFixture, tenant, [
      { ...paid('u1', 50n, utcMonth(start)), start, user: 'alice' },
      { ...paid('u2', 20n, utcMonth(start)), start, user: 'carol' },
    ]);
    const got = await call('GET', `/v1/tenants/${tenant}/user-limits`, undefined, key);
    expect(got).toEqual({
      status: 200,
      body: {
        tenantId: tenant,
        month: utcMonth(new Date()),
        currency: 'USD',
        default: usd('1.00'),
        users: [
          {
            user: 'alice',
            limit: usd('0.50'),
            limitFrom: 'user',
            spent: usd('0.50'),
            left: usd('0.00'),
            reached: true,
          },
          { user: 'bob', limit: null, limitFrom: 'none', spent: usd('0.00'), left: null, reached: false },
          {
            user: 'carol',
            limit: usd('1.00'),
            limitFrom: 'default',
            spent: usd('0.20'),
            left: usd('0.80'),
            reached: false,
          },
        ],
        burstGuard: null,
        blocked: [],
        concurrentCalls: null,
      },
    });

    const authorize = (userId: string) =>
      call(
        'POST',
        '/v1/authorize',
        {
          tenantId: tenant,
          callType: 'user_out',
          calleeNumber: '+442071234567',
          licenseCapability: 'MCOPSTNPP',
          usageCountryCode: 'US',
          userId,
        },
        key,
      );
    const refused = await authorize('alice');
    expect(refused.body).toMatchObject({ allowed: false, reason: 'user_spend_limit', maxSeconds: 0 });
    expect(refused.body.userLimitLeft).toEqual(usd('0.00'));
    expect((await authorize('bob')).body).toMatchObject({
      allowed: true,
      reason: 'covered',
      maxSeconds: 86_400,
    });
    // carol's 0.80 left pays for less than the day the balance would.
    const capped = await authorize('carol');
    expect(capped.body).toMatchObject({ allowed: true, reason: 'covered', userLimitLeft: usd('0.80') });
    expect(capped.body.maxSeconds).toBeLessThan(86_400);
    expect((await app.ledger.outbox.readOutbox(tenant)).map((event) => event.type)).toContain(
      'credits.user.limit_reached',
    );

    // null: alice's own limit goes, the default applies; the default removed: no limit at all.
    await call('PUT', `/v1/tenants/${tenant}/user-limits`, { users: { alice: null } }, key);
    await call('PUT', `/v1/tenants/${tenant}/user-limits`, { default: null }, key);
    const after = await call('GET', `/v1/tenants/${tenant}/user-limits`);
    expect(after.body.default).toBeNull();
    expect((after.body.users as { user: string }[]).map((u) => u.user)).toEqual(['alice', 'bob', 'carol']);
    expect((after.body.users as { limitFrom: string }[]).map((u) => u.limitFrom)).toEqual([
      'none',
      'none',
      'none',
    ]);
  });

  it('names the users at their limit in the balance, and the user of each usage in the usage list', async () => {
    const other = uniqueName('shown');
    await call('PUT', `/v1/tenants/${other}`, { billingMode: 'prepaid', currency: 'USD' });
    await app.ledger.writes.addFunds(other, { paymentRef: 'p1', amount: 10_000n, currency: 'USD' });
    await call('PUT', `/v1/tenants/${other}/user-limits`, { default: '0.30', users: { dave: 'none' } });
    const start = new Date(Date.now() - 60_000);
    const period = utcMonth(start);
    await applyPaid({ ledger: app.ledger } as LedgerFixture, other, [
      { ...paid('u1', 30n, period), start, user: 'erin', report: { userId: 'erin' } },
      {
        ...paid('u2', 29n, period),
        start,
        user: 'frank',
        report: { userPrincipalName: 'frank' },
      },
      { ...paid('u3', 500n, period), start, user: 'dave' },
      { ...paid('u4', 40n, period), start, user: 'ann' },
    ]);
    const balance = await call('GET', `/v1/tenants/${other}/balance`);
    expect(balance.body.usersAtLimit).toEqual({
      month: utcMonth(new Date()),
      users: ['ann', 'erin'],
      more: 0,
    });
    expect((balance.body.autoRecharge as Record<string, unknown>).lastFailure).toBeNull();
    const from = new Date(start.getTime() - 1000).toISOString();
    const to = new Date(start.getTime() + 1000).toISOString();
    const usage = await call('GET', `/v1/tenants/${other}/usage?from=${from}&to=${to}`);
    expect(
      (usage.body.items as { usageId: string; user: string | null }[]).map((u) => [u.usageId, u.user]),
    ).toEqual([
      ['u1', 'erin'],
      ['u2', 'frank'],
      ['u3', null], // stored without a report
      ['u4', null],
    ]);
  });

  it('sets limits from the command line (rater tenant set-user-limits)', async () => {
    const cli = uniqueName('cli');
    await call('PUT', `/v1/tenants/${cli}`, { billingMode: 'prepaid', currency: 'USD' });
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    const run = (...args: string[]) =>
      tenantCommand().parseAsync(['--url', app.url, '--token', OPERATOR, ...args], { from: 'user' });
    try {
      await run('set-user-limits', cli, '--default', '5.00', '--user', 'alice=1.50', 'bob=none', 'u=x=2');
      const limits = await app.ledger.reads.userLimits(cli, utcMonth(new Date()), 'USD');
      expect(limits.default).toBe(500n);
      expect([...limits.users].map(([user, u]) => [user, u.own]).sort()).toEqual([
        ['alice', 150n],
        ['bob', 'none'],
        ['u=x', 200n],
      ]);
      await run('set-user-limits', cli, '--default', 'none', '--user', 'alice=default');
      const after = await app.ledger.reads.userLimits(cli, utcMonth(new Date()), 'USD');
      expect(after.default).toBeUndefined();
      expect(after.users.get('alice')?.own).toBeUndefined();
      expect(after.users.get('bob')?.own).toBe('none');
    } finally {
      log.mockRestore();
    }
  });

  it("refuses another tenant's key, amounts finer than the currency, and unknown tenants", async () => {
    const other = uniqueName('other');
    await call('PUT', `/v1/tenants/${other}`, { billingMode: 'prepaid', currency: 'USD' });
    const otherKey = String((await call('POST', `/v1/tenants/${other}/api-keys`)).body.apiKey);
    expect((await call('GET', `/v1/tenants/${tenant}/user-limits`, undefined, otherKey)).status).toBe(403);
    expect(
      (await call('PUT', `/v1/tenants/${tenant}/user-limits`, { default: '1.00' }, otherKey)).status,
    ).toBe(403);
    const fine = await call('PUT', `/v1/tenants/${tenant}/user-limits`, { users: { alice: '0.001' } }, key);
    expect(fine).toMatchObject({ status: 400, body: { error: 'bad_request' } });
    expect(String(fine.body.message)).toContain('body/users/alice');
    expect((await call('PUT', `/v1/tenants/${tenant}/user-limits`, { default: -1 }, key)).status).toBe(400);
    expect((await call('PUT', `/v1/tenants/${tenant}/user-limits`, {}, key)).status).toBe(400);
    expect((await call('GET', '/v1/tenants/ghost/user-limits')).status).toBe(404);
  });
});
