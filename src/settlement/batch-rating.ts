import type { Rejection } from '../credits/codes';
import type { RatedDetails } from '../credits/usage-details';
import { userKeyOf } from '../credits/user-limits';
import type { LedgerUsage, RatedBatch, UsageKey, UsageSource, UsageState } from '../credits/wallet';
import { parseInstant, type UsageRecord } from '../rating';
import type { PricedUsage, Unrated, UsagePricer } from './ports';
import { detailsOf } from './rated-details';
import type { AppliedCharge } from './settle-outcomes';
import { poolOfKey } from './tenant-memory';

/** A valid usage on its way to the ledger, with the fingerprint of its rating-relevant content. */
export interface UsageToSettle {
  record: UsageRecord;
  fingerprint: string;
}

/**
 * Asked before a usage is charged, with its rated record exactly as it will be (but for the
 * time it is applied): a rejection when that record could not go out (too large, cannot be
 * serialised), so that such a usage is never charged.
 */
export type RatedRecordCheck<U extends UsageToSettle = UsageToSettle> = (
  usage: U,
  details: RatedDetails,
  applied: AppliedCharge,
) => Rejection | undefined;

/** Where the money for a priced usage comes from, by the tenant's billing mode. */
export function sourceOf(price: PricedUsage, mode: 'prepaid' | 'postpaid'): UsageSource {
  if (price.payment !== 'paid') return price.payment;
  return mode === 'prepaid' ? 'credits' : 'postpaid';
}

/**
 * One tenant's usages rated against a state of its ledger: each id once, priced against the
 * pool seconds the usages before it left, its rated record checked before it is sent. Rated
 * again from scratch for each state (a read, or the tenant remembered).
 */
export class BatchRating<U extends UsageToSettle> {
  /** The pool months the usages may draw on, `<pool>:<yyyy-mm>`. */
  readonly poolMonths: string[];
  /**
   * Each id once, located by its first record's start (a record of the same id with another
   * start is a conflicting duplicate of that one when it falls on the same day).
   */
  readonly keys = new Map<string, UsageKey>();
  /** The state last rated against. */
  state: UsageState | undefined;
  readonly priced = new Map<string, PricedUsage | Unrated>();
  /** The details of each usage sent, as sent: a usage applied now repeats them as they are. */
  readonly sent = new Map<string, RatedDetails>();
  /** Usages refused before their debit, because their rated record could not go out. */
  readonly unsendable = new Map<string, Rejection>();
  private readonly poolOf: Map<UsageRecord, { pool: string; period: string } | undefined>;

  constructor(
    private readonly pricer: UsagePricer,
    readonly group: U[],
    private readonly check?: RatedRecordCheck<U>,
  ) {
    this.poolOf = new Map(group.map(({ record }) => [record, pricer.poolFor(record)]));
    this.poolMonths = [
      ...new Set([...this.poolOf.values()].flatMap((p) => (p ? [`${p.pool}:${p.period}`] : []))),
    ];
    for (const { record } of group)
      if (!this.keys.has(record.id))
        this.keys.set(record.id, { id: record.id, start: new Date(parseInstant(record.startDateTime)) });
  }

  /** The batch the ledger applies, rated against `current`. */
  rate(current: UsageState): RatedBatch {
    this.state = current;
    this.priced.clear();
    this.unsendable.clear();
    this.sent.clear();
    const poolLeft = new Map(
      this.poolMonths.map((key) => [
        key,
        (current.poolCapacity[poolOfKey(key)] ?? 0) - (current.poolUsed[key] ?? 0),
      ]),
    );
    const usages: LedgerUsage[] = [];
    for (const settling of this.group) {
      const { record } = settling;
      if (current.applied.has(record.id) || this.priced.has(record.id)) continue;
      const pool = this.poolOf.get(record);
      const key = pool ? `${pool.pool}:${pool.period}` : '';
      const left = pool ? Math.max(0, poolLeft.get(key) ?? 0) : 0;
      const price = this.pricer.price(record, current.currency, left);
      this.priced.set(record.id, price);
      if (price.kind === 'unrated') continue;
      const source = sourceOf(price, current.mode);
      const details = detailsOf(settling.fingerprint, price);
      const refusal = this.check?.(settling, details, {
        charge: price.charge,
        poolSeconds: price.poolSeconds,
        source,
        appliedAt: new Date(0),
      });
      if (refusal) {
        this.unsendable.set(record.id, refusal);
        continue;
      }
      if (pool && price.poolSeconds > 0) poolLeft.set(key, poolLeft.get(key)! - price.poolSeconds);
      this.sent.set(record.id, details);
      usages.push(this.usageOf(record, price, source, details, pool));
    }
    return {
      currency: current.currency,
      usages,
      poolUse: Object.fromEntries(this.poolMonths.map((key) => [key, current.poolUsed[key] ?? 0])),
    };
  }

  private usageOf(
    record: UsageRecord,
    price: PricedUsage,
    source: UsageSource,
    details: RatedDetails,
    pool: { pool: string } | undefined,
  ): LedgerUsage {
    return {
      id: record.id,
      // The first record of its id (a later one of the id is not sent): its start, read once.
      start: this.keys.get(record.id)!.start,
      source,
      charge: price.charge,
      pool: pool && price.poolSeconds > 0 ? pool.pool : '',
      poolSeconds: price.poolSeconds,
      period: this.pricer.periodOf(record),
      details,
      // The record itself: the ledger keeps its report's fields (nothing copied here).
      report: record,
      derivedContext: price.destinationContext,
      user: userKeyOf(record),
      international: (record.destinationContext ?? price.destinationContext) === 'International',
    };
  }
}
