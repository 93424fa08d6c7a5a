import {
  applyPaid,
  eventTypes,
  keysIn,
  ledgerFixture,
  LedgerFixture,
  paid,
  prepaid,
  startIn,
} from '../../support/ledger';

describe('ledger: re-rating', () => {
  let f: LedgerFixture;
  beforeEach(async () => {
    f = ledgerFixture({ start: '2026-03-01T00:00:00.000Z' });
    await f.ledger.writes.upsertAccount('acme', prepaid({ poolCapacities: { 'MCOPSTN1:US': 600 } }));
  });
  afterEach(() => f.close());

  const fund = (ref: string, amount: bigint, purchasedAt = f.clock.now) =>
    f.ledger.writes.addFunds('acme', { paymentRef: ref, amount, currency: 'USD', purchasedAt });
  const rerate = (usageId: string, revision: string, charge: bigint, poolSeconds = 0, poolUse = {}) =>
    f.ledger.writes.rerate('acme', {
      usageId,
      start: startIn('2026-03'),
      revision,
      currency: 'USD',
      source: 'credits',
      charge,
      poolSeconds,
      poolUse,
    });

  it('refunds the old charge to its lots and debits the new one, once per revision', async () => {
    await fund('p1', 1000n);
    await applyPaid(f, 'acme', [paid('u1', 300n, '2026-03')]);

    const first = await rerate('u1', 'deck-2026-03-fix', 120n);
    const again = await rerate('u1', 'deck-2026-03-fix', 120n);

    expect(first).toMatchObject({
      duplicate: false,
      outcome: { charge: 120n, revision: 'deck-2026-03-fix' },
      balance: 880n,
    });
    expect(again).toEqual({ ...first, duplicate: true });
    const account = (await f.ledger.reads.readAccount('acme'))!;
    expect(account.balance).toBe(880n);
    expect(account.lots[0]!.remaining).toBe(880n);
    expect(await f.ledger.reads.usageTotals('acme')).toEqual({
      '2026-03': { credits: { count: 1, charge: 120n, poolSeconds: 0 } },
    });
  });

  it("moves the user's month by the credit-paid difference, and tells once when it reaches the limit", async () => {
    await fund('p1', 10_000n);
    await f.ledger.writes.setUserLimits('acme', { currency: 'USD', default: 1_000n, users: {} });
    await applyPaid(f, 'acme', [{ ...paid('u1', 600n, '2026-03'), user: 'alice' }]);
    const spendOf = async () =>
      (await f.ledger.reads.userLimits('acme', '2026-03', 'USD')).users.get('alice')?.spent;
    const reached = async () =>
      (await f.ledger.outbox.readOutbox('acme'))
        .filter((event) => event.type === 'credits.user.limit_reached')
        .map((event) => event.data);
    const rerateFor = (revision: string, charge: bigint, user = 'alice') =>
      f.ledger.writes.rerate('acme', {
        usageId: 'u1',
        start: startIn('2026-03'),
        revision,
        currency: 'USD',
        source: 'credits',
        charge,
        poolSeconds: 0,
        poolUse: {},
        user,
      });

    await rerateFor('r1', 1_100n);
    await rerateFor('r1', 1_100n); // the same revision again: nothing moves
    expect(await spendOf()).toBe(1_100n);
    expect(await reached()).toEqual([
      {
        tenantId: 'acme',
        user: 'alice',
        period: '2026-03',
        limit: { amountMinor: '1000', currency: 'USD' },
        spent: { amountMinor: '1100', currency: 'USD' },
      },
    ]);
    await rerateFor('r2', 250n);
    expect(await spendOf()).toBe(250n);
    await rerateFor('r3', 1_200n);
    expect(await spendOf()).toBe(1_200n);
    expect(await reached()).toHaveLength(1); // once a month
  });

  it('refunds a part paid from a lot that has expired since by forfeiting it again', async () => {
    await fund('old', 100n, new Date('2025-03-15T00:00:00.000Z'));
    await fund('new', 1000n);
    await applyPaid(f, 'acme', [paid('u1', 150n, '2026-03')]); // 100 from the old lot, 50 from the new
    f.clock.set('2026-03-20T00:00:00.000Z'); // the old lot expired on 2026-03-15

    await rerate('u1', 'r1', 0n);

    const account = (await f.ledger.reads.readAccount('acme'))!;
    expect(account.balance).toBe(1000n);
    expect(account.lots.map((l) => [l.lotId, l.remaining, l.expired])).toEqual([
      ['m:old', 0n, 100n],
      ['m:new', 1000n, 0n],
    ]);
    expect((await eventTypes(f, 'acme')).filter(([type]) => type === 'credits.funds.expired')).toEqual([
      ['credits.funds.expired', 'acme/credits.funds.expired/m:old:rerate:u1:r1'],
    ]);
  });

  it('refunds a part that went into debt by reducing the debt, or as a refund lot once a purchase paid it', async () => {
    await fund('p1', 100n);
    await applyPaid(f, 'acme', [paid('u1', 160n, '2026-03')]); // 100 from p1, 60 debt
    await fund('p2', 40n); // pays 40 of the debt: 20 left
    await rerate('u1', 'r1', 0n);

    const account = (await f.ledger.reads.readAccount('acme'))!;
    expect(account.debt).toBe(0n);
    expect(account.balance).toBe(140n); // the 100 and 40 bought, nothing spent
    expect(account.lots.map((l) => [l.lotId, l.source, l.remaining])).toEqual([
      ['m:p1', 'manual', 100n],
      ['m:p2', 'manual', 0n],
      ['refund:u1:r1', 'refund', 40n],
    ]);
  });

  it('moves pool seconds with the new rating, checked against the pool use read', async () => {
    await fund('p1', 1000n);
    await f.ledger.writes.applyUsage('acme', {
      currency: 'USD',
      poolUse: { 'MCOPSTN1:US:2026-03': 0 },
      usages: [{ ...paid('u1', 50n, '2026-03'), pool: 'MCOPSTN1:US', poolSeconds: 60 }],
    });

    expect(await rerate('u1', 'r1', 0n, 120, { 'MCOPSTN1:US:2026-03': 0 })).toEqual({
      conflict: { 'MCOPSTN1:US:2026-03': 60 },
    });
    const result = await rerate('u1', 'r1', 0n, 120, { 'MCOPSTN1:US:2026-03': 60 });

    expect(result).toMatchObject({ outcome: { poolSeconds: 120, charge: 0n } });
    expect((await f.ledger.reads.readAccount('acme'))!.poolUsed).toEqual({ 'MCOPSTN1:US:2026-03': 120 });
  });

  it('refuses to re-rate a usage that was never applied', async () => {
    expect(await rerate('nope', 'r1', 1n)).toEqual({ refused: 'not_applied', detail: 'nope' });
  });
});

describe('ledger: idempotency records', () => {
  it("are kept to the end of the call's start day plus the retention; a call older is refused, never charged again", async () => {
    const f = ledgerFixture({ retentionMs: 24 * 3600 * 1000 });
    try {
      await f.ledger.writes.upsertAccount('acme', prepaid());
      await f.ledger.writes.addFunds('acme', {
        paymentRef: 'p1',
        amount: 1000n,
        currency: 'USD',
        purchasedAt: f.clock.now,
      });
      // u1 and u2 started on 2026-11-01: remembered until 2026-11-03T00:00 (the day, then 24 h).
      await applyPaid(f, 'acme', [paid('u1', 10n)]);
      // Each key of the day expires with it, 48 h after the clock's now (on the clock's
      // terms, not Redis's own), and the day's counts and shared strings no sooner.
      const base = f.ledger.keys('acme').applied;
      const ttls: Record<string, number> = {};
      for (const key of await f.redis.keys(`${base}:*`))
        ttls[key.slice(base.length)] = await f.redis.pttl(key);
      expect(Object.keys(ttls).sort()).toEqual([':20758:1:0', ':d:2026-11', ':meta']);
      for (const ttl of Object.values(ttls)) {
        expect(ttl).toBeGreaterThan(48 * 3600_000 - 60_000);
        expect(ttl).toBeLessThanOrEqual(48 * 3600_000);
      }
      f.clock.set('2026-11-02T23:59:59.999Z');
      const inside = await applyPaid(f, 'acme', [paid('u1', 10n), paid('u2', 10n)]);
      expect(inside.applied.map((a) => a.duplicate)).toEqual([true, false]);
      expect(inside.tooLate).toEqual([]);

      f.clock.set('2026-11-03T00:00:00.000Z');
      const u3 = { ...paid('u3', 10n), start: new Date('2026-11-03T00:00:00.000Z') };
      const after = await applyPaid(f, 'acme', [paid('u1', 10n), u3]);
      expect(after.tooLate).toEqual(['u1']);
      expect(after.applied.map((a) => [a.usageId, a.duplicate])).toEqual([['u3', false]]);
      expect(after.balance).toBe(1000n - 30n);
      const state = await f.ledger.writes.readUsageState(
        'acme',
        [...keysIn('2026-11', 'u1', 'u2'), { id: 'u3', start: u3.start }],
        [],
      );
      expect('applied' in state && [...state.applied.keys()]).toEqual(['u3']);
    } finally {
      f.close();
    }
  });
});

describe('ledger: the strings idempotency records share', () => {
  it('expire with the last day that uses them, also when a day seen before adds the first of them', async () => {
    const f = ledgerFixture({ retentionMs: 24 * 3600 * 1000 });
    try {
      await f.ledger.writes.upsertAccount('acme', prepaid());
      await f.ledger.writes.addFunds('acme', { paymentRef: 'p1', amount: 1000n, currency: 'USD' });
      const base = f.ledger.keys('acme').applied;
      // A free call keeps no shared string: the day opens without the month's strings.
      await applyPaid(f, 'acme', [{ ...paid('u1', 0n), source: 'free' }]);
      expect(await f.redis.exists(`${base}:d:2026-11`)).toBe(0);
      // The same day's paid call then interns its lot: the strings expire with the day.
      await applyPaid(f, 'acme', [paid('u2', 10n)]);
      const ttl = await f.redis.pttl(`${base}:d:2026-11`);
      expect(ttl).toBeGreaterThan(48 * 3600_000 - 60_000);
      expect(ttl).toBeLessThanOrEqual(48 * 3600_000);
      expect(await f.redis.pttl(`${base}:meta`)).toBeGreaterThan(48 * 3600_000 - 60_000);
    } finally {
      f.close();
    }
  });
});

/** The details a record stored as `fp0123456789|60|0|USD|flat|1|+|Flatland` holds. */
const flatDetails = {
  fingerprint: 'fp0123456789',
  billedSeconds: 60,
  connectionCharge: 0n,
  currency: 'USD',
  destinationName: 'Flatland',
  rate: { deck: 'flat', version: '1', prefix: '+' },
};

describe('ledger: idempotency records kept before they were packed by day', () => {
  it('are still found, so nothing is charged twice across the upgrade, and a re-rate moves one to its day', async () => {
    const f = ledgerFixture();
    try {
      await f.ledger.writes.upsertAccount('acme', prepaid());
      await f.ledger.writes.addFunds('acme', { paymentRef: 'p1', amount: 1000n, currency: 'USD' });
      const k = f.ledger.keys('acme');
      // A record as the format before this one kept it: JSON by id, indexed by applied time.
      const legacy = JSON.stringify({
        src: 'credits',
        charge: '40',
        pool: '',
        poolSec: '0',
        period: '2026-11',
        lots: [['m:p1', '40']],
        balance: '960',
        at: String(f.clock.now.getTime()),
        rv: '',
        r: 'fp0123456789|60|0|USD|flat|1|+|Flatland',
      });
      await f.redis.hset(k.legacyApplied, 'old-1', legacy);
      await f.redis.zadd(k.legacyAppliedIndex, f.clock.now.getTime(), 'old-1');

      const again = await applyPaid(f, 'acme', [paid('old-1', 40n), paid('new-1', 10n)]);
      expect(again.applied.map((a) => [a.usageId, a.duplicate])).toEqual([
        ['old-1', true],
        ['new-1', false],
      ]);
      expect(again.applied[0]!.outcome).toMatchObject({
        charge: 40n,
        details: flatDetails,
      });
      expect(again.balance).toBe(990n);

      const rerated = await f.ledger.writes.rerate('acme', {
        usageId: 'old-1',
        start: startIn('2026-11'),
        revision: 'r1',
        currency: 'USD',
        source: 'credits',
        charge: 30n,
        poolSeconds: 0,
        poolUse: {},
      });
      expect(rerated).toMatchObject({
        duplicate: false,
        balance: 1000n,
        outcome: { charge: 30n, revision: 'r1' },
      });
      expect(await f.redis.hexists(k.legacyApplied, 'old-1')).toBe(0);
      const state = await f.ledger.writes.readUsageState('acme', keysIn('2026-11', 'old-1'), []);
      expect('applied' in state && state.applied.get('old-1')).toMatchObject({
        charge: 30n,
        revision: 'r1',
        details: flatDetails,
      });
    } finally {
      f.close();
    }
  });
});
