import { readRateApply } from '../../../src/settlement/settle-tenant';
import { LedgerUsage } from '../../../src/credits/wallet';
import { LedgerError } from '../../../src/ledger/result-codes';
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

describe('ledger: expiry', () => {
  let f: LedgerFixture;
  beforeEach(() => {
    f = ledgerFixture({ start: '2026-01-10T08:00:00.000Z' });
  });
  afterEach(() => f.close());

  const setup = async () => {
    await f.ledger.writes.upsertAccount('acme', prepaid());
    await f.ledger.writes.addFunds('acme', {
      paymentRef: 'jan',
      amount: 1000n,
      currency: 'USD',
      purchasedAt: new Date('2026-01-10T08:00:00.000Z'),
    });
    await f.ledger.writes.addFunds('acme', {
      paymentRef: 'feb',
      amount: 500n,
      currency: 'USD',
      purchasedAt: new Date('2026-02-01T00:00:00.000Z'),
    });
    await applyPaid(f, 'acme', [paid('u1', 300n, '2026-01')]); // from the January lot: 700 left there
  };

  it('forfeits what is left of a lot at the exact instant of its expiry, once', async () => {
    await setup();
    const expiry = new Date('2027-01-10T08:00:00.000Z');

    expect(await f.ledger.writes.expireLots('acme', new Date(expiry.getTime() - 1))).toEqual({
      lotsExpired: 0,
      forfeited: 0n,
      balance: 1200n,
    });
    expect(await f.ledger.writes.expireLots('acme', expiry)).toEqual({
      lotsExpired: 1,
      forfeited: 700n,
      balance: 500n,
    });
    expect(await f.ledger.writes.expireLots('acme', new Date(expiry.getTime() + 1000))).toEqual({
      lotsExpired: 0,
      forfeited: 0n,
      balance: 500n,
    });

    const expired = (await f.ledger.outbox.readOutbox('acme')).filter(
      (e) => e.type === 'credits.funds.expired',
    );
    expect(expired.map((e) => [e.id, e.data.amount, e.data.balance])).toEqual([
      [
        'acme/credits.funds.expired/m:jan',
        { amountMinor: '700', currency: 'USD' },
        { amountMinor: '500', currency: 'USD' },
      ],
    ]);
    const jan = (await f.ledger.reads.readAccount('acme'))!.lots.find((l) => l.lotId === 'm:jan')!;
    expect([jan.remaining, jan.expired, jan.status]).toEqual([0n, 700n, 'expired']);
  });

  it('never spends an expired lot, even before the sweeper ran', async () => {
    await setup();
    f.clock.set('2027-01-10T08:00:00.000Z');

    expect((await f.ledger.writes.authorizationSnapshot('acme', '')) as object).toMatchObject({
      balance: 500n,
      blocked: false,
    });
    const { applied, balance } = await applyPaid(f, 'acme', [paid('u2', 100n, '2027-01')]);

    expect(applied[0]!.outcome.lots).toEqual([{ lotId: 'm:feb', amount: 100n }]);
    expect(balance).toBe(400n);
    expect((await eventTypes(f, 'acme')).map(([type]) => type)).toEqual([
      'credits.adjustment.added',
      'credits.funds.added',
      'credits.adjustment.added',
      'credits.funds.added',
      'credits.funds.expired',
    ]);
  });
});

describe('ledger: postpaid tenants', () => {
  let f: LedgerFixture;
  beforeEach(() => {
    f = ledgerFixture();
  });
  afterEach(() => f.close());

  it('accrue usage as an amount owed per period and are never blocked', async () => {
    await f.ledger.writes.upsertAccount('newco', prepaid({ mode: 'postpaid', lowBalanceThreshold: 100n }));
    const usage = (id: string, charge: bigint, period: string): LedgerUsage => ({
      id,
      start: startIn(period),
      source: 'postpaid',
      charge,
      pool: '',
      poolSeconds: 0,
      period,
    });

    await f.ledger.writes.applyUsage('newco', {
      currency: 'USD',
      poolUse: {},
      usages: [usage('a', 1250n, '2026-10'), usage('b', 99n, '2026-11')],
    });
    await f.ledger.writes.applyUsage('newco', {
      currency: 'USD',
      poolUse: {},
      usages: [usage('c', 1n, '2026-11'), usage('a', 1250n, '2026-10')],
    });

    const account = (await f.ledger.reads.readAccount('newco'))!;
    expect(account.owed).toEqual({ '2026-10': 1250n, '2026-11': 100n });
    expect(account.balance).toBe(0n);
    expect(account.blocked).toBe(false);
    expect(await eventTypes(f, 'newco')).toEqual([]);
    expect(await f.ledger.writes.authorizationSnapshot('newco', '')).toMatchObject({
      mode: 'postpaid',
      blocked: false,
    });
  });

  it('refuses credit-paid usage for a postpaid tenant and postpaid usage for a prepaid one', async () => {
    await f.ledger.writes.upsertAccount('newco', prepaid({ mode: 'postpaid' }));
    await f.ledger.writes.upsertAccount('acme', prepaid());
    expect(
      await f.ledger.writes.applyUsage('newco', { currency: 'USD', poolUse: {}, usages: [paid('x', 1n)] }),
    ).toEqual({
      refused: 'mode_mismatch',
      detail: 'postpaid',
    });
    expect(
      await f.ledger.writes.applyUsage('acme', {
        currency: 'USD',
        poolUse: {},
        usages: [{ ...paid('x', 1n), source: 'postpaid' }],
      }),
    ).toEqual({ refused: 'mode_mismatch', detail: 'prepaid' });
  });
});

describe('ledger: minute pools', () => {
  let f: LedgerFixture;
  beforeEach(() => {
    f = ledgerFixture();
  });
  afterEach(() => f.close());

  const pooled = (id: string, poolSeconds: number, charge = 0n): LedgerUsage => ({
    id,
    start: startIn('2026-11'),
    source: charge > 0n ? 'credits' : 'bundle',
    charge,
    pool: 'MCOPSTN1:US',
    poolSeconds,
    period: '2026-11',
  });

  beforeEach(async () => {
    await f.ledger.writes.upsertAccount('acme', prepaid({ poolCapacities: { 'MCOPSTN1:US': 600 } }));
    await f.ledger.writes.addFunds('acme', {
      paymentRef: 'p1',
      amount: 1000n,
      currency: 'USD',
      purchasedAt: f.clock.now,
    });
  });

  it('draws seconds per tenant, pool and month, and reads them back for rating', async () => {
    const result = await f.ledger.writes.applyUsage('acme', {
      currency: 'USD',
      poolUse: { 'MCOPSTN1:US:2026-11': 0 },
      usages: [pooled('u1', 120), pooled('u2', 480, 0n), pooled('u3', 0, 40n)],
    });
    expect(
      'applied' in result && result.applied.map((a) => [a.outcome.source, a.outcome.poolSeconds]),
    ).toEqual([
      ['bundle', 120],
      ['bundle', 480],
      ['credits', 0],
    ]);

    const state = await f.ledger.writes.readUsageState('acme', keysIn('2026-11', 'u1', 'zz'), [
      'MCOPSTN1:US:2026-11',
      'MCOPSTN1:US:2026-12',
    ]);
    expect(state).toMatchObject({
      mode: 'prepaid',
      currency: 'USD',
      poolUsed: { 'MCOPSTN1:US:2026-11': 600, 'MCOPSTN1:US:2026-12': 0 },
      poolCapacity: { 'MCOPSTN1:US': 600 },
    });
    expect('applied' in state && [...state.applied.keys()]).toEqual(['u1']);
  });

  it('refuses a batch rated against pool use that has moved, applying none of it', async () => {
    await f.ledger.writes.applyUsage('acme', {
      currency: 'USD',
      poolUse: { 'MCOPSTN1:US:2026-11': 0 },
      usages: [pooled('u1', 60)],
    });

    const stale = await f.ledger.writes.applyUsage('acme', {
      currency: 'USD',
      poolUse: { 'MCOPSTN1:US:2026-11': 0 },
      usages: [pooled('u2', 60), pooled('u3', 0, 25n)],
    });

    expect(stale).toEqual({ conflict: { 'MCOPSTN1:US:2026-11': 60 }, capacity: {} });
    expect((await f.ledger.reads.readAccount('acme'))!.balance).toBe(1000n);
    expect(await f.ledger.writes.readUsageState('acme', keysIn('2026-11', 'u2', 'u3'), [])).toMatchObject({
      applied: new Map(),
    });
  });

  it('refuses a batch rated against a pool capacity that has changed, and answers the current ones', async () => {
    const resized = await f.ledger.writes.applyUsage('acme', {
      currency: 'USD',
      poolUse: { 'MCOPSTN1:US:2026-11': 0 },
      poolCapacity: { 'MCOPSTN1:US': 300 },
      usages: [pooled('u1', 60)],
    });
    expect(resized).toEqual({ conflict: { 'MCOPSTN1:US:2026-11': 0 }, capacity: { 'MCOPSTN1:US': 600 } });
    const fits = await f.ledger.writes.applyUsage('acme', {
      currency: 'USD',
      poolUse: { 'MCOPSTN1:US:2026-11': 0 },
      poolCapacity: { 'MCOPSTN1:US': 600 },
      usages: [pooled('u1', 60)],
    });
    expect('applied' in fits && fits.applied.map((a) => a.outcome.poolSeconds)).toEqual([60]);
  });

  it('refuses a pooled batch rated without reading the applied ids when one of its usages was applied', async () => {
    await f.ledger.writes.applyUsage('acme', {
      currency: 'USD',
      poolUse: { 'MCOPSTN1:US:2026-11': 0 },
      usages: [pooled('u1', 60)],
    });
    const batch = { currency: 'USD', poolUse: { 'MCOPSTN1:US:2026-11': 60 }, unread: true };
    const stale = await f.ledger.writes.applyUsage('acme', {
      ...batch,
      usages: [pooled('u1', 60), pooled('u2', 60)],
    });
    // Refused whole, with the stored record of the repeat, as a read would have given it.
    expect(stale).toMatchObject({ conflict: {}, capacity: {}, staleRead: true });
    const before = 'appliedBefore' in stale ? stale.appliedBefore : undefined;
    expect([...before!].map(([id, o]) => [id, o.source, o.poolSeconds])).toEqual([['u1', 'bundle', 60]]);
    expect((await f.ledger.reads.readAccount('acme'))!.poolUsed).toEqual({ 'MCOPSTN1:US:2026-11': 60 });
    // Without pools, a repeat in such a batch is answered with its stored outcome.
    const plain = await f.ledger.writes.applyUsage('acme', {
      currency: 'USD',
      poolUse: {},
      unread: true,
      usages: [pooled('u1', 0, 25n), pooled('u3', 0, 25n)],
    });
    expect(
      'applied' in plain && plain.applied.map((a) => [a.usageId, a.duplicate, a.outcome.poolSeconds]),
    ).toEqual([
      ['u1', true, 60],
      ['u3', false, 0],
    ]);
    expect((await f.ledger.reads.readAccount('acme'))!.balance).toBe(975n);
  });

  it('settles by rating again when the pool moved between read and apply', async () => {
    let attempts = 0;
    const result = await readRateApply(
      f.ledger.writes,
      'acme',
      keysIn('2026-11', 'u9'),
      ['MCOPSTN1:US:2026-11'],
      (state) => {
        attempts += 1;
        const used = state.poolUsed['MCOPSTN1:US:2026-11']!;
        if (attempts === 1) {
          // Someone else draws 540 s after this rater read the pool.
          void f.ledger.writes.applyUsage('acme', {
            currency: 'USD',
            poolUse: { 'MCOPSTN1:US:2026-11': 0 },
            usages: [pooled('other', 540)],
          });
        }
        const left = 600 - used;
        const poolSeconds = Math.min(left, 120);
        return {
          currency: 'USD',
          poolUse: { 'MCOPSTN1:US:2026-11': used },
          usages: [pooled('u9', poolSeconds, BigInt(120 - poolSeconds) * 2n)],
        };
      },
    );

    expect(attempts).toBe(2);
    expect('applied' in result && result.applied[0]!.outcome).toMatchObject({
      source: 'credits',
      poolSeconds: 60,
      charge: 120n,
    });
  });

  it('treats drawing past the capacity as a bug, not a business outcome', async () => {
    await expect(
      f.ledger.writes.applyUsage('acme', {
        currency: 'USD',
        poolUse: { 'MCOPSTN1:US:2026-11': 0 },
        usages: [pooled('u1', 660)],
      }),
    ).rejects.toThrow(LedgerError);
    await expect(
      f.ledger.writes.applyUsage('acme', { currency: 'USD', poolUse: {}, usages: [pooled('u1', 60)] }),
    ).rejects.toThrow(/pool use of MCOPSTN1:US:2026-11 was not declared/);
  });
});
