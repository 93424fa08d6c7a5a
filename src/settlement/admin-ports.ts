import type { Refusal } from '../credits/codes';
import type { DailySpend } from '../credits/forecast';
import type { BurstGuard, ConcurrentCalls, UserLimit, UserLimitsView } from '../credits/user-limits';
import type { AccountView, AppliedRecord, MinorUnits, SettingsChange, UsageTotal } from '../credits/wallet';
import type { SessionState } from '../credits/call-session';
import type { LiveSessionEntry } from './live-calls';
import type { AuthorizationLedger, CardLedger, PurchaseLedger, SessionLedger } from './ports';

/**
 * What the admin API and the console (src/api) need from the ledger, declared here so that the
 * HTTP adapter imports no other adapter: src/ledger implements each part, the composition
 * passes the ledger.
 */

/** The state changes the API asks for (each one Lua script in the ledger). */
export interface AdminWrites extends AuthorizationLedger, PurchaseLedger {
  /**
   * Changes only the settings named; `create` opens the account; `ifCurrency` and `ifVersion`
   * refuse (currency_mismatch, version_mismatch) when the stored ones differ.
   */
  updateSettings(
    tenantId: string,
    change: SettingsChange,
    options?: { create?: boolean; ifCurrency?: string; ifVersion?: number },
  ): Promise<{ status: 'created' | 'updated'; version: number } | Refusal>;
  /** An operator's adjustment: a lot without a payment, once per `paymentRef`. */
  addFunds(
    tenantId: string,
    funds: {
      paymentRef: string;
      amount: MinorUnits;
      currency: string;
      purchasedAt?: Date;
      reason?: string;
      madeBy?: string;
      migration?: boolean;
    },
  ): Promise<{ duplicate: boolean; lotId: string; balance: MinorUnits; paidDebt: MinorUnits } | Refusal>;
  /** Sets the spend limits, burst guard and call caps the change names, and only those. */
  setUserLimits(
    tenantId: string,
    change: {
      currency: string;
      default?: MinorUnits | null;
      users?: Record<string, UserLimit | null>;
      burstGuard?: BurstGuard | null;
      concurrentCalls?: ConcurrentCalls | null;
    },
  ): Promise<{ status: 'updated' } | Refusal>;
  /** Clears the burst guard's block of a user. */
  clearUserBlock(tenantId: string, user: string): Promise<{ status: 'cleared' | 'not_blocked' }>;
}

/** The read models of a tenant's wallet (plain reads: a moment old, never wrong). */
export interface AccountReads {
  readAccount(tenantId: string): Promise<AccountView | undefined>;
  /** Usage totals by period, then by source. */
  usageTotals(tenantId: string): Promise<Record<string, Record<string, UsageTotal>>>;
  dailySpend(tenantId: string, options: { days: number; now?: Date }): Promise<DailySpend[]>;
  userLimits(tenantId: string, month: string, currency: string): Promise<UserLimitsView>;
  /** The usages applied in [from, to), by the call's start, `offset` and `limit` into them. */
  listUsage(
    tenantId: string,
    range: { from: Date; to: Date; offset: number; limit: number },
  ): Promise<AppliedRecord[]>;
}

/** A tenant's API key as listed: its id and when it was issued (unknown for keys issued before). */
export interface ApiKeyEntry {
  keyId: string;
  createdAt: string | null;
}

/** Tenants' API keys, kept as SHA-256 digests (never the key itself). */
export interface ApiKeys {
  storeApiKeyDigest(tenantId: string, keyId: string, digestHex: string, now?: Date): Promise<void>;
  apiKeyDigest(tenantId: string, keyId: string): Promise<string | undefined>;
  listApiKeys(tenantId: string): Promise<ApiKeyEntry[]>;
  /** False when the tenant had no such key. */
  revokeApiKey(tenantId: string, keyId: string): Promise<boolean>;
}

/** A live session as the tenant's list shows it. */
export interface LiveSession extends LiveSessionEntry {
  status: SessionState['status'];
}

/** Call sessions, as their routes and the tenant's list of calls in progress need them. */
export interface AdminSessions extends SessionLedger {
  /** The tenant's sessions, `count` at a time from `cursor` ('0' starts, '0' back is the end). */
  listSessions(
    tenantId: string,
    page: { cursor: string; count: number },
  ): Promise<{ sessions: LiveSession[]; cursor: string }>;
}

/** The ledger as the admin API and the console use it. */
export interface AdminLedger {
  writes: AdminWrites;
  reads: AccountReads;
  apiKeys: ApiKeys;
  cards: CardLedger;
  sessions: AdminSessions;
}

/** The tenants an operator should look at, per list in name order. */
export interface TenantsNeedingAttention {
  /** Prepaid tenants whose credit-paid calls are blocked (balance at or below zero). */
  blocked: string[];
  /** Prepaid tenants whose balance is below their low-balance threshold. */
  low: string[];
}

/** A tenant whose last auto-recharge failed, and when (the account has the reason and count). */
export interface RechargeFailure {
  tenantId: string;
  at: Date;
}

/** One record sent to the dead-letter topic, as the ledger's log keeps it. */
export interface DeadLetterEntry {
  /** The `x-error-code` it was sent with. */
  reason: string;
  /** The `x-error-message` (kept to its first characters). */
  message: string;
  /** Where the record was read. */
  topic: string;
  partition: number;
  offset: string;
  /** The tenant the record named, when it could be read. */
  tenantId?: string;
  /** When it was sent (the consumer's clock). */
  at: Date;
}

export interface DeadLetterSummary {
  /** Dead letters sent, by reason, since the log began. */
  byReason: Record<string, number>;
  /** The latest, newest first. */
  recent: DeadLetterEntry[];
}

/** Every tenant with an account, searched by id. */
export interface TenantSearch {
  /** A page of the tenants whose id contains `query`; `nextCursor` null when the scan is done. */
  search(options: {
    query?: string;
    cursor?: string;
    count: number;
  }): Promise<{ tenants: string[]; nextCursor: string | null }>;
}

/** The index shards' lists of tenants that need an operator. */
export interface AttentionIndex {
  attention(options: { limit: number }): Promise<TenantsNeedingAttention>;
  recentRechargeFailures(options: { limit: number }): Promise<RechargeFailure[]>;
}

/** What the usage consumer set aside: counts by reason and the latest. */
export interface DeadLetterReads {
  summary(options?: { recent?: number }): Promise<DeadLetterSummary>;
}

/** The ledger as the operator's console page reads it: each read costs work per tenant shown. */
export interface OperatorLedger {
  tenants: TenantSearch;
  indexes: AttentionIndex;
  deadLetters: DeadLetterReads;
}

/** Who a console session is for: the operator, or one tenant's admin (signed in with its key). */
export type ConsoleSession =
  | { kind: 'operator'; expiresAt: number }
  | { kind: 'tenant'; tenantId: string; keyId: string; expiresAt: number };

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** The console's sign-in sessions: the browser holds a random id, the store who signed in and until when. */
export interface ConsoleSessionStore {
  /** A new session for `who`, lasting `ttlMs`; returns the id the cookie carries. */
  create(
    who: DistributiveOmit<ConsoleSession, 'expiresAt'>,
    ttlMs: number,
    now?: number,
  ): Promise<{ id: string; session: ConsoleSession }>;
  /** The session an id stands for, while it lasts. */
  read(id: string, now?: number): Promise<ConsoleSession | undefined>;
  delete(id: string): Promise<void>;
}
