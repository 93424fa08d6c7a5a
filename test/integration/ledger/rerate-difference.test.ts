import { toCloudEvent } from '../../../src/kafka/cloudevents';
import type { MinorUnits } from '../../../src/credits/wallet';
import {
  applyPaid,
  eventTypes,
  ledgerFixture,
  LedgerFixture,
  paid,
  prepaid,
  startIn,
} from '../../support/ledger';

/** Re-rating moves only the difference of what credits pay (rerate-17.lua, includes/refunds.lua). */
describe('ledger: a re-rate moves only the difference', () => {
  let f: LedgerFixture;
  beforeEach(async () => {
    f = ledgerFixture({ start: '2026-03-01T00:00:00.000Z' });
    await f.ledger.writes.upsertAccount('acme', prepaid({ poolCapacities: { 'MCOPSTN1:US': 600 } }));
  });
  afterEach(() => f.close());

  const fund = (ref: string, amount: bigint, purchasedAt = f.clock.now) =>
    f.ledger.writes.addFunds('acme', { paymentRef: ref, amount, currency: 'USD', purchasedAt });
  const rerate = (usageId: string, revision: string, charge: MinorUnits, poolSeconds = 0, poolUse = {}) =>
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
  const account = async () => (await f.ledger.reads.readAccount('acme'))!;
  const lots = async () => (await account()).lots.map((l) => [l.lotId, l.amount, l.remaining, l.expired]);
  const draws = async (usageId: string) => {
    const [usage] = (
      await f.ledger.reads.listUsage('acme', {
        from: new Date('2026-03-01T00:00:00Z'),
        to: new Date('2026-04-01T00:00:00Z'),
        offset: 0,
        limit: 10,
      })
    ).filter((u) => u.usageId === usageId);
    return usage!.outcome.lots.map((d) => [d.lotId, d.amount]);
  };

  it('refunds a cut on a call paid from a lot expired since by forfeiting only the cut, once', async () => {
    await fund('old', 112n, new Date('2025-03-15T00:00:00.000Z')); // expires 2026-03-15
    await fund('new', 1000n);
    await applyPaid(f, 'acme', [paid('u1', 112n, '2026-03')]); // all from the old lot
    f.clock.set('2026-03-20T00:00:00.000Z');

    const first = await rerate('u1', 'r1', 82n);
    const again = await rerate('u1', 'r1', 82n);

    expect(first).toMatchObject({ duplicate: false, balance: 1000n, outcome: { charge: 82n } });
    expect(again).toEqual({ ...first, duplicate: true });
    const after = await account();
    expect([after.balance, after.debt]).toEqual([1000n, 0n]);
    expect(await lots()).toEqual([
      ['m:old', 112n, 0n, 30n],
      ['m:new', 1000n, 1000n, 0n],
    ]);
    expect(await draws('u1')).toEqual([['m:old', 82n]]);
    const expired = (await f.ledger.outbox.readOutbox('acme')).filter(
      (e) => e.type === 'credits.funds.expired',
    );
    expect(expired.map((e) => [e.id, toCloudEvent(e, 'rater').data])).toEqual([
      [
        'acme/credits.funds.expired/m:old:rerate:u1:r1',
        expect.objectContaining({ lotId: 'm:old', amount: { amount: '0.30', currency: 'USD' } }),
      ],
    ]);
    expect((await f.ledger.reads.usageTotals('acme'))['2026-03']).toEqual({
      credits: { count: 1, charge: 82n, poolSeconds: 0 },
    });
  });

  it('refunds a cut on a call whose charge went into debt paid in full since as a refund lot of the cut', async () => {
    await fund('p1', 100n);
    await applyPaid(f, 'acme', [paid('u1', 160n, '2026-03')]); // 100 from p1, 60 debt
    await fund('p2', 60n); // pays the debt

    await rerate('u1', 'r1', 130n);

    const after = await account();
    expect([after.balance, after.debt]).toEqual([30n, 0n]);
    expect(await lots()).toEqual([
      ['m:p1', 100n, 0n, 0n],
      ['m:p2', 60n, 0n, 0n],
      ['refund:u1:r1', 30n, 30n, 0n],
    ]);
    expect(await draws('u1')).toEqual([
      ['m:p1', 100n],
      ['', 30n],
    ]);
  });

  it('refunds a cut on a call whose debt was paid in part: the debt first, the rest as a refund lot', async () => {
    await fund('p1', 100n);
    await applyPaid(f, 'acme', [paid('u1', 160n, '2026-03')]); // 100 from p1, 60 debt
    await fund('p2', 40n); // 20 owed still

    await rerate('u1', 'r1', 130n);

    const after = await account();
    expect([after.balance, after.debt]).toEqual([10n, 0n]);
    expect(await lots()).toEqual([
      ['m:p1', 100n, 0n, 0n],
      ['m:p2', 40n, 0n, 0n],
      ['refund:u1:r1', 10n, 10n, 0n],
    ]);
  });

  it("gives a live lot's share to the debt owed now first, as a purchase would", async () => {
    await fund('p1', 100n);
    await applyPaid(f, 'acme', [paid('u1', 100n, '2026-03')]); // all of p1
    await applyPaid(f, 'acme', [paid('u2', 50n, '2026-03')]); // into debt

    await rerate('u1', 'r1', 70n);

    const after = await account();
    expect([after.balance, after.debt]).toEqual([-20n, 20n]);
    expect(await lots()).toEqual([['m:p1', 100n, 0n, 0n]]);
    expect(await draws('u1')).toEqual([['m:p1', 70n]]);
  });

  it('debits an increase like usage, into debt past the last lot, and a later cut takes the debt back first', async () => {
    await fund('p1', 100n);
    await applyPaid(f, 'acme', [paid('u1', 80n, '2026-03')]);

    await rerate('u1', 'r1', 150n);
    expect([(await account()).balance, (await account()).debt]).toEqual([-50n, 50n]);
    expect(await draws('u1')).toEqual([
      ['m:p1', 100n],
      ['', 50n],
    ]);

    await rerate('u1', 'r2', 60n);
    const after = await account();
    expect([after.balance, after.debt]).toEqual([40n, 0n]);
    expect(await lots()).toEqual([['m:p1', 100n, 40n, 0n]]);
    expect(await draws('u1')).toEqual([['m:p1', 60n]]);
  });

  it('moves no money when the charge is the same (d = 0)', async () => {
    await fund('old', 100n, new Date('2025-03-15T00:00:00.000Z'));
    await fund('new', 1000n);
    await applyPaid(f, 'acme', [paid('u1', 100n, '2026-03')]);
    f.clock.set('2026-03-20T00:00:00.000Z');
    await f.ledger.writes.expireLots('acme');
    const before = await eventTypes(f, 'acme');

    const result = await rerate('u1', 'r1', 100n);

    expect(result).toMatchObject({
      duplicate: false,
      balance: 1000n,
      outcome: { charge: 100n, revision: 'r1' },
    });
    expect(await lots()).toEqual([
      ['m:old', 100n, 0n, 0n],
      ['m:new', 1000n, 1000n, 0n],
    ]);
    expect(await draws('u1')).toEqual([['m:old', 100n]]);
    expect(await eventTypes(f, 'acme')).toEqual(before);
  });

  it('leaves the pool draw of a call paid partly from a pool, and moves only the credit-paid part', async () => {
    await fund('p1', 1000n);
    await f.ledger.writes.applyUsage('acme', {
      currency: 'USD',
      poolUse: { 'MCOPSTN1:US:2026-03': 0 },
      usages: [{ ...paid('u1', 50n, '2026-03'), pool: 'MCOPSTN1:US', poolSeconds: 60 }],
    });

    const result = await rerate('u1', 'r1', 20n, 60, { 'MCOPSTN1:US:2026-03': 60 });

    expect(result).toMatchObject({ outcome: { poolSeconds: 60, charge: 20n, pool: 'MCOPSTN1:US' } });
    const after = await account();
    expect(after.balance).toBe(980n);
    expect(after.poolUsed).toEqual({ 'MCOPSTN1:US:2026-03': 60 });
    expect((await f.ledger.reads.usageTotals('acme'))['2026-03']).toEqual({
      credits: { count: 1, charge: 20n, poolSeconds: 60 },
    });
  });
});
