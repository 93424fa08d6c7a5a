import { accountSettings } from '../../../src/credits/wallet';
import type { LedgerUsage, MinorUnits } from '../../../src/credits/wallet';
import { applyPaid, ledgerFixture, LedgerFixture, prepaid } from '../../support/ledger';

/** A usage of a call that started an hour before the ledger's clock. */
const usage = (
  f: LedgerFixture,
  id: string,
  charge: MinorUnits,
  source: LedgerUsage['source'] = 'credits',
) => {
  const start = new Date(f.clock.now.getTime() - 3_600_000);
  return {
    id,
    start,
    source,
    charge,
    pool: '',
    poolSeconds: 0,
    period: start.toISOString().slice(0, 7),
  };
};

describe('ledger: daily spend', () => {
  let f: LedgerFixture;
  beforeEach(async () => {
    f = ledgerFixture({ start: '2026-11-23T10:00:00.000Z' });
    await f.ledger.writes.upsertAccount('acme', prepaid());
    await f.ledger.writes.upsertAccount('globex', accountSettings('postpaid', 'USD'));
    await f.ledger.writes.addFunds('acme', { paymentRef: 'p1', amount: 1000n, currency: 'USD' });
  });
  afterEach(() => f.close());

  it('sums what was debited and accrued each day the usages were applied, re-rates on their own day', async () => {
    await applyPaid(f, 'acme', [usage(f, 'a1', 35n), usage(f, 'a2', 15n), usage(f, 'free', 0n, 'free')]);
    await applyPaid(f, 'globex', [usage(f, 'g1', 120n, 'postpaid')]);
    // A repeat charges nothing and adds nothing.
    await applyPaid(f, 'acme', [usage(f, 'a1', 35n)]);
    f.clock.set('2026-11-24T00:30:00.000Z');
    // Started the day before, applied today: today's spend. More than the balance: debt counts too.
    await applyPaid(f, 'acme', [usage(f, 'a3', 1200n)]);
    await applyPaid(f, 'globex', [usage(f, 'g2', 30n, 'postpaid'), usage(f, 'g3', 0n, 'bundle')]);

    expect(await f.ledger.reads.dailySpend('acme', { days: 3 })).toEqual([
      { day: '2026-11-22', credits: 0n, postpaid: 0n },
      { day: '2026-11-23', credits: 50n, postpaid: 0n },
      { day: '2026-11-24', credits: 1200n, postpaid: 0n },
    ]);
    expect(await f.ledger.reads.dailySpend('globex', { days: 2 })).toEqual([
      { day: '2026-11-23', credits: 0n, postpaid: 120n },
      { day: '2026-11-24', credits: 0n, postpaid: 30n },
    ]);

    // A re-rate the day after: its difference counts then, down as well as up.
    f.clock.set('2026-11-25T08:00:00.000Z');
    const rerate = (
      tenant: string,
      usageId: string,
      start: Date,
      charge: bigint,
      source: 'credits' | 'postpaid',
    ) =>
      f.ledger.writes.rerate(tenant, {
        usageId,
        start,
        revision: 'r1',
        currency: 'USD',
        source,
        charge,
        poolSeconds: 0,
        poolUse: {},
      });
    await rerate('acme', 'a1', new Date('2026-11-23T09:00:00.000Z'), 20n, 'credits');
    await rerate('globex', 'g1', new Date('2026-11-23T09:00:00.000Z'), 150n, 'postpaid');
    expect(await f.ledger.reads.dailySpend('acme', { days: 2 })).toEqual([
      { day: '2026-11-24', credits: 1200n, postpaid: 0n },
      { day: '2026-11-25', credits: -15n, postpaid: 0n },
    ]);
    expect((await f.ledger.reads.dailySpend('globex', { days: 1 }))[0]).toEqual({
      day: '2026-11-25',
      credits: 0n,
      postpaid: 30n,
    });
    // An explicit `now` reads another window.
    expect(
      await f.ledger.reads.dailySpend('acme', { days: 1, now: new Date('2026-11-23T23:59:59.999Z') }),
    ).toEqual([{ day: '2026-11-23', credits: 50n, postpaid: 0n }]);

    // The period totals are as before: the daily fields are not read as totals.
    expect(await f.ledger.reads.usageTotals('acme')).toEqual({
      '2026-11': {
        credits: { count: 3, charge: 1235n, poolSeconds: 0 },
        free: { count: 1, charge: 0n, poolSeconds: 0 },
      },
    });
  });

  it('reuses a slot 64 days later from zero, keeps at most 64 fields a source, and refuses more than 62 days', async () => {
    await applyPaid(f, 'acme', [usage(f, 'old', 40n)]);
    f.clock.advance(64 * 86_400_000);
    await applyPaid(f, 'acme', [usage(f, 'new', 7n)]);
    const series = await f.ledger.reads.dailySpend('acme', { days: 62 });
    expect(series).toHaveLength(62);
    expect(series.at(-1)).toEqual({ day: '2027-01-26', credits: 7n, postpaid: 0n });
    expect(series.slice(0, -1).every((d) => d.credits === 0n && d.postpaid === 0n)).toBe(true);
    const fields = Object.keys(await f.redis.hgetall(f.ledger.keys('acme').totals));
    expect(fields.filter((field) => field.startsWith('daily:'))).toEqual([`daily:${20844 % 64}:credits`]);
    // A later day in the slot (the clock moved back 64 days) is left as it is.
    f.clock.advance(-64 * 86_400_000);
    await applyPaid(f, 'acme', [usage(f, 'back', 3n)]);
    expect(
      (await f.ledger.reads.dailySpend('acme', { days: 1, now: new Date('2027-01-26T12:00:00Z') }))[0]!
        .credits,
    ).toBe(7n);
    await expect(f.ledger.reads.dailySpend('acme', { days: 63 })).rejects.toThrow(RangeError);
  });
});
