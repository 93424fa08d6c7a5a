import { toCloudEvent } from '../../../src/kafka/cloudevents';
import { paymentLedgerOf } from '../../../src/ledger/open-ledger';
import { StripeGateway } from '../../../src/payments/stripe-gateway';
import { purchaseCredits } from '../../../src/settlement/purchase-credits';
import { PaymentReconciler } from '../../../src/settlement/reconcile-payments';
import { RechargeWorker } from '../../../src/workers/recharge-worker';
import { STRIPE_MOCK_API_KEY } from '../../../tools/stack/stack';
import { startStripeTestProxy, StripeTestProxy } from '../../../tools/stack/stripe-test-proxy';
import { applyPaid, ledgerFixture, LedgerFixture, paid, prepaid } from '../../support/ledger';
import { testStack } from '../../support/stack';

const GRACE_MS = 60_000;
const KEY_WINDOW_MS = 23 * 3600_000;

/**
 * Payments whose outcome was unknown stay pending, and the reconciler settles them from what
 * Stripe (stripe-mock behind the test proxy, which remembers PaymentIntents) says, once.
 */
describe('payments left pending, settled by the reconciler', () => {
  let f: LedgerFixture;
  let stripe: StripeTestProxy;
  let gateway: StripeGateway;

  beforeAll(async () => {
    stripe = await startStripeTestProxy(testStack().stripe.url);
    f = ledgerFixture();
    gateway = new StripeGateway({ apiKey: STRIPE_MOCK_API_KEY, apiBase: stripe.url, maxNetworkRetries: 1 });
  });
  afterAll(async () => {
    f.close();
    await stripe.close();
  });
  afterEach(() => stripe.failNext(0, 'drop'));

  const reconciler = () =>
    new PaymentReconciler(paymentLedgerOf(f.ledger), gateway, {
      graceMs: GRACE_MS,
      keyWindowMs: KEY_WINDOW_MS,
      pageSize: 100,
      clock: () => f.clock.now,
    });
  const intentsOf = (key: string) => stripe.paymentIntents().filter((pi) => pi.idempotencyKey === key);
  const events = async (tenant: string, prefix: string) =>
    (await f.ledger.outbox.readOutbox(tenant))
      .filter((e) => e.type.startsWith(prefix))
      .map((e) => [e.type, e.data.reason ?? e.data.amount ?? '']);
  const lotsOf = async (tenant: string) =>
    (await f.ledger.reads.readAccount(tenant))!.lots.map((lot) => [lot.lotId, lot.amount]);
  const buyer = async (tenant: string, paymentMethodRef: string) => {
    await f.ledger.writes.upsertAccount(tenant, prepaid({ paymentMethodRef }));
  };

  /** A tenant whose balance fell below its trigger: its recharge request, as the relay publishes it. */
  const rechargeRequested = async (tenant: string, paymentMethodRef: string) => {
    await f.ledger.writes.upsertAccount(
      tenant,
      prepaid({
        paymentMethodRef,
        autoRecharge: {
          enabled: true,
          trigger: 500n,
          amount: 2000n,
          monthlyCap: 10,
          maxConsecutiveFailures: 3,
        },
      }),
    );
    await f.ledger.writes.addFunds(tenant, { paymentRef: 'p1', amount: 1000n, currency: 'USD' });
    await applyPaid(f, tenant, [paid('u1', 600n)]);
    return (await f.ledger.outbox.readOutbox(tenant)).find((e) => e.type === 'credits.recharge.requested')!;
  };

  it('keeps a recharge whose answers were all lost pending (the card was charged), asks for no second one, and settles one lot', async () => {
    const requested = await rechargeRequested('lost', 'cus_lost/pm_card_visa');
    const worker = new RechargeWorker({ ledger: f.ledger, gateway, retryDelayMs: 5 });
    stripe.failNext(100, 'drop');
    await worker.handle(toCloudEvent(requested, '/rater/credits'));
    stripe.failNext(0, 'drop');
    // Stripe charged the card once; every answer was lost on the way back.
    expect(intentsOf('lost:recharge:1')).toEqual([
      expect.objectContaining({ status: 'succeeded', amount: 2000 }),
    ]);
    expect(await events('lost', 'credits.recharge.')).toEqual([
      ['credits.recharge.requested', { amountMinor: '2000', currency: 'USD' }],
    ]);
    expect((await f.ledger.reads.readAccount('lost'))!.balance).toBe(400n);
    // Pending: more usage below the trigger asks for no second recharge.
    await applyPaid(f, 'lost', [paid('u2', 100n)]);
    expect((await events('lost', 'credits.recharge.')).length).toBe(1);

    // Within the grace period the reconciler leaves it to its own path.
    expect(await reconciler().reconcileOnce()).toMatchObject({ succeeded: 0, pending: 0 });
    f.clock.advance(GRACE_MS + 1000);
    const requests = stripe.creationRequests();
    expect(await reconciler().reconcileOnce()).toMatchObject({ succeeded: 1 });
    expect(stripe.creationRequests()).toBe(requests); // found by lookup, not charged again
    expect(await lotsOf('lost')).toEqual([
      ['m:p1', 1000n],
      ['r:lost:recharge:1', 2000n],
    ]);
    expect((await f.ledger.reads.readAccount('lost'))!.balance).toBe(2300n);
    expect(await events('lost', 'credits.recharge.')).toEqual([
      ['credits.recharge.requested', { amountMinor: '2000', currency: 'USD' }],
      ['credits.recharge.succeeded', { amountMinor: '2000', currency: 'USD' }],
    ]);
    // Settled: nothing is pending any more, and a second pass does nothing.
    expect(await f.ledger.indexes.pendingPayments(f.clock.now, 10)).toEqual([]);
    expect(await reconciler().reconcileOnce()).toMatchObject({ succeeded: 0, already_settled: 0 });
    expect(intentsOf('lost:recharge:1')).toHaveLength(1);
  });

  it('settles a purchase whose client never retried after the gateway did not answer', async () => {
    await buyer('quiet', 'cus_quiet/pm_card_visa');
    stripe.failNext(100, 'drop');
    const outcome = await purchaseCredits(
      f.ledger.writes,
      gateway,
      'quiet',
      { purchaseId: 'order-1', amount: 2500n, currency: 'USD' },
      { retryDelayMs: 5 },
    );
    stripe.failNext(0, 'drop');
    expect(outcome).toMatchObject({ outcome: 'unavailable' });
    // One PaymentIntent, asked for by every attempt (the SDK's retry and ours), every answer lost.
    const [intent] = intentsOf('quiet:purchase:order-1');
    expect(intent).toMatchObject({ status: 'succeeded', requests: 6 });
    expect(await f.ledger.indexes.pendingPayments(f.clock.now, 10)).toEqual([
      { kind: 'purchase', tenantId: 'quiet', id: 'order-1', since: f.clock.now },
    ]);
    expect(await f.ledger.indexes.pendingSummary()).toEqual({ count: 1, oldest: f.clock.now });
    f.clock.advance(GRACE_MS + 1000);
    expect(await reconciler().reconcileOnce()).toMatchObject({ succeeded: 1 });
    expect(await lotsOf('quiet')).toEqual([['p:order-1', 2500n]]);
    expect(await f.ledger.indexes.pendingSummary()).toEqual({ count: 0 });
    expect(intentsOf('quiet:purchase:order-1')).toEqual([expect.objectContaining({ status: 'succeeded' })]);
    // The client coming back at last gets the stored outcome.
    const again = await purchaseCredits(f.ledger.writes, gateway, 'quiet', {
      purchaseId: 'order-1',
      amount: 2500n,
      currency: 'USD',
    });
    expect(again).toMatchObject({ outcome: 'succeeded', duplicate: true });
    expect(intentsOf('quiet:purchase:order-1')).toEqual([expect.objectContaining({ requests: 6 })]);
  });

  it('settles once a purchase charged by a process killed before it recorded the answer, even with two reconcilers at once', async () => {
    await buyer('killed', 'cus_killed/pm_card_visa');
    const begun = await f.ledger.writes.beginPurchase('killed', {
      purchaseId: 'order-9',
      amount: 1500n,
      currency: 'USD',
    });
    expect(begun).toMatchObject({ settled: false });
    const charged = await gateway.charge({
      idempotencyKey: 'killed:purchase:order-9',
      tenantId: 'killed',
      paymentMethodRef: 'cus_killed/pm_card_visa',
      amountMinor: 1500n,
      currency: 'USD',
    });
    expect(charged).toMatchObject({ status: 'succeeded' });
    // ... and the process died here. Two reconcilers find it at once.
    f.clock.advance(GRACE_MS + 1000);
    const [a, b] = await Promise.all([reconciler().reconcileOnce(), reconciler().reconcileOnce()]);
    expect(a.succeeded + b.succeeded).toBe(1);
    expect(await lotsOf('killed')).toEqual([['p:order-9', 1500n]]);
    expect((await f.ledger.reads.readAccount('killed'))!.balance).toBe(1500n);
    expect(await events('killed', 'credits.funds.added')).toHaveLength(1);
    expect(intentsOf('killed:purchase:order-9')).toEqual([expect.objectContaining({ requests: 1 })]);
  });

  it('records a definite decline as the failure, with its reason, and creates nothing', async () => {
    await buyer('declined', 'cus_declined/pm_card_chargeDeclinedInsufficientFunds');
    await f.ledger.writes.beginPurchase('declined', { purchaseId: 'o1', amount: 900n, currency: 'USD' });
    expect(
      await gateway.charge({
        idempotencyKey: 'declined:purchase:o1',
        tenantId: 'declined',
        paymentMethodRef: 'cus_declined/pm_card_chargeDeclinedInsufficientFunds',
        amountMinor: 900n,
        currency: 'USD',
      }),
    ).toMatchObject({ status: 'declined', reason: 'insufficient_funds' });
    f.clock.advance(GRACE_MS + 1000);
    expect(await reconciler().reconcileOnce()).toMatchObject({ failed: 1 });
    expect(await lotsOf('declined')).toEqual([]);
    expect(await events('declined', 'credits.purchase.failed')).toEqual([
      ['credits.purchase.failed', 'insufficient_funds'],
    ]);
    const stored = await f.ledger.writes.beginPurchase('declined', {
      purchaseId: 'o1',
      amount: 900n,
      currency: 'USD',
    });
    expect(stored).toMatchObject({
      settled: true,
      purchase: { status: 'failed', reason: 'insufficient_funds' },
    });
  });

  it('charges with the same key a pending payment the gateway never saw, within the key window; past it, fails it without charging', async () => {
    await buyer('unseen', 'cus_unseen/pm_card_visa');
    await f.ledger.writes.beginPurchase('unseen', { purchaseId: 'soon', amount: 700n, currency: 'USD' });
    f.clock.advance(GRACE_MS + 1000);
    expect(await reconciler().reconcileOnce()).toMatchObject({ succeeded: 1 });
    expect(intentsOf('unseen:purchase:soon')).toEqual([
      expect.objectContaining({ requests: 1, amount: 700 }),
    ]);
    expect(await lotsOf('unseen')).toEqual([['p:soon', 700n]]);

    await f.ledger.writes.beginPurchase('unseen', { purchaseId: 'late', amount: 800n, currency: 'USD' });
    f.clock.advance(KEY_WINDOW_MS + 1000);
    const requests = stripe.creationRequests();
    expect(await reconciler().reconcileOnce()).toMatchObject({ failed: 1 });
    expect(stripe.creationRequests()).toBe(requests);
    expect(await lotsOf('unseen')).toEqual([['p:soon', 700n]]);
    expect(await events('unseen', 'credits.purchase.failed')).toEqual([
      ['credits.purchase.failed', 'no_charge'],
    ]);
  });
});
