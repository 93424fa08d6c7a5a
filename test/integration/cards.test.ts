import Stripe from 'stripe';
import type { App } from '../../src/app';
import { stripeEnv } from '../../tools/stack/stack';
import { startStripeTestProxy, StripeTestProxy } from '../../tools/stack/stripe-test-proxy';
import { apiCaller, startApiApp } from '../support/api-app';
import { testStack, uniqueName } from '../support/stack';

const OPERATOR = 'operator-token-for-card-tests';
const WEBHOOK_SECRET = 'whsec_test_cards_0123456789abcdef';

/**
 * A tenant's own card on the running service (api role) against Stripe as stripe-mock behind
 * the test proxy: the customer made once, the hosted setup flow, refusals of another
 * customer's card whoever names it, and the signed webhook.
 */
describe("cards: the tenant's own, through the hosted page and the webhook", () => {
  let app: App;
  let stripe: StripeTestProxy;
  const call = apiCaller(() => app.url, OPERATOR);

  beforeAll(async () => {
    stripe = await startStripeTestProxy(testStack().stripe.url);
    app = await startApiApp({
      operatorToken: OPERATOR,
      keyPrefix: `${uniqueName('cards')}:`,
      env: { ...stripeEnv(testStack(), stripe.url), STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET },
    });
  });
  afterAll(async () => {
    await app.stop();
    await stripe.close();
  });

  const customerOf = (tenant: string) => `cus_${tenant.replace(/[^A-Za-z0-9_]/g, '_')}`;
  /** A prepaid USD tenant without a card, and its API key. */
  const tenant = async (name: string, billingMode = 'prepaid') => {
    const id = uniqueName(name);
    expect((await call('PUT', `/v1/tenants/${id}`, { billingMode, currency: 'USD' })).status).toBe(201);
    const key = String((await call('POST', `/v1/tenants/${id}/api-keys`)).body.apiKey);
    return { id, key };
  };
  const account = async (id: string) => (await app.ledger.reads.readAccount(id))!;
  const startSetup = async (id: string, key: string) => {
    const started = await call('POST', `/v1/tenants/${id}/payment-method/setup`, {}, key);
    expect(started.status).toBe(201);
    return String(started.body.sessionId);
  };

  it("records the card of a finished setup, on the tenant's one customer", async () => {
    const { id, key } = await tenant('setup');
    const started = await call('POST', `/v1/tenants/${id}/payment-method/setup`, {}, key);
    expect(started).toEqual({
      status: 201,
      body: {
        tenantId: id,
        sessionId: expect.stringMatching(/^cs_test_proxy_\d+$/),
        url: `${stripe.url}/checkout/pay/${String(started.body.sessionId)}`,
      },
    });
    const sessionId = String(started.body.sessionId);
    const session = stripe.cards.setupSession(sessionId)!;
    expect(session).toMatchObject({
      customer: customerOf(id),
      currency: 'usd',
      metadata: { tenantId: id },
      successUrl: `${app.url}/console/t/${id}/payment-method/setup/return?session_id={CHECKOUT_SESSION_ID}`,
      cancelUrl: `${app.url}/console/t/${id}/auto-recharge?setup=cancelled`,
      setupIntent: { metadata: { tenantId: id } },
    });
    expect(stripe.cards.customers().get(customerOf(id))).toEqual({ tenantId: id });
    expect((await account(id)).paymentCustomer).toBe(customerOf(id));

    expect(stripe.cards.finishSetup(sessionId, 'save')).toBe(
      `${app.url}/console/t/${id}/payment-method/setup/return?session_id=${sessionId}`,
    );
    const done = await call(
      'POST',
      `/v1/tenants/${id}/payment-method/setup/${sessionId}/complete`,
      undefined,
      key,
    );
    const card = stripe.cards.setupSession(sessionId)!.setupIntent.paymentMethod!;
    expect(done).toEqual({
      status: 200,
      body: {
        tenantId: id,
        status: 'recorded',
        paymentMethodRef: `${customerOf(id)}/${card}`,
        card: 'visa •••• 4242',
      },
    });
    const after = await account(id);
    expect([after.settings.paymentMethodRef, after.paymentMethodLabel]).toEqual([
      `${customerOf(id)}/${card}`,
      'visa •••• 4242',
    ]);
    // Completed again (the webhook came first, or a reload): nothing more changes.
    const again = await call(
      'POST',
      `/v1/tenants/${id}/payment-method/setup/${sessionId}/complete`,
      undefined,
      key,
    );
    expect(again.body.status).toBe('unchanged');
    expect((await account(id)).settingsVersion).toBe(after.settingsVersion);
    // A second setup uses the same customer: one customer per tenant.
    const second = await startSetup(id, key);
    expect(stripe.cards.setupSession(second)!.customer).toBe(customerOf(id));
  });

  it("refuses another customer's payment method, for the tenant's key and for the operator", async () => {
    const { id, key } = await tenant('foreign');
    stripe.cards.attach('pm_card_mastercard', 'cus_someone_else');
    const refusal = {
      status: 422,
      body: {
        error: 'not_tenant_payment_method',
        message: "body/paymentMethodRef: the payment method is not attached to the tenant's customer",
      },
    };
    for (const token of [key, OPERATOR])
      for (const ref of [
        'pm_card_mastercard',
        `${customerOf(id)}/pm_card_mastercard`,
        'cus_someone_else/pm_card_mastercard',
      ])
        expect([
          ref,
          await call('PUT', `/v1/tenants/${id}/payment-method`, { paymentMethodRef: ref }, token),
        ]).toEqual([ref, refusal]);
    // Stripe's test card exists, but is attached to nobody: not the tenant's either.
    expect(
      (await call('PUT', `/v1/tenants/${id}/payment-method`, { paymentMethodRef: 'pm_card_visa' })).body
        .error,
    ).toBe('not_tenant_payment_method');
    expect(
      await call('PUT', `/v1/tenants/${id}/payment-method`, { paymentMethodRef: 'pm_nosuchcard' }),
    ).toEqual({
      status: 422,
      body: {
        error: 'unknown_payment_method',
        message: 'body/paymentMethodRef: the payment gateway has no such payment method',
      },
    });
    // The operator's create-or-update checks it the same way, and changes nothing when refused.
    const upsert = await call('PUT', `/v1/tenants/${id}`, {
      billingMode: 'prepaid',
      currency: 'USD',
      lowBalanceThreshold: '9.00',
      paymentMethodRef: 'cus_someone_else/pm_card_mastercard',
    });
    expect(upsert).toEqual(refusal);
    const created = uniqueName('foreign-new');
    expect(
      await call('PUT', `/v1/tenants/${created}`, {
        billingMode: 'prepaid',
        currency: 'USD',
        paymentMethodRef: 'pm_card_mastercard',
      }),
    ).toEqual(refusal);
    expect(await app.ledger.reads.readAccount(created)).toBeUndefined();
    const after = await account(id);
    expect([after.settings.paymentMethodRef, after.settings.lowBalanceThreshold]).toEqual(['', 0n]);

    // The tenant's own card is taken from either.
    stripe.cards.attach('pm_card_amex', customerOf(id));
    expect(
      await call('PUT', `/v1/tenants/${id}/payment-method`, { paymentMethodRef: 'pm_card_amex' }),
    ).toEqual({
      status: 200,
      body: {
        tenantId: id,
        status: 'updated',
        paymentMethodRef: `${customerOf(id)}/pm_card_amex`,
        card: 'amex •••• 8431',
      },
    });
  });

  it('changes nothing for an abandoned, declined, expired or cancelled setup, or one of another tenant', async () => {
    const { id, key } = await tenant('abandoned');
    const other = await tenant('abandoned-other');
    const complete = (sessionId: string, who = id, token = key) =>
      call('POST', `/v1/tenants/${who}/payment-method/setup/${sessionId}/complete`, undefined, token);
    const notSucceeded = (message: string) => ({
      status: 409,
      body: { error: 'setup_not_succeeded', message: `params/sessionId: ${message}` },
    });

    const abandoned = await startSetup(id, key);
    expect(await complete(abandoned)).toEqual(
      notSucceeded('the card setup is not finished: nothing was recorded'),
    );
    stripe.cards.finishSetup(abandoned, 'decline');
    expect(await complete(abandoned)).toEqual(
      notSucceeded('the card setup is not finished: nothing was recorded'),
    );
    stripe.cards.expire(abandoned);
    expect(await complete(abandoned)).toEqual(
      notSucceeded('the card setup was declined, abandoned or expired: nothing was recorded'),
    );
    const cancelled = await startSetup(id, key);
    expect(stripe.cards.finishSetup(cancelled, 'cancel')).toBe(
      `${app.url}/console/t/${id}/auto-recharge?setup=cancelled`,
    );
    expect((await complete(cancelled)).status).toBe(409);

    // Another tenant's finished setup, completed by this tenant (its own key): refused.
    const theirs = await startSetup(other.id, other.key);
    stripe.cards.finishSetup(theirs, 'save');
    expect(await complete(theirs)).toEqual({
      status: 409,
      body: {
        error: 'setup_not_owned',
        message: "params/sessionId: the card setup was not made for this tenant's customer",
      },
    });
    expect(await complete('cs_test_nosuchsession')).toMatchObject({
      status: 404,
      body: { error: 'no_setup' },
    });
    expect((await account(id)).settings.paymentMethodRef).toBe('');
    expect((await account(other.id)).settings.paymentMethodRef).toBe('');

    const postpaid = await tenant('postpaid', 'postpaid');
    expect(await call('POST', `/v1/tenants/${postpaid.id}/payment-method/setup`, {}, postpaid.key)).toEqual({
      status: 409,
      body: {
        error: 'postpaid',
        message: 'params/tenantId: postpaid tenants pay after use: they have no payment method',
      },
    });
    expect((await account(postpaid.id)).paymentCustomer).toBe('');
  });

  describe('POST /webhooks/stripe', () => {
    const post = async (payload: string, signature?: string) => {
      const response = await fetch(`${app.url}/webhooks/stripe`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(signature ? { 'stripe-signature': signature } : {}),
        },
        body: payload,
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    const sign = (payload: string, secret = WEBHOOK_SECRET, timestamp = Math.floor(Date.now() / 1000)) =>
      Stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp });
    const event = (type: string, object: Record<string, unknown>) =>
      JSON.stringify({
        id: `evt_${uniqueName('test').replace(/-/g, '')}`,
        object: 'event',
        api_version: '2025-01-27',
        created: Math.floor(Date.now() / 1000),
        type,
        data: { object },
      });
    /** A finished setup's SetupIntent, as Stripe sends it in setup_intent.succeeded. */
    const succeededIntent = async (id: string, key: string) => {
      const sessionId = await startSetup(id, key);
      stripe.cards.finishSetup(sessionId, 'save');
      const session = stripe.cards.setupSession(sessionId)!;
      return {
        sessionId,
        intent: {
          id: session.setupIntent.id,
          object: 'setup_intent',
          status: 'succeeded',
          customer: session.customer,
          payment_method: session.setupIntent.paymentMethod,
          metadata: session.setupIntent.metadata,
        },
      };
    };

    it('records the card of setup_intent.succeeded once; a replayed event changes nothing', async () => {
      const { id, key } = await tenant('webhook');
      const { intent } = await succeededIntent(id, key);
      const payload = event('setup_intent.succeeded', intent);
      expect(await post(payload, sign(payload))).toEqual({
        status: 200,
        body: { received: true, handled: true },
      });
      const recorded = await account(id);
      expect(recorded.settings.paymentMethodRef).toBe(`${customerOf(id)}/${intent.payment_method}`);

      // Another card meanwhile; then the first event again, signed anew as Stripe's retries are.
      stripe.cards.attach('pm_card_amex', customerOf(id));
      expect(
        (await call('PUT', `/v1/tenants/${id}/payment-method`, { paymentMethodRef: 'pm_card_amex' }, key))
          .status,
      ).toBe(200);
      const replayed = await post(payload, sign(payload));
      expect(replayed).toEqual({ status: 200, body: { received: true, duplicate: true } });
      expect((await account(id)).settings.paymentMethodRef).toBe(`${customerOf(id)}/pm_card_amex`);
    });

    it('records the card of checkout.session.completed (setup mode)', async () => {
      const { id, key } = await tenant('webhook-session');
      const { sessionId } = await succeededIntent(id, key);
      const payload = event('checkout.session.completed', {
        id: sessionId,
        object: 'checkout.session',
        mode: 'setup',
        status: 'complete',
        customer: customerOf(id),
        metadata: { tenantId: id },
      });
      expect((await post(payload, sign(payload))).status).toBe(200);
      const card = stripe.cards.setupSession(sessionId)!.setupIntent.paymentMethod;
      expect((await account(id)).settings.paymentMethodRef).toBe(`${customerOf(id)}/${card}`);
    });

    it('refuses unsigned, forged and stale events with a 400, and changes nothing', async () => {
      const { id, key } = await tenant('webhook-forged');
      const { intent } = await succeededIntent(id, key);
      const payload = event('setup_intent.succeeded', intent);
      const refused = (reason: RegExp) => ({
        status: 400,
        body: { error: 'invalid_signature', message: expect.stringMatching(reason) },
      });
      expect(await post(payload)).toEqual(
        refused(/^headers\/stripe-signature: the Stripe-Signature header is missing$/),
      );
      expect(await post(payload, sign(payload, 'whsec_someone_else'))).toEqual(
        refused(/signature does not verify/),
      );
      expect(await post(payload, sign(payload, WEBHOOK_SECRET, Math.floor(Date.now() / 1000) - 600))).toEqual(
        refused(/signature does not verify: Timestamp outside the tolerance zone/),
      );
      // A valid signature of other bytes: the body was changed on the way.
      const other = event('setup_intent.succeeded', { ...intent, customer: 'cus_someone_else' });
      expect(await post(payload, sign(other))).toEqual(refused(/signature does not verify/));
      expect((await account(id)).settings.paymentMethodRef).toBe('');
      // None of them was taken for handled: the genuine event still is.
      expect(await post(payload, sign(payload))).toEqual({
        status: 200,
        body: { received: true, handled: true },
      });
      expect((await account(id)).settings.paymentMethodRef).toBe(
        `${customerOf(id)}/${intent.payment_method}`,
      );
    });

    it('settles a purchase whose answers were lost from payment_intent.succeeded once; a replay and a late payment_failed change nothing', async () => {
      const { id, key } = await tenant('pi-webhook');
      stripe.cards.attach('pm_card_visa', customerOf(id));
      expect(
        (await call('PUT', `/v1/tenants/${id}/payment-method`, { paymentMethodRef: 'pm_card_visa' }, key))
          .status,
      ).toBe(200);
      // Stripe charges the card; every answer is lost on the way back: the purchase stays pending.
      stripe.failNext(100, 'drop');
      const bought = await call(
        'POST',
        `/v1/tenants/${id}/purchases`,
        { purchaseId: 'order-1', amount: '12.50', currency: 'USD' },
        key,
      );
      stripe.failNext(0, 'drop');
      expect(bought.status).toBe(503);
      const intent = stripe.intents
        .all()
        .find((pi) => (pi.metadata as Record<string, string>).tenantId === id)!;
      expect(intent).toMatchObject({ status: 'succeeded', amount: 1250 });
      const balance = async () => (await call('GET', `/v1/tenants/${id}/balance`, undefined, key)).body;
      expect((await balance()).balance).toEqual({ amount: '0.00', currency: 'USD' });

      const succeeded = event('payment_intent.succeeded', intent);
      expect(await post(succeeded, sign(succeeded))).toEqual({
        status: 200,
        body: { received: true, handled: true },
      });
      const after = await balance();
      expect(after.balance).toEqual({ amount: '12.50', currency: 'USD' });
      expect(after.lots).toEqual([
        expect.objectContaining({ lotId: 'p:order-1', remaining: { amount: '12.50', currency: 'USD' } }),
      ]);

      // Stripe sends events again, under new ids too: nothing more is credited.
      const again = event('payment_intent.succeeded', intent);
      expect((await post(again, sign(again))).status).toBe(200);
      const failed = event('payment_intent.payment_failed', { ...intent, status: 'requires_payment_method' });
      expect((await post(failed, sign(failed))).status).toBe(200);
      expect((await balance()).balance).toEqual({ amount: '12.50', currency: 'USD' });
      // The client's retry gets the settled purchase, not a second charge.
      const retried = await call(
        'POST',
        `/v1/tenants/${id}/purchases`,
        { purchaseId: 'order-1', amount: '12.50', currency: 'USD' },
        key,
      );
      expect(retried.status).toBe(200);
      expect(retried.body).toMatchObject({ duplicate: true, lotId: 'p:order-1' });
    });

    it("ignores another customer's setup and event types it has no handler for", async () => {
      const { id } = await tenant('webhook-other');
      stripe.cards.attach('pm_card_mastercard', 'cus_someone_else');
      const foreign = event('setup_intent.succeeded', {
        id: 'seti_foreign',
        object: 'setup_intent',
        status: 'succeeded',
        customer: 'cus_someone_else',
        payment_method: 'pm_card_mastercard',
        metadata: { tenantId: id },
      });
      expect(await post(foreign, sign(foreign))).toEqual({
        status: 200,
        body: { received: true, handled: true },
      });
      expect((await account(id)).settings.paymentMethodRef).toBe('');
      const unknown = event('customer.updated', { id: customerOf(id), object: 'customer' });
      expect(await post(unknown, sign(unknown))).toEqual({
        status: 200,
        body: { received: true, handled: false },
      });
    });
  });
});
