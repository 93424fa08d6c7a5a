import type { ChargeResult, GatewayPayment, PaymentGateway } from './ports';
import { chargeIdOf, type HeldPayment, type PaymentLedger, type PendingPayment } from './payment-ports';
import { errorMessage, isRetriable } from './retry';
import { differsFrom, type GatewayOutcome, recordPaymentOutcome, type Settlement } from './settle-payment';

export interface ReconcileOptions {
  /** A payment begun less than this long ago is left to its own path (default 60 s). */
  graceMs: number;
  /**
   * How long the gateway keeps an idempotency key (Stripe: 24 h), less a margin: within it a
   * payment the gateway has no record of is charged again with its key; past it, it failed.
   */
  keyWindowMs: number;
  /** Payments taken per index shard and pass: the bound of one pass. */
  pageSize: number;
  clock: () => Date;
  /** Each payment looked at, and what became of it. */
  onSettled?: (payment: PendingPayment, settlement: Settlement) => void;
}

export const DEFAULT_RECONCILE_GRACE_MS = 60_000;
/** Stripe replays a key's answer for 24 hours; one hour of margin for clocks and slow requests. */
export const DEFAULT_KEY_WINDOW_MS = 23 * 3600_000;

/** What one pass did: payments looked at, by outcome. */
export type ReconcileSummary = Record<Settlement['outcome'], number>;

/**
 * The use case "settle what was left pending": purchases whose client never retried after the
 * gateway's answer was lost, auto-recharge requests whose answers were all lost, payments of a
 * process killed between the charge and the record. It reads the ledger's index of pending
 * payments (work only where something is pending, never a walk over the tenants), takes those
 * begun more than `graceMs` ago, asks the gateway what happened, and settles each with the
 * normal path's scripts (exactly once, whoever settles first):
 *
 * 1. The gateway has a payment for the key (its metadata chargeId): succeeded -> the lot;
 *    failed (declined, canceled) -> the failure with its reason; processing -> left pending.
 *    A payment whose amount or currency differs from ours is left pending (`mismatch`) for an
 *    operator: the payments report lists it.
 * 2. It has none, and the payment began within the key window: the charge is made again with
 *    the same idempotency key. The gateway replays the first request's answer if that request
 *    reached it, or charges now if it never did; that answer is recorded (no answer: pending).
 * 3. It has none, and the key window has passed: no request of ours can still charge it, and
 *    none is made any more (the key would no longer protect it): failed, reason `no_charge`.
 */
export class PaymentReconciler {
  constructor(
    private readonly ledger: PaymentLedger,
    private readonly gateway: PaymentGateway,
    private readonly options: ReconcileOptions,
  ) {}

  /** One pass over the payments pending longer than the grace period (at most pageSize per shard). */
  async reconcileOnce(): Promise<ReconcileSummary> {
    const summary: ReconcileSummary = {
      succeeded: 0,
      failed: 0,
      already_settled: 0,
      pending: 0,
      mismatch: 0,
      ignored: 0,
    };
    const before = new Date(this.options.clock().getTime() - this.options.graceMs);
    const pending = await this.ledger.pendingPayments(before, this.options.pageSize);
    for (const payment of pending) {
      const settlement = await this.settle(payment);
      summary[settlement.outcome] += 1;
      this.options.onSettled?.(payment, settlement);
    }
    return summary;
  }

  /** Settles one pending payment, as the rule above says. */
  async settle(payment: PendingPayment): Promise<Settlement> {
    const base = { tenantId: payment.tenantId, kind: payment.kind, id: payment.id };
    const held = await this.ledger.readPayment(payment.tenantId, payment.kind, payment.id);
    if (!held || held.status !== 'pending') return { ...base, outcome: 'already_settled' };
    try {
      const outcome = await this.askGateway(held);
      if ('outcome' in outcome) return { ...base, ...outcome };
      return await recordPaymentOutcome(this.ledger, base, outcome);
    } catch (error) {
      if (!isRetriable(error)) throw error;
      return { ...base, outcome: 'pending', detail: errorMessage(error) };
    }
  }

  /** The gateway's final answer for a pending payment, or why there is none yet. */
  private async askGateway(
    held: HeldPayment,
  ): Promise<GatewayOutcome | { outcome: 'pending' | 'mismatch'; detail: string }> {
    const idempotencyKey = chargeIdOf(held);
    const found = await this.gateway.lookup({
      idempotencyKey,
      tenantId: held.tenantId,
      paymentMethodRef: held.paymentMethodRef,
      since: held.startedAt,
    });
    if (found) return this.outcomeOf(held, found);
    const age = this.options.clock().getTime() - held.startedAt.getTime();
    if (age >= this.options.keyWindowMs)
      return {
        status: 'failed',
        reason: 'no_charge',
        message: 'the gateway made no payment for it, and its idempotency key has expired',
      };
    const answer: ChargeResult = await this.gateway.charge({
      idempotencyKey,
      tenantId: held.tenantId,
      paymentMethodRef: held.paymentMethodRef,
      amountMinor: held.amount,
      currency: held.currency,
    });
    return answer.status === 'succeeded'
      ? { status: 'succeeded', gatewayRef: answer.gatewayRef, amount: held.amount, currency: held.currency }
      : { status: 'failed', reason: answer.reason, message: answer.message ?? answer.reason };
  }

  private outcomeOf(
    held: HeldPayment,
    found: GatewayPayment,
  ): GatewayOutcome | { outcome: 'pending' | 'mismatch'; detail: string } {
    if (found.status === 'processing')
      return { outcome: 'pending', detail: `${found.gatewayRef} is still processing` };
    if (found.status === 'failed')
      return {
        status: 'failed',
        reason: found.reason ?? 'payment_failed',
        message: found.message ?? found.reason ?? '',
      };
    const differs = differsFrom(held, found.amountMinor, found.currency);
    if (differs) return { outcome: 'mismatch', detail: `${found.gatewayRef}: ${differs}` };
    return {
      status: 'succeeded',
      gatewayRef: found.gatewayRef,
      amount: found.amountMinor,
      currency: found.currency,
    };
  }
}
