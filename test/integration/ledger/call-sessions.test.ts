import { authorizeCall } from '../../../src/settlement/authorize-call';
import { FlatPricer } from '../../support/flat-pricer';
import { ledgerFixture, LedgerFixture, prepaid } from '../../support/ledger';
import { outbound, sessionHold, sessionsOver } from '../../support/sessions';

const T = 'acme';

describe('call sessions reserve credit', () => {
  let f: LedgerFixture;
  let s: ReturnType<typeof sessionsOver>;
  beforeEach(async () => {
    f = ledgerFixture({ start: '2026-11-01T10:00:00.000Z' });
    s = sessionsOver(f);
    await f.ledger.writes.upsertAccount(T, prepaid());
    await f.ledger.writes.addFunds(T, {
      paymentRef: 'p1',
      amount: 100n,
      currency: 'USD',
      purchasedAt: f.clock.now,
    });
  });
  afterEach(() => f.close());

  const call = (id: string, user = 'alice') => outbound(T, id, f.clock.now, user);

  it('ten concurrent starts on 1.00 never reserve more than 1.00 (authorize grants it ten times)', async () => {
    const decisions = await Promise.all(
      Array.from({ length: 10 }, () =>
        authorizeCall(f.ledger.writes, new FlatPricer(), call('x'), f.clock.now),
      ),
    );
    // The balance alone: each of ten calls is told it may use all of it.
    expect(decisions.filter((d) => d.allowed && d.maxSeconds === 540)).toHaveLength(10);

    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => s.start(call(`c${i}`))));
    const granted = answers.filter((a) => 'allowed' in a && a.allowed);
    const reserved = granted.reduce((sum, a) => sum + ('reserved' in a ? a.reserved : 0n), 0n);
    expect(reserved).toBeLessThanOrEqual(100n);
    // 300 s cost 55; what is left (45) pays 4 minutes: 240 s.
    expect(granted.map((a) => ('grantedSeconds' in a ? a.grantedSeconds : 0)).sort()).toEqual([240, 300]);
    expect(reserved).toBe(100n);
    expect(answers.filter((a) => 'allowed' in a && !a.allowed).map((a) => 'reason' in a && a.reason)).toEqual(
      Array(8).fill('balance_depleted'),
    );
    expect(await sessionHold(f, T)).toBe(100n);
    expect(await f.ledger.indexes.sessionGauges()).toEqual({ live: 2, held: { USD: 100 } });
  });

  it('answers a repeated start as the first time, a start with other content 409', async () => {
    const first = await s.start(call('c1'));
    expect(first).toMatchObject({
      allowed: true,
      reason: 'covered',
      grantedSeconds: 300,
      reserved: 55n,
      currency: 'USD',
      // The grant's end (300 s) plus the grace (30 s): when it expires unless renewed.
      validUntil: new Date('2026-11-01T10:05:30.000Z'),
    });
    expect(await s.start(call('c1'))).toEqual(first);
    expect(await s.start({ ...call('c1'), calleeNumber: '+33123456789' })).toEqual({
      problem: 'conflict',
      conflict: 'usage_id_reused',
    });
    expect(await sessionHold(f, T)).toBe(55n);
  });

  it('renews with the call so far priced as one call, gives the last seconds, then no more', async () => {
    await s.start(call('c1'));
    f.clock.advance(290_000);
    // 290 s used + 300 granted = 590 s: 10 minutes, 105 units: more than 100; 540 s pay 95.
    const renewed = await s.update(T, 'c1', 290);
    expect(renewed).toMatchObject({ allowed: true, grantedSeconds: 250, reserved: 95n });
    expect(await s.update(T, 'c1', 290)).toEqual(renewed);
    expect(await sessionHold(f, T)).toBe(95n);
    f.clock.advance(250_000);
    const last = await s.update(T, 'c1', 540);
    expect(last).toMatchObject({
      allowed: false,
      reason: 'balance_depleted',
      grantedSeconds: 0,
      reserved: 95n,
    });
    expect(await s.update(T, 'c1', 500)).toEqual({ problem: 'conflict', conflict: 'used_seconds_decreased' });
    expect(await s.update(T, 'ghost', 5)).toEqual({ problem: 'unknown' });
  });

  it('an end releases all but what the used seconds cost; repeats answer the same, other ends 409', async () => {
    await s.start(call('c1'));
    f.clock.advance(61_000);
    // 61 s: 2 minutes, 25 units held; 30 released.
    expect(await s.end(T, 'c1', 61)).toEqual({ usageId: 'c1', released: 30n, held: 25n, currency: 'USD' });
    expect(await s.end(T, 'c1', 61)).toEqual({ usageId: 'c1', released: 30n, held: 25n, currency: 'USD' });
    expect(await s.end(T, 'c1', 62)).toEqual({ problem: 'conflict', conflict: 'session_ended' });
    expect(await s.update(T, 'c1', 70)).toEqual({ problem: 'conflict', conflict: 'session_ended' });
    expect(await sessionHold(f, T)).toBe(25n);
  });

  it('lets what sessions hold pass the balance by the overdraft setting, no further', async () => {
    await f.ledger.writes.updateSettings(T, { sessionOverdraft: 20n });
    const answers = [await s.start(call('c1')), await s.start(call('c2')), await s.start(call('c3'))];
    // 55, then 45 + 20 = 65 pays 5 minutes and the fee (55), then 10 is less than a minute.
    expect(answers.map((a) => ('reserved' in a ? a.reserved : -1n))).toEqual([55n, 55n, 0n]);
    expect(answers[2]).toMatchObject({ allowed: false, reason: 'balance_depleted' });
    expect(await sessionHold(f, T)).toBe(110n);
  });

  it('makes the authorization answer from what is available: the balance less what sessions hold', async () => {
    await s.start(call('c1'));
    const pricer = new FlatPricer();
    // 100 less 55: 4 minutes and the fee (45).
    expect(await authorizeCall(f.ledger.writes, pricer, call('x'), f.clock.now)).toMatchObject({
      allowed: true,
      maxSeconds: 240,
      balance: { amountMinor: 45n, currency: 'USD' },
    });
    await s.start(call('c2'));
    expect(await authorizeCall(f.ledger.writes, pricer, call('x'), f.clock.now)).toMatchObject({
      allowed: false,
      reason: 'balance_depleted',
      maxSeconds: 0,
    });
  });
});
