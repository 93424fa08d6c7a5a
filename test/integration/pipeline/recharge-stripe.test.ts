import { toCloudEvent } from '../../../src/kafka/cloudevents';
import { RechargeWorker } from '../../../src/workers/recharge-worker';
import { StripeGateway } from '../../../src/payments/stripe-gateway';
import { STRIPE_MOCK_API_KEY } from '../../../tools/stack/stack';
import { startStripeTestProxy, StripeTestProxy } from '../../../tools/stack/stripe-test-proxy';
import { applyPaid, ledgerFixture, LedgerFixture, paid, prepaid } from '../../support/ledger';
import { testStack } from '../../support/stack';

/** Auto-recharge charged through Stripe (stripe-mock behind the test proxy): outcomes by card. */
describe('recharge worker with the Stripe gateway', () => {
  let f: LedgerFixture;
  let stripe: StripeTestProxy;
  let worker: RechargeWorker;

  beforeAll(async () => {
    stripe = await startStripeTestProxy(testStack().stripe.url);
    f = ledgerFixture();
    worker = new RechargeWorker({
      ledger: f.ledger,
      gateway: new StripeGateway({ apiKey: STRIPE_MOCK_API_KEY, apiBase: stripe.url }),
      retryDelayMs: 10,
    });
  });
  afterAll(async () => {
    f.close();
    await stripe.close();
  });

  /** A tenant whose balance just fell below the trigger: answers its recharge request. */
  const recharge = async (tenant: string, paymentMethodRef: string) => {
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
    await f.ledger.writes.addFunds(tenant, {
      paymentRef: 'p1',
      amount: 1000n,
      currency: 'USD',
      purchasedAt: f.clock.now,
    });
    await applyPaid(f, tenant, [paid('u1', 600n)]);
    const requested = (await f.ledger.outbox.readOutbox(tenant)).find(
      (e) => e.type === 'credits.recharge.requested',
    )!;
    await worker.handle(toCloudEvent(requested, '/rater/credits'));
    // Redelivered: asked again with the same key, Stripe replays its answer (one PaymentIntent),
    // and the ledger records nothing more.
    await worker.handle(toCloudEvent(requested, '/rater/credits'));
    return (await f.ledger.outbox.readOutbox(tenant)).filter((e) => e.type.startsWith('credits.recharge.'));
  };

  it('adds the recharge on an approved card, one PaymentIntent for the request id', async () => {
    const events = await recharge('ok', 'cus_ok/pm_card_visa');
    expect(events.map((e) => [e.type, e.data.gatewayRef ?? ''])).toEqual([
      ['credits.recharge.requested', ''],
      ['credits.recharge.succeeded', expect.stringMatching(/^pi_proxy_\d+$/)],
    ]);
    expect((await f.ledger.reads.readAccount('ok'))!.balance).toBe(2400n);
    expect(stripe.paymentIntents().filter((pi) => pi.idempotencyKey === 'ok:recharge:1')).toEqual([
      expect.objectContaining({
        requests: 2,
        amount: 2000,
        currency: 'usd',
        offSession: true,
        status: 'succeeded',
      }),
    ]);
  });

  it('never records as failed a recharge whose answers were all lost: the card was charged, it stays pending', async () => {
    await f.ledger.writes.upsertAccount(
      'unanswered',
      prepaid({
        paymentMethodRef: 'cus_unanswered/pm_card_visa',
        autoRecharge: {
          enabled: true,
          trigger: 500n,
          amount: 2000n,
          monthlyCap: 10,
          maxConsecutiveFailures: 3,
        },
      }),
    );
    await f.ledger.writes.addFunds('unanswered', { paymentRef: 'p1', amount: 1000n, currency: 'USD' });
    await applyPaid(f, 'unanswered', [paid('u1', 600n)]);
    const requested = (await f.ledger.outbox.readOutbox('unanswered')).find(
      (e) => e.type === 'credits.recharge.requested',
    )!;
    stripe.failNext(100, 'drop');
    try {
      await worker.handle(toCloudEvent(requested, '/rater/credits'));
    } finally {
      stripe.failNext(0, 'drop');
    }
    expect(stripe.paymentIntents().filter((pi) => pi.idempotencyKey === 'unanswered:recharge:1')).toEqual([
      expect.objectContaining({ status: 'succeeded', amount: 2000 }),
    ]);
    const types = (await f.ledger.outbox.readOutbox('unanswered')).map((e) => e.type);
    expect(types.filter((type) => type.startsWith('credits.recharge.'))).toEqual([
      'credits.recharge.requested',
    ]);
    expect((await f.ledger.reads.readAccount('unanswered'))!.autoRecharge).toMatchObject({
      pendingRequestId: 'unanswered:recharge:1',
      consecutiveFailures: 0,
    });
  });

  it.each([
    ['pm_card_chargeDeclinedInsufficientFunds', 'insufficient_funds'],
    ['pm_card_chargeDeclinedExpiredCard', 'expired_card'],
    ['pm_card_authenticationRequired', 'authentication_required'],
  ])('records %s as credits.recharge.failed with reason %s', async (paymentMethod, reason) => {
    const tenant = paymentMethod.replace(/^pm_card_/, '').toLowerCase();
    const events = await recharge(tenant, `cus_${tenant}/${paymentMethod}`);
    expect(events.map((e) => [e.type, e.data.reason ?? ''])).toEqual([
      ['credits.recharge.requested', ''],
      ['credits.recharge.failed', reason],
    ]);
    expect((await f.ledger.reads.readAccount(tenant))!.balance).toBe(400n);
  });
});
