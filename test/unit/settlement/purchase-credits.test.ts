import type { PurchaseRecord } from '../../../src/credits/wallet';
import { SimulatedGateway } from '../../../src/payments/gateway';
import type { PurchaseLedger } from '../../../src/settlement/ports';
import { purchaseCredits } from '../../../src/settlement/purchase-credits';

/** The purchase port in memory: pending, then succeeded (a lot) or failed, once per purchase id. */
class MemoryPurchases implements PurchaseLedger {
  readonly purchases = new Map<string, PurchaseRecord>();
  lots = 0;
  /** Whether the replicas acknowledge (REDIS_WAIT_REPLICAS); the waits asked for, by tenant. */
  replicasAcknowledge = true;
  readonly waits: string[][] = [];
  constructor(private readonly paymentMethodRef: string) {}

  async awaitReplicas(tenantIds: Iterable<string>) {
    this.waits.push([...tenantIds]);
    if (!this.replicasAcknowledge)
      throw Object.assign(new Error('0 of 1 replicas of redis acknowledged the writes in 100 ms'), {
        reason: 'redis_replicas_lagging',
        retriable: true,
      });
  }

  async beginPurchase(_tenantId: string, p: { purchaseId: string; amount: bigint; currency: string }) {
    const stored = this.purchases.get(p.purchaseId);
    if (stored && (stored.amount !== p.amount || stored.currency !== p.currency))
      return { refused: 'payment_ref_conflict', detail: p.purchaseId };
    if (stored) return { settled: stored.status !== 'pending', purchase: stored };
    const purchase: PurchaseRecord = {
      ...p,
      status: 'pending',
      paymentMethodRef: this.paymentMethodRef,
      startedAt: new Date(0),
    };
    this.purchases.set(p.purchaseId, purchase);
    return { settled: false, purchase };
  }

  async recordPurchase(
    _tenantId: string,
    result:
      | { purchaseId: string; status: 'succeeded'; gatewayRef: string }
      | { purchaseId: string; status: 'failed'; reason: string; message: string },
  ) {
    const stored = this.purchases.get(result.purchaseId)!;
    if (stored.status !== 'pending') return { duplicate: true, purchase: stored };
    if (result.status === 'succeeded') this.lots += 1;
    const purchase: PurchaseRecord =
      result.status === 'succeeded'
        ? { ...stored, status: 'succeeded', gatewayRef: result.gatewayRef }
        : { ...stored, status: 'failed', reason: result.reason, message: result.message };
    this.purchases.set(result.purchaseId, purchase);
    return { duplicate: false, purchase };
  }
}

const buy = (ledger: MemoryPurchases, gateway: SimulatedGateway, purchaseId = 'p1', amount = 5000n) =>
  purchaseCredits(ledger, gateway, 'acme', { purchaseId, amount, currency: 'USD' }, { retryDelayMs: 1 });

describe('buying credits', () => {
  it('charges once and creates one lot per purchase id, however often it is asked', async () => {
    const ledger = new MemoryPurchases('pm_card_visa');
    const gateway = new SimulatedGateway();
    expect(await buy(ledger, gateway)).toMatchObject({ outcome: 'succeeded', duplicate: false });
    expect(await buy(ledger, gateway)).toMatchObject({ outcome: 'succeeded', duplicate: true });
    expect(ledger.lots).toBe(1);
    expect(gateway.charges).toHaveLength(1);
    expect(gateway.charges[0]).toMatchObject({ idempotencyKey: 'acme:purchase:p1', amountMinor: 5000n });
    expect(await buy(ledger, gateway, 'p1', 6000n)).toEqual({
      refused: 'payment_ref_conflict',
      detail: 'p1',
    });
  });

  it('records a decline with its code and creates nothing', async () => {
    const ledger = new MemoryPurchases('pm_sim_expired_card');
    const result = await buy(ledger, new SimulatedGateway());
    expect(result).toMatchObject({
      outcome: 'failed',
      purchase: { status: 'failed', reason: 'expired_card' },
    });
    expect(ledger.lots).toBe(0);
  });

  it('leaves the purchase pending, and nothing created, when the gateway does not answer', async () => {
    const ledger = new MemoryPurchases('pm_sim_timeout');
    expect(await buy(ledger, new SimulatedGateway())).toMatchObject({ outcome: 'unavailable' });
    expect(ledger.purchases.get('p1')!.status).toBe('pending');
    expect(ledger.lots).toBe(0);
  });

  it('answers a purchase only once the replicas hold it, and the retry of one that lagged as its stored outcome', async () => {
    const ledger = new MemoryPurchases('pm_card_visa');
    const gateway = new SimulatedGateway();
    ledger.replicasAcknowledge = false;
    expect(await buy(ledger, gateway)).toEqual({
      outcome: 'not_replicated',
      message: '0 of 1 replicas of redis acknowledged the writes in 100 ms',
    });
    // Recorded (the lot exists on the master) but not answered as done.
    expect(ledger.lots).toBe(1);
    expect(ledger.waits).toEqual([['acme']]);
    ledger.replicasAcknowledge = true;
    expect(await buy(ledger, gateway)).toMatchObject({ outcome: 'succeeded', duplicate: true });
    expect(ledger.waits).toEqual([['acme'], ['acme']]);
    expect(ledger.lots).toBe(1);
    expect(gateway.charges).toHaveLength(1);
  });
});
