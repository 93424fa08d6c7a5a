import type { Rejection } from '../credits/codes';
import type { RatedDetails } from '../credits/usage-details';
import type { UsageRecord } from '../rating';
import type { UsageToSettle } from './batch-rating';
import type { ReplicaBarrier, SettlementLedger, UsagePricer } from './ports';
import { fingerprint } from './rated-details';
import type { AppliedCharge, RefusedUsage, SettledUsage } from './settle-outcomes';
import { SettlementObserver, TenantSettlement } from './settle-tenant';
import { TenantMemory } from './tenant-memory';

/** The ledger as settling a batch needs it: read and apply a tenant's usages, then wait for replicas. */
export interface BatchLedger extends SettlementLedger, ReplicaBarrier {
  /** Usages one apply takes at most (the ledger's bound on one script's run time). */
  readonly maxUsagesPerApply: number;
}

/**
 * Whether the rated record of a usage could go out (its size, whether it can be written):
 * asked before the usage is charged, with the record exactly as it will be but for the time
 * it is applied. The format is the output adapter's; a rejection sets the usage aside uncharged.
 */
export interface RatedRecordFit<U> {
  check(usage: U, details: RatedDetails, applied: AppliedCharge): Rejection | undefined;
}

/**
 * How the caller waits out a transient cause (Redis away): `until` runs a step, retrying what
 * is transient (backing off, keeping its own session alive), and throws when it gives up or on
 * what is not transient. `isPermanent` tells a failure that is the usages' own (a bug they trip)
 * from an outage or a wait given up.
 */
export interface BatchWaits {
  until<T>(step: () => Promise<T>, tenantId: string): Promise<T>;
  isPermanent(error: unknown): boolean;
}

/** Timings the use case reports, and the failures it set usages aside for. */
export interface BatchObserver extends SettlementObserver {
  /** Settling these usages of the tenant failed for good (they are isolated, then set aside). */
  failed?(error: unknown, tenantId: string, usageIds: string[]): void;
}

/** A decoded usage record; its fingerprint is set here when absent. */
export interface BatchUsage {
  record: UsageRecord;
  fingerprint?: string;
}

/** Not settled: a transient cause (an outage, replicas behind, the wait given up) holds it. */
export interface WaitingUsage {
  kind: 'waiting';
  cause: unknown;
}

/** A usage's outcome: rated with its money, set aside with its code and stage, or waiting. */
export type BatchOutcome = SettledUsage | RefusedUsage | WaitingUsage;

export interface SettleBatchOptions<U> {
  ledger: BatchLedger;
  pricer: UsagePricer;
  /** Asked before each usage is charged; none: every rated record goes out. */
  records?: RatedRecordFit<U>;
  /** Tenants remembered between batches (TenantMemory); none: read before every apply. */
  memory?: TenantMemory;
  clock?: () => Date;
  observer?: BatchObserver;
  /** Tenants settled at once (default 32: each is one or two ledger round trips). */
  tenantsInFlight?: number;
}

const TENANTS_IN_FLIGHT = 32;

/**
 * The use case "settle a batch": decoded usage records in, one outcome each out, in the same
 * order. The records are grouped by tenant; tenants are independent (each apply touches one
 * tenant's keys), so their groups settle concurrently, and one tenant's slices go in order, each
 * rated against the pool use the previous one left (TenantSettlement). Once every tenant is
 * settled, the ledger's replicas must hold the writes (REDIS_WAIT_REPLICAS) before anything is
 * acted on: replicas behind make every usage wait (settling again applies what a failover
 * lost, and repeats the rest). A usage is waiting only when the batch cannot be finished now:
 * then nothing of it may go out, and the caller settles the batch again later.
 */
export class SettleBatch<U extends BatchUsage> {
  private readonly tenant: TenantSettlement;
  private readonly check:
    ((usage: U, details: RatedDetails, applied: AppliedCharge) => Rejection | undefined) | undefined;

  constructor(private readonly options: SettleBatchOptions<U>) {
    this.tenant = new TenantSettlement({
      ledger: options.ledger,
      pricer: options.pricer,
      maxUsagesPerApply: options.ledger.maxUsagesPerApply,
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.observer ? { observer: options.observer } : {}),
      ...(options.memory ? { memory: options.memory } : {}),
    });
    const records = options.records;
    this.check = records && ((usage, details, applied) => records.check(usage, details, applied));
  }

  /** One outcome per usage, in order. */
  async settle(usages: U[], waits: BatchWaits): Promise<BatchOutcome[]> {
    // Filled (not sparse): a record not settled is still mapped to its outcome, waiting.
    const outcomes: (BatchOutcome | undefined)[] = new Array(usages.length).fill(undefined);
    const byTenant = new Map<string, number[]>();
    usages.forEach((usage, i) => {
      usage.fingerprint ??= fingerprint(usage.record);
      const indexes = byTenant.get(usage.record.tenantId);
      if (indexes) indexes.push(i);
      else byTenant.set(usage.record.tenantId, [i]);
    });
    let waiting = await this.settleTenants(usages as (U & UsageToSettle)[], byTenant, waits, outcomes);
    if (!waiting && byTenant.size > 0) {
      try {
        await this.options.ledger.awaitReplicas(byTenant.keys());
      } catch (cause) {
        waiting = { kind: 'waiting', cause };
        outcomes.fill(undefined);
      }
    }
    return outcomes.map((outcome) => outcome ?? waiting!);
  }

  /** Settles each tenant's usages into `outcomes`; what held the batch when a tenant had to wait. */
  private async settleTenants(
    usages: (U & UsageToSettle)[],
    byTenant: Map<string, number[]>,
    waits: BatchWaits,
    outcomes: (BatchOutcome | undefined)[],
  ): Promise<WaitingUsage | undefined> {
    const tenants = [...byTenant];
    const limit = this.tenant.maxUsagesPerApply;
    const observer = this.options.observer;
    let waiting: WaitingUsage | undefined;
    const worker = async () => {
      for (let next = tenants.shift(); next && !waiting; next = tenants.shift()) {
        const [tenant, indexes] = next;
        for (let start = 0; start < indexes.length && !waiting; start += limit) {
          const slice = indexes.slice(start, start + limit);
          try {
            const results = await this.tenant.settleIsolating(
              tenant,
              slice.map((i) => usages[i]!),
              (step) => waits.until(step, tenant),
              this.check,
              (error, usageIds) => observer?.failed?.(error, tenant, usageIds),
              (error) => waits.isPermanent(error),
            );
            slice.forEach((i, n) => (outcomes[i] = results[n]));
          } catch (cause) {
            // No verdict on these usages: the batch cannot finish now (the others stop too).
            waiting ??= { kind: 'waiting', cause };
          }
        }
      }
    };
    const inFlight = Math.min(this.options.tenantsInFlight ?? TENANTS_IN_FLIGHT, tenants.length);
    await Promise.all(Array.from({ length: inFlight }, worker));
    return waiting;
  }
}
