import fc from 'fast-check';
import { lotExpiry } from '../../../src/credits/calendar';
import {
  balanceHistory,
  burnRate,
  DAY_MS,
  DailySpend,
  forecastRunway,
  ForecastAccount,
  utcDay,
} from '../../../src/credits/forecast';
import { accountSettings, AutoRechargeSettings, LotView } from '../../../src/credits/wallet';

const now = new Date('2026-03-15T12:00:00.000Z');
const at = (iso: string) => new Date(iso);

/** `n` full days of `perDay` before today, and today's `today`. */
function series(
  n: number,
  perDay: bigint,
  today = 0n,
  column: 'credits' | 'postpaid' = 'credits',
): DailySpend[] {
  const out: DailySpend[] = [];
  for (let i = n; i >= 0; i--) {
    const amount = i === 0 ? today : perDay;
    out.push({
      day: utcDay(new Date(now.getTime() - i * DAY_MS)),
      credits: column === 'credits' ? amount : 0n,
      postpaid: column === 'postpaid' ? amount : 0n,
    });
  }
  return out;
}

function lot(remaining: bigint, expiresAt: string, extra: Partial<LotView> = {}): LotView {
  return {
    lotId: `lot-${expiresAt}`,
    source: 'purchase',
    ref: '',
    amount: remaining,
    remaining,
    expired: 0n,
    purchasedAt: at('2026-01-01T00:00:00.000Z'),
    expiresAt: at(expiresAt),
    status: 'active',
    ...extra,
  };
}

function account(
  balance: bigint,
  lots: LotView[],
  ar: Partial<AutoRechargeSettings> = {},
  state: Partial<ForecastAccount['autoRecharge']> = {},
): ForecastAccount {
  return {
    settings: accountSettings('prepaid', 'USD', {
      autoRecharge: {
        enabled: false,
        trigger: 0n,
        amount: 0n,
        monthlyCap: 0,
        maxConsecutiveFailures: 3,
        ...ar,
      },
    }),
    balance,
    lots,
    owed: {},
    autoRecharge: {
      pendingRequestId: '',
      consecutiveFailures: 0,
      month: '2026-03',
      rechargesThisMonth: 0,
      lastFailure: null,
      ...state,
    },
  };
}

const AR_ON = { enabled: true, trigger: 2_000n, amount: 5_000n };

describe('the burn rate', () => {
  it('is the mean of the 14 full days before today, rounded up; today below it is left out', () => {
    const spend = series(20, 500n, 480n);
    spend[spend.length - 2]!.credits = 501n; // yesterday: 14 days total 7,001
    expect(burnRate(now, spend, 'credits')).toEqual({
      rate: 501n,
      basis: { kind: 'mean_of_full_days', from: '2026-03-01', to: '2026-03-14', days: 14, total: 7_001n },
    });
  });

  it('uses the full days there are, counts a day missing inside them as no spend, and never goes negative', () => {
    const spend: DailySpend[] = [
      { day: '2026-03-11', credits: 900n, postpaid: 0n },
      { day: '2026-03-14', credits: 300n, postpaid: 0n },
    ];
    expect(burnRate(now, spend, 'credits')).toEqual({
      rate: 300n,
      basis: { kind: 'mean_of_full_days', from: '2026-03-11', to: '2026-03-14', days: 4, total: 1_200n },
    });
    // Today already above the mean: today so far is the floor.
    expect(burnRate(now, [...spend, { day: '2026-03-15', credits: 301n, postpaid: 0n }], 'credits')).toEqual({
      rate: 301n,
      basis: { kind: 'today_so_far', total: 301n },
    });
    const refunds = [{ day: '2026-03-14', credits: -50n, postpaid: 0n }];
    expect(burnRate(now, refunds, 'credits').rate).toBe(0n);
  });

  it('takes today so far as it is when there is no full day yet, and is 0 with no history', () => {
    const spend = [{ day: '2026-03-15', credits: 1_001n, postpaid: 0n }];
    // Half the day gone: 1,001, not scaled to 2,002.
    expect(burnRate(now, spend, 'credits')).toEqual({
      rate: 1_001n,
      basis: { kind: 'today_so_far', total: 1_001n },
    });
    // A zero yesterday does not hide today's spend.
    expect(burnRate(now, [{ day: '2026-03-14', credits: 0n, postpaid: 0n }, ...spend], 'credits').rate).toBe(
      1_001n,
    );
    expect(burnRate(now, [], 'credits')).toEqual({ rate: 0n, basis: { kind: 'no_spend_history' } });
  });
});

describe('the runway forecast', () => {
  it('spends the burn from now to zero: 10,000 at 700 a day lasts 14 days 6 h 51 min 25.715 s', () => {
    const f = forecastRunway({
      now,
      account: account(10_000n, [lot(10_000n, '2027-01-01T00:00:00.000Z')]),
      dailySpend: series(14, 700n, 300n),
    });
    expect(f).toMatchObject({
      burnRate: 700n,
      depletesAt: at('2026-03-29T18:51:25.715Z'),
      rechargeExpectedAt: null,
      runwayDays: 14,
      autoRecharge: 'off',
      beyondHorizon: false,
    });
    expect(f.method).toContain('the mean of the 14 full days 2026-03-01 to 2026-03-14, rounded up');
  });

  it('forfeits what is left of a lot at its expiry: the zero comes two days earlier', () => {
    // 4.5 days x 700 = 3,150 drawn from the lot that expires first; its 1,850 left is forfeited
    // on 20 March; the other 5,000 lasts until the spend since now is 8,150.
    const f = forecastRunway({
      now,
      account: account(10_000n, [
        lot(5_000n, '2027-03-01T00:00:00.000Z'),
        lot(5_000n, '2026-03-20T00:00:00.000Z'),
      ]),
      dailySpend: series(14, 700n),
    });
    expect(f).toMatchObject({
      depletesAt: at('2026-03-27T03:25:42.858Z'),
      projectedForfeits: 1_850n,
      runwayDays: 11,
    });
  });

  it('with auto-recharge able and no cap, never projects a zero; the recharge comes when the balance falls below the trigger', () => {
    const f = forecastRunway({
      now,
      account: account(10_000n, [lot(10_000n, '2027-01-01T00:00:00.000Z')], AR_ON),
      dailySpend: series(14, 700n),
    });
    // Below 2,000 when 8,001 is spent: 8,001 / 700 days after now.
    expect(f).toMatchObject({
      depletesAt: null,
      rechargeExpectedAt: new Date(now.getTime() + Math.ceil((8_001 * DAY_MS) / 700)),
      autoRecharge: 'able',
      beyondHorizon: true,
      projectedUntil: at('2027-04-19T12:00:00.000Z'),
    });
    expect(f.rechargeExpectedAt).toEqual(at('2026-03-26T22:19:12.000Z'));
  });

  it('projects the zero once the monthly cap stops the recharges, after the last recharge', () => {
    const f = forecastRunway({
      now,
      account: account(10_000n, [lot(10_000n, '2027-01-01T00:00:00.000Z')], { ...AR_ON, monthlyCap: 1 }),
      dailySpend: series(14, 2_000n),
    });
    // Below the trigger at a spend of 8,001 (19 March, 43.2 s past noon): 5,000 added, 6,999 left;
    // the next fall below the trigger is still in March, past the cap: zero at a spend of 15,000.
    expect(f).toMatchObject({
      rechargeExpectedAt: at('2026-03-19T12:00:43.200Z'),
      depletesAt: at('2026-03-23T00:00:00.000Z'),
      projectedRecharges: 1,
      runwayDays: 7,
      depletedByCap: '2026-03',
    });
  });

  it('counts the recharges already made this month against the cap, and a new month starts it again', () => {
    const f = forecastRunway({
      now,
      account: account(
        10_000n,
        [lot(10_000n, '2027-01-01T00:00:00.000Z')],
        { ...AR_ON, monthlyCap: 2 },
        { rechargesThisMonth: 2 },
      ),
      dailySpend: series(14, 500n),
    });
    // March's cap is used: below the trigger on 31 March, the first recharge waits for 1 April
    // (10,000 at 500 a day would reach zero on 4 April). April's two add 10,000: zero when
    // 20,000 is spent, 40 days after now.
    expect(f).toMatchObject({
      rechargeExpectedAt: at('2026-04-01T00:00:00.000Z'),
      projectedRecharges: 2,
      depletesAt: at('2026-04-24T12:00:00.000Z'),
      depletedByCap: '2026-04',
    });
  });

  it('does not count on an auto-recharge that has failed as often in a row as allowed', () => {
    const f = forecastRunway({
      now,
      account: account(10_000n, [lot(10_000n, '2027-01-01T00:00:00.000Z')], AR_ON, {
        consecutiveFailures: 3,
      }),
      dailySpend: series(14, 700n),
    });
    expect(f).toMatchObject({
      autoRecharge: 'stopped_by_failures',
      rechargeExpectedAt: null,
      depletesAt: at('2026-03-29T18:51:25.715Z'),
      depletedByCap: null,
    });
  });

  it('counts a pending recharge as landing now', () => {
    const f = forecastRunway({
      now,
      account: account(1_000n, [lot(1_000n, '2027-01-01T00:00:00.000Z')], AR_ON, { pendingRequestId: 'r:1' }),
      dailySpend: series(14, 700n),
    });
    expect(f.rechargeExpectedAt).toEqual(now);
    expect(f.depletesAt).toBeNull();
  });

  it('an expiry that forfeits the whole balance at once is a momentary zero the recharge lifts', () => {
    const f = forecastRunway({
      now,
      account: account(9_000n, [lot(9_000n, '2026-03-17T12:00:00.000Z')], AR_ON),
      dailySpend: series(14, 100n),
    });
    expect(f).toMatchObject({
      depletesAt: null,
      momentaryZeroAt: at('2026-03-17T12:00:00.000Z'),
      rechargeExpectedAt: at('2026-03-17T12:00:00.000Z'),
      projectedForfeits: 8_800n + 5_000n * 0n,
    });
  });

  it('a balance at or below zero is depleted now, auto-recharge or not', () => {
    for (const balance of [0n, -250n]) {
      const f = forecastRunway({ now, account: account(balance, [], AR_ON), dailySpend: series(14, 700n) });
      expect(f).toMatchObject({ depletesAt: now, runwayDays: 0, rechargeExpectedAt: null });
    }
  });

  it('without spend, the balance lasts until the expiry that empties it, or for ever', () => {
    const lots = [lot(600n, '2026-06-01T00:00:00.000Z'), lot(400n, '2026-09-30T08:00:00.000Z')];
    const f = forecastRunway({ now, account: account(1_000n, lots), dailySpend: series(14, 0n) });
    expect(f).toMatchObject({
      burnRate: 0n,
      depletesAt: at('2026-09-30T08:00:00.000Z'),
      projectedForfeits: 1_000n,
    });
    const never = forecastRunway({ now, account: account(1_000n, []), dailySpend: [] });
    expect(never).toMatchObject({
      depletesAt: null,
      beyondHorizon: false,
      basis: { kind: 'no_spend_history' },
    });
  });

  it('a lot past its expiry but not swept yet is forfeited now', () => {
    const lots = [lot(600n, '2026-03-15T00:00:00.000Z'), lot(400n, '2027-01-01T00:00:00.000Z')];
    const f = forecastRunway({ now, account: account(1_000n, lots), dailySpend: series(14, 100n) });
    expect(f).toMatchObject({ depletesAt: at('2026-03-19T12:00:00.000Z'), projectedForfeits: 600n });
  });

  it('past the horizon, no date and a flag', () => {
    const f = forecastRunway({
      now,
      account: account(500_000n, [lot(500_000n, '2027-03-01T00:00:00.000Z')]),
      dailySpend: series(14, 1n),
      horizonDays: 30,
    });
    expect(f).toMatchObject({
      depletesAt: null,
      beyondHorizon: true,
      projectedUntil: at('2026-04-14T12:00:00.000Z'),
    });
    expect(f.method).toContain('stays above zero for the 30 days projected');
  });

  it('postpaid: no runway, the burn and what will be owed at the end of the month', () => {
    const f = forecastRunway({
      now,
      account: {
        ...account(0n, []),
        settings: accountSettings('postpaid', 'USD'),
        owed: { '2026-03': 12_000n },
      },
      dailySpend: series(14, 700n, 0n, 'postpaid'),
    });
    // 16.5 days left in March x 700 = 11,550.
    expect(f).toMatchObject({
      mode: 'postpaid',
      burnRate: 700n,
      depletesAt: null,
      rechargeExpectedAt: null,
      runwayDays: null,
      owedAtMonthEnd: 23_550n,
    });
  });
});

describe('the balance history', () => {
  it('undoes, day by day back from now, the spend, the lots added and the forfeits', () => {
    const lots: LotView[] = [
      lot(2_500n, '2027-03-10T09:00:00.000Z', {
        amount: 3_000n,
        purchasedAt: at('2026-03-10T09:00:00.000Z'),
      }),
      // A re-rate refund lot: already in the day's net spend, not subtracted again.
      lot(200n, '2027-03-14T10:00:00.000Z', {
        source: 'refund',
        purchasedAt: at('2026-03-14T10:00:00.000Z'),
      }),
      lot(0n, '2026-03-13T00:00:00.000Z', {
        amount: 1_000n,
        expired: 300n,
        expiredAt: at('2026-03-13T00:05:00.000Z'),
        purchasedAt: at('2025-03-13T00:00:00.000Z'),
        status: 'expired',
      }),
    ];
    const dailySpend: DailySpend[] = [
      { day: '2026-03-12', credits: 100n, postpaid: 0n },
      { day: '2026-03-13', credits: 150n, postpaid: 0n },
      { day: '2026-03-14', credits: -50n, postpaid: 0n }, // 150 spent, 200 refunded by a re-rate
      { day: '2026-03-15', credits: 80n, postpaid: 0n },
    ];
    expect(balanceHistory({ now, balance: 4_000n, lots, dailySpend, days: 7 })).toEqual([
      { day: '2026-03-09', balance: 1_580n },
      { day: '2026-03-10', balance: 4_580n }, // bought 3,000 that day
      { day: '2026-03-11', balance: 4_580n },
      { day: '2026-03-12', balance: 4_480n }, // 300 forfeited just after midnight
      { day: '2026-03-13', balance: 4_030n },
      { day: '2026-03-14', balance: 4_080n },
      { day: '2026-03-15', balance: 4_000n },
    ]);
  });

  it('dates a forfeit by its expiry when the lot does not say when it was swept', () => {
    const lots = [lot(0n, '2026-03-14T23:00:00.000Z', { expired: 70n, status: 'expired' })];
    expect(balanceHistory({ now, balance: 10n, lots, dailySpend: [], days: 2 })).toEqual([
      { day: '2026-03-14', balance: 10n },
      { day: '2026-03-15', balance: 10n },
    ]);
    const later = [
      lot(0n, '2026-03-14T23:00:00.000Z', { expired: 70n, expiredAt: at('2026-03-15T00:00:01.000Z') }),
    ];
    expect(balanceHistory({ now, balance: 10n, lots: later, dailySpend: [], days: 2 })[0]).toEqual({
      day: '2026-03-14',
      balance: 80n,
    });
  });

  it('its last point is the balance now', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(10n ** 6n), max: 10n ** 9n }),
        fc.array(fc.bigInt({ min: -1000n, max: 10n ** 6n }), { maxLength: 30 }),
        fc.integer({ min: 1, max: 40 }),
        (balance, spend, days) => {
          const dailySpend = spend.map((credits, i) => ({
            day: utcDay(new Date(now.getTime() - (spend.length - 1 - i) * DAY_MS)),
            credits,
            postpaid: 0n,
          }));
          const h = balanceHistory({ now, balance, lots: [], dailySpend, days });
          expect(h).toHaveLength(days);
          expect(h[h.length - 1]).toEqual({ day: '2026-03-15', balance });
        },
      ),
    );
  });

  it('gives back the end-of-day balances of a wallet run forwards (purchases, spend by earliest expiry, forfeits)', () => {
    const DAYS = 30;
    const start = Date.parse('2026-02-14T00:00:00.000Z');
    const hour = 3_600_000;
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            day: fc.integer({ min: -400, max: DAYS - 1 }),
            amount: fc.bigInt({ min: 1n, max: 50_000n }),
            source: fc.constantFrom('purchase', 'recharge', 'manual') as fc.Arbitrary<LotView['source']>,
          }),
          { maxLength: 6 },
        ),
        fc.array(fc.bigInt({ min: 0n, max: 20_000n }), { minLength: DAYS, maxLength: DAYS }),
        fc.integer({ min: 0, max: 5 }),
        (bought, spend, sweepDelayHours) => {
          // Purchases at 06:00, spend at 12:00, expiries at 18:00 (a lot bought at 18:00 a year before).
          const lots = bought.map((b, i) => {
            const purchasedAt = new Date(start + b.day * DAY_MS + 6 * hour);
            return {
              view: lot(0n, '2000-01-01T00:00:00.000Z', {
                lotId: `l${i}`,
                source: b.source,
                amount: b.amount,
                purchasedAt,
                expiresAt: new Date(lotExpiry(purchasedAt).getTime() + 12 * hour),
              }),
              left: 0n,
            };
          });
          let balance = 0n;
          let debt = 0n;
          const ends: bigint[] = [];
          const dailySpend: DailySpend[] = [];
          const sweep = (until: number) => {
            for (const l of lots) {
              if (l.left > 0n && l.view.expiresAt.getTime() <= until) {
                l.view.expired += l.left;
                l.view.expiredAt = new Date(Math.max(until, l.view.expiresAt.getTime()));
                balance -= l.left;
                l.left = 0n;
              }
            }
          };
          const buy = (l: (typeof lots)[number]) => {
            const toDebt = debt < l.view.amount ? debt : l.view.amount;
            debt -= toDebt;
            l.left = l.view.amount - toDebt;
            balance += l.view.amount;
          };
          // Lots bought before the window, in order of purchase.
          for (const l of [...lots].sort(
            (a, b) => a.view.purchasedAt.getTime() - b.view.purchasedAt.getTime(),
          )) {
            if (l.view.purchasedAt.getTime() < start) {
              sweep(l.view.purchasedAt.getTime());
              buy(l);
            }
          }
          sweep(start);
          for (let d = 0; d < DAYS; d++) {
            const day0 = start + d * DAY_MS;
            sweep(day0 + 6 * hour);
            for (const l of lots) if (l.view.purchasedAt.getTime() === day0 + 6 * hour) buy(l);
            sweep(day0 + 12 * hour);
            let left = spend[d]!;
            for (const l of [...lots].sort(
              (a, b) => a.view.expiresAt.getTime() - b.view.expiresAt.getTime(),
            )) {
              const take = l.left < left ? l.left : left;
              l.left -= take;
              left -= take;
            }
            debt += left;
            balance -= spend[d]!;
            // The sweeper runs a few hours after each expiry.
            sweep(day0 + (18 + sweepDelayHours) * hour);
            dailySpend.push({ day: utcDay(new Date(day0)), credits: spend[d]!, postpaid: 0n });
            ends.push(balance);
          }
          const lastNow = new Date(start + (DAYS - 1) * DAY_MS + 23 * hour);
          const views = lots.map((l) => ({ ...l.view, remaining: l.left }));
          const h = balanceHistory({ now: lastNow, balance, lots: views, dailySpend, days: DAYS });
          expect(h.map((p) => p.balance)).toEqual(ends);
        },
      ),
    );
  });
});

describe('the runway forecast, for any wallet', () => {
  const lotArb = fc.record({
    remaining: fc.bigInt({ min: 0n, max: 100_000n }),
    expiresInHours: fc.integer({ min: -24, max: 500 * 24 }),
  });
  const walletArb = fc.record({
    lots: fc.array(lotArb, { maxLength: 4 }),
    debt: fc.bigInt({ min: 0n, max: 5_000n }),
    spend: fc.array(fc.bigInt({ min: -200n, max: 20_000n }), { maxLength: 20 }),
    ar: fc.record({
      enabled: fc.boolean(),
      trigger: fc.bigInt({ min: 0n, max: 50_000n }),
      amount: fc.bigInt({ min: 1n, max: 50_000n }),
      monthlyCap: fc.integer({ min: 0, max: 4 }),
    }),
    rechargesThisMonth: fc.integer({ min: 0, max: 4 }),
    failures: fc.integer({ min: 0, max: 3 }),
    pending: fc.boolean(),
    nowMs: fc.integer({ min: 0, max: 365 * DAY_MS }),
  });
  type Wallet = typeof walletArb extends fc.Arbitrary<infer W> ? W : never;

  function build(
    w: Wallet,
    extraSpend = 0n,
  ): { now: Date; account: ForecastAccount; dailySpend: DailySpend[] } {
    const t = new Date(Date.parse('2026-01-01T00:00:00.000Z') + w.nowMs);
    const lots = w.lots.map((l, i) =>
      lot(l.remaining, new Date(t.getTime() + l.expiresInHours * 3_600_000).toISOString(), {
        lotId: `l${i}`,
      }),
    );
    const balance = lots.reduce((sum, l) => sum + l.remaining, 0n) - w.debt;
    const dailySpend = w.spend.map((credits, i) => ({
      day: utcDay(new Date(t.getTime() - (w.spend.length - 1 - i) * DAY_MS)),
      credits: i === Math.max(0, w.spend.length - 2) ? credits + extraSpend : credits,
      postpaid: 0n,
    }));
    return {
      now: t,
      account: account(
        balance,
        lots,
        { ...w.ar, maxConsecutiveFailures: 3 },
        {
          month: utcDay(t).slice(0, 7),
          rechargesThisMonth: w.rechargesThisMonth,
          consecutiveFailures: w.failures,
          pendingRequestId: w.pending ? 'r:1' : '',
        },
      ),
      dailySpend,
    };
  }

  it('gives no date before now, and never a recharge at or after the zero', () => {
    fc.assert(
      fc.property(walletArb, (w) => {
        const input = build(w);
        const f = forecastRunway(input);
        for (const d of [f.depletesAt, f.rechargeExpectedAt, f.momentaryZeroAt, f.projectedUntil]) {
          if (d) expect(d.getTime()).toBeGreaterThanOrEqual(input.now.getTime());
        }
        if (f.depletesAt && f.rechargeExpectedAt) expect(f.rechargeExpectedAt < f.depletesAt).toBe(true);
        if (f.depletesAt)
          expect(f.runwayDays).toBe(Math.floor((f.depletesAt.getTime() - input.now.getTime()) / DAY_MS));
        if (f.beyondHorizon) expect(f.depletesAt).toBeNull();
        expect(f.burnRate >= 0n).toBe(true);
      }),
    );
  });

  it('with auto-recharge able, the balance above zero and no cap, projects no zero', () => {
    fc.assert(
      fc.property(walletArb, (w) => {
        const input = build({ ...w, failures: 0, ar: { ...w.ar, enabled: true, monthlyCap: 0 } });
        fc.pre(input.account.balance > 0n);
        const f = forecastRunway(input);
        expect(f.autoRecharge).toBe('able');
        expect(f.depletesAt).toBeNull();
      }),
    );
  });

  it('with auto-recharge able and the cap not reached, a zero comes only after a recharge (or with the last one)', () => {
    fc.assert(
      fc.property(walletArb, (w) => {
        const input = build({ ...w, failures: 0, rechargesThisMonth: 0, ar: { ...w.ar, enabled: true } });
        fc.pre(input.account.balance > 0n);
        const f = forecastRunway(input);
        if (f.depletesAt) expect(f.projectedRecharges).toBeGreaterThan(0);
      }),
    );
  });

  it('without auto-recharge, more spend never moves the zero later', () => {
    fc.assert(
      fc.property(walletArb, fc.bigInt({ min: 1n, max: 100_000n }), (w, more) => {
        const off = { ...w, ar: { ...w.ar, enabled: false } };
        const base = forecastRunway(build(off));
        const heavier = forecastRunway(build(off, more));
        const when = (d: Date | null) => (d ? d.getTime() : Infinity);
        expect(heavier.burnRate >= base.burnRate).toBe(true);
        expect(when(heavier.depletesAt)).toBeLessThanOrEqual(when(base.depletesAt));
      }),
    );
  });

  it('without spend and without auto-recharge, the zero is now or a lot expiry, if any', () => {
    fc.assert(
      fc.property(walletArb, (w) => {
        const input = build({ ...w, spend: [], ar: { ...w.ar, enabled: false } });
        const f = forecastRunway(input);
        if (f.depletesAt && f.depletesAt.getTime() !== input.now.getTime()) {
          expect(input.account.lots.map((l) => l.expiresAt.getTime())).toContain(f.depletesAt.getTime());
        }
        const lotsLeft = input.account.lots.some((l) => l.remaining > 0n);
        if (input.account.balance > 0n && !lotsLeft) expect(f.depletesAt).toBeNull();
      }),
    );
  });
});
