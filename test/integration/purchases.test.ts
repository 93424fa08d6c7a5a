import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { toCloudEvent } from '../../src/kafka/cloudevents';
import type { App } from '../../src/app';
import { StripeGateway } from '../../src/payments/stripe-gateway';
import { stackEnv, STRIPE_MOCK_API_KEY, stripeEnv } from '../../tools/stack/stack';
import { startStripeTestProxy, StripeTestProxy } from '../../tools/stack/stripe-test-proxy';
import { startApiApp } from '../support/api-app';
import { testStack, uniqueName } from '../support/stack';

const OPERATOR = 'operator-token-for-purchase-tests';

/**
 * Purchases and adjustments on the running service (api role), charged by the Stripe gateway
 * through the test proxy in front of the stack's stripe-mock.
 */
describe('purchases through Stripe (stripe-mock) and operator adjustments', () => {
  let app: App;
  let stripe: StripeTestProxy;
  let tenantKey: string;

  beforeAll(async () => {
    stripe = await startStripeTestProxy(testStack().stripe.url);
    app = await startApiApp({
      operatorToken: OPERATOR,
      keyPrefix: `${uniqueName('purchases')}:`,
      env: stripeEnv(testStack(), stripe.url),
    });
  });
  afterAll(async () => {
    await app.stop();
    await stripe.close();
  });

  const call = async (method: string, path: string, body?: unknown, token = OPERATOR) => {
    const response = await fetch(`${app.url}${path}`, {
      method,
      headers: { ...(body ? { 'content-type': 'application/json' } : {}), authorization: `Bearer ${token}` },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  /**
   * A tenant, and its card when `paymentMethod` names one (prepaid only): the test payment
   * method attached to the tenant's own customer, then recorded as the payment method.
   */
  const tenant = async (id: string, paymentMethod: string, billingMode = 'prepaid') => {
    expect((await call('PUT', `/v1/tenants/${id}`, { billingMode, currency: 'USD' })).status).toBe(201);
    if (paymentMethod && billingMode === 'prepaid') {
      stripe.cards.attach(paymentMethod, `cus_${id.replace(/[^A-Za-z0-9_]/g, '_')}`);
      const recorded = await call('PUT', `/v1/tenants/${id}/payment-method`, {
        paymentMethodRef: paymentMethod,
      });
      expect(recorded.status).toBe(200);
    }
    const key = await call('POST', `/v1/tenants/${id}/api-keys`);
    return String(key.body.apiKey);
  };
  const lots = async (id: string) =>
    ((await call('GET', `/v1/tenants/${id}/balance`)).body.lots as unknown[]) ?? [];
  const events = async (id: string) =>
    (await app.ledger.outbox.readOutbox(id)).map((event) => [event.type, event.id, event.data]);
  /** The data of every event of `type` as relayed (CloudEvents), checked against schemas/events. */
  const expectSchemaValid = async (tenantId: string, type: string) => {
    const ajv = new Ajv2020({ allErrors: true });
    addFormats(ajv);
    const schema = JSON.parse(
      readFileSync(join(__dirname, '..', '..', 'schemas', 'events', `${type}.schema.json`), 'utf8'),
    ) as object;
    const validate = ajv.compile(schema);
    const relayed = (await app.ledger.outbox.readOutbox(tenantId))
      .filter((event) => event.type === type)
      .map((event) => toCloudEvent(event, '/rater/credits').data);
    expect(relayed.length).toBeGreaterThan(0);
    for (const data of relayed) expect([validate(data), validate.errors ?? []]).toEqual([true, []]);
  };
  const intentsOf = (id: string) =>
    stripe.paymentIntents().filter((pi) => pi.idempotencyKey.startsWith(`${id}:`));

  beforeAll(async () => {
    tenantKey = await tenant('contoso', 'pm_card_visa');
  });

  it('charges the card once and credits one lot; the same purchase id again is the stored result', async () => {
    const purchase = { purchaseId: 'order-1', amount: '25.00', currency: 'USD' };
    const first = await call('POST', '/v1/tenants/contoso/purchases', purchase, tenantKey);
    expect(first).toEqual({
      status: 201,
      body: {
        purchaseId: 'order-1',
        status: 'succeeded',
        duplicate: false,
        lotId: 'p:order-1',
        amount: { amount: '25.00', currency: 'USD' },
        gatewayRef: expect.stringMatching(/^pi_proxy_\d+$/),
        balance: { amount: '25.00', currency: 'USD' },
      },
    });
    expect(intentsOf('contoso')).toEqual([
      {
        idempotencyKey: 'contoso:purchase:order-1',
        requests: 1,
        id: first.body.gatewayRef,
        status: 'succeeded',
        amount: 2500,
        currency: 'usd',
        customer: 'cus_contoso',
        paymentMethod: 'pm_card_visa',
        offSession: true,
      },
    ]);
    const again = await call('POST', '/v1/tenants/contoso/purchases', purchase, tenantKey);
    expect(again).toEqual({ status: 200, body: { ...first.body, duplicate: true } });
    // Settled before: not even sent to the gateway again.
    expect(intentsOf('contoso')[0]!.requests).toBe(1);
    expect(await lots('contoso')).toEqual([
      expect.objectContaining({
        lotId: 'p:order-1',
        source: 'purchase',
        amount: { amount: '25.00', currency: 'USD' },
      }),
    ]);
    expect((await events('contoso')).filter(([type]) => type === 'credits.funds.added')).toEqual([
      [
        'credits.funds.added',
        'contoso/credits.funds.added/p:order-1',
        expect.objectContaining({
          source: 'purchase',
          paymentRef: 'order-1',
          gatewayRef: first.body.gatewayRef,
          amount: { amountMinor: '2500', currency: 'USD' },
          balance: { amountMinor: '2500', currency: 'USD' },
        }),
      ],
    ]);
  });

  it('answers 409 payment_ref_conflict for a purchase id reused with another amount or currency', async () => {
    const purchase = { purchaseId: 'order-9', amount: '9.00', currency: 'USD' };
    expect((await call('POST', '/v1/tenants/contoso/purchases', purchase, tenantKey)).status).toBe(201);
    const before = stripe.creationRequests();
    expect(
      await call('POST', '/v1/tenants/contoso/purchases', { ...purchase, amount: '500.00' }, tenantKey),
    ).toEqual({
      status: 409,
      body: {
        error: 'payment_ref_conflict',
        message: 'body/purchaseId order-9 was used before with 9.00 USD: a new payment needs a new id',
      },
    });
    expect(
      (await call('POST', '/v1/tenants/contoso/purchases', { ...purchase, currency: 'EUR' }, tenantKey)).body
        .error,
    ).toBe('payment_ref_conflict');
    expect(stripe.creationRequests()).toBe(before);
  });

  it('creates nothing for a declined card and answers 402 with the decline code', async () => {
    const key = await tenant('declined', 'pm_card_chargeDeclinedInsufficientFunds');
    const purchase = { purchaseId: 'order-1', amount: '50.00', currency: 'USD' };
    const declined = {
      status: 402,
      body: {
        error: 'payment_failed',
        message: 'Your card has insufficient funds.',
        purchaseId: 'order-1',
        declineCode: 'insufficient_funds',
      },
    };
    expect(await call('POST', '/v1/tenants/declined/purchases', purchase, key)).toEqual(declined);
    // Retried: the stored answer, like Stripe's for the same key; never a second attempt.
    expect(await call('POST', '/v1/tenants/declined/purchases', purchase, key)).toEqual(declined);
    expect(intentsOf('declined')).toEqual([expect.objectContaining({ requests: 1, status: 'declined' })]);
    expect(await lots('declined')).toEqual([]);
    expect((await call('GET', '/v1/tenants/declined/balance')).body.balance).toEqual({
      amount: '0.00',
      currency: 'USD',
    });
    expect(await events('declined')).toEqual([
      [
        'credits.purchase.failed',
        'declined/credits.purchase.failed/purchase:order-1',
        {
          purchaseId: 'order-1',
          amount: { amountMinor: '5000', currency: 'USD' },
          reason: 'insufficient_funds',
          message: 'Your card has insufficient funds.',
          balance: { amountMinor: '0', currency: 'USD' },
        },
      ],
    ]);
    await expectSchemaValid('declined', 'credits.purchase.failed');
  });

  it.each([
    ['pm_card_chargeDeclinedExpiredCard', 'expired_card', 'Your card has expired.'],
    [
      'pm_card_authenticationRequired',
      'authentication_required',
      'Your card was declined. This transaction requires authentication.',
    ],
  ])('maps %s to the decline code %s', async (paymentMethod, declineCode, message) => {
    const id = uniqueName('card');
    const key = await tenant(id, paymentMethod);
    expect(
      await call(
        'POST',
        `/v1/tenants/${id}/purchases`,
        { purchaseId: 'p1', amount: '10.00', currency: 'USD' },
        key,
      ),
    ).toEqual({ status: 402, body: { error: 'payment_failed', message, purchaseId: 'p1', declineCode } });
    expect(await lots(id)).toEqual([]);
  });

  it('charges once when the answers are lost after the payment: every retry carries the same key', async () => {
    // Three lost answers: the Stripe SDK's own two retries, then ours.
    stripe.failNext(3, 'drop');
    const before = stripe.creationRequests();
    const bought = await call(
      'POST',
      '/v1/tenants/contoso/purchases',
      { purchaseId: 'order-timeout', amount: '12.34', currency: 'USD' },
      tenantKey,
    );
    expect(bought).toMatchObject({ status: 201, body: { lotId: 'p:order-timeout', duplicate: false } });
    expect(stripe.creationRequests() - before).toBe(4);
    expect(
      intentsOf('contoso').filter((pi) => pi.idempotencyKey === 'contoso:purchase:order-timeout'),
    ).toEqual([
      expect.objectContaining({ requests: 4, status: 'succeeded', amount: 1234, id: bought.body.gatewayRef }),
    ]);
    expect(
      (await lots('contoso')).filter((lot) => (lot as { lotId: string }).lotId === 'p:order-timeout'),
    ).toHaveLength(1);
  });

  it('leaves a purchase pending while the gateway fails (5xx), and the retried request charges once', async () => {
    stripe.failNext(1000, 'error500');
    const purchase = { purchaseId: 'order-5xx', amount: '7.00', currency: 'USD' };
    const unavailable = await call('POST', '/v1/tenants/contoso/purchases', purchase, tenantKey);
    expect(unavailable).toMatchObject({ status: 503, body: { error: 'payment_gateway_unavailable' } });
    stripe.failNext(0, 'error500');
    expect(intentsOf('contoso').filter((pi) => pi.idempotencyKey === 'contoso:purchase:order-5xx')).toEqual(
      [],
    );
    const bought = await call('POST', '/v1/tenants/contoso/purchases', purchase, tenantKey);
    expect(bought).toMatchObject({ status: 201, body: { lotId: 'p:order-5xx' } });
    expect(intentsOf('contoso').filter((pi) => pi.idempotencyKey === 'contoso:purchase:order-5xx')).toEqual([
      expect.objectContaining({ requests: 1, status: 'succeeded', amount: 700 }),
    ]);
  });

  it('credits one lot when two requests with the same purchase id race', async () => {
    const id = uniqueName('race');
    const key = await tenant(id, 'pm_card_visa');
    const purchase = { purchaseId: 'same', amount: '3.00', currency: 'USD' };
    const answers = await Promise.all(
      [1, 2, 3].map(() => call('POST', `/v1/tenants/${id}/purchases`, purchase, key)),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 201]);
    expect(new Set(answers.map((a) => a.body.gatewayRef)).size).toBe(1);
    expect(intentsOf(id)).toEqual([expect.objectContaining({ status: 'succeeded', amount: 300 })]);
    expect(await lots(id)).toHaveLength(1);
    expect((await call('GET', `/v1/tenants/${id}/balance`)).body.balance).toEqual({
      amount: '3.00',
      currency: 'USD',
    });
  });

  it('refuses purchases of postpaid tenants and of tenants without a payment method', async () => {
    const postId = uniqueName('post');
    const postpaid = await tenant(postId, '', 'postpaid');
    const refusal = await call(
      'POST',
      `/v1/tenants/${postId}/purchases`,
      { purchaseId: 'p1', amount: '1.00', currency: 'USD' },
      postpaid,
    );
    expect(refusal).toEqual({ status: 409, body: { error: 'mode_mismatch', message: 'postpaid' } });
    const bare = uniqueName('bare');
    const bareKey = await tenant(bare, '');
    expect(
      (
        await call(
          'POST',
          `/v1/tenants/${bare}/purchases`,
          { purchaseId: 'p1', amount: '1.00', currency: 'USD' },
          bareKey,
        )
      ).body.error,
    ).toBe('no_payment_method');
  });

  it('gives a tenant key no way to create a lot without a payment', async () => {
    const adjustment = {
      adjustmentId: 'a1',
      amount: '999999999.99',
      currency: 'USD',
      reason: 'x',
      madeBy: 'me',
    };
    expect((await call('POST', '/v1/tenants/contoso/adjustments', adjustment, tenantKey)).status).toBe(403);
    expect(
      (
        await call(
          'POST',
          '/v1/tenants/contoso/funds',
          { paymentRef: 'x', amount: '1', currency: 'USD' },
          tenantKey,
        )
      ).status,
    ).toBe(404);
    expect((await lots('contoso')).every((lot) => (lot as { source: string }).source === 'purchase')).toBe(
      true,
    );
  });

  it("records an operator's adjustment with its reason and author; only a migration is back-dated", async () => {
    const id = uniqueName('adj');
    await tenant(id, '');
    const goodwill = {
      adjustmentId: 'goodwill-1',
      amount: '5.00',
      currency: 'USD',
      reason: 'outage credit',
      madeBy: 'ops@rater',
    };
    expect(await call('POST', `/v1/tenants/${id}/adjustments`, goodwill)).toEqual({
      status: 201,
      body: {
        adjustmentId: 'goodwill-1',
        lotId: 'm:goodwill-1',
        duplicate: false,
        balance: { amount: '5.00', currency: 'USD' },
      },
    });
    expect((await call('POST', `/v1/tenants/${id}/adjustments`, goodwill)).body.duplicate).toBe(true);
    expect(await call('POST', `/v1/tenants/${id}/adjustments`, { ...goodwill, amount: '6.00' })).toEqual({
      status: 409,
      body: {
        error: 'payment_ref_conflict',
        message: 'body/adjustmentId goodwill-1 was used before with 5.00 USD: a new payment needs a new id',
      },
    });
    const backdated = { ...goodwill, adjustmentId: 'old', purchasedAt: '2026-01-15T00:00:00Z' };
    expect(await call('POST', `/v1/tenants/${id}/adjustments`, backdated)).toEqual({
      status: 400,
      body: { error: 'bad_request', message: 'body/purchasedAt is for migrations only (kind: migration)' },
    });
    expect(
      (
        await call('POST', `/v1/tenants/${id}/adjustments`, {
          ...backdated,
          kind: 'migration',
          reason: 'from billing v1',
        })
      ).status,
    ).toBe(201);
    expect(
      (await call('POST', `/v1/tenants/${id}/adjustments`, { ...goodwill, adjustmentId: 'r', reason: ' ' }))
        .status,
    ).toBe(400);
    const adjustments = (await events(id)).filter(([type]) => type === 'credits.adjustment.added');
    expect(adjustments).toEqual([
      [
        'credits.adjustment.added',
        `${id}/credits.adjustment.added/m:goodwill-1`,
        expect.objectContaining({
          adjustmentId: 'goodwill-1',
          kind: 'credit',
          reason: 'outage credit',
          madeBy: 'ops@rater',
          backdated: false,
          amount: { amountMinor: '500', currency: 'USD' },
        }),
      ],
      [
        'credits.adjustment.added',
        `${id}/credits.adjustment.added/m:old`,
        expect.objectContaining({
          kind: 'migration',
          reason: 'from billing v1',
          backdated: true,
          purchasedAt: String(Date.parse('2026-01-15T00:00:00Z')),
        }),
      ],
    ]);
    await expectSchemaValid(id, 'credits.adjustment.added');
  });

  it('lets the Stripe gateway refuse a payment method reference without a customer, sending nothing', async () => {
    const gateway = new StripeGateway({ apiKey: STRIPE_MOCK_API_KEY, apiBase: stripe.url });
    const before = stripe.creationRequests();
    expect(
      await gateway.charge({
        idempotencyKey: 'k',
        tenantId: 't',
        paymentMethodRef: 'pm_card_visa',
        amountMinor: 100n,
        currency: 'USD',
      }),
    ).toMatchObject({ status: 'declined', reason: 'payment_method_invalid' });
    expect(stripe.creationRequests()).toBe(before);
  });

  it('refuses to serve the recharge or api role without PAYMENT_GATEWAY, naming it', () => {
    const root = join(__dirname, '..', '..');
    const serve = (roles: string, extra: Record<string, string> = {}) =>
      spawnSync(process.execPath, ['--require', 'tsx/cjs', join(root, 'src', 'cli.ts'), 'serve'], {
        cwd: root,
        encoding: 'utf8',
        timeout: 60_000,
        env: {
          PATH: process.env.PATH,
          ...stackEnv(testStack()),
          RATER_ROLES: roles,
          HTTP_PORT: '0',
          ...extra,
        },
      });
    const recharge = serve('consumer,recharge');
    expect([recharge.status, recharge.stderr.trim()]).toEqual([
      1,
      'invalid configuration:\n  PAYMENT_GATEWAY: is required for the recharge role: stripe (with STRIPE_API_KEY or STRIPE_API_KEY_FILE), simulated (tests and demos only), or none (api without purchases)',
    ]);
    const none = serve('recharge', { PAYMENT_GATEWAY: 'none' });
    expect(none.stderr).toContain('PAYMENT_GATEWAY: none cannot serve the recharge role');
    const noKey = serve('api', { PAYMENT_GATEWAY: 'stripe' });
    expect(noKey.stderr).toContain(
      'PAYMENT_GATEWAY=stripe needs exactly one of STRIPE_API_KEY or STRIPE_API_KEY_FILE',
    );
  });
});
