import { assertTenantId } from '../credits/tenant';

/**
 * Every Redis key the ledger uses, built in one place. All keys of one tenant share the hash
 * tag `{t:<tenantId>}`, so each script touches a single Redis Cluster slot.
 */

export interface TenantKeys {
  /** Hash: settings (mode, currency, thresholds, auto-recharge) and state (balance, debt, flags, owed). */
  account: string;
  /** Hash: lot id -> JSON lot (amount, remaining, purchase and expiry times, source). */
  lots: string;
  /** Sorted set: ids of lots with money left, scored by expiry (ms); spending draws from the lowest. */
  lotExpiry: string;
  /** Hash: `cap:<pool>` -> seconds per month, `used:<pool>:<yyyy-mm>` -> seconds drawn. */
  pools: string;
  /**
   * The base of the idempotency records' keys (never a key itself): `<applied>:meta`,
   * `<applied>:<day>:<bucket>` and `<applied>:d:<yyyy-mm>` (src/ledger/commands/includes/applied.lua).
   */
  applied: string;
  /** Hash: usage id -> JSON outcome, as records were kept before they were packed by day. */
  legacyApplied: string;
  /** Sorted set: the legacy records' ids by when they were applied, to drop them past retention. */
  legacyAppliedIndex: string;
  /** Hash: payment reference or recharge request id -> JSON outcome; idempotency of money in. */
  payments: string;
  /** Stream: events written by the same script as the state change that caused them. */
  outbox: string;
  /** Hash: usage totals by `<yyyy-mm>:<source>:count|charge|poolSeconds`, kept for good. */
  totals: string;
  /** Hash: revision -> when the tenant was told of that re-rating run (rerateNotice-10.lua). */
  rerateNotices: string;
  /** Hash: per-user monthly spend limits: `currency`, `default`, `u:<user>` (minor units or `none`). */
  userLimits: string;
  /**
   * The base of the users' monthly spend keys (never a key itself): `<userSpend>:<yyyy-mm>`, a
   * hash of `s:<user>` (credit-paid minor units) and `r:<user>` (limit reached, event sent).
   */
  userSpend: string;
  /**
   * The base of the users' burst windows (never a key itself): `<burst>:w:<user>`, a sorted set
   * of the credit-paid usages in the user's window, and `<burst>:t:<user>`, a hash of their sums.
   */
  burst: string;
  /**
   * Hash: the tenant's call sessions, `s:<usage id>` -> JSON state, and per user `u:<user>`
   * (live credit-paid sessions) and `m:<user>` (money they hold) (includes/sessions.lua).
   */
  sessions: string;
  /** Sorted set: usage id -> when the sweeper must look at the session (ms). */
  sessionsByExpiry: string;
}

/** The hash tag every key of the tenant starts with (after the namespace prefix). */
function tenantTag(tenantId: string, prefix: string): string {
  assertTenantId(tenantId);
  return `${prefix}{t:${tenantId}}`;
}

export function tenantKeys(tenantId: string, prefix = ''): TenantKeys {
  const tag = tenantTag(tenantId, prefix);
  return {
    account: `${tag}:account`,
    lots: `${tag}:lots`,
    lotExpiry: `${tag}:lots:by-expiry`,
    pools: `${tag}:pools`,
    applied: `${tag}:ap`,
    legacyApplied: `${tag}:applied`,
    legacyAppliedIndex: `${tag}:applied:by-time`,
    payments: `${tag}:payments`,
    outbox: `${tag}:outbox`,
    totals: `${tag}:totals`,
    rerateNotices: `${tag}:rerates`,
    userLimits: `${tag}:user-limits`,
    userSpend: `${tag}:user-spend`,
    burst: `${tag}:burst`,
    sessions: `${tag}:sessions`,
    sessionsByExpiry: `${tag}:sessions:by-expiry`,
  };
}

/**
 * Hash: a re-rating run's checkpoint (src/ledger/rerate-checkpoints.ts), by its revision. Not
 * slot-bound: written by the run, apart from the tenants' scripts.
 */
export const rerateCheckpointKey = (revision: string, prefix = '') => `${prefix}rerate:run:${revision}`;

/** A user's spend of a month (yyyy-mm) is in this hash (see TenantKeys.userSpend). */
export const userSpendKey = (keys: TenantKeys, month: string) => `${keys.userSpend}:${month}`;

/** A user's burst window and its sums (see TenantKeys.burst). */
export const burstKeys = (keys: TenantKeys, user: string) => ({
  window: `${keys.burst}:w:${user}`,
  sums: `${keys.burst}:t:${user}`,
});

/** Set of every tenant id (not slot-bound: written outside the tenant's scripts). */
export const tenantRegistryKey = (prefix = '') => `${prefix}tenants`;

/** String: the holder of a lease on one tenant's work (`what`: outbox, ...), with its expiry. */
export const leaseKey = (tenantId: string, what: string, prefix = '') =>
  `${tenantKeys(tenantId, prefix).account}:lease:${what}`;

/**
 * String: set once a notice for this event was mailed, so a redelivered event mails once.
 * In the tenant's slot, beside its other keys.
 */
export const noticeSentKey = (tenantId: string, eventId: string, prefix = '') =>
  `${tenantTag(tenantId, prefix)}:notified:${eventId}`;

/** The keys of one index shard (src/ledger/index-shards.ts), in the slot its tag maps to. */
export interface IndexKeys {
  /** Set: ids of the shard's tenants whose outbox has events (the relay's work). */
  outbox: string;
  /** Sorted set: tenant id -> earliest expiry (ms) of its lots with money left (the sweeper's work). */
  expiry: string;
  /** Hash: the shard's part of the ledger-wide gauges: `tenants`, `depleted`, `backlog`. */
  gauges: string;
  /** Sorted set, every score 0 (name order): the shard's prepaid tenants whose credit-paid calls are blocked. */
  blocked: string;
  /** Sorted set, every score 0 (name order): the shard's prepaid tenants below their low-balance threshold. */
  low: string;
  /** Sorted set: tenant id -> when its last auto-recharge failed (ms), until one succeeds. */
  rechargeFailed: string;
  /** Sorted set: tenant id -> the earliest time one of its call sessions is due (ms). */
  sessions: string;
}

export function indexKeys(shardTag: string, prefix = ''): IndexKeys {
  const tag = `${prefix}{${shardTag}}`;
  return {
    outbox: `${tag}:ix:outbox`,
    expiry: `${tag}:ix:expiry`,
    gauges: `${tag}:ix:gauges`,
    blocked: `${tag}:ix:blocked`,
    low: `${tag}:ix:low`,
    rechargeFailed: `${tag}:ix:recharge-failed`,
    sessions: `${tag}:ix:sessions`,
  };
}

/**
 * Pub/sub channel: a script publishes a tenant id here when its outbox goes from empty to
 * not empty (a hint to the relays; the scripts derive it from the index key's prefix).
 */
export const outboxPendingChannel = (prefix = '') => `${prefix}outbox:pending`;

/** A console session, by the SHA-256 (hex) of its id (src/ledger/console-sessions.ts). */
export const consoleSessionKey = (idDigest: string, prefix = '') => `${prefix}console:session:${idDigest}`;

/** The dead-letter log's keys (dead-letter-log.ts), one hash tag so that one pipeline writes both. */
export interface DeadLetterKeys {
  /** Hash: reason -> dead letters sent with it, ever. */
  byReason: string;
  /** List: the latest dead letters, newest first, as JSON (capped). */
  recent: string;
}

export const deadLetterKeys = (prefix = ''): DeadLetterKeys => ({
  byReason: `${prefix}{dlq}:by-reason`,
  recent: `${prefix}{dlq}:recent`,
});
