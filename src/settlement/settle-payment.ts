import type { MinorUnits } from '../credits/wallet';
import { type HeldPayment, type PaymentKind, type PaymentLedger, paymentOfChargeId } from './payment-ports';

/** What settling a payment did. */
export type SettleOutcome =
  /** The lot was created now. */
  | 'succeeded'
  /** The failure was recorded now. */
  | 'failed'
  /** Settled before (by the normal path, the webhook or another reconciler): nothing changed. */
  | 'already_settled'
  /** Still pending: no final answer yet, or the ledger refused for now (detail says why). */
  | 'pending'
  /** The gateway's payment differs from ours in amount or currency: left for an operator. */
  | 'mismatch'
  /** Not one of our payments, or not one the ledger knows. */
  | 'ignored';

export interface Settlement {
  outcome: SettleOutcome;
  tenantId?: string;
  kind?: PaymentKind;
  id?: string;
  detail?: string;
}

/** A final answer of the gateway for a payment. */
export type GatewayOutcome =
  | { status: 'succeeded'; gatewayRef: string; amount: MinorUnits; currency: string }
  | { status: 'failed'; reason: string; message: string };

/**
 * Records the gateway's final answer with the scripts of the normal path (recordPurchase,
 * rechargeResult), so that settling is idempotent with it, with the webhook and with every
 * reconciler: the lot once; a failure only while the payment is pending; a success after a
 * recorded failure still creates the lot (the card was charged).
 */
export async function recordPaymentOutcome(
  ledger: Pick<PaymentLedger, 'recordPurchase' | 'recordRechargeResult'>,
  payment: { kind: PaymentKind; tenantId: string; id: string },
  outcome: GatewayOutcome,
): Promise<Settlement> {
  const { kind, tenantId, id } = payment;
  const base = { tenantId, kind, id };
  const recorded =
    kind === 'purchase'
      ? await ledger.recordPurchase(
          tenantId,
          outcome.status === 'succeeded'
            ? { purchaseId: id, status: 'succeeded', gatewayRef: outcome.gatewayRef }
            : { purchaseId: id, status: 'failed', reason: outcome.reason, message: outcome.message },
        )
      : await ledger.recordRechargeResult(
          tenantId,
          outcome.status === 'succeeded'
            ? {
                requestId: id,
                status: 'succeeded',
                amount: outcome.amount,
                currency: outcome.currency,
                gatewayRef: outcome.gatewayRef,
              }
            : { requestId: id, status: 'failed', reason: outcome.reason },
        );
  if ('refused' in recorded) {
    // A request no longer pending and never recorded was answered by another path.
    if (recorded.refused === 'unknown_recharge') return { ...base, outcome: 'already_settled' };
    return { ...base, outcome: 'pending', detail: `${recorded.refused}: ${recorded.detail}` };
  }
  if (recorded.duplicate) return { ...base, outcome: 'already_settled' };
  return { ...base, outcome: outcome.status };
}

/** The fields of a Stripe PaymentIntent that settling reads (the object of its webhook events). */
export interface PaymentIntentObject {
  id: string;
  status: string;
  metadata: Record<string, string> | null;
  amount: number;
  currency: string;
  last_payment_error?: { code?: string | null; decline_code?: string | null; message?: string | null } | null;
}

/** Stripe statuses after which an off-session PaymentIntent will not succeed without a customer. */
const FAILED_STATUSES = new Set(['requires_payment_method', 'requires_action', 'canceled']);

/**
 * Settles the purchase or auto-recharge a PaymentIntent paid for, from Stripe's
 * `payment_intent.succeeded` and `payment_intent.payment_failed` events (their object), found
 * by its metadata: `tenantId` and `chargeId` (the idempotency key). Exactly once whatever the
 * order or repetition of the events, and whatever the normal path or the reconciler did:
 * - succeeded: the lot, once; also after a recorded failure (a success always wins). Not when
 *   the amount or currency differs from ours (`mismatch`: the payments report shows it);
 * - failed (declined, canceled, or waiting for a customer who is not there): the failure, only
 *   while the payment is pending; after a success it changes nothing;
 * - anything else (processing), or a PaymentIntent that is not ours: ignored.
 */
export function paymentIntentHandler(
  ledger: Pick<PaymentLedger, 'readPayment' | 'recordPurchase' | 'recordRechargeResult'>,
): (paymentIntent: PaymentIntentObject) => Promise<Settlement> {
  return async (pi) => {
    const tenantId = pi.metadata?.tenantId;
    const chargeId = pi.metadata?.chargeId;
    const payment = tenantId && chargeId ? paymentOfChargeId(tenantId, chargeId) : undefined;
    if (!tenantId || !payment) return { outcome: 'ignored', detail: `${pi.id} is not a rater payment` };
    const base = { tenantId, ...payment };
    const succeeded = pi.status === 'succeeded';
    if (!succeeded && !FAILED_STATUSES.has(pi.status))
      return { ...base, outcome: 'ignored', detail: `${pi.id} is ${pi.status}` };
    const held = await ledger.readPayment(tenantId, payment.kind, payment.id);
    if (!held)
      return { ...base, outcome: 'ignored', detail: `the ledger has no ${payment.kind} ${payment.id}` };
    if (!succeeded) {
      if (held.status !== 'pending') return { ...base, outcome: 'already_settled' };
      const error = pi.last_payment_error;
      return recordPaymentOutcome(ledger, base, {
        status: 'failed',
        reason:
          error?.decline_code ||
          error?.code ||
          (pi.status === 'requires_action' ? 'authentication_required' : `payment_${pi.status}`),
        message: error?.message ?? `the PaymentIntent is ${pi.status}`,
      });
    }
    if (held.status === 'succeeded') return { ...base, outcome: 'already_settled' };
    const differs = differsFrom(held, BigInt(pi.amount), pi.currency);
    if (differs) return { ...base, outcome: 'mismatch', detail: `${pi.id}: ${differs}` };
    return recordPaymentOutcome(ledger, base, {
      status: 'succeeded',
      gatewayRef: pi.id,
      amount: BigInt(pi.amount),
      currency: pi.currency.toUpperCase(),
    });
  };
}

/** The webhook's dispatch entries this module answers (the route verifies and dispatches). */
export function paymentIntentHandlers(
  ledger: Pick<PaymentLedger, 'readPayment' | 'recordPurchase' | 'recordRechargeResult'>,
): Record<
  'payment_intent.succeeded' | 'payment_intent.payment_failed',
  ReturnType<typeof paymentIntentHandler>
> {
  const handler = paymentIntentHandler(ledger);
  return { 'payment_intent.succeeded': handler, 'payment_intent.payment_failed': handler };
}

/**
 * How a gateway's payment differs from what the ledger holds, or undefined. A settled
 * recharge keeps no amount of its own unless it bought a lot: only the currency is compared.
 */
export function differsFrom(held: HeldPayment, amount: MinorUnits, currency: string): string | undefined {
  if (held.currency.toUpperCase() !== currency.toUpperCase())
    return `currency ${currency.toUpperCase()}, ours ${held.currency}`;
  const known = held.kind === 'purchase' || held.status === 'pending' || held.lotId;
  if (known && held.amount !== amount) return `amount ${amount}, ours ${held.amount} (minor units)`;
  return undefined;
}
