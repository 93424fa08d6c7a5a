import type {
  AppliedUsage,
  MinorUnits,
  PurchaseRecord,
  RatedBatch,
  UsageKey,
  UsageOutcome,
  UsageState,
} from '../credits/wallet';
import type { UsageRecord } from '../rating';

/**
 * What the use cases need from rating and from the ledger, in the ledger's terms (integer
 * minor units). Implemented by `rating-pricer.ts` over src/rating and by the Redis ledger
 * (src/ledger); the use cases import neither.
 */
export interface PricedUsage {
  kind: 'priced';
  /** credits-or-postpaid when money is charged, bundle when a pool covers all, free when nothing is due. */
  payment: 'paid' | 'bundle' | 'free';
  charge: bigint;
  connectionCharge: bigint;
  currency: string;
  billedSeconds: number;
  poolSeconds: number;
  destinationName: string;
  rate: { deck: string; version: string; prefix: string } | null;
  /** The destination context the rater used (given or derived), when it classified the call. */
  destinationContext?: 'Domestic' | 'International';
}

export interface Unrated {
  kind: 'unrated';
  /** `unsupported_currency: ...` or why the destination has no rate. */
  reason: string;
  code: 'unrated_destination' | 'unsupported_currency';
}

export interface UsagePricer {
  /** The minute pool a usage may draw on (`<kind>:<country>`) and its month, or none. */
  poolFor(record: UsageRecord): { pool: string; period: string } | undefined;
  /** The month of the call (`yyyy-mm`, UTC): its pool month and postpaid period. */
  periodOf(record: UsageRecord): string;
  /** Prices a usage in the tenant's currency, given the seconds its pool has left. */
  price(record: UsageRecord, currency: string, poolSecondsLeft: number): PricedUsage | Unrated;
}

/** An expected refusal of the ledger (a value, not an exception): `no_account`, `balance_limit`, ... */
export interface LedgerRefusal {
  refused: string;
  detail: string;
}

/** The ledger as settling usage needs it: read a tenant's state, apply a rated batch atomically. */
export interface SettlementLedger {
  /**
   * Mode, currency, which of the usages were applied (their stored outcomes, found by id and
   * the call's start) and pool use, in one read.
   */
  readUsageState(
    tenantId: string,
    usages: UsageKey[],
    poolMonths: string[],
  ): Promise<UsageState | LedgerRefusal>;
  /**
   * Applies the batch in one atomic step, each usage once by its id; when the pool use it was
   * rated against has moved, nothing is applied and the current use comes back as `conflict`.
   */
  applyUsage(
    tenantId: string,
    batch: RatedBatch,
  ): Promise<
    | {
        applied: AppliedUsage[];
        /**
         * Usages not applied because their calls started before the idempotency window:
         * whether their ids were charged is no longer known.
         */
        tooLate?: string[];
        balance: MinorUnits;
      }
    /**
     * Nothing applied: the pool use (or, when the batch named them, the capacities) moved, or
     * (`staleRead`) a batch rated without reading which usages were applied had one that was
     * (`appliedBefore`: their stored outcomes, as a read gives them).
     */
    | {
        conflict: Record<string, number>;
        capacity?: Record<string, number>;
        staleRead?: true;
        appliedBefore?: Map<string, UsageOutcome>;
      }
    | LedgerRefusal
  >;
}

/** The ledger as authorizing a call needs it: a read-only snapshot. */
export interface AuthorizationLedger {
  /** `user` ('' for none): the user whose spend limit and month's spend come back, if limited. */
  authorizationSnapshot(
    tenantId: string,
    pool: string,
    at?: Date,
    user?: string,
  ): Promise<
    | {
        mode: 'prepaid' | 'postpaid';
        currency: string;
        balance: MinorUnits;
        blocked: boolean;
        poolSecondsLeft: number;
        /** The user's monthly spend limit and what the user spent in the call's month. */
        userLimit?: { limit: MinorUnits; spent: MinorUnits };
      }
    | LedgerRefusal
  >;
}

/** The ledger as buying credits needs it: a purchase begun before the charge, recorded after it. */
export interface PurchaseLedger {
  /** Pending with its amount and currency, or the stored purchase (`settled`) when begun before. */
  beginPurchase(
    tenantId: string,
    purchase: { purchaseId: string; amount: MinorUnits; currency: string },
  ): Promise<{ settled: boolean; purchase: PurchaseRecord } | LedgerRefusal>;
  /** The gateway's answer: the lot on success, once. */
  recordPurchase(
    tenantId: string,
    result:
      | { purchaseId: string; status: 'succeeded'; gatewayRef: string }
      | { purchaseId: string; status: 'failed'; reason: string; message: string },
  ): Promise<{ duplicate: boolean; purchase: PurchaseRecord } | LedgerRefusal>;
}

/** The payment gateway that purchases and auto-recharge charge (src/payments implements it). */
export interface ChargeRequest {
  /** The recharge request id or the purchase id: the gateway charges at most once per key. */
  idempotencyKey: string;
  tenantId: string;
  paymentMethodRef: string;
  amountMinor: bigint;
  currency: string;
}

/**
 * A decline is the gateway's final answer for this key: `reason` is its decline code
 * (`insufficient_funds`, `expired_card`, `authentication_required`, ...), `message` its text.
 */
export type ChargeResult =
  { status: 'succeeded'; gatewayRef: string } | { status: 'declined'; reason: string; message?: string };

export interface PaymentGateway {
  /** Resolves with the gateway's answer; throws GatewayUnavailableError when it did not answer. */
  charge(request: ChargeRequest): Promise<ChargeResult>;
}
