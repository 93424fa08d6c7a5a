import type { Cluster, Redis } from 'ioredis';
import { LedgerReads } from './account-reads';
import { ApiKeyStore } from './api-key-store';
import { SessionStore } from './call-sessions';
import { DeadLetterLog } from './dead-letter-log';
import { tenantKeys, TenantKeys } from './keys';
import { Leases } from './leases';
import { CreditLedger, indexShardsFor, LedgerOptions } from './ledger';
import { LedgerIndexes } from './ledger-indexes';
import { OutboxStore } from './outbox-store';
import { RerateCheckpoints } from './rerate-checkpoints';
import { TenantRegistry } from './tenant-registry';

/** The Redis ledger's parts, over one client and one key namespace. */
export interface Ledger {
  /** The state changes (one Lua script each) and the reads of their protocol. */
  writes: CreditLedger;
  /** Read models: the account with its lots, usage totals, daily spend, applied usages. */
  reads: LedgerReads;
  outbox: OutboxStore;
  apiKeys: ApiKeyStore;
  leases: Leases;
  tenants: TenantRegistry;
  /** The index shards: tenants with events waiting or lots due, and the ledger-wide gauges. */
  indexes: LedgerIndexes;
  /** What the usage consumer set aside: counts by reason and the latest (best effort). */
  deadLetters: DeadLetterLog;
  /** Re-rating runs' checkpoints, so that a stopped run resumes where it was. */
  rerates: RerateCheckpoints;
  /** Call sessions: credit reserved while calls run. */
  sessions: SessionStore;
  /** The tenant's keys in this namespace (for tools and tests that look at the raw state). */
  keys(tenantId: string): TenantKeys;
}

/** How long a session that ended or expired waits for its CDR by default: a day. */
export const DEFAULT_SESSION_RETENTION_MS = 24 * 3600 * 1000;

export function openLedger(
  redis: Redis | Cluster,
  options: LedgerOptions & { sessionRetentionMs?: number } = {},
): Ledger {
  const prefix = options.prefix ?? '';
  const shards = indexShardsFor(redis, options);
  const outbox = new OutboxStore(redis, shards, prefix);
  return {
    writes: new CreditLedger(redis, options),
    reads: new LedgerReads(redis, prefix, options.clock),
    outbox,
    apiKeys: new ApiKeyStore(redis, prefix),
    leases: new Leases(redis, prefix),
    tenants: new TenantRegistry(redis, outbox, prefix),
    indexes: new LedgerIndexes(redis, shards, prefix),
    deadLetters: new DeadLetterLog(redis, prefix),
    rerates: new RerateCheckpoints(redis, prefix),
    sessions: new SessionStore(redis, shards, {
      prefix,
      retentionMs: options.sessionRetentionMs ?? DEFAULT_SESSION_RETENTION_MS,
    }),
    keys: (tenantId) => tenantKeys(tenantId, prefix),
  };
}
