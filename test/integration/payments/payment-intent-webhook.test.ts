import { paymentLedgerOf } from '../../../src/ledger/open-ledger';
import { PaymentIntentObject, paymentIntentHandlers } from '../../../src/settlement/settle-payment';
import { applyPaid, ledgerFixture, LedgerFixture, paid, prepaid } from '../../support/ledger';

/**
 * The settlement of Stripe's payment_intent.succeeded and payment_intent.payment_failed events
 * (their PaymentIntent object), against real Redis: exactly once whatever the order or
 * repetition, and together with the normal path's records.
 */
describe('PaymentIntent webhook settlement', () => {
  let f: LedgerFixture;
  let handlers: ReturnType<typeof paymentIntentHandlers>;

  beforeAll(() => {
    f = ledgerFixture();
    handlers = paymentIntentHandlers(paymentLedgerOf(f.ledger));
  });
  afterAll(() => f.close());

  const intent = (
    tenantId: string,
    chargeId: string,
    fields: Partial<PaymentIntentObject> = {},
  ): PaymentIntentObject => ({
    id: `pi_${chargeId.replaceAll(':', '_')}`,
    status: 'succeeded',
    metadata: { tenantId, chargeId },
    amount: 2500,
    currency: 'usd',
    last_payment_error: null,
    ...fields,
  });
  const declined = (tenantId: string, chargeId: string) =>
    intent(tenantId, chargeId, {
      status: 'requires_payment_method',
      last_payment_error: {
        code: 'card_declined',
        decline_code: 'insufficient_funds',
        message: 'Your card has insufficient funds.',
      },
    });
  const lotsOf = async (tenant: string) =>
    (await f.ledger.reads.readAccount(tenant))!.lots.map((lot) => [lot.lotId, lot.amount]);
  const types = async (tenant: string) =>
    (await f.ledger.outbox.readOutbox(tenant))
      .map((e) => e.type)
      .filter((t) => !t.startsWith('credits.balance'));
  const begin = async (tenant: string, purchaseId: string, amount = 2500n) => {
    await f.ledger.writes.upsertAccount(tenant, prepaid({ paymentMethodRef: `cus_${tenant}/pm_card_visa` }));
    expect(
      await f.ledger.writes.beginPurchase(tenant, { purchaseId, amount, currency: 'USD' }),
    ).toMatchObject({
      settled: false,
    });
  };

  it('credits a pending purchase once, however often the event comes, and a late payment_failed changes nothing', async () => {
    await begin('hook-ok', 'o1');
    const pi = intent('hook-ok', 'hook-ok:purchase:o1');
    const on = handlers['payment_intent.succeeded'];
    expect(await on(pi)).toMatchObject({ outcome: 'succeeded', kind: 'purchase', id: 'o1' });
    expect(await on(pi)).toMatchObject({ outcome: 'already_settled' });
    expect(
      await handlers['payment_intent.payment_failed'](declined('hook-ok', 'hook-ok:purchase:o1')),
    ).toMatchObject({
      outcome: 'already_settled',
    });
    expect(await lotsOf('hook-ok')).toEqual([['p:o1', 2500n]]);
    expect(await types('hook-ok')).toEqual(['credits.funds.added']);
    expect(await f.ledger.indexes.pendingPayments(f.clock.now, 10)).toEqual([]);
  });

  it('records a payment_failed as the failure, and a success after it still credits the lot, once', async () => {
    await begin('hook-late', 'o2');
    expect(
      await handlers['payment_intent.payment_failed'](declined('hook-late', 'hook-late:purchase:o2')),
    ).toMatchObject({
      outcome: 'failed',
    });
    expect(await lotsOf('hook-late')).toEqual([]);
    const pi = intent('hook-late', 'hook-late:purchase:o2');
    expect(await handlers['payment_intent.succeeded'](pi)).toMatchObject({ outcome: 'succeeded' });
    expect(await handlers['payment_intent.succeeded'](pi)).toMatchObject({ outcome: 'already_settled' });
    expect(
      await handlers['payment_intent.payment_failed'](declined('hook-late', 'hook-late:purchase:o2')),
    ).toMatchObject({
      outcome: 'already_settled',
    });
    expect(await lotsOf('hook-late')).toEqual([['p:o2', 2500n]]);
    const stored = await f.ledger.writes.beginPurchase('hook-late', {
      purchaseId: 'o2',
      amount: 2500n,
      currency: 'USD',
    });
    expect(stored).toMatchObject({ settled: true, purchase: { status: 'succeeded', lotId: 'p:o2' } });
    expect(await types('hook-late')).toEqual(['credits.purchase.failed', 'credits.funds.added']);
  });

  it('settles an auto-recharge by its request id, once, and a success after a recorded failure adds its lot once', async () => {
    await f.ledger.writes.upsertAccount(
      'hook-ar',
      prepaid({
        paymentMethodRef: 'cus_hook-ar/pm_card_visa',
        autoRecharge: {
          enabled: true,
          trigger: 500n,
          amount: 2000n,
          monthlyCap: 10,
          maxConsecutiveFailures: 3,
        },
      }),
    );
    await f.ledger.writes.addFunds('hook-ar', { paymentRef: 'p1', amount: 1000n, currency: 'USD' });
    await applyPaid(f, 'hook-ar', [paid('u1', 600n)]);
    const first = intent('hook-ar', 'hook-ar:recharge:1', { amount: 2000 });
    expect(await handlers['payment_intent.succeeded'](first)).toMatchObject({
      outcome: 'succeeded',
      kind: 'recharge',
    });
    expect(await handlers['payment_intent.succeeded'](first)).toMatchObject({ outcome: 'already_settled' });
    expect((await f.ledger.reads.readAccount('hook-ar'))!.balance).toBe(2400n);

    // The next request fails by the webhook, then Stripe says it succeeded after all.
    await applyPaid(f, 'hook-ar', [paid('u2', 2000n)]);
    expect(
      await handlers['payment_intent.payment_failed'](declined('hook-ar', 'hook-ar:recharge:2')),
    ).toMatchObject({
      outcome: 'failed',
    });
    const second = intent('hook-ar', 'hook-ar:recharge:2', { amount: 2000 });
    expect(await handlers['payment_intent.succeeded'](second)).toMatchObject({ outcome: 'succeeded' });
    expect(await handlers['payment_intent.succeeded'](second)).toMatchObject({ outcome: 'already_settled' });
    expect(await lotsOf('hook-ar')).toEqual([
      ['m:p1', 1000n],
      ['r:hook-ar:recharge:1', 2000n],
      ['r:hook-ar:recharge:2', 2000n],
    ]);
    expect((await f.ledger.reads.readAccount('hook-ar'))!.balance).toBe(2400n);
    expect((await types('hook-ar')).filter((t) => t.startsWith('credits.recharge.'))).toEqual([
      'credits.recharge.requested',
      'credits.recharge.succeeded',
      'credits.recharge.requested',
      'credits.recharge.failed',
      'credits.recharge.succeeded',
    ]);
  });

  it('leaves a PaymentIntent whose amount differs from the purchase pending, and ignores what is not ours', async () => {
    await begin('hook-odd', 'o3');
    expect(
      await handlers['payment_intent.succeeded'](intent('hook-odd', 'hook-odd:purchase:o3', { amount: 99 })),
    ).toMatchObject({
      outcome: 'mismatch',
    });
    expect(await lotsOf('hook-odd')).toEqual([]);
    expect(
      await handlers['payment_intent.succeeded'](intent('hook-odd', 'someone-else:purchase:o3')),
    ).toMatchObject({
      outcome: 'ignored',
    });
    expect(
      await handlers['payment_intent.succeeded']({ ...intent('hook-odd', 'x'), metadata: null }),
    ).toMatchObject({
      outcome: 'ignored',
    });
    expect(
      await handlers['payment_intent.succeeded'](intent('hook-odd', 'hook-odd:purchase:never-begun')),
    ).toMatchObject({
      outcome: 'ignored',
    });
    expect(
      await handlers['payment_intent.succeeded'](
        intent('hook-odd', 'hook-odd:purchase:o3', { status: 'processing' }),
      ),
    ).toMatchObject({
      outcome: 'ignored',
    });
    expect(await f.ledger.indexes.pendingPayments(f.clock.now, 10)).toEqual([
      { kind: 'purchase', tenantId: 'hook-odd', id: 'o3', since: f.clock.now },
    ]);
  });
});
