import { SimulatedGateway } from '../../../src/payments/gateway';
import { chargeIdOf, paymentOfChargeId, type HeldPayment } from '../../../src/settlement/payment-ports';
import { PaymentReconciler } from '../../../src/settlement/reconcile-payments';

const START = new Date('2026-11-01T00:00:00Z');

/** A ledger of pending payments in memory: settling records once, as the scripts do. */
function memoryLedger(payments: HeldPayment[]) {
  const recorded: string[] = [];
  const find = (tenantId: string, id: string) =>
    payments.find((p) => p.tenantId === tenantId && p.id === id)!;
  const settle = (tenantId: string, id: string, status: 'succeeded' | 'failed', detail: string) => {
    const held = find(tenantId, id);
    if (held.status !== 'pending') return { duplicate: true, status: held.status };
    held.status = status;
    recorded.push(`${id} ${status} ${detail}`);
    return { duplicate: false, status };
  };
  return {
    recorded,
    pendingPayments: async (before: Date) =>
      payments
        .filter((p) => p.status === 'pending' && p.startedAt <= before)
        .map((p) => ({ kind: p.kind, tenantId: p.tenantId, id: p.id, since: p.startedAt })),
    readPayment: async (tenantId: string, _kind: string, id: string) => ({ ...find(tenantId, id) }),
    recordPurchase: async (
      tenantId: string,
      r: { purchaseId: string; status: 'succeeded' | 'failed'; gatewayRef?: string; reason?: string },
    ) => {
      const { duplicate } = settle(tenantId, r.purchaseId, r.status, r.gatewayRef ?? r.reason ?? '');
      return { duplicate, purchase: {} as never };
    },
    recordRechargeResult: async (
      tenantId: string,
      r: { requestId: string; status: 'succeeded' | 'failed'; gatewayRef?: string; reason?: string },
    ) => settle(tenantId, r.requestId, r.status, r.gatewayRef ?? r.reason ?? ''),
  };
}

const purchase = (id: string, paymentMethodRef: string, startedAt = START): HeldPayment => ({
  kind: 'purchase',
  tenantId: 'acme',
  id,
  status: 'pending',
  amount: 1000n,
  currency: 'USD',
  paymentMethodRef,
  startedAt,
});

describe('the reconciler (simulated gateway)', () => {
  const setup = (payments: HeldPayment[], nowMs: number) => {
    const ledger = memoryLedger(payments);
    const gateway = new SimulatedGateway(0);
    const reconciler = new PaymentReconciler(ledger, gateway, {
      graceMs: 60_000,
      keyWindowMs: 23 * 3600_000,
      pageSize: 10,
      clock: () => new Date(START.getTime() + nowMs),
    });
    return { ledger, gateway, reconciler };
  };

  it('settles a charge whose answer was lost from the lookup, without charging again', async () => {
    const { ledger, gateway, reconciler } = setup([purchase('lost', 'pm_sim_lost_answer')], 120_000);
    const request = {
      idempotencyKey: 'acme:purchase:lost',
      tenantId: 'acme',
      paymentMethodRef: 'pm_sim_lost_answer',
      amountMinor: 1000n,
      currency: 'USD',
    };
    await expect(gateway.charge(request)).rejects.toThrow('lost in transit');
    await expect(gateway.charge(request)).rejects.toThrow('lost in transit');
    expect(gateway.charges).toHaveLength(1);
    expect(await reconciler.reconcileOnce()).toMatchObject({ succeeded: 1 });
    expect(ledger.recorded).toEqual(['lost succeeded sim_ch_1']);
    expect(gateway.charges).toHaveLength(1);
  });

  it('leaves a payment younger than the grace period alone', async () => {
    const { ledger, reconciler } = setup([purchase('young', 'pm_sim_ok')], 30_000);
    expect(await reconciler.reconcileOnce()).toMatchObject({ succeeded: 0, pending: 0 });
    expect(ledger.recorded).toEqual([]);
  });

  it('charges a payment the gateway never saw within the key window, and fails it past the window', async () => {
    const within = setup([purchase('unseen', 'pm_sim_ok')], 3600_000);
    expect(await within.reconciler.reconcileOnce()).toMatchObject({ succeeded: 1 });
    expect(within.gateway.charges.map((c) => c.idempotencyKey)).toEqual(['acme:purchase:unseen']);

    const past = setup([purchase('old', 'pm_sim_ok')], 24 * 3600_000);
    expect(await past.reconciler.reconcileOnce()).toMatchObject({ failed: 1 });
    expect(past.ledger.recorded).toEqual(['old failed no_charge']);
    expect(past.gateway.charges).toEqual([]);
  });

  it('records a decline as the failure, and keeps a payment pending while the gateway does not answer', async () => {
    const { ledger, reconciler } = setup(
      [purchase('declined', 'pm_sim_declined'), purchase('timeout', 'pm_sim_timeout')],
      120_000,
    );
    expect(await reconciler.reconcileOnce()).toMatchObject({ failed: 1, pending: 1 });
    expect(ledger.recorded).toEqual(['declined failed insufficient_funds']);
  });

  it('settles a payment once when two reconcilers race', async () => {
    const { ledger, reconciler } = setup([purchase('raced', 'pm_sim_ok')], 120_000);
    const [a, b] = await Promise.all([reconciler.reconcileOnce(), reconciler.reconcileOnce()]);
    expect(a.succeeded + b.succeeded).toBe(1);
    expect(ledger.recorded).toEqual(['raced succeeded sim_ch_1']);
  });
});

describe('charge ids', () => {
  it('name a purchase or a recharge request of the tenant, and nothing else', () => {
    expect(paymentOfChargeId('acme', 'acme:purchase:order:7')).toEqual({ kind: 'purchase', id: 'order:7' });
    expect(paymentOfChargeId('acme', 'acme:recharge:12')).toEqual({
      kind: 'recharge',
      id: 'acme:recharge:12',
    });
    expect(paymentOfChargeId('acme', 'other:purchase:1')).toBeUndefined();
    expect(paymentOfChargeId('acme', 'acme:recharge:x')).toBeUndefined();
    expect(paymentOfChargeId('acme', 'acme:purchase:')).toBeUndefined();
    expect(chargeIdOf({ kind: 'purchase', tenantId: 'acme', id: 'order:7' })).toBe('acme:purchase:order:7');
    expect(chargeIdOf({ kind: 'recharge', tenantId: 'acme', id: 'acme:recharge:12' })).toBe(
      'acme:recharge:12',
    );
  });
});
