/** The wallet of a tenant: its settings, usages, lots and purchases, in integer minor units. */
import type { DestinationContext, RatedDetails, ReportFields, ReportSource } from './usage-details';

/** Money in the ledger: integer minor units of the account's currency (cents for USD). */
export type MinorUnits = bigint;
export type BillingMode = 'prepaid' | 'postpaid';
/** Where the money for a usage came from (CONTRACTS.md section 2). */
export type UsageSource = 'credits' | 'postpaid' | 'bundle' | 'free';

export interface AutoRechargeSettings {
  enabled: boolean;
  /** A recharge is requested when the balance falls below this. */
  trigger: MinorUnits;
  amount: MinorUnits;
  /** At most this many recharges a calendar month (0: no cap). */
  monthlyCap: number;
  /** Auto-recharge turns itself off after this many failures in a row (0: never). */
  maxConsecutiveFailures: number;
}

export interface AccountSettings {
  mode: BillingMode;
  currency: string;
  /** A low-balance notice when the balance falls below this (0: none). */
  lowBalanceThreshold: MinorUnits;
  autoRecharge: AutoRechargeSettings;
  paymentMethodRef: string;
  adminContacts: string[];
  /** Seconds a month in each minute pool, by pool id (`<pool kind>:<country>`). */
  poolCapacities: Record<string, number>;
  /** How far what call sessions hold may pass the balance (0 when absent). */
  sessionOverdraft?: MinorUnits;
}

/** Settings an update names; what it leaves out keeps its stored value. */
export type SettingsChange = Partial<Omit<AccountSettings, 'autoRecharge'>> & {
  autoRecharge?: Partial<AutoRechargeSettings>;
};

/** An account with no thresholds, no auto-recharge, no contacts and no pools; override what matters. */
export function accountSettings(
  mode: BillingMode,
  currency: string,
  overrides: Partial<AccountSettings> = {},
): AccountSettings {
  return {
    mode,
    currency,
    lowBalanceThreshold: 0n,
    autoRecharge: { enabled: false, trigger: 0n, amount: 0n, monthlyCap: 0, maxConsecutiveFailures: 3 },
    paymentMethodRef: '',
    adminContacts: [],
    poolCapacities: {},
    sessionOverdraft: 0n,
    ...overrides,
  };
}

/** A usage id and when its call started: where the ledger keeps the id's idempotency record. */
export interface UsageKey {
  id: string;
  /**
   * The call's start. A usage id is remembered with the other usages of its tenant and UTC
   * start day, until that day's end plus the idempotency retention; a call older than that
   * is refused (`too_late`), never charged again.
   */
  start: Date;
}

/** A rated usage as the ledger applies it. */
export interface LedgerUsage extends UsageKey {
  source: UsageSource;
  charge: MinorUnits;
  /** Pool id drawn on, or '' for none. */
  pool: string;
  poolSeconds: number;
  /** `yyyy-mm` of the call: the pool month and the postpaid period. */
  period: string;
  /** What its rated record says beyond the outcome: kept with the outcome (none: kept without). */
  details?: RatedDetails;
  /**
   * Where the usage report's fields are read from (the usage record itself, not copied): kept
   * with the outcome, each field within its bound (src/ledger/report-encoding.ts); none: kept without.
   */
  report?: ReportSource;
  /** The destination context the rater derived, kept in the report for a record without one. */
  derivedContext?: DestinationContext;
  /**
   * The user the usage's credit-paid charge counts for against the per-user spend limits
   * (src/credits/user-limits.ts userKeyOf), '' or absent for none.
   */
  user?: string;
  /** The call's destination context is International (the burst guard counts those calls). */
  international?: boolean;
}

export interface LotDraw {
  /** '' for the part that went into debt (the balance below zero). */
  lotId: string;
  amount: MinorUnits;
}

export interface UsageOutcome {
  source: UsageSource;
  charge: MinorUnits;
  pool: string;
  poolSeconds: number;
  period: string;
  lots: LotDraw[];
  /** The call's start (to the second). */
  start: Date;
  appliedAt: Date;
  /** Revision of the last re-rate, '' when never re-rated. */
  revision: string;
  /** The charge the last re-rate replaced (present with a revision). */
  previousCharge?: MinorUnits;
  /** What its rated record says beyond the outcome (none: stored without, before they were kept). */
  details?: RatedDetails;
  /** The usage report's fields kept with it ({} when stored without). */
  report: ReportFields;
}

export interface UsageTotal {
  count: number;
  charge: MinorUnits;
  poolSeconds: number;
}

export interface AppliedUsage {
  usageId: string;
  /** Applied before: nothing changed now, and `outcome` is the stored one. */
  duplicate: boolean;
  outcome: UsageOutcome;
}

export interface UsageState {
  mode: BillingMode;
  currency: string;
  /** Outcomes of the asked usage ids that were applied already. */
  applied: Map<string, UsageOutcome>;
  /**
   * Seconds used so far, by `<pool>:<yyyy-mm>`: the asked pool months (0 when unused), and
   * any other pool's months from the earliest asked (or the current month) on.
   */
  poolUsed: Record<string, number>;
  /** Monthly capacity in seconds, by pool id: every pool of the tenant, and the asked ones (0 when none). */
  poolCapacity: Record<string, number>;
}

/** What a rater hands back after pricing against a UsageState. */
export interface RatedBatch {
  currency: string;
  usages: LedgerUsage[];
  /** The pool use the batch was rated against, by `<pool>:<yyyy-mm>` (from the UsageState). */
  poolUse: Record<string, number>;
  /**
   * The capacities it was rated against, by pool: when given, a capacity that changed since
   * is a conflict too (the rater rates from what it remembers of a tenant, not only from a
   * read just before).
   */
  poolCapacity?: Record<string, number>;
  /**
   * Rated without reading which usages were applied: a batch that draws on a pool and has a
   * usage applied before is refused (`staleRead`), since that usage held pool minutes back.
   */
  unread?: boolean;
}

/**
 * No balance, debt, amount owed or period's usage charges may pass this many minor units
 * (MAX_TOTAL in includes/common.lua): far below 2^53, so the scripts' sums stay exact.
 */
export const MAX_TOTAL_MINOR = 10n ** 15n;

/** A tenant's purchase of credits, as the ledger keeps it (by purchase id). */
export interface PurchaseRecord {
  purchaseId: string;
  status: 'pending' | 'succeeded' | 'failed';
  amount: MinorUnits;
  currency: string;
  /** The payment method charged: the tenant's when the purchase began. */
  paymentMethodRef: string;
  startedAt: Date;
  settledAt?: Date;
  lotId?: string;
  gatewayRef?: string;
  /** After a success: the balance then, and the part of the amount that paid debt. */
  balance?: MinorUnits;
  paidDebt?: MinorUnits;
  /** After a failure: the gateway's decline code and message. */
  reason?: string;
  message?: string;
}

export interface LotView {
  lotId: string;
  /** manual: an operator's adjustment; purchase: a tenant's; recharge: auto-recharge. */
  source: 'manual' | 'purchase' | 'recharge' | 'refund';
  ref: string;
  amount: MinorUnits;
  remaining: MinorUnits;
  /** Forfeited at expiry. */
  expired: MinorUnits;
  purchasedAt: Date;
  expiresAt: Date;
  /** When what was left was forfeited (the sweep, at or after expiresAt); absent before. */
  expiredAt?: Date;
  status: 'active' | 'spent' | 'expired';
}

export interface AccountView {
  tenantId: string;
  settings: AccountSettings;
  /** Incremented by every settings change (updateSettings): a compare-and-set version. */
  settingsVersion: number;
  balance: MinorUnits;
  debt: MinorUnits;
  blocked: boolean;
  /**
   * While blocked: when the balance fell to or below zero (kept by the ledger from the moment
   * it crossed; absent for a block older than that record, and when not blocked).
   */
  blockedSince?: Date;
  autoRecharge: {
    pendingRequestId: string;
    consecutiveFailures: number;
    month: string;
    rechargesThisMonth: number;
    /** The last failed auto-recharge since the last one that succeeded, or null. */
    lastFailure: { at: Date; reason: string } | null;
  };
  lots: LotView[];
  /** Seconds drawn, by `<pool>:<yyyy-mm>`. */
  poolUsed: Record<string, number>;
  /** Postpaid: amount owed by `yyyy-mm` period. */
  owed: Record<string, MinorUnits>;
  /** What the tenant's call sessions hold (reserved for calls in progress, held until their CDRs). */
  sessionsHold: MinorUnits;
  createdAt: string;
  updatedAt: string;
  /** The tenant's customer at the payment gateway ('' for none: postpaid, or no card yet). */
  paymentCustomer?: string;
  /** What to show for the payment method on file (`visa •••• 4242`), '' when the gateway said nothing. */
  paymentMethodLabel?: string;
}

/** An applied usage's id and its stored outcome. */
export interface AppliedRecord {
  usageId: string;
  outcome: UsageOutcome;
}
