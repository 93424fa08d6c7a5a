import type { MinorUnits } from '../credits/wallet';
import type { LedgerRefusal, PurchaseLedger } from './ports';

/** Money in: a tenant admin's purchase, or an auto-recharge request. */
export type PaymentKind = 'purchase' | 'recharge';

/** A payment begun and not settled, as the ledger's index of pending payments lists it. */
export interface PendingPayment {
  kind: PaymentKind;
  tenantId: string;
  /** The purchase id, or the recharge request id. */
  id: string;
  /** When it began. */
  since: Date;
}

/** A purchase or an auto-recharge request as the ledger holds it. */
export interface HeldPayment {
  kind: PaymentKind;
  tenantId: string;
  id: string;
  status: 'pending' | 'succeeded' | 'failed';
  /** What it charges (the request's amount), in the account's currency. */
  amount: MinorUnits;
  currency: string;
  /** The payment method it charges (pending) or charged. */
  paymentMethodRef: string;
  startedAt: Date;
  /** The lot it created (succeeded). */
  lotId?: string;
  /** The gateway's payment (succeeded). */
  gatewayRef?: string;
  /** Why it failed (failed). */
  reason?: string;
}

/** A lot bought by a purchase or an auto-recharge, as the payments report pairs it with its charge. */
export interface PaymentLot {
  tenantId: string;
  lotId: string;
  kind: PaymentKind;
  /** The purchase id or the recharge request id. */
  paymentId: string;
  amount: MinorUnits;
  currency: string;
  /** The gateway's payment (PaymentIntent id) the lot was credited for. */
  gatewayRef: string;
  purchasedAt: Date;
}

/** The ledger as settling payments needs it: the pending ones, their state, and the recording scripts. */
export interface PaymentLedger extends Pick<PurchaseLedger, 'recordPurchase'> {
  /** Pending payments begun before `before`, oldest first, at most `limit` per index shard. */
  pendingPayments(before: Date, limit: number): Promise<PendingPayment[]>;
  /** The purchase or recharge request, or undefined when the ledger has none by that id. */
  readPayment(tenantId: string, kind: PaymentKind, id: string): Promise<HeldPayment | undefined>;
  /** The gateway's answer to an auto-recharge request: the lot on success, once. */
  recordRechargeResult(
    tenantId: string,
    result:
      | { requestId: string; status: 'succeeded'; amount: MinorUnits; currency: string; gatewayRef: string }
      | { requestId: string; status: 'failed'; reason: string },
  ): Promise<{ duplicate: boolean; status: 'succeeded' | 'failed' } | LedgerRefusal>;
}

/** The ledger as the payments report reads it. */
export interface PaymentBooks extends Pick<PaymentLedger, 'pendingPayments' | 'readPayment'> {
  /** Every lot bought by a purchase or a recharge in [from, to), tenant by tenant. */
  paymentLots(window: { from: Date; to: Date }): AsyncIterable<PaymentLot[]>;
}

/**
 * The payment a gateway's charge id (the idempotency key) names, or undefined when it is not
 * one of ours: `<tenant>:purchase:<purchase id>` or `<tenant>:recharge:<n>` (the request id is
 * the whole key).
 */
export function paymentOfChargeId(
  tenantId: string,
  chargeId: string,
): { kind: PaymentKind; id: string } | undefined {
  const purchase = `${tenantId}:purchase:`;
  if (chargeId.startsWith(purchase) && chargeId.length > purchase.length)
    return { kind: 'purchase', id: chargeId.slice(purchase.length) };
  const recharge = `${tenantId}:recharge:`;
  if (chargeId.startsWith(recharge) && /^\d+$/.test(chargeId.slice(recharge.length)))
    return { kind: 'recharge', id: chargeId };
  return undefined;
}

/** The idempotency key a payment is charged with (the inverse of paymentOfChargeId). */
export const chargeIdOf = (payment: { kind: PaymentKind; tenantId: string; id: string }) =>
  payment.kind === 'purchase' ? `${payment.tenantId}:purchase:${payment.id}` : payment.id;
