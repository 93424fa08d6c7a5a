import type { MinorUnits, PurchaseRecord } from '../credits/wallet';
import type { ChargeResult, LedgerRefusal, PaymentGateway, PurchaseLedger } from './ports';
import { isReplicaLag, isRetriable, retry, RetriesExhaustedError } from './retry';

export type PurchaseOutcome =
  /** Paid and credited: a new lot, or the stored outcome of this purchase id (`duplicate`). */
  | { outcome: 'succeeded'; duplicate: boolean; purchase: PurchaseRecord }
  /** The gateway declined (now or on an earlier attempt of this id): nothing was created. */
  | { outcome: 'failed'; purchase: PurchaseRecord }
  /** The gateway did not answer: the purchase stays pending; the same request may be retried. */
  | { outcome: 'unavailable'; message: string }
  /**
   * Recorded, but the replicas did not acknowledge it in time (REDIS_WAIT_REPLICAS): a failover
   * could still lose it, so it is not answered as done; the same request may be retried.
   */
  | { outcome: 'not_replicated'; message: string }
  | LedgerRefusal;

/** Stripe's idempotency keys are per Stripe account, purchase ids per tenant: the key names both. */
export const purchaseIdempotencyKey = (tenantId: string, purchaseId: string) =>
  `${tenantId}:purchase:${purchaseId}`;

/**
 * The use case "buy credits": a tenant admin's purchase, exactly once per purchase id, however often the request is
 * retried or raced.
 *
 * 1. `beginPurchase` records the purchase as pending (amount, currency, the payment method
 *    now on the account) in one script; the same id with another amount or currency is a
 *    `payment_ref_conflict`, and one settled before returns its stored outcome at once.
 * 2. The gateway charges the stored payment method, the idempotency key naming the tenant and
 *    the purchase id: Stripe keeps the first answer of a key and replays it, so a retry after
 *    a timeout, a crash before step 3, or a concurrent request with the same id, is one payment.
 * 3. `recordPurchase` records the answer in one script: success creates the lot, failure
 *    nothing; a purchase settled meanwhile (the racing request) returns its stored outcome.
 * 4. The outcome is answered only once the replicas have it (`awaitReplicas`, when the ledger
 *    waits for replicas): otherwise `not_replicated`, and the retry finds it settled and waits again.
 */
export async function purchaseCredits(
  ledger: PurchaseLedger,
  gateway: PaymentGateway,
  tenantId: string,
  request: { purchaseId: string; amount: MinorUnits; currency: string },
  options: { attempts?: number; retryDelayMs?: number } = {},
): Promise<PurchaseOutcome> {
  const begun = await ledger.beginPurchase(tenantId, request);
  if ('refused' in begun) return begun;
  if (begun.settled) return replicated(ledger, tenantId, settled(begun.purchase, true));
  const { purchase } = begun;
  let result: ChargeResult;
  try {
    result = await retry(
      () =>
        gateway.charge({
          idempotencyKey: purchaseIdempotencyKey(tenantId, request.purchaseId),
          tenantId,
          paymentMethodRef: purchase.paymentMethodRef,
          amountMinor: purchase.amount,
          currency: purchase.currency,
        }),
      {
        attempts: options.attempts ?? 3,
        initialDelayMs: options.retryDelayMs ?? 200,
        maxDelayMs: 2_000,
        isRetriable,
      },
    );
  } catch (error) {
    if (error instanceof RetriesExhaustedError) return { outcome: 'unavailable', message: error.message };
    throw error;
  }
  const recorded = await ledger.recordPurchase(
    tenantId,
    result.status === 'succeeded'
      ? { purchaseId: request.purchaseId, status: 'succeeded', gatewayRef: result.gatewayRef }
      : {
          purchaseId: request.purchaseId,
          status: 'failed',
          reason: result.reason,
          message: result.message ?? result.reason,
        },
  );
  if ('refused' in recorded) return recorded;
  return replicated(ledger, tenantId, settled(recorded.purchase, recorded.duplicate));
}

/** The outcome once the replicas hold the tenant's writes; `not_replicated` when they lag. */
async function replicated(
  ledger: PurchaseLedger,
  tenantId: string,
  outcome: PurchaseOutcome,
): Promise<PurchaseOutcome> {
  try {
    await ledger.awaitReplicas([tenantId]);
  } catch (error) {
    if (isReplicaLag(error)) return { outcome: 'not_replicated', message: (error as Error).message };
    throw error;
  }
  return outcome;
}

function settled(purchase: PurchaseRecord, duplicate: boolean): PurchaseOutcome {
  return purchase.status === 'succeeded'
    ? { outcome: 'succeeded', duplicate, purchase }
    : { outcome: 'failed', purchase };
}
