import type { Cluster, Redis } from 'ioredis';
import { utcMonth } from '../credits/calendar';
import { IndexShards } from './index-shards';
import { indexKeys, tenantKeys, TenantKeys } from './keys';
import { ReplicaSync, ReplicaWait } from './replica-sync';
import { registerScripts, runScript } from './script-loader';

export interface LedgerOptions {
  /** Key prefix (a namespace; tests use a fresh one each). */
  prefix?: string;
  /**
   * How long an applied usage id is remembered, counted from the end of its call's UTC start
   * day (default 35 days); a usage whose start day is past it is refused as too late.
   */
  idempotencyRetentionMs?: number;
  clock?: () => Date;
  /**
   * How the index shards are laid out: one shard on standalone Redis, one per slot on a
   * Cluster (default: from the client, `isCluster`).
   */
  indexLayout?: 'standalone' | 'cluster';
  /** Replicas that must acknowledge writes before `awaitReplicas` resolves (default: none). */
  replicas?: ReplicaWait;
}

/** The index layout for this client, unless the options name one. */
export function indexShardsFor(redis: Redis | Cluster, options: LedgerOptions = {}): IndexShards {
  return new IndexShards(options.indexLayout ?? (redis.isCluster ? 'cluster' : 'standalone'));
}

export const DEFAULT_IDEMPOTENCY_RETENTION_MS = 35 * 24 * 3600 * 1000;
/** Usages per applyUsage call: bounds a script's run time (Redis serves nothing else meanwhile). */
export const MAX_BATCH = 1000;

/**
 * What every part of the Redis ledger's writes shares: the client and key namespace, the
 * clock, the index shards and replicas, the key lists of the scripts, and the one way a script
 * is run (script-loader). The writes are layered on it by concern (account-writes.ts,
 * funds-writes.ts, usage-writes.ts, ledger.ts), each a file, together one CreditLedger.
 */
export class LedgerBase {
  protected readonly prefix: string;
  protected readonly retentionMs: number;
  protected readonly clock: () => Date;
  readonly shards: IndexShards;
  /** `WAIT` for the replicas of the masters that took the writes (REDIS_WAIT_REPLICAS). */
  readonly replicas: ReplicaSync;
  /** Usages one applyUsage call takes at most. */
  readonly maxUsagesPerApply = MAX_BATCH;

  constructor(
    protected readonly redis: Redis | Cluster,
    options: LedgerOptions = {},
  ) {
    this.prefix = options.prefix ?? '';
    this.retentionMs = options.idempotencyRetentionMs ?? DEFAULT_IDEMPOTENCY_RETENTION_MS;
    this.clock = options.clock ?? (() => new Date());
    this.shards = indexShardsFor(redis, options);
    this.replicas = new ReplicaSync(redis, this.prefix, options.replicas, this.clock);
    registerScripts(redis);
  }

  /**
   * Resolves once the configured replicas hold every write so far on the tenants' masters (at
   * once when waiting is off); throws ReplicasLaggingError (transient) when they do not.
   */
  awaitReplicas(tenantIds: Iterable<string>): Promise<void> {
    return this.replicas.awaitReplicas(tenantIds);
  }

  keys(tenantId: string): TenantKeys {
    return tenantKeys(tenantId, this.prefix);
  }

  /**
   * The tenant's index keys (events waiting, lot expiry, gauges, blocked, low balance, recharge
   * failed), in its slot: the last KEYS of every script that syncs the indexes.
   */
  protected indexKeys(tenantId: string): string[] {
    const ix = indexKeys(this.shards.tag(this.shards.shardOf(tenantId)), this.prefix);
    return [ix.outbox, ix.expiry, ix.gauges, ix.blocked, ix.low, ix.rechargeFailed];
  }

  /** The tenant's shard's index of pending payments: the last KEYS of the scripts that begin or settle one. */
  /** The keys of the scripts that credit a payment's lot: addFunds, recordPurchase, rechargeResult. */
  protected paymentKeys(tenantId: string): string[] {
    const k = this.keys(tenantId);
    return [
      k.account,
      k.lots,
      k.lotExpiry,
      k.payments,
      k.outbox,
      ...this.indexKeys(tenantId),
      this.pendingKey(tenantId),
    ];
  }

  protected pendingKey(tenantId: string): string {
    return indexKeys(this.shards.tag(this.shards.shardOf(tenantId)), this.prefix).pendingPayments;
  }

  protected run(operation: string, keys: string[], args: (string | number)[]) {
    return runScript(this.redis, operation, keys, args);
  }

  protected clockArgs(now = this.clock()): [number, string, string] {
    return [now.getTime(), now.toISOString(), utcMonth(now)];
  }
}
