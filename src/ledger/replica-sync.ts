import calculateSlot from 'cluster-key-slot';
import type { Cluster, Redis } from 'ioredis';
import { tenantKeys } from './keys';

/** REDIS_WAIT_REPLICAS and REDIS_WAIT_TIMEOUT_MS: how many replicas must have a write, and how long to wait. */
export interface ReplicaWait {
  /** 0: never wait (replication stays asynchronous). */
  replicas: number;
  timeoutMs: number;
}

/** How long a tenant's `replicated` mark lives: it only has to reach the replicas once. */
const MARK_TTL_MS = 3_600_000;

/** What a readiness probe waits at most for replicas that lagged (a probe must answer quickly). */
const RECHECK_TIMEOUT_MS = 500;

/**
 * The replicas did not acknowledge the writes in time, or the master could not be asked.
 * Transient: the caller applies its writes again (every ledger change is idempotent by its
 * id, and one the master lost is then made on the master that serves the slot now) and waits
 * again. `reason` is what readiness and the API say.
 */
export class ReplicasLaggingError extends Error {
  override readonly name = 'ReplicasLaggingError';
  readonly retriable = true;
  readonly reason = 'redis_replicas_lagging';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Waits until the replicas hold what the ledger wrote (`WAIT n timeout`), before the caller
 * commits offsets or answers a purchase. `WAIT` counts the writes of the connection it is sent
 * on, so it goes to the master that took them: on a Cluster, the master of each tenant's slot
 * (one per master, through ioredis' connection to that node), on one server its connection.
 * Each goes in a pipeline after a write of the tenant's `replicated` mark, so that the wait
 * covers everything the master holds when it is sent: a replay writes nothing, and what it
 * found may have been written by another instance that never waited.
 */
export class ReplicaSync {
  /** Since when, and why, the replicas lag (the last wait failed); undefined once one succeeds. */
  private lag: { since: number; detail: string; tenants: string[] } | undefined;

  constructor(
    private readonly redis: Redis | Cluster,
    private readonly prefix: string,
    private readonly wait: ReplicaWait = { replicas: 0, timeoutMs: 0 },
    private readonly clock: () => Date = () => new Date(),
  ) {}

  get enabled(): boolean {
    return this.wait.replicas > 0;
  }

  /**
   * Resolves when `replicas` replicas acknowledged every write so far on the masters of these
   * tenants (at once when waiting is off); throws ReplicasLaggingError otherwise.
   */
  async awaitReplicas(tenantIds: Iterable<string>, timeoutMs = this.wait.timeoutMs): Promise<void> {
    if (!this.enabled) return;
    const representatives = this.onePerMaster(tenantIds);
    if (representatives.length === 0) return;
    const failures = (
      await Promise.all(representatives.map((tenant) => this.waitOn(tenant, timeoutMs)))
    ).filter((failure): failure is ReplicasLaggingError => failure !== undefined);
    if (failures.length === 0) {
      this.lag = undefined;
      return;
    }
    const detail = failures.map((f) => f.message).join('; ');
    this.lag = { since: this.lag?.since ?? this.clock().getTime(), detail, tenants: representatives };
    throw failures.length === 1 ? failures[0]! : new ReplicasLaggingError(detail, { cause: failures[0] });
  }

  /**
   * Why the replicas lag, for readiness: undefined when the last wait succeeded. While they lag
   * the masters that failed are asked again (a short wait), so that an instance which stopped
   * writing does not stay unready after the replicas caught up.
   */
  async lagging(): Promise<string | undefined> {
    const lag = this.lag;
    if (!lag) return undefined;
    try {
      await this.awaitReplicas(lag.tenants, Math.min(this.wait.timeoutMs, RECHECK_TIMEOUT_MS));
      return undefined;
    } catch {
      const seconds = Math.max(0, Math.round((this.clock().getTime() - lag.since) / 1000));
      return `${this.lag?.detail ?? lag.detail} (for ${seconds} s)`;
    }
  }

  /** One tenant per master that serves them (the client's slot map); one on a single server. */
  private onePerMaster(tenantIds: Iterable<string>): string[] {
    const byMaster = new Map<string, string>();
    const slots = this.redis.isCluster ? (this.redis as Cluster).slots : undefined;
    for (const tenant of tenantIds) {
      if (!slots) return [tenant];
      const slot = calculateSlot(this.markKey(tenant));
      // A slot the map does not know yet (a failover in progress) is asked on its own.
      const master = slots[slot]?.[0] ?? `slot ${slot}`;
      if (!byMaster.has(master)) byMaster.set(master, tenant);
    }
    return [...byMaster.values()];
  }

  private markKey(tenantId: string): string {
    return tenantKeys(tenantId, this.prefix).replicated;
  }

  /** The mark, then WAIT, on the master of the tenant's slot: undefined when enough replicas acknowledged. */
  private async waitOn(tenantId: string, timeoutMs: number): Promise<ReplicasLaggingError | undefined> {
    const { replicas } = this.wait;
    // Named once the pipeline went (a fresh client learns the slot map on its way).
    const where = () => this.nodeOf(tenantId);
    let replies: [Error | null, unknown][] | null;
    try {
      replies = await this.redis
        .pipeline()
        .set(this.markKey(tenantId), String(this.clock().getTime()), 'PX', MARK_TTL_MS)
        .call('WAIT', replicas, timeoutMs)
        .exec();
    } catch (error) {
      return new ReplicasLaggingError(`waiting for replicas of ${where()} failed: ${messageOf(error)}`, {
        cause: error,
      });
    }
    const failed = replies?.find(([error]) => error)?.[0];
    if (!replies || failed)
      return new ReplicasLaggingError(`waiting for replicas of ${where()} failed: ${messageOf(failed)}`, {
        cause: failed,
      });
    const acknowledged = Number(replies[1]![1]);
    if (acknowledged >= replicas) return undefined;
    return new ReplicasLaggingError(
      `${acknowledged} of ${replicas} replicas of ${where()} acknowledged the writes in ${timeoutMs} ms`,
    );
  }

  /** The master of the tenant's slot as the client knows it (`host:port`), or `redis`. */
  private nodeOf(tenantId: string): string {
    if (!this.redis.isCluster) return 'redis';
    return (this.redis as Cluster).slots[calculateSlot(this.markKey(tenantId))]?.[0] ?? 'an unknown master';
  }
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));
