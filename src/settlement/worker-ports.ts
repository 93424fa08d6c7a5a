import type { AccountView, MinorUnits } from '../credits/wallet';
import type { PaymentLedger } from './payment-ports';
import type { LedgerRefusal, ReplicaBarrier } from './ports';

/**
 * What the workers (src/workers) need from the ledger, declared here so that they import no
 * other adapter: src/ledger implements each part, the composition passes the ledger.
 */

/** The ledger as the recharge worker records a gateway's answer to a recharge request. */
export interface RechargeLedger {
  writes: Pick<PaymentLedger, 'recordRechargeResult'> & ReplicaBarrier;
}

/** The ledger as the expiry sweeper forfeits funds: the tenants with a lot due, and the expiry. */
export interface ExpiryLedger {
  indexes: {
    /** Pages of the tenants whose earliest lot expires at or before `now`. */
    dueForExpiry(now: Date, pageSize?: number): AsyncIterable<string[]>;
  };
  writes: {
    expireLots(
      tenantId: string,
      now?: Date,
    ): Promise<{ lotsExpired: number; forfeited: MinorUnits; balance: MinorUnits } | LedgerRefusal>;
  };
}

/** Where a notice stands when a delivery of its event asks to mail it. */
export type NoticeClaim = 'claimed' | 'sent' | 'busy';

/**
 * The "mailed once" marks of the notices: a delivery claims an event's notice under its own
 * holder token before it mails (one holder at a time, for `ttlMs`), marks it sent after, and
 * on a failure gives back only its own claim (compare, then delete), never one another
 * delivery took after its own expired.
 */
export interface NoticeLeases {
  /** `claimed` for this holder; `sent` when mailed before; `busy` when another holder has it. */
  claimNotice(tenantId: string, eventId: string, holder: string, ttlMs: number): Promise<NoticeClaim>;
  /** The notice went out: remembered for `rememberMs`, whoever holds the claim. */
  markNoticeSent(tenantId: string, eventId: string, rememberMs: number): Promise<void>;
  /** Gives the claim back if this holder still holds it. */
  releaseNotice(tenantId: string, eventId: string, holder: string): Promise<void>;
}

/** The ledger as the notifier reads it: the account's admin contacts, and the notices' leases. */
export interface NoticeLedger {
  reads: { readAccount(tenantId: string): Promise<AccountView | undefined> };
  leases: NoticeLeases;
}
