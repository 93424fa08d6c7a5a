import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DecodedUsageRecord } from '../../../src/kafka/cdr-decoder';
import { toCloudEvent } from '../../../src/kafka/cloudevents';
import { authorizeCall } from '../../../src/settlement/authorize-call';
import { FlatPricer } from '../../support/flat-pricer';
import { applyPaid, ledgerFixture, LedgerFixture, paid, prepaid } from '../../support/ledger';

describe('per-user monthly spend limits', () => {
  let f: LedgerFixture;
  const pricer = new FlatPricer();
  beforeEach(async () => {
    f = ledgerFixture({ start: '2026-11-10T10:00:00.000Z' });
    await f.ledger.writes.upsertAccount('acme', prepaid());
    await f.ledger.writes.addFunds('acme', { paymentRef: 'p1', amount: 10_000n, currency: 'USD' });
  });
  afterEach(() => f.close());

  const setLimits = async (change: Parameters<LedgerFixture['ledger']['writes']['setUserLimits']>[1]) =>
    expect(await f.ledger.writes.setUserLimits('acme', change)).toEqual({ status: 'updated' });
  const spendOf = async (user: string, month = '2026-11') =>
    (await f.ledger.reads.userLimits('acme', month, 'USD')).users.get(user)?.spent ?? 0n;
  const limitEvents = async () =>
    (await f.ledger.outbox.readOutbox('acme')).filter((event) => event.type === 'credits.user.limit_reached');

  it("counts a user's credit-paid charges once per usage id, however often the usage comes", async () => {
    await applyPaid(f, 'acme', [{ ...paid('u1', 40n), user: 'alice' }]);
    await applyPaid(f, 'acme', [{ ...paid('u1', 40n), user: 'alice' }]); // redelivered
    await applyPaid(f, 'acme', [
      { ...paid('u2', 7n), user: 'alice' },
      { ...paid('u2', 7n), user: 'alice' }, // twice in one batch
      { ...paid('u3', 5n), user: 'bob' },
      { ...paid('u4', 9n), user: '' }, // no user: counted for nobody
      { ...paid('u5', 0n), source: 'bundle', user: 'carol' }, // not credit-paid
    ]);
    expect(await spendOf('alice')).toBe(47n);
    expect(await spendOf('bob')).toBe(5n);
    expect((await f.ledger.reads.userLimits('acme', '2026-11', 'USD')).users.has('carol')).toBe(false);
    // By the call's month, not the day it was applied.
    const late = { ...paid('u6', 3n, '2026-10'), start: new Date('2026-10-31T23:59:00Z'), user: 'alice' };
    await applyPaid(f, 'acme', [late]);
    expect([await spendOf('alice', '2026-10'), await spendOf('alice')]).toEqual([3n, 47n]);
    const ttl = await f.redis.pttl(`${f.ledger.keys('acme').userSpend}:2026-11`);
    expect(ttl).toBeGreaterThan(61 * 86_400_000);
    expect(ttl).toBeLessThanOrEqual(62 * 86_400_000);
  });

  it('emits credits.user.limit_reached once per user and month when the spend reaches the limit', async () => {
    await setLimits({ currency: 'USD', default: 100n, users: { bob: 'none' } });
    await applyPaid(f, 'acme', [{ ...paid('u1', 60n), user: 'alice' }]);
    expect(await limitEvents()).toEqual([]);
    await applyPaid(f, 'acme', [
      { ...paid('u2', 50n), user: 'alice' },
      { ...paid('u3', 500n), user: 'bob' },
    ]);
    await applyPaid(f, 'acme', [{ ...paid('u4', 30n), user: 'alice' }]);
    await applyPaid(f, 'acme', [{ ...paid('u2', 50n), user: 'alice' }]); // redelivered
    const events = await limitEvents();
    expect(events.map((event) => [event.id, event.data])).toEqual([
      [
        'acme/credits.user.limit_reached/user:alice:2026-11',
        {
          tenantId: 'acme',
          user: 'alice',
          period: '2026-11',
          limit: { amountMinor: '100', currency: 'USD' },
          spent: { amountMinor: '110', currency: 'USD' },
        },
      ],
    ]);
    // The limit never refuses a usage: the call happened.
    expect(await spendOf('alice')).toBe(140n);
    // Another month counts again.
    await applyPaid(f, 'acme', [{ ...paid('u5', 100n, '2026-12'), user: 'alice' }]);
    expect((await limitEvents()).map((event) => event.id)).toEqual([
      'acme/credits.user.limit_reached/user:alice:2026-11',
      'acme/credits.user.limit_reached/user:alice:2026-12',
    ]);
    const ajv = new Ajv2020({ allErrors: true });
    addFormats(ajv);
    const schemaFile = join(
      __dirname,
      '..',
      '..',
      '..',
      'schemas',
      'events',
      'credits.user.limit_reached.schema.json',
    );
    const validate = ajv.compile(JSON.parse(readFileSync(schemaFile, 'utf8')) as object);
    for (const event of await limitEvents()) {
      const data = toCloudEvent(event, '/rater/credits').data;
      expect([validate(data), validate.errors ?? []]).toEqual([true, []]);
    }
  });

  it('names the spend at the call that reached the limit, the same whether the usages came in one batch or one by one', async () => {
    const usages = [
      { ...paid('u1', 40n), user: 'alice' },
      { ...paid('u2', 70n), user: 'alice' }, // reaches 100: 110
      { ...paid('u3', 30n), user: 'alice' },
      { ...paid('u4', 100n), user: 'bob' }, // reaches it alone: 100
      { ...paid('u5', 5n), user: 'bob' },
    ];
    const eventData = async (tenant: string) =>
      (await f.ledger.outbox.readOutbox(tenant))
        .filter((event) => event.type === 'credits.user.limit_reached')
        .map((event) => event.data);
    for (const tenant of ['batched', 'single']) {
      await f.ledger.writes.upsertAccount(tenant, prepaid());
      await f.ledger.writes.addFunds(tenant, { paymentRef: 'p1', amount: 10_000n, currency: 'USD' });
      expect(
        await f.ledger.writes.setUserLimits(tenant, { currency: 'USD', default: 100n, users: {} }),
      ).toEqual({
        status: 'updated',
      });
    }

    await applyPaid(f, 'batched', usages);
    for (const usage of usages) await applyPaid(f, 'single', [usage]);

    const reached = (user: string, spent: string) => ({
      user,
      period: '2026-11',
      limit: { amountMinor: '100', currency: 'USD' },
      spent: { amountMinor: spent, currency: 'USD' },
    });
    const batched = await eventData('batched');
    expect(batched).toEqual(
      expect.arrayContaining([
        { tenantId: 'batched', ...reached('alice', '110') },
        { tenantId: 'batched', ...reached('bob', '100') },
      ]),
    );
    expect(batched).toHaveLength(2);
    const sameTenant = (list: unknown[]) =>
      (list as { user: string }[])
        .map((data) => ({ ...data, tenantId: '' }))
        .sort((x, y) => x.user.localeCompare(y.user));
    expect(sameTenant(await eventData('single'))).toEqual(sameTenant(batched));
    // The month's spend is all of it, however it came.
    const spend = async (tenant: string) =>
      [...(await f.ledger.reads.userLimits(tenant, '2026-11', 'USD')).users]
        .map(([user, u]) => [user, u.spent])
        .sort();
    expect(await spend('batched')).toEqual(await spend('single'));
  });

  it('sets only what a change names, and drops limits kept in an old currency', async () => {
    await setLimits({ currency: 'USD', default: 100n, users: { alice: 50n, bob: 'none' } });
    await setLimits({ currency: 'USD', users: { alice: null, carol: 70n } });
    const view = await f.ledger.reads.userLimits('acme', '2026-11', 'USD');
    expect(view.default).toBe(100n);
    expect(Object.fromEntries([...view.users].map(([user, u]) => [user, u.own]))).toEqual({
      bob: 'none',
      carol: 70n,
    });
    await setLimits({ currency: 'USD', default: null });
    expect((await f.ledger.reads.userLimits('acme', '2026-11', 'USD')).default).toBeUndefined();
    expect(await f.ledger.writes.setUserLimits('acme', { currency: 'EUR', default: 5n })).toMatchObject({
      refused: 'currency_mismatch',
    });
    expect(await f.ledger.writes.setUserLimits('ghost', { currency: 'USD', default: 5n })).toMatchObject({
      refused: 'no_account',
    });
    // Kept in another currency than the account's, the limits count as none.
    expect((await f.ledger.reads.userLimits('acme', '2026-11', 'EUR')).users.size).toBe(0);
  });

  describe('authorization', () => {
    const call = (extra: Partial<DecodedUsageRecord> = {}) => ({
      tenantId: 'acme',
      callType: 'user_out' as const,
      startDateTime: '2026-11-10T10:00:00Z',
      calleeNumber: '+442071234567',
      licenseCapability: 'MCOPSTNPP',
      usageCountryCode: 'US',
      userId: 'alice',
      ...extra,
    });
    const authorize = (extra: Partial<DecodedUsageRecord> = {}) =>
      authorizeCall(f.ledger.writes, pricer, call(extra), f.clock.now);

    it("caps a credit-paid call by what is left of the user's limit, and refuses it at the limit", async () => {
      await setLimits({ currency: 'USD', users: { alice: 50n } });
      // 5 connection + 10 a started minute: 4 minutes cost 45, 5 cost 55.
      expect(await authorize()).toMatchObject({
        allowed: true,
        reason: 'covered',
        maxSeconds: 240,
        userLimitLeft: 50n,
      });
      await applyPaid(f, 'acme', [{ ...paid('u1', 40n), user: 'alice' }]);
      expect(await authorize()).toMatchObject({ allowed: false, reason: 'user_spend_limit', maxSeconds: 0 });
      // The principal name counts when there is no user id; another user is not limited.
      expect(await authorize({ userId: undefined, userPrincipalName: 'alice' })).toMatchObject({
        reason: 'user_spend_limit',
      });
      const other = await authorize({ userId: 'bob' });
      expect(other).toMatchObject({ allowed: true, reason: 'covered' });
      expect(other.userLimitLeft).toBeUndefined();
      // Free calls are not limited.
      expect(await authorize({ callType: 'user_in' })).toMatchObject({ allowed: true, reason: 'free' });
    });

    it('applies the default to users without a limit of their own, and none where a user has none', async () => {
      await setLimits({ currency: 'USD', default: 20n, users: { bob: 'none' } });
      expect(await authorize()).toMatchObject({ allowed: true, maxSeconds: 60, userLimitLeft: 20n });
      await applyPaid(f, 'acme', [{ ...paid('u1', 20n), user: 'alice' }]);
      expect(await authorize()).toMatchObject({ allowed: false, reason: 'user_spend_limit' });
      expect(await authorize({ userId: 'bob' })).toMatchObject({ allowed: true, reason: 'covered' });
      // The balance still refuses first when it is what runs out.
      await f.ledger.writes.upsertAccount('lean', prepaid());
      await f.ledger.writes.setUserLimits('lean', { currency: 'USD', default: 1000n });
      expect(await authorize({ tenantId: 'lean' })).toMatchObject({
        allowed: false,
        reason: 'balance_depleted',
      });
    });
  });
});
