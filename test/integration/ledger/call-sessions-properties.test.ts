import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import type { LedgerUsage } from '../../../src/credits/wallet';
import { FlatPricer } from '../../support/flat-pricer';
import { applyPaid, ledgerFixture, LedgerFixture, prepaid } from '../../support/ledger';
import { outbound, sessionsOver } from '../../support/sessions';

/**
 * Random interleavings of starts, renewals, ends, CDRs (redelivered too), purchases and
 * expiries against real Redis, checked after every step: what sessions hold is the sum of
 * the sessions' holds and never passed the balance plus the overdraft when a grant was made,
 * no money is created or lost (the balance is what came in less each CDR's charge, once),
 * and once every call is settled nothing is held.
 */
const CALLS = 4;
const call = fc.integer({ min: 0, max: CALLS - 1 });
const action = fc.oneof(
  fc.record({ kind: fc.constant('start' as const), call, user: fc.constantFrom('alice', 'bob') }),
  fc.record({ kind: fc.constant('update' as const), call, seconds: fc.integer({ min: 0, max: 400 }) }),
  fc.record({ kind: fc.constant('end' as const), call, seconds: fc.integer({ min: 0, max: 400 }) }),
  fc.record({ kind: fc.constant('cdr' as const), call, extra: fc.integer({ min: 0, max: 300 }) }),
  fc.record({ kind: fc.constant('fund' as const), amount: fc.bigInt({ min: 1n, max: 120n }) }),
  fc.record({ kind: fc.constant('wait' as const), seconds: fc.integer({ min: 1, max: 700 }) }),
);
type Action = typeof action extends fc.Arbitrary<infer A> ? A : never;

describe('call sessions, whatever the interleaving', () => {
  let f: LedgerFixture;
  beforeAll(() => {
    f = ledgerFixture({ start: '2026-11-01T10:00:00.000Z' });
  });
  afterAll(() => f.close());
  const pricer = new FlatPricer();

  async function check(T: string, funded: bigint, charged: Map<string, bigint>) {
    const k = f.ledger.keys(T);
    const [account, sessions] = await Promise.all([f.redis.hgetall(k.account), f.redis.hgetall(k.sessions)]);
    let held = 0n;
    let open = 0;
    for (const [field, json] of Object.entries(sessions)) {
      if (!field.startsWith('s:')) continue;
      const s = JSON.parse(json) as { r: string; st: string };
      held += BigInt(s.r);
      if (s.st !== 'settled') open += 1;
      if (s.st === 'settled') expect(s.r).toBe('0');
    }
    expect(BigInt(account.sessHold ?? '0')).toBe(held);
    expect(Number(account.sessOpen ?? 0)).toBe(open);
    expect(held).toBeGreaterThanOrEqual(0n);
    const spent = [...charged.values()].reduce((a, b) => a + b, 0n);
    expect(BigInt(account.balance!)).toBe(funded - spent);
    return { held, balance: BigInt(account.balance!) };
  }

  async function run(actions: Action[], caps: string) {
    const T = `p-${randomUUID().slice(0, 8)}`;
    const s = sessionsOver(f);
    await f.ledger.writes.upsertAccount(T, prepaid());
    if (caps) await f.redis.hset(f.ledger.keys(T).userLimits, 'currency', 'USD', 'calls', caps);
    let funded = 100n;
    let refs = 0;
    await f.ledger.writes.addFunds(T, {
      paymentRef: 'p0',
      amount: funded,
      currency: 'USD',
      purchasedAt: f.clock.now,
    });
    const started = new Map<number, { start: Date; user: string; used: number }>();
    const charged = new Map<string, bigint>();
    const id = (n: number) => `call-${n}`;
    for (const a of actions) {
      const before = await check(T, funded, charged);
      if (a.kind === 'start') {
        const answer = await s.start(
          outbound(T, id(a.call), started.get(a.call)?.start ?? f.clock.now, a.user),
        );
        if ('allowed' in answer && answer.allowed && !started.has(a.call))
          started.set(a.call, { start: f.clock.now, user: a.user, used: 0 });
      } else if (a.kind === 'update' || a.kind === 'end') {
        const known = started.get(a.call);
        const used = (known?.used ?? 0) + a.seconds;
        const answer =
          a.kind === 'update' ? await s.update(T, id(a.call), used) : await s.end(T, id(a.call), used);
        if (!('problem' in answer) && known) known.used = used;
      } else if (a.kind === 'cdr') {
        const known = started.get(a.call);
        const start = known?.start ?? f.clock.now;
        const price = pricer.price(
          { ...outbound(T, id(a.call), start), id: id(a.call), duration: (known?.used ?? 0) + a.extra },
          'USD',
          0,
        );
        const charge = price.kind === 'priced' ? price.charge : 0n;
        const usage: LedgerUsage = {
          id: id(a.call),
          start,
          source: 'credits',
          charge,
          pool: '',
          poolSeconds: 0,
          period: start.toISOString().slice(0, 7),
          user: known?.user ?? 'alice',
          international: true,
        };
        const applied = await applyPaid(f, T, [usage]);
        const first = !charged.has(usage.id);
        expect(applied.applied[0]!.duplicate).toBe(!first);
        if (first) charged.set(usage.id, charge);
      } else if (a.kind === 'fund') {
        refs += 1;
        funded += a.amount;
        await f.ledger.writes.addFunds(T, {
          paymentRef: `p${refs}`,
          amount: a.amount,
          currency: 'USD',
          purchasedAt: f.clock.now,
        });
      } else {
        f.clock.advance(a.seconds * 1000);
        await f.ledger.sessions.expireSessions(T, f.clock.now);
      }
      const after = await check(T, funded, charged);
      // A grant never makes what sessions hold pass the balance (overdraft 0).
      if (after.held > before.held) expect(after.held).toBeLessThanOrEqual(after.balance);
    }
    // Every started call's CDR comes (once more for good measure): nothing is left held.
    for (const [n, known] of started) {
      const usage: LedgerUsage = {
        id: id(n),
        start: known.start,
        source: 'credits',
        charge: 15n,
        pool: '',
        poolSeconds: 0,
        period: known.start.toISOString().slice(0, 7),
        user: known.user,
        international: true,
      };
      await applyPaid(f, T, [usage]);
      if (!charged.has(usage.id)) charged.set(usage.id, 15n);
    }
    const end = await check(T, funded, charged);
    expect(end.held).toBe(0n);
    expect(Number((await f.redis.hget(f.ledger.keys(T).account, 'sessLive')) ?? 0)).toBe(0);
    // The shard's gauges (every earlier sequence settled too): nothing live, nothing held.
    const gauges = await f.ledger.indexes.sessionGauges();
    expect(gauges.live).toBe(0);
    expect(gauges.held.USD ?? 0).toBe(0);
  }

  it('keeps the rule and the money, step by step (100 sequences)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(action, { minLength: 1, maxLength: 30 }),
        fc.constantFrom('', '2|1', '1|'),
        run,
      ),
      { numRuns: 100 },
    );
  });
});
