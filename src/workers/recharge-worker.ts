import { decimalToMinor } from '../credits/money';
import type { CloudEvent } from '../settlement/event-ports';
import { ChargeResult, PaymentGateway } from '../settlement/ports';
import { isRetriable, retry, RetriesExhaustedError } from '../settlement/retry';
import type { RechargeLedger } from '../settlement/worker-ports';

export interface RechargeWorkerOptions {
  ledger: RechargeLedger;
  gateway: PaymentGateway;
  /** Attempts at the gateway per request before it counts as failed. */
  attempts?: number;
  retryDelayMs?: number;
  /** Called after a result was recorded (the outbox relay is poked with it). */
  onRecorded?: (
    tenantId: string,
    requestId: string,
    status: 'succeeded' | 'failed',
    detail: { amount: string; currency: string; gatewayRef?: string; reason?: string },
  ) => void;
  /**
   * Called when the gateway never answered: the card may have been charged, so the request
   * stays pending (no further request is made meanwhile) until the reconciler settles it.
   */
  onUnknown?: (tenantId: string, requestId: string, message: string) => void;
}

interface RechargeRequested {
  requestId: string;
  amount: { amount: string; currency: string };
  paymentMethodRef: string;
}

/**
 * Answers `credits.recharge.requested`: charges the payment method through the gateway (the
 * request id is the idempotency key, so a redelivered request never charges twice) and
 * records the result in the ledger, which is idempotent by request id as well. Only the
 * gateway's answer is recorded: when no answer came back after the retries, the outcome is
 * unknown (the charge may have gone through) and the request stays pending for the
 * reconciler, never recorded as failed. With REDIS_WAIT_REPLICAS, a result the replicas did not
 * acknowledge throws (the event comes again).
 */
export class RechargeWorker {
  constructor(private readonly options: RechargeWorkerOptions) {}

  async handle(event: CloudEvent): Promise<void> {
    if (event.type !== 'credits.recharge.requested') return;
    const tenantId = event.subject;
    const { requestId, amount, paymentMethodRef } = event.data as unknown as RechargeRequested;
    const amountMinor = decimalToMinor(amount.amount, amount.currency);
    const result = await this.charge({
      idempotencyKey: requestId,
      tenantId,
      paymentMethodRef,
      amountMinor,
      currency: amount.currency,
    });
    if (result.status === 'unknown') {
      this.options.onUnknown?.(tenantId, requestId, result.message);
      return;
    }
    const recorded = await this.options.ledger.writes.recordRechargeResult(
      tenantId,
      result.status === 'succeeded'
        ? {
            requestId,
            status: 'succeeded',
            amount: amountMinor,
            currency: amount.currency,
            gatewayRef: result.gatewayRef,
          }
        : { requestId, status: 'failed', reason: result.reason },
    );
    // Not done (the event's offset is not committed) until the replicas hold the result: the
    // redelivered request charges the same idempotency key and records again after a failover.
    await this.options.ledger.writes.awaitReplicas([tenantId]);
    // A request no longer pending was answered before: this is a redelivery.
    if ('refused' in recorded) {
      if (recorded.refused === 'unknown_recharge') return;
      throw new Error(`recording recharge ${requestId} of ${tenantId} was refused: ${recorded.refused}`);
    }
    this.options.onRecorded?.(
      tenantId,
      requestId,
      recorded.status,
      result.status === 'succeeded'
        ? { ...amount, gatewayRef: result.gatewayRef }
        : { ...amount, reason: result.reason },
    );
  }

  private async charge(
    request: Parameters<PaymentGateway['charge']>[0],
  ): Promise<ChargeResult | { status: 'unknown'; message: string }> {
    try {
      return await retry(() => this.options.gateway.charge(request), {
        attempts: this.options.attempts ?? 3,
        initialDelayMs: this.options.retryDelayMs ?? 200,
        maxDelayMs: 5_000,
        isRetriable,
      });
    } catch (error) {
      if (error instanceof RetriesExhaustedError) return { status: 'unknown', message: error.message };
      throw error;
    }
  }
}
