import type {
  AppliedUsage,
  MinorUnits,
  PurchaseRecord,
  RatedBatch,
  UsageKey,
  UsageOutcome,
  UsageSource,
  UsageState,
} from '../credits/wallet';
import type { UsageRecord } from '../rating';
import type { RatedDetails } from '../credits/usage-details';
import type {
  SessionGrant,
  SessionSnapshot,
  SessionStart,
  SessionState,
  SessionUpdate,
  SessionWrite,
} from '../credits/call-session';

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
        /** The burst guard blocked the user (until an admin clears it): why. */
        userBlocked?: 'international_calls' | 'spend';
      }
    | LedgerRefusal
  >;
}

/**
 * The ledger's writes made durable on replicas (REDIS_WAIT_REPLICAS): before a use case acts
 * on what it wrote (commits offsets, answers a purchase), it waits for the replicas of the
 * masters that took the tenants' writes. Resolves at once when waiting is off; throws an error
 * with `reason: 'redis_replicas_lagging'` and `retriable: true` (see `isReplicaLag`) when the
 * replicas did not acknowledge in time: the writes may be lost in a failover, so the caller
 * makes them again (idempotent by id) before it waits again.
 */
export interface ReplicaBarrier {
  awaitReplicas(tenantIds: Iterable<string>): Promise<void>;
}

/** The ledger as buying credits needs it: a purchase begun before the charge, recorded after it. */
export interface PurchaseLedger extends ReplicaBarrier {
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

/**
 * A payment as the gateway holds it (a Stripe PaymentIntent), found by the metadata the charge
 * gave it: `chargeId` is the idempotency key. `failed` is final for the reconciler (declined,
 * canceled, or waiting for a customer who is not there); `processing` is not known yet.
 */
export interface GatewayPayment {
  gatewayRef: string;
  tenantId: string;
  chargeId: string;
  status: 'succeeded' | 'failed' | 'processing';
  amountMinor: bigint;
  /** ISO 4217, upper case. */
  currency: string;
  createdAt: Date;
  /** Why it failed (a decline code) and the gateway's text. */
  reason?: string;
  message?: string;
}

export interface PaymentGateway {
  /** Resolves with the gateway's answer; throws GatewayUnavailableError when it did not answer. */
  charge(request: ChargeRequest): Promise<ChargeResult>;
  /**
   * The payment the gateway made for an idempotency key, or undefined when it has none:
   * `paymentMethodRef` and `since` (when the payment began) narrow the search. Throws
   * GatewayUnavailableError when the gateway did not answer.
   */
  lookup(request: {
    idempotencyKey: string;
    tenantId: string;
    paymentMethodRef: string;
    since: Date;
  }): Promise<GatewayPayment | undefined>;
  /** Every payment created in [from, to), page by page (the payments report). */
  listPayments(window: { from: Date; to: Date }): AsyncIterable<GatewayPayment>;
}

/** An applied usage as the ledger lists it: its id and stored outcome. */
export interface AppliedUsageRecord {
  usageId: string;
  outcome: UsageOutcome;
}

/** The ledger as re-rating a past period needs it (src/ledger implements it). */
export interface RerateLedger extends Pick<SettlementLedger, 'readUsageState'>, ReplicaBarrier {
  /** Every tenant id, in pages, in no particular order. */
  tenantPages(): AsyncIterable<string[]>;
  /** Applied usages whose calls started in [from, to), by start then id, `limit` from `offset`. */
  listUsage(
    tenantId: string,
    range: { from: Date; to: Date; offset: number; limit: number },
  ): Promise<AppliedUsageRecord[]>;
  /**
   * Replaces an applied usage's charge, once per (usage, revision): `duplicate` when this
   * revision was applied before; `conflict` (the current use) when the pool use declared moved.
   */
  rerate(
    tenantId: string,
    change: {
      usageId: string;
      start: Date;
      revision: string;
      currency: string;
      source: UsageSource;
      charge: MinorUnits;
      poolSeconds: number;
      poolUse: Record<string, number>;
      /** The user key the spend limits count by: that user's month moves by the difference. */
      user?: string;
    },
  ): Promise<
    | { duplicate: boolean; outcome: UsageOutcome; balance: MinorUnits }
    | { conflict: Record<string, number> }
    | LedgerRefusal
  >;
  /** Tells the tenant what the run changed (`credits.usage.rerated`), once per revision. */
  rerateNotice(
    tenantId: string,
    notice: { revision: string; from: Date; to: Date; calls: number; before: MinorUnits; after: MinorUnits },
  ): Promise<{ duplicate: boolean; balance: MinorUnits } | LedgerRefusal>;
}

/** How far a re-rating run got with a tenant, and what it changed so far (in minor units). */
export interface RerateCheckpoint {
  /** The last usage done, in the listing's order: its call's start (ms) and id. */
  after?: { start: number; usageId: string };
  calls: number;
  before: MinorUnits;
  charged: MinorUnits;
  /** The tenant was told: nothing is left to do for it. */
  done: boolean;
}

/** Where a re-rating run keeps its checkpoints (per run, by revision, per tenant). */
export interface RerateCheckpointStore {
  read(revision: string, tenantId: string): Promise<RerateCheckpoint>;
  save(revision: string, tenantId: string, checkpoint: RerateCheckpoint): Promise<void>;
}

/** A re-rated call: its record as the ledger kept it, what its rated record says, what changed. */
export interface RerateRecord {
  tenantId: string;
  record: UsageRecord;
  details: RatedDetails;
  applied: Pick<UsageOutcome, 'charge' | 'poolSeconds' | 'source' | 'appliedAt'>;
  revision: string;
  /** The charge the re-rate replaced. */
  previousCharge: MinorUnits;
}

/** Where re-rated records go (the rated topic, keyed by tenant: the Kafka adapter writes them). */
export interface RatedRecordSink {
  publish(records: RerateRecord[]): Promise<void>;
}

/** A saved payment method as the gateway knows it: whose it is, and what to show for it. */
export interface GatewayPaymentMethod {
  id: string;
  /** The customer it is attached to; null when it is attached to none. */
  customer: string | null;
  /** `visa •••• 4242`, when the gateway says what card it is. */
  label?: string;
}

/** Where a hosted card setup stands, as the gateway tells it. */
export interface CardSetupState {
  /** The tenant the setup was made for (the gateway's metadata), when it names one. */
  tenantId?: string;
  customer: string | null;
  /** `succeeded`: the card was saved; `open`: not finished yet; `failed`: declined, abandoned or expired. */
  status: 'succeeded' | 'open' | 'failed';
  paymentMethod?: string;
}

/**
 * A tenant's own card at the payment gateway (src/payments implements it): one customer per
 * prepaid tenant, cards added through the gateway's hosted page, and who owns a payment method.
 * Each call throws GatewayUnavailableError when the gateway did not answer.
 */
export interface CardGateway {
  /** The tenant's customer, created once per tenant (the gateway's idempotency key names the tenant). */
  ensureCustomer(tenantId: string): Promise<string>;
  /** The payment method, or undefined when the gateway has none by that id. */
  paymentMethod(id: string, forCustomer: string): Promise<GatewayPaymentMethod | undefined>;
  /** The reference the account stores and charges use (`cus_.../pm_...` for Stripe). */
  methodRef(customer: string, paymentMethod: string): string;
  /** A reference as a caller wrote it: the payment method, and the customer when it names one. */
  parseMethodRef(ref: string): { customer?: string; paymentMethod: string } | undefined;
  /** Starts the hosted page where the tenant's admin adds a card for `customer`. */
  startCardSetup(request: {
    tenantId: string;
    customer: string;
    currency: string;
    /** Where the page sends the admin back; `{CHECKOUT_SESSION_ID}` is replaced by the session id. */
    successUrl: string;
    cancelUrl: string;
  }): Promise<{ sessionId: string; url: string }>;
  /** Where a setup begun by startCardSetup stands; undefined when the gateway has no such session. */
  cardSetup(sessionId: string): Promise<CardSetupState | undefined>;
}

/** The ledger as a tenant's card needs it: the customer, stored once, and the card recorded. */
export interface CardLedger {
  /** The stored customer ('' for none), the mode and the currency; undefined when there is no account. */
  paymentAccount(
    tenantId: string,
  ): Promise<
    { mode: 'prepaid' | 'postpaid'; currency: string; customer: string; paymentMethodRef: string } | undefined
  >;
  /** Stores the customer unless one is stored: the stored one comes back either way. */
  recordCustomer(tenantId: string, customer: string): Promise<{ customer: string } | LedgerRefusal>;
  /**
   * Records the card as the tenant's payment method, only when `customer` is the stored one
   * (or none is stored: then it is stored too) and the tenant is prepaid.
   */
  recordPaymentMethod(
    tenantId: string,
    card: { customer: string; ref: string; label: string; ifVersion?: number },
  ): Promise<{ version: number } | LedgerRefusal>;
}

/** A verified webhook event of the payment gateway: its id, type and the object it is about. */
export interface GatewayEvent {
  id: string;
  type: string;
  object: Record<string, unknown>;
}

/**
 * Handles one event type, at least once per event id (a retry after a throw comes again):
 * resolves with what it did, for the log; throws to have the gateway send the event again later.
 */
export type GatewayEventHandler = (event: GatewayEvent) => Promise<string | void>;

/** The webhook events handled, by id, so that a replayed one changes nothing (src/ledger implements it). */
export interface GatewayEventLog {
  /** A claim token when the event is new; undefined when it was handled (or is being handled). */
  claim(source: string, eventId: string, ttlMs: number): Promise<string | undefined>;
  /** Gives a claim back after a failed handler, so the gateway's retry is handled. */
  release(source: string, eventId: string, token: string): Promise<void>;
}
/** The ledger as call sessions need it (src/ledger/call-sessions.ts implements it). */
export interface SessionLedger {
  readSession(tenantId: string, usageId: string): Promise<SessionState | undefined>;
  sessionSnapshot(
    tenantId: string,
    query: { pool: string; month: string; user: string; usageId: string },
    at: Date,
  ): Promise<SessionSnapshot | LedgerRefusal>;
  startSession(tenantId: string, start: SessionStart, at: Date): Promise<SessionWrite>;
  updateSession(tenantId: string, update: SessionUpdate, at: Date): Promise<SessionWrite>;
  endSession(
    tenantId: string,
    end: { usageId: string; usedSeconds: number; usedCost: MinorUnits; usedPoolSeconds: number },
    at: Date,
  ): Promise<{ repeat: boolean; released: MinorUnits; held: MinorUnits } | LedgerRefusal>;
}

export type { SessionGrant, SessionSnapshot, SessionStart, SessionState, SessionUpdate, SessionWrite };
