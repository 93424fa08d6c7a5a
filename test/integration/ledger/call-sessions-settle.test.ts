import type { LedgerUsage } from '../../../src/credits/wallet';
import { burstKeys } from '../../../src/ledger/keys';
import { SessionSweeper } from '../../../src/workers/session-sweeper';
import { applyPaid, eventTypes, ledgerFixture, LedgerFixture, prepaid } from '../../support/ledger';
import { outbound, sessionHold, sessionsOver } from '../../support/sessions';

const T = 'acme';

describe('the CDR settles a call session once', () => {
  let f: LedgerFixture;
  let s: ReturnType<typeof sessionsOver>;
  let start: Date;
  beforeEach(async () => {
    f = ledgerFixture({ start: '2026-11-01T10:00:00.000Z' });
    s = sessionsOver(f);
    start = f.clock.now;
    await f.ledger.writes.upsertAccount(T, prepaid());
    await f.ledger.writes.addFunds(T, {
      paymentRef: 'p1',
      amount: 100n,
      currency: 'USD',
      purchasedAt: f.clock.now,
    });
  });
  afterEach(() => f.close());

  const call = (id: string, user = 'alice') => outbound(T, id, start, user);
  /** The CDR of call `id`: `charge` minor units, alice's, international. */
  const cdr = (id: string, charge: bigint, user = 'alice'): LedgerUsage => ({
    id,
    start,
    source: 'credits',
    charge,
    pool: '',
    poolSeconds: 0,
    period: '2026-11',
    user,
    international: true,
  });
  const balance = async () => (await f.ledger.reads.readAccount(T))!.balance;
  const account = async (field: string) => Number((await f.redis.hget(f.ledger.keys(T).account, field)) ?? 0);
  const sweeper = () => new SessionSweeper({ ledger: f.ledger, clock: () => f.clock.now });

  it('after the end, and when redelivered: charged once, nothing left held', async () => {
    await s.start(call('c1'));
    f.clock.advance(61_000);
    await s.end(T, 'c1', 61);
    expect(await sessionHold(f, T)).toBe(25n);
    const applied = await applyPaid(f, T, [cdr('c1', 25n)]);
    expect(applied.applied[0]).toMatchObject({ duplicate: false });
    expect(await balance()).toBe(75n);
    expect(await sessionHold(f, T)).toBe(0n);
    const again = await applyPaid(f, T, [cdr('c1', 25n)]);
    expect(again.applied[0]).toMatchObject({ duplicate: true });
    expect(await balance()).toBe(75n);
    expect(await sessionHold(f, T)).toBe(0n);
    expect(await account('sessOpen')).toBe(0);
    expect(await account('sessLive')).toBe(0);
  });

  it('before the end: the end then releases nothing and holds nothing', async () => {
    await s.start(call('c1'));
    await applyPaid(f, T, [cdr('c1', 25n)]);
    expect(await sessionHold(f, T)).toBe(0n);
    expect(await account('sessLive')).toBe(0);
    expect(await s.end(T, 'c1', 61)).toEqual({ usageId: 'c1', released: 0n, held: 0n, currency: 'USD' });
    expect(await s.update(T, 'c1', 70)).toEqual({ problem: 'conflict', conflict: 'session_ended' });
    expect(await balance()).toBe(75n);
    expect(await sessionHold(f, T)).toBe(0n);
  });

  it('never ended: the CDR releases the reservation; an unknown usage id is charged as ever', async () => {
    await s.start(call('c1'));
    await applyPaid(f, T, [cdr('c1', 45n), cdr('no-session', 10n)]);
    expect(await balance()).toBe(45n);
    expect(await sessionHold(f, T)).toBe(0n);
    expect(await account('sessOpen')).toBe(0);
  });

  it('expired: the reservation goes but for the used seconds, which wait for the CDR or the retention', async () => {
    await f.ledger.writes.addFunds(T, {
      paymentRef: 'p2',
      amount: 1000n,
      currency: 'USD',
      purchasedAt: f.clock.now,
    });
    await s.start(call('c1'));
    await s.start(call('c2'));
    f.clock.advance(100_000);
    await s.update(T, 'c1', 100); // 100 s + 300 s: 7 minutes, 75; 100 s cost 25
    expect(await sessionHold(f, T)).toBe(75n + 55n);
    // c2 was never renewed: due 300 s + 30 s after its start; c1 100 s later.
    f.clock.set('2026-11-01T10:05:31.000Z');
    expect(await sweeper().sweep()).toEqual({ expired: 1, dropped: 0 });
    expect(await sessionHold(f, T)).toBe(75n); // c2 reported nothing used: nothing held
    f.clock.set('2026-11-01T10:07:11.000Z');
    expect(await sweeper().sweep()).toEqual({ expired: 1, dropped: 0 });
    expect(await sessionHold(f, T)).toBe(25n);
    expect(await account('sessLive')).toBe(0);
    // A later end is honoured (never holding more), and the CDR settles it.
    expect(await s.end(T, 'c1', 400)).toEqual({ usageId: 'c1', released: 0n, held: 25n, currency: 'USD' });
    await applyPaid(f, T, [cdr('c1', 75n)]);
    expect(await sessionHold(f, T)).toBe(0n);
    expect(await balance()).toBe(1025n);
    // c2's CDR never comes: after the retention (a day) it is dropped.
    f.clock.advance(24 * 3600 * 1000);
    expect(await sweeper().sweep()).toEqual({ expired: 0, dropped: 2 });
    expect(await account('sessOpen')).toBe(0);
    expect(await f.redis.zcard(f.ledger.keys(T).sessionsByExpiry)).toBe(0);
    expect(await f.ledger.sessions.readSession(T, 'c2')).toBeUndefined();
  });

  it('caps concurrent credit-paid sessions per tenant and per user (concurrent_calls)', async () => {
    await f.redis.hset(f.ledger.keys(T).userLimits, 'currency', 'USD', 'calls', '2|1');
    await f.ledger.writes.addFunds(T, {
      paymentRef: 'p2',
      amount: 1000n,
      currency: 'USD',
      purchasedAt: f.clock.now,
    });
    expect(await s.start(call('a1'))).toMatchObject({ allowed: true });
    expect(await s.start(call('a2'))).toMatchObject({ allowed: false, reason: 'concurrent_calls' });
    expect(await s.start(call('b1', 'bob'))).toMatchObject({ allowed: true });
    expect(await s.start(call('c1', 'carol'))).toMatchObject({ allowed: false, reason: 'concurrent_calls' });
    // Free calls are not counted nor refused.
    expect(await s.start({ ...call('in1', 'carol'), callType: 'user_in' })).toMatchObject({
      allowed: true,
      reason: 'free',
    });
    await s.end(T, 'a1', 10);
    expect(await s.start(call('c2', 'carol'))).toMatchObject({ allowed: true });
    expect(await sessionHold(f, T)).toBe(15n + 55n + 55n);
  });

  it("counts what a user's sessions hold against the user's spend limit", async () => {
    await f.ledger.writes.setUserLimits(T, { currency: 'USD', users: { alice: 70n } });
    expect(await s.start(call('a1'))).toMatchObject({ allowed: true, reserved: 55n });
    // 15 left of alice's 70: one minute and the fee.
    expect(await s.start(call('a2'))).toMatchObject({ allowed: true, reserved: 15n, grantedSeconds: 60 });
    expect(await s.start(call('a3'))).toMatchObject({ allowed: false, reason: 'user_spend_limit' });
  });

  it("never lets concurrent starts reserve past the user's spend limit", async () => {
    await f.ledger.writes.setUserLimits(T, { currency: 'USD', users: { alice: 70n } });
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => s.start(call(`a${i}`))));
    const reserved = answers.reduce((sum, a) => sum + ('reserved' in a ? a.reserved : 0n), 0n);
    expect(reserved).toBe(70n); // 55, then 15 (a minute and the fee)
    expect(answers.filter((a) => 'reason' in a && a.reason === 'user_spend_limit')).toHaveLength(4);
  });

  it('blocks a user at the start that crosses the burst guard; the CDR does not count the call twice', async () => {
    await f.ledger.writes.setUserLimits(T, {
      currency: 'USD',
      burstGuard: { windowMinutes: 60, maxInternationalCalls: 1 },
    });
    expect(await s.start(call('a1'))).toMatchObject({ allowed: true });
    expect(await s.start(call('a2'))).toMatchObject({ allowed: false, reason: 'user_blocked' });
    expect(await f.redis.hget(f.ledger.keys(T).userLimits, 'b:alice')).toMatch(/\|international_calls$/);
    expect((await eventTypes(f, T)).map(([type]) => type)).toContain('credits.user.blocked');
    expect(await s.start(call('b1', 'bob'))).toMatchObject({ allowed: true });
    await f.redis.hdel(f.ledger.keys(T).userLimits, 'b:alice');
    await applyPaid(f, T, [cdr('a1', 25n)]);
    const sums = await f.redis.hgetall(burstKeys(f.ledger.keys(T), 'alice').sums);
    expect(sums).toMatchObject({ n: '1', s: '25' });
    expect(await f.redis.zrange(burstKeys(f.ledger.keys(T), 'alice').window, 0, -1)).toEqual(['25|1|a1']);
  });

  it('reserves pool minutes as money, and the CDR draws them and releases the hold', async () => {
    await f.ledger.writes.updateSettings(T, { poolCapacities: { 'MCOPSTN1:US': 120 } });
    const pooled = (id: string) => ({ ...call(id), licenseCapability: 'MCOPSTN1' });
    // 300 s: 120 from the pool, 3 minutes paid (35); the next call finds the pool held.
    expect(await s.start(pooled('c1'))).toMatchObject({ allowed: true, reserved: 35n });
    expect(await s.start(pooled('c2'))).toMatchObject({ allowed: true, reserved: 55n });
    const pools = f.ledger.keys(T).pools;
    expect(await f.redis.hget(pools, 'held:MCOPSTN1:US:2026-11')).toBe('120');
    // 61 s: 2 minutes, both from the pool: nothing paid, the pool seconds stay held.
    expect(await s.end(T, 'c1', 61)).toEqual({ usageId: 'c1', released: 35n, held: 0n, currency: 'USD' });
    expect(await f.redis.hget(pools, 'held:MCOPSTN1:US:2026-11')).toBe('120');
    const usage: LedgerUsage = { ...cdr('c1', 0n), source: 'bundle', pool: 'MCOPSTN1:US', poolSeconds: 120 };
    const applied = await f.ledger.writes.applyUsage(T, {
      currency: 'USD',
      usages: [usage],
      poolUse: { 'MCOPSTN1:US:2026-11': 0 },
    });
    expect(applied).toMatchObject({ applied: [{ duplicate: false }] });
    expect(await f.redis.hmget(pools, 'used:MCOPSTN1:US:2026-11', 'held:MCOPSTN1:US:2026-11')).toEqual([
      '120',
      '0',
    ]);
    expect(await sessionHold(f, T)).toBe(55n);
  });
});
