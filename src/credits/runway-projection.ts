/**
 * The step-by-step projection of a prepaid balance behind `forecastRunway`: spending, lots
 * expiring, auto-recharges landing, until the balance is depleted or the horizon is reached.
 * Pure, integer arithmetic only.
 */
import { lotExpiry, utcMonth } from './calendar';
import type { AccountView } from './wallet';

const DAY = 86_400_000n;
/** A projection makes at most this many steps (a recharge, an expiry, a month): a bound of work. */
const MAX_STEPS = 4_000;

export const ceilDiv = (a: bigint, b: bigint): bigint => (a > 0n ? (a + b - 1n) / b : a / b);

export type ForecastAccount = Pick<AccountView, 'settings' | 'balance' | 'autoRecharge' | 'lots' | 'owed'>;

export type AutoRechargeState =
  | 'off'
  /** Enabled and counted on to recharge, as its monthly cap permits. */
  | 'able'
  /** Enabled, but it has failed as many times in a row as it is allowed: it turns itself off. */
  | 'stopped_by_failures';

interface ProjectedLot {
  remaining: bigint;
  expiresAt: bigint;
}

export interface Projection {
  depletedAt: bigint | null;
  /** The month whose used-up cap let the balance reach zero at depletedAt. */
  depletedByCap: string | null;
  firstRecharge: bigint | null;
  recharges: number;
  forfeited: bigint;
  momentaryZero: bigint | null;
  /** Where the projection stopped without a depletion: the horizon or the step bound (null: nothing left to happen). */
  stoppedAt: bigint | null;
  end: bigint;
}

function insertLot(lots: ProjectedLot[], lot: ProjectedLot): void {
  const at = lots.findIndex((l) => l.expiresAt > lot.expiresAt);
  if (at < 0) lots.push(lot);
  else lots.splice(at, 0, lot);
}

/**
 * The projection's state as it moves on. Money is counted in 1/DAY_MS minor units, so the spend
 * at any millisecond, rate x elapsed, is exact: a fraction spent before a lot's expiry is not
 * forfeited again with it.
 */
class Projector {
  private readonly t0: bigint;
  private readonly able: boolean;
  private readonly trigger: bigint;
  private readonly amount: bigint;
  private readonly monthlyCap: number;
  private readonly lots: ProjectedLot[];
  private b: bigint;
  private t: bigint;
  private forfeited = 0n;
  private spent = 0n; // cumulative since t0
  private month: string;
  private monthCount: number;
  private pending: boolean;
  readonly out: Projection;

  constructor(
    now: Date,
    account: ForecastAccount,
    private readonly rate: bigint,
    state: AutoRechargeState,
    end: bigint,
  ) {
    this.t0 = BigInt(now.getTime());
    const ar = account.settings.autoRecharge;
    this.able = state === 'able';
    this.lots = account.lots
      .filter((l) => l.remaining > 0n)
      .map((l) => ({ remaining: l.remaining * DAY, expiresAt: BigInt(l.expiresAt.getTime()) }))
      .sort((a, b) => (a.expiresAt < b.expiresAt ? -1 : a.expiresAt > b.expiresAt ? 1 : 0));
    this.b = account.balance * DAY;
    this.t = this.t0;
    this.trigger = ar.trigger * DAY;
    this.amount = ar.amount * DAY;
    this.monthlyCap = ar.monthlyCap;
    this.month = utcMonth(now);
    this.monthCount = account.autoRecharge.month === this.month ? account.autoRecharge.rechargesThisMonth : 0;
    this.pending = this.able && account.autoRecharge.pendingRequestId !== '';
    this.out = {
      depletedAt: null,
      depletedByCap: null,
      firstRecharge: null,
      recharges: 0,
      forfeited: 0n,
      momentaryZero: null,
      stoppedAt: null,
      end,
    };
  }

  run(): Projection {
    if (this.b <= 0n) {
      this.out.depletedAt = this.t0; // there already, whatever a recharge does next
      return this.out;
    }
    for (let step = 0; step < MAX_STEPS; step++) if (this.step()) return this.done();
    this.out.stoppedAt = this.t;
    return this.done();
  }

  /** What is reported forfeited: whole minor units, rounded down. */
  private done(): Projection {
    this.out.forfeited = this.forfeited / DAY;
    return this.out;
  }

  /** One step: true when the projection is over. */
  private step(): boolean {
    this.expireLots();
    const m = utcMonth(new Date(Number(this.t)));
    if (m !== this.month) {
      this.month = m;
      this.monthCount = 0;
    }
    const capLeft = this.monthlyCap === 0 ? Infinity : this.monthlyCap - this.monthCount;
    const canRecharge = this.pending || (this.able && capLeft > 0);
    if (this.b <= 0n) {
      // No recharge can lift it: depleted. Otherwise the recharge requested at this moment
      // lifts it once paid.
      if (!canRecharge) {
        this.out.depletedAt = this.t;
        if (this.able && capLeft <= 0) this.out.depletedByCap = this.month;
        return true;
      }
      this.out.momentaryZero ??= this.t;
    }
    // Below the trigger: a whole minor unit below it, as the ledger's whole-unit balance is.
    if (canRecharge && (this.pending || this.b <= this.trigger - DAY || this.b <= 0n)) {
      this.recharge(capLeft);
      return false;
    }
    const next = this.nextMoment(capLeft);
    if (next === undefined) return true; // nothing will ever change
    this.spendUntil(next);
    this.t = next;
    if (this.t >= this.out.end) {
      if (this.b <= 0n) this.out.depletedAt = this.t;
      else this.out.stoppedAt = this.out.end;
      return true;
    }
    return false;
  }

  /**
   * Lots whose expiry has come (at t0: not yet swept) forfeit what is left: the ledger's order
   * is the forfeit, then the depletion check, then the recharge request.
   */
  private expireLots(): void {
    while (this.lots.length > 0 && this.lots[0]!.expiresAt <= this.t) {
      const lot = this.lots.shift()!;
      this.b -= lot.remaining;
      this.forfeited += lot.remaining;
    }
  }

  /** Requests follow one another while the balance stays below the trigger (above zero at least). */
  private recharge(capLeft: number): void {
    let n = 1n;
    if (this.pending) this.pending = false;
    else {
      n = ceilDiv((this.trigger > 0n ? this.trigger : 1n) - this.b, this.amount);
      if (capLeft !== Infinity && n > BigInt(capLeft)) n = BigInt(capLeft);
      this.monthCount += Number(n);
    }
    this.out.recharges += Number(n);
    this.out.firstRecharge ??= this.t;
    this.b += n * this.amount;
    insertLot(this.lots, {
      remaining: n * this.amount,
      expiresAt: BigInt(lotExpiry(new Date(Number(this.t))).getTime()),
    });
  }

  /** The first moment at which the cumulative spend reaches `total`. */
  private whenSpent(total: bigint): bigint {
    return this.t0 + ceilDiv(total, this.rate);
  }

  /**
   * The next moment something happens: an expiry, the zero, the trigger, a new month's cap;
   * undefined when nothing ever will.
   */
  private nextMoment(capLeft: number): bigint | undefined {
    const { lots, rate, b, spent, trigger, able } = this;
    let next = this.out.end;
    if (lots.length > 0 && lots[0]!.expiresAt < next) next = lots[0]!.expiresAt;
    if (rate > 0n) {
      const zero = this.whenSpent(spent + b);
      if (zero < next) next = zero;
      if (able && b > trigger - DAY && capLeft > 0) {
        const below = this.whenSpent(spent + b - trigger + DAY);
        if (below < next) next = below;
      }
    }
    if (able && capLeft <= 0) {
      const nextMonth = new Date(Date.parse(`${this.month}-01T00:00:00.000Z`));
      nextMonth.setUTCMonth(nextMonth.getUTCMonth() + 1);
      if (BigInt(nextMonth.getTime()) < next) next = BigInt(nextMonth.getTime());
    }
    if (next === this.out.end && rate === 0n && lots.length === 0) return undefined;
    if (next <= this.t) next = this.t + 1n; // defensive: always move on
    return next;
  }

  /** Spends up to `next`, drawing on the lot that expires first. */
  private spendUntil(next: bigint): void {
    const s = this.rate * (next - this.t0);
    let draw = s - this.spent;
    this.spent = s;
    this.b -= draw;
    while (draw > 0n && this.lots.length > 0) {
      const lot = this.lots[0]!;
      const take = lot.remaining < draw ? lot.remaining : draw;
      lot.remaining -= take;
      draw -= take;
      if (lot.remaining === 0n) this.lots.shift();
    }
  }
}

/** The balance projected from `now` to `end` at a daily burn of `rate`. */
export function project(
  now: Date,
  account: ForecastAccount,
  rate: bigint,
  state: AutoRechargeState,
  end: bigint,
): Projection {
  return new Projector(now, account, rate, state, end).run();
}
