import type { AppliedUsage, MinorUnits, RatedBatch, UsageKey, UsageState } from '../credits/wallet';
import { parseInstant } from '../rating';
import { BatchRating, RatedRecordCheck, UsageToSettle } from './batch-rating';
import type { LedgerRefusal, SettlementLedger, UsagePricer } from './ports';
import { errorMessage, isTransient } from './retry';
import {
  conflicting,
  notPriced,
  RefusedUsage,
  refusalRejection,
  Settlement,
  storedOnly,
  tooLate,
} from './settle-outcomes';
import { remember, rememberedState, TenantMemory } from './tenant-memory';

export { sourceOf } from './batch-rating';
export type { RatedRecordCheck, UsageToSettle } from './batch-rating';
export type { AppliedCharge, RefusedUsage, Settlement, SettledUsage } from './settle-outcomes';

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

/** What applying a rated batch gave: each usage's outcome, or the ledger's refusal of the whole. */
type Applied = { applied: AppliedUsage[]; tooLate?: string[]; balance: MinorUnits } | LedgerRefusal;

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
  rate: (state: UsageState) => RatedBatch,
  maxAttempts = 5,
): Promise<Applied> {
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const state = await ledger.readUsageState(tenantId, usages, poolMonths);
    if ('refused' in state) return state;
    const result = await ledger.applyUsage(tenantId, rate(state));
    if (!('conflict' in result)) return result;
  }
  throw new PoolContentionError(`pool use of ${tenantId} kept moving over ${maxAttempts} attempts`);
}

const seconds = (startNs: bigint) => Number(process.hrtime.bigint() - startNs) / 1e9;

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
    const { observer } = this.options;
    const rating = new BatchRating(this.options.pricer, group, check);
    const ratingStarted = process.hrtime.bigint();
    let ledgerStarted = ratingStarted;
    const rate = (current: UsageState) => {
      const batch = rating.rate(current);
      observer?.rated?.(seconds(ratingStarted), group.length);
      ledgerStarted = process.hrtime.bigint();
      return batch;
    };
    const result = await this.apply(tenant, rating, rate);
    observer?.applied?.(seconds(ledgerStarted), group.length);
    if ('refused' in result) {
      const rejection = refusalRejection(tenant, result);
      return group.map(() => ({ kind: 'rejected', rejection, stage: 'ledger', charged: false }));
    }
    return this.outcomes(rating, result);
  }

  /**
   * Applies the batch. A remembered tenant is rated from memory and applied in one call, which
   * declares what it was rated against (pool use and capacities, currency; the mode through
   * each usage's source) and whether it read the applied ids (it did not): the ledger refuses
   * it whole when any of that moved, and then the tenant is read and rated as for the first time.
   */
  private async apply<U extends UsageToSettle>(
    tenant: string,
    rating: BatchRating<U>,
    rate: (state: UsageState) => RatedBatch,
  ): Promise<Applied> {
    const { ledger, memory } = this.options;
    const known = memory?.get(tenant);
    const remembered = rememberedState(known, rating.poolMonths);
    let result: Applied | undefined;
    if (remembered) {
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
    result ??= await readRateApply(
      ledger,
      tenant,
      [...rating.keys.values()],
      rating.poolMonths,
      rate,
      this.maxAttempts,
    );
    if (memory && !('refused' in result))
      remember(memory, tenant, rating.state!, known, rating.poolMonths, result.applied);
    return result;
  }

  /** Each usage's settlement, from the ledger's outcomes: in the order of the group. */
  private outcomes<U extends UsageToSettle>(
    rating: BatchRating<U>,
    result: Exclude<Applied, LedgerRefusal>,
  ): Settlement[] {
    const state = rating.state!;
    const applied = new Map(result.applied.map((a) => [a.usageId, a]));
    const late = new Set(result.tooLate ?? []);
    const now = this.clock();
    const seen = new Set<string>();
    return rating.group.map(({ record, fingerprint }): Settlement => {
      const repeat = seen.has(record.id);
      seen.add(record.id);
      if (late.has(record.id)) return tooLate(record);
      const fresh = applied.get(record.id);
      const stored = fresh?.outcome ?? state.applied.get(record.id);
      if (!stored) return notPriced(rating.priced.get(record.id), rating.unsendable.get(record.id));
      const duplicate = repeat || !fresh || fresh.duplicate;
      const details =
        (fresh && !fresh.duplicate && rating.sent.get(record.id)) ||
        (stored.details ?? storedOnly(fingerprint, state.currency));
      if (details.fingerprint !== fingerprint) return conflicting(record, fingerprint, details, stored);
      if (!duplicate && record.endDateTime) {
        this.options.observer?.debitLag?.(
          Math.max(0, (now.getTime() - parseInstant(record.endDateTime)) / 1000),
        );
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
