/**
 * The runway of a wallet: its balance over the last days, and when the balance is projected to
 * reach zero. Pure: the caller reads the account and the daily spend and passes the clock.
 * Money is integer minor units; time is integer milliseconds (bigint in the arithmetic).
 */
import { utcMonth } from './calendar';
import { formatMinor } from '../rating';
import {
  ceilDiv,
  project,
  type AutoRechargeState,
  type ForecastAccount,
  type Projection,
} from './runway-projection';
import type { BillingMode, LotView, MinorUnits } from './wallet';

export type { AutoRechargeState, ForecastAccount } from './runway-projection';

export const DAY_MS = 86_400_000;
const DAY = BigInt(DAY_MS);

/** What was debited from credits (prepaid) and accrued as owed (postpaid) on one UTC day. */
export interface DailySpend {
  /** `yyyy-mm-dd`, UTC. */
  day: string;
  credits: MinorUnits;
  postpaid: MinorUnits;
}

/** `yyyy-mm-dd` of an instant, UTC. */
export const utcDay = (at: Date): string => at.toISOString().slice(0, 10);
const dayStart = (day: string): number => Date.parse(`${day}T00:00:00.000Z`);
const dayAfter = (day: string, n = 1): string => utcDay(new Date(dayStart(day) + n * DAY_MS));

export interface BalancePoint {
  day: string;
  /** The balance at the end of the day (for today: now). */
  balance: MinorUnits;
}

/**
 * The balance at the end of each of the last `days` UTC days, oldest first; today's is `balance`
 * (the balance now). Derived backwards from now, for the end E of each earlier day:
 *
 *   balance(E) = balance now
 *              + credits spent on the days after E's day (today included)
 *              - the amount of every lot purchased at or after E (refund lots excepted)
 *              + what every lot forfeited, when it was forfeited at or after E
 *
 * A refund lot (a re-rate refund of a charge that went into debt, after a purchase paid that
 * debt) is not subtracted: the daily spend is net of re-rate differences, so the refund is
 * already in it. A lot's forfeit is dated by its `expiredAt` (the sweep), or its `expiresAt`
 * when absent.
 *
 * Limits: the spend series must date money on the day it moved (applied or re-rated), and a day
 * missing from it counts as no spend, so ask for a series at least `days` long; a back-dated
 * adjustment (a migration) counts from its purchase date, not from when it was made; a re-rate
 * refund to a lot that had already expired is forfeited at once and kept in the lot's `expired`
 * under the lot's own expiry, so a day between that expiry and the re-rate is off by that refund.
 */
export function balanceHistory(input: {
  now: Date;
  balance: MinorUnits;
  lots: readonly Pick<LotView, 'source' | 'amount' | 'expired' | 'purchasedAt' | 'expiresAt' | 'expiredAt'>[];
  dailySpend: readonly DailySpend[];
  days: number;
}): BalancePoint[] {
  const { now, balance, lots, dailySpend } = input;
  if (!Number.isInteger(input.days) || input.days < 1)
    throw new RangeError(`days must be an integer >= 1: ${input.days}`);
  const today = utcDay(now);
  const spent = new Map<string, MinorUnits>();
  for (const s of dailySpend) spent.set(s.day, (spent.get(s.day) ?? 0n) + s.credits);
  const points: BalancePoint[] = [{ day: today, balance }];
  let b = balance;
  let day = today;
  for (let i = 1; i < input.days; i++) {
    // Going from the end of `day` back to the end of the day before it: undo `day`'s changes.
    const end = dayStart(day) + DAY_MS;
    const start = dayStart(day);
    const upTo = day === today ? now.getTime() : end;
    b += spent.get(day) ?? 0n;
    for (const lot of lots) {
      const bought = lot.purchasedAt.getTime();
      if (lot.source !== 'refund' && bought >= start && bought < upTo) b -= lot.amount;
      const forfeited = (lot.expiredAt ?? lot.expiresAt).getTime();
      if (lot.expired > 0n && forfeited >= start && forfeited < upTo) b += lot.expired;
    }
    day = dayAfter(day, -1);
    points.push({ day, balance: b });
  }
  return points.reverse();
}

/** How the daily burn was computed. */
export type BurnBasis =
  | {
      /** The plain mean of the full UTC days `from`..`to` (at most the 14 before today). */
      kind: 'mean_of_full_days';
      from: string;
      to: string;
      days: number;
      total: MinorUnits;
    }
  | {
      /**
       * Today's spend so far, as it is (not scaled up): there is no full day yet, or today has
       * already spent more than the mean of the full days.
       */
      kind: 'today_so_far';
      total: MinorUnits;
    }
  | { kind: 'no_spend_history' };

export interface RunwayForecast {
  mode: BillingMode;
  currency: string;
  /** Minor units a day, rounded up (the mean's remainder never lengthens the runway). */
  burnRate: MinorUnits;
  basis: BurnBasis;
  /** When the projected balance reaches zero (at or below); now when it is there already. */
  depletesAt: Date | null;
  /** The first projected recharge request (the balance below the trigger), only if before depletesAt. */
  rechargeExpectedAt: Date | null;
  /** Whole days from now to depletesAt (rounded down). */
  runwayDays: number | null;
  /**
   * With auto-recharge able: the month (`yyyy-mm`, UTC) whose cap of recharges is used up when
   * the balance reaches zero at depletesAt (a recharge would otherwise lift it); null otherwise.
   */
  depletedByCap: string | null;
  autoRecharge: AutoRechargeState;
  /** Recharges projected until depletesAt (or the end of the projection). */
  projectedRecharges: number;
  /** Money projected to be forfeited at lot expiries before depletesAt (or the end of the projection). */
  projectedForfeits: MinorUnits;
  /**
   * With auto-recharge: the first moment the balance is projected at zero for as long as the
   * recharge requested then takes to be paid (an expiry that forfeits it at once, or a trigger
   * at or below zero); calls are refused meanwhile. Not a depletion: the recharge lifts it.
   */
  momentaryZeroAt: Date | null;
  /**
   * The projection stopped at `projectedUntil` with the balance still above zero: at the horizon,
   * or earlier at the bound of steps (a tiny recharge amount against a large burn).
   */
  beyondHorizon: boolean;
  /** Where the projection ended: depletesAt, the horizon, or the horizon's end when nothing happens. */
  projectedUntil: Date;
  /** Postpaid: the amount owed this month now plus the burn until the month's end (rounded up). */
  owedAtMonthEnd: MinorUnits | null;
  /** One sentence a UI can show. */
  method: string;
}

export const FORECAST_HORIZON_DAYS = 400;
/** The full days the burn is the mean of: two weeks, so every weekday counts twice. */
export const BURN_WINDOW_DAYS = 14;

/** A daily burn rate: the mean of the last full days, rounded up. */
export function burnRate(
  now: Date,
  dailySpend: readonly DailySpend[],
  column: 'credits' | 'postpaid',
  windowDays = BURN_WINDOW_DAYS,
): { rate: MinorUnits; basis: BurnBasis } {
  const today = utcDay(now);
  const byDay = new Map<string, MinorUnits>();
  for (const s of dailySpend) byDay.set(s.day, (byDay.get(s.day) ?? 0n) + s[column]);
  // The history starts at the first day anything was spent: the zero days a series is padded
  // with before it (a tenant that began today) are not a quiet fortnight.
  const first = [...byDay.keys()].filter((d) => byDay.get(d) !== 0n).sort()[0];
  if (first === undefined) return { rate: 0n, basis: { kind: 'no_spend_history' } };
  const to = dayAfter(today, -1);
  let from = dayAfter(today, -windowDays);
  if (first > from) from = first;
  // Today so far is a floor: it has been spent already. It is not scaled up to a whole day: an
  // hour's spend times 24 overstates the burn early in the day, and a spend added to a past day
  // could then lower the burn.
  const todaySoFar = byDay.get(today) ?? 0n;
  const floor = { rate: todaySoFar, basis: { kind: 'today_so_far', total: todaySoFar } as const };
  if (from > to) return todaySoFar > 0n ? floor : { rate: 0n, basis: { kind: 'no_spend_history' } };
  let total = 0n;
  let days = 0;
  for (let d = from; d <= to; d = dayAfter(d)) {
    total += byDay.get(d) ?? 0n;
    days++;
  }
  // A net refund (re-rates) can make the mean negative: no money comes in by spending.
  const rate = total > 0n ? ceilDiv(total, BigInt(days)) : 0n;
  if (todaySoFar > rate) return floor;
  return { rate, basis: { kind: 'mean_of_full_days', from, to, days, total } };
}

function autoRechargeState(account: ForecastAccount): AutoRechargeState {
  const ar = account.settings.autoRecharge;
  if (account.settings.mode !== 'prepaid' || !ar.enabled || ar.amount <= 0n) return 'off';
  if (
    ar.maxConsecutiveFailures > 0 &&
    account.autoRecharge.consecutiveFailures >= ar.maxConsecutiveFailures
  ) {
    return 'stopped_by_failures';
  }
  return 'able';
}

/**
 * When the balance is projected to reach zero, spending the burn rate (`burnRate`: the plain
 * mean of the last 14 full UTC days, rounded up to whole minor units a day; today is partial and
 * left out). A plain mean rather than a weighted one: two whole weeks weigh every weekday alike,
 * where a recency weight would make the forecast swing with the day of the week it is read on;
 * and "the average of the last 14 days" is what a UI can say in words.
 *
 * The projection follows the ledger's rules, step by step: spending draws on the lot that
 * expires first, and at a lot's expiry what is left of it is forfeited (so expiries can bring the
 * zero forward); the balance is depleted at or below zero. With auto-recharge able, a recharge is
 * requested when the balance falls below the trigger (a pending one is counted as landing now),
 * at most the monthly cap a UTC calendar month, and is assumed paid at once: a new lot of the
 * recharge amount, expiring 12 months later. Spend is cumulative from now, `floor(rate x elapsed
 * / day)`, so no rounding piles up; a moment found by it is the first millisecond at which the
 * spend reaches the amount (rounded up).
 *
 * Postpaid tenants have no runway: only the burn and the amount owed by the month's end.
 */
export function forecastRunway(input: {
  now: Date;
  account: ForecastAccount;
  dailySpend: readonly DailySpend[];
  horizonDays?: number;
}): RunwayForecast {
  const { now, account } = input;
  const horizonDays = input.horizonDays ?? FORECAST_HORIZON_DAYS;
  if (!Number.isInteger(horizonDays) || horizonDays < 1) {
    throw new RangeError(`horizonDays must be an integer >= 1: ${horizonDays}`);
  }
  const { mode, currency } = account.settings;
  const column = mode === 'postpaid' ? 'postpaid' : 'credits';
  const { rate, basis } = burnRate(now, input.dailySpend, column);
  const state = autoRechargeState(account);
  const basisText = describeBasis(basis, rate, currency);

  if (mode === 'postpaid') {
    const monthStart = Date.parse(`${utcMonth(now)}-01T00:00:00.000Z`);
    const nextMonth = new Date(monthStart);
    nextMonth.setUTCMonth(nextMonth.getUTCMonth() + 1);
    const left = BigInt(nextMonth.getTime() - now.getTime());
    const owedNow = account.owed[utcMonth(now)] ?? 0n;
    return {
      mode,
      currency,
      burnRate: rate,
      basis,
      depletesAt: null,
      rechargeExpectedAt: null,
      runwayDays: null,
      depletedByCap: null,
      autoRecharge: 'off',
      projectedRecharges: 0,
      projectedForfeits: 0n,
      momentaryZeroAt: null,
      beyondHorizon: false,
      projectedUntil: nextMonth,
      owedAtMonthEnd: owedNow + ceilDiv(rate * left, DAY),
      method: `Postpaid: no runway. ${basisText}; owed by the month's end = owed so far + that burn for the rest of the month.`,
    };
  }

  const p = project(now, account, rate, state, BigInt(now.getTime() + horizonDays * DAY_MS));
  const depletesAt = p.depletedAt === null ? null : new Date(Number(p.depletedAt));
  const rechargeExpectedAt =
    p.firstRecharge !== null && (p.depletedAt === null || p.firstRecharge < p.depletedAt)
      ? new Date(Number(p.firstRecharge))
      : null;
  const runwayDays = p.depletedAt === null ? null : Number((p.depletedAt - BigInt(now.getTime())) / DAY);
  return {
    mode,
    currency,
    burnRate: rate,
    basis,
    depletesAt,
    rechargeExpectedAt,
    runwayDays,
    depletedByCap: p.depletedByCap,
    autoRecharge: state,
    projectedRecharges: p.recharges,
    projectedForfeits: p.forfeited,
    momentaryZeroAt: p.momentaryZero === null ? null : new Date(Number(p.momentaryZero)),
    beyondHorizon: p.depletedAt === null && p.stoppedAt !== null,
    projectedUntil: new Date(Number(p.depletedAt ?? p.stoppedAt ?? p.end)),
    owedAtMonthEnd: null,
    method: describeMethod(basisText, state, account, horizonDays, p),
  };
}

function describeBasis(basis: BurnBasis, rate: bigint, currency: string): string {
  const burn = `${formatMinor(rate, currency)} ${currency}`;
  switch (basis.kind) {
    case 'mean_of_full_days':
      return `Burn ${burn} a day: the mean of the ${basis.days} full days ${basis.from} to ${basis.to}, rounded up`;
    case 'today_so_far':
      return `Burn ${burn} a day: today's spend so far, above the mean of the full days or with no full day yet`;
    case 'no_spend_history':
      return 'No spend recorded: a burn of 0';
  }
}

function describeMethod(
  basisText: string,
  state: AutoRechargeState,
  account: ForecastAccount,
  horizonDays: number,
  p: Projection,
): string {
  const ar = account.settings.autoRecharge;
  const recharge =
    state === 'able'
      ? ` Auto-recharge adds ${formatMinor(ar.amount, account.settings.currency)} ${account.settings.currency} when the balance falls below ${formatMinor(ar.trigger, account.settings.currency)}` +
        (ar.monthlyCap > 0 ? `, ${ar.monthlyCap} recharges a month at most` : '') +
        ', assumed paid at once.'
      : state === 'stopped_by_failures'
        ? ' Auto-recharge has failed too many times in a row and is not counted on.'
        : '';
  const outcome =
    p.depletedAt !== null
      ? ''
      : p.stoppedAt !== null
        ? ` The balance stays above zero for the ${horizonDays} days projected.`
        : ' Nothing is projected to take the balance to zero.';
  return `${basisText}. Spending draws on the lot that expires first; what is left at a lot's expiry is forfeited.${recharge}${outcome}`;
}
