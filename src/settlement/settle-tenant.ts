import type { Rejection } from '../credits/codes';
import { formatMoney } from '../credits/money';
import { userKeyOf } from '../credits/user-limits';
import type { LedgerUsage, UsageKey, UsageOutcome, UsageSource, UsageState } from '../credits/wallet';
import { parseInstant, type UsageRecord } from '../rating';
import type { LedgerRefusal, PricedUsage, SettlementLedger, Unrated, UsagePricer } from './ports';
import { detailsOf, packRated, RatedDetails, splitRated, storedDetails } from './rated-record';
import { errorMessage, isTransient } from './retry';
import { packReport } from './usage-report';
import { KnownTenant, TenantMemory } from './tenant-memory';

/** A valid usage on its way to the ledger, with the fingerprint of its rating-relevant content. */
export interface UsageToSettle {
  record: UsageRecord;
  fingerprint: string;
}

/** What the rated record of a usage says about its money, from the ledger's stored outcome. */
export type AppliedCharge = Pick<UsageOutcome, 'charge' | 'poolSeconds' | 'source' | 'appliedAt'>;

/** A usage settled: charged now or before (then `duplicate`), with what its rated record says. */
export interface SettledUsage {
  kind: 'rated';
  record: UsageRecord;
  details: RatedDetails;
  applied: AppliedCharge;
  duplicate: boolean;
}

/** A usage that is not charged (or was charged for other content): its dead letter's reason. */
export interface RefusedUsage {
  kind: 'rejected';
  rejection: Rejection;
  stage: 'rating' | 'ledger';
  /** The usage was applied in the ledger before it was refused (its debit stands). */
  charged: boolean;
  /** Headers the dead letter carries besides the usual ones. */
  headers?: Record<string, string>;
}

export type Settlement = SettledUsage | RefusedUsage;

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

/** Timings and lags the use case reports (the metrics subscribe to them). */
export interface SettlementObserver {
  rated?(seconds: number, records: number): void;
  applied?(seconds: number, usages: number): void;
  /** From the end of a call to its debit, for a usage charged now. */
  debitLag?(seconds: number): void;
}

/** The pool use kept moving between reading and applying (other writers on the tenant): retry later. */
export class PoolContentionError extends Error {
  override readonly name = 'PoolContentionError';
  readonly retriable = true;
}

export interface SettleOptions {
  ledger: SettlementLedger;
  pricer: UsagePricer;
  /** Usages per apply call (the ledger's bound on one script's run time). */
  maxUsagesPerApply: number;
  /** Reads and rates again this many times at most when the pool use moved meanwhile. */
  maxAttempts?: number;
  clock?: () => Date;
  observer?: SettlementObserver;
  /**
   * Tenants remembered between batches (mode, currency, pool use and capacities), so that a
   * batch is rated and applied in one ledger call, not a read and a call; none: always read.
   */
  memory?: TenantMemory;
}

/**
 * Reads the tenant's state, lets `rate` price the usages against it, and applies the result;
 * when the pool use moved in between, reads and rates again (at most `maxAttempts` times, then
 * `PoolContentionError`, which is transient).
 */
export async function readRateApply(
  ledger: SettlementLedger,
  tenantId: string,
  usages: UsageKey[],
  poolMonths: string[],
  rate: (state: UsageState) => Parameters<SettlementLedger['applyUsage']>[1],
  maxAttempts = 5,
): Promise<Exclude<Awaited<ReturnType<SettlementLedger['applyUsage']>>, { conflict: unknown }>> {
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const state = await ledger.readUsageState(tenantId, usages, poolMonths);
    if ('refused' in state) return state;
    const result = await ledger.applyUsage(tenantId, rate(state));
    if (!('conflict' in result)) return result;
  }
  throw new PoolContentionError(`pool use of ${tenantId} kept moving over ${maxAttempts} attempts`);
}

const seconds = (startNs: bigint) => Number(process.hrtime.bigint() - startNs) / 1e9;

/** How a refusal of the whole batch by the ledger reads on each usage's dead letter. */
function refusalRejection(tenant: string, refusal: LedgerRefusal): Rejection {
  if (refusal.refused === 'no_account')
    return { code: 'unknown_tenant', message: `no account for tenant ${tenant}` };
  if (refusal.refused === 'balance_limit')
    return { code: 'balance_limit', message: `the ledger refused the batch: ${refusal.detail}` };
  return {
    code: 'invalid_field',
    message: `the ledger refused the usage: ${refusal.refused} ${refusal.detail}`,
  };
}

/**
 * The use case "settle a tenant's batch": one tenant's usages (at most `maxUsagesPerApply`),
 * priced against the tenant's pool state and currency, the money's source chosen (credits
 * for a prepaid tenant, postpaid accrual, a bundle's pool, or free), and applied in one atomic
 * ledger step, each usage once by its id. What each usage's rated record says comes from the
 * ledger's stored outcome and the details stored with it, never from pricing again: a
 * redelivered usage repeats its first rated record, whatever decks are loaded by then.
 */
export class TenantSettlement {
  private readonly maxAttempts: number;
  private readonly clock: () => Date;

  constructor(private readonly options: SettleOptions) {
    this.maxAttempts = options.maxAttempts ?? 5;
    this.clock = options.clock ?? (() => new Date());
  }

  get maxUsagesPerApply(): number {
    return this.options.maxUsagesPerApply;
  }

  /** Settles one tenant's usages, in order; one result per usage, in the same order. */
  async settle<U extends UsageToSettle>(
    tenant: string,
    group: U[],
    check?: RatedRecordCheck<U>,
  ): Promise<Settlement[]> {
    if (group.length > this.options.maxUsagesPerApply) {
      throw new RangeError(`at most ${this.options.maxUsagesPerApply} usages a call, got ${group.length}`);
    }
    const { ledger, pricer, observer } = this.options;
    const poolOf = new Map(group.map(({ record }) => [record, pricer.poolFor(record)]));
    const poolMonths = [
      ...new Set([...poolOf.values()].flatMap((p) => (p ? [`${p.pool}:${p.period}`] : []))),
    ];
    // Each id once, located by its first record's start (a record of the same id with another
    // start is a conflicting duplicate of that one when it falls on the same day).
    const keys = new Map<string, UsageKey>();
    for (const { record } of group)
      if (!keys.has(record.id))
        keys.set(record.id, { id: record.id, start: new Date(parseInstant(record.startDateTime)) });
    let state: UsageState | undefined;
    const priced = new Map<string, PricedUsage | Unrated>();
    /** The details of each usage sent, as sent: a usage applied now repeats them as they are. */
    const sent = new Map<string, RatedDetails>();
    /** Usages refused before their debit, because their rated record could not go out. */
    const unsendable = new Map<string, Rejection>();

    const ratingStarted = process.hrtime.bigint();
    let ledgerStarted = ratingStarted;
    const rate = (current: UsageState) => {
      state = current;
      priced.clear();
      unsendable.clear();
      sent.clear();
      const poolLeft = new Map(
        poolMonths.map((key) => [
          key,
          (current.poolCapacity[key.slice(0, key.lastIndexOf(':'))] ?? 0) - (current.poolUsed[key] ?? 0),
        ]),
      );
      const usages: LedgerUsage[] = [];
      for (const settling of group) {
        const { record } = settling;
        if (current.applied.has(record.id) || priced.has(record.id)) continue;
        const pool = poolOf.get(record);
        const key = pool ? `${pool.pool}:${pool.period}` : '';
        const price = pricer.price(record, current.currency, pool ? Math.max(0, poolLeft.get(key) ?? 0) : 0);
        priced.set(record.id, price);
        if (price.kind === 'unrated') continue;
        const source = sourceOf(price, current.mode);
        const details = detailsOf(settling.fingerprint, price);
        const refusal = check?.(settling, details, {
          charge: price.charge,
          poolSeconds: price.poolSeconds,
          source,
          appliedAt: new Date(0),
        });
        if (refusal) {
          unsendable.set(record.id, refusal);
          continue;
        }
        if (pool && price.poolSeconds > 0) poolLeft.set(key, poolLeft.get(key)! - price.poolSeconds);
        sent.set(record.id, details);
        const { own, shared } = splitRated(packRated(details));
        usages.push({
          id: record.id,
          // The first record of its id (a later one of the id is not sent): its start, read once.
          start: keys.get(record.id)!.start,
          source,
          charge: price.charge,
          pool: pool && price.poolSeconds > 0 ? pool.pool : '',
          poolSeconds: price.poolSeconds,
          period: pricer.periodOf(record),
          rated: own,
          ratedShared: shared,
          report: packReport(record, price.destinationContext),
          user: userKeyOf(record),
          international: (record.destinationContext ?? price.destinationContext) === 'International',
        });
      }
      observer?.rated?.(seconds(ratingStarted), group.length);
      ledgerStarted = process.hrtime.bigint();
      return {
        currency: current.currency,
        usages,
        poolUse: Object.fromEntries(poolMonths.map((key) => [key, current.poolUsed[key] ?? 0])),
      };
    };

    // A remembered tenant is rated from memory and applied in one call, which declares what
    // it was rated against (pool use and capacities, currency; the mode through each usage's
    // source) and whether it read the applied ids (it did not): the ledger refuses it whole
    // when any of that moved, and then the tenant is read and rated as for the first time.
    const memory = this.options.memory;
    const known = memory?.get(tenant);
    let result: Awaited<ReturnType<typeof readRateApply>> | undefined;
    if (
      known &&
      poolMonths.every((key) => known.poolUsed.has(key) && known.poolCapacity.has(poolOfKey(key)))
    ) {
      const remembered: UsageState = {
        mode: known.mode,
        currency: known.currency,
        applied: new Map(),
        poolUsed: Object.fromEntries(poolMonths.map((key) => [key, known.poolUsed.get(key)!])),
        poolCapacity: Object.fromEntries(
          poolMonths.map((key) => [poolOfKey(key), known.poolCapacity.get(poolOfKey(key))!]),
        ),
      };
      const attempt = () =>
        ledger.applyUsage(tenant, {
          ...rate(remembered),
          poolCapacity: remembered.poolCapacity,
          unread: true,
        });
      let applied = await attempt();
      // A repeat in a pooled batch: rated again without it, from the records the refusal carries.
      if ('staleRead' in applied && applied.appliedBefore) {
        remembered.applied = applied.appliedBefore;
        applied = await attempt();
      }
      if ('applied' in applied) result = applied;
      else memory!.forget(tenant);
    }
    result ??= await readRateApply(ledger, tenant, [...keys.values()], poolMonths, rate, this.maxAttempts);
    observer?.applied?.(seconds(ledgerStarted), group.length);
    if (memory && !('refused' in result)) remember(memory, tenant, state!, known, poolMonths, result.applied);

    if ('refused' in result) {
      const rejection = refusalRejection(tenant, result);
      return group.map(() => ({ kind: 'rejected', rejection, stage: 'ledger', charged: false }));
    }
    const applied = new Map(result.applied.map((a) => [a.usageId, a]));
    const tooLate = new Set(result.tooLate ?? []);
    const now = this.clock();
    const seen = new Set<string>();
    return group.map(({ record, fingerprint }): Settlement => {
      const repeat = seen.has(record.id);
      seen.add(record.id);
      if (tooLate.has(record.id)) {
        const rejection: Rejection = {
          code: 'too_late',
          message: `the call started ${record.startDateTime}, before the days whose usage ids the ledger remembers`,
        };
        return { kind: 'rejected', rejection, stage: 'ledger', charged: false };
      }
      const fresh = applied.get(record.id);
      const stored = fresh?.outcome ?? state!.applied.get(record.id);
      if (!stored) {
        const refusal = unsendable.get(record.id);
        if (refusal) return { kind: 'rejected', rejection: refusal, stage: 'rating', charged: false };
        const price = priced.get(record.id);
        const rejection: Rejection =
          price?.kind === 'unrated'
            ? { code: price.code, message: price.reason }
            : { code: 'unrated_destination', message: 'not priced' };
        return { kind: 'rejected', rejection, stage: 'rating', charged: false };
      }
      const duplicate = repeat || !fresh || fresh.duplicate;
      const details =
        (fresh && !fresh.duplicate && sent.get(record.id)) ||
        (storedDetails(stored) ?? storedOnly(fingerprint, state!.currency));
      if (details.fingerprint !== fingerprint) return conflicting(record, fingerprint, details, stored);
      if (!duplicate && record.endDateTime) {
        observer?.debitLag?.(Math.max(0, (now.getTime() - parseInstant(record.endDateTime)) / 1000));
      }
      return { kind: 'rated', record, details, applied: stored, duplicate };
    });
  }

  /**
   * Settles a slice through `attempt` (the caller's retrier, which retries what is transient
   * and throws the rest). A slice that fails for good is settled again one usage at a time, so
   * that a usage that makes the ledger or the pricing fail (a bug) is set aside alone, with
   * `internal_error`, and the tenant's other usages are charged: one record never stops
   * billing. Whether the failed usage was applied is read back (a replay repeats its stored
   * outcome either way).
   */
  async settleIsolating<U extends UsageToSettle>(
    tenant: string,
    group: U[],
    attempt: <T>(step: () => Promise<T>) => Promise<T>,
    check?: RatedRecordCheck<U>,
    onFailure?: (error: unknown, usageIds: string[]) => void,
    /**
     * Whether a failure is the usages' own (a bug they trip), not an outage or a wait given
     * up (the consumer stopping, its group session lost): only then are they isolated and set
     * aside; anything else is thrown, and the batch comes again.
     */
    isPermanent: (error: unknown) => boolean = (error) => !isTransient(error),
  ): Promise<Settlement[]> {
    try {
      return await attempt(() => this.settle(tenant, group, check));
    } catch (error) {
      if (!isPermanent(error)) throw error;
      onFailure?.(
        error,
        group.map((u) => u.record.id),
      );
      if (group.length === 1)
        return [await this.internalError(tenant, group[0]!, error, attempt, isPermanent)];
    }
    const results: Settlement[] = [];
    for (const usage of group) {
      try {
        results.push(...(await attempt(() => this.settle(tenant, [usage], check))));
      } catch (error) {
        if (!isPermanent(error)) throw error;
        onFailure?.(error, [usage.record.id]);
        results.push(await this.internalError(tenant, usage, error, attempt, isPermanent));
      }
    }
    return results;
  }

  private async internalError(
    tenant: string,
    usage: UsageToSettle,
    error: unknown,
    attempt: <T>(step: () => Promise<T>) => Promise<T>,
    isPermanent: (error: unknown) => boolean,
  ): Promise<RefusedUsage> {
    const kind = error instanceof Error ? error.name : typeof error;
    let charged = false;
    let known = true;
    try {
      const key = { id: usage.record.id, start: new Date(usage.record.startDateTime) };
      const state = await attempt(() => this.options.ledger.readUsageState(tenant, [key], []));
      charged = !('refused' in state) && state.applied.has(usage.record.id);
    } catch (readError) {
      // An outage (or a wait given up) while reading: the batch comes again, nothing set aside.
      if (!isPermanent(readError)) throw readError;
      known = false;
    }
    return {
      kind: 'rejected',
      rejection: {
        code: 'internal_error',
        message:
          `settling usage ${usage.record.id} failed: ${kind}: ${errorMessage(error)}` +
          (known ? '' : ' (whether it was applied could not be read; a replay repeats a stored outcome)'),
      },
      stage: 'ledger',
      charged,
    };
  }
}

/** The pool of a `<pool>:<yyyy-mm>` key. */
const poolOfKey = (key: string) => key.slice(0, key.lastIndexOf(':'));

/** What the rater remembers of the tenant after a batch: the state it rated against, and its draws. */
function remember(
  memory: TenantMemory,
  tenant: string,
  state: UsageState,
  before: KnownTenant | undefined,
  poolMonths: string[],
  applied: { duplicate: boolean; outcome: { pool: string; period: string; poolSeconds: number } }[],
): void {
  const same = before && before.mode === state.mode && before.currency === state.currency;
  const entry: KnownTenant = {
    mode: state.mode,
    currency: state.currency,
    poolUsed: same ? before.poolUsed : new Map(),
    poolCapacity: same ? before.poolCapacity : new Map(),
  };
  for (const key of poolMonths) {
    entry.poolUsed.set(key, 0);
    entry.poolCapacity.set(poolOfKey(key), 0);
  }
  // All the state says (a read gives every pool of the tenant), so later batches need no read.
  for (const [key, used] of Object.entries(state.poolUsed)) entry.poolUsed.set(key, used);
  for (const [pool, cap] of Object.entries(state.poolCapacity)) entry.poolCapacity.set(pool, cap);
  for (const { duplicate, outcome } of applied) {
    if (duplicate || outcome.poolSeconds <= 0) continue;
    const key = `${outcome.pool}:${outcome.period}`;
    entry.poolUsed.set(key, (entry.poolUsed.get(key) ?? 0) + outcome.poolSeconds);
  }
  memory.set(tenant, entry);
}

/** Where the money for a priced usage comes from, by the tenant's billing mode. */
export function sourceOf(price: PricedUsage, mode: 'prepaid' | 'postpaid'): UsageSource {
  if (price.payment !== 'paid') return price.payment;
  return mode === 'prepaid' ? 'credits' : 'postpaid';
}

/**
 * The details of an outcome stored without them (before the ledger kept a rated record's
 * details with its outcome): what the outcome itself says, nothing priced again. The
 * fingerprint cannot be checked then, and the rate reference is unknown (null).
 */
function storedOnly(fingerprint: string, currency: string): RatedDetails {
  return { fingerprint, billedSeconds: 0, connectionCharge: 0n, currency, destinationName: '', rate: null };
}

/** Charged before for other rating-relevant content: the first charge stands, this one waits for a person. */
function conflicting(
  record: UsageRecord,
  fingerprint: string,
  first: RatedDetails,
  stored: UsageOutcome,
): RefusedUsage {
  const charge = formatMoney({ minor: stored.charge, currency: first.currency });
  const appliedAt = stored.appliedAt.toISOString();
  return {
    kind: 'rejected',
    rejection: {
      code: 'conflicting_duplicate',
      message:
        `usage ${record.id} was charged ${charge} ${first.currency} at ${appliedAt} ` +
        `for other content (fingerprint ${first.fingerprint}, this one ${fingerprint})`,
    },
    stage: 'ledger',
    charged: false,
    headers: {
      'x-conflict-first-fingerprint': first.fingerprint,
      'x-conflict-fingerprint': fingerprint,
      'x-conflict-first-charge': charge,
      'x-conflict-first-currency': first.currency,
      'x-conflict-first-source': stored.source,
      'x-conflict-first-applied-at': appliedAt,
    },
  };
}
