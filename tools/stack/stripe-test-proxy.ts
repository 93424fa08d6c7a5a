import { createServer, IncomingMessage, request as httpRequest, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RememberedIntents } from './stripe-intents';
import { stripeTestCards, StripeTestCards } from './stripe-test-cards';

/**
 * What a test card does when an off-session PaymentIntent is confirmed with it: Stripe's test
 * payment methods (docs.stripe.com/testing) and the card errors Stripe's API answers for them.
 * Every other payment method (pm_card_visa, pm_card_mastercard, ...) succeeds.
 */
export const STRIPE_TEST_DECLINES: Record<string, { code: string; decline_code?: string; message: string }> =
  {
    pm_card_chargeDeclined: {
      code: 'card_declined',
      decline_code: 'generic_decline',
      message: 'Your card was declined.',
    },
    pm_card_chargeDeclinedInsufficientFunds: {
      code: 'card_declined',
      decline_code: 'insufficient_funds',
      message: 'Your card has insufficient funds.',
    },
    // Stripe gives an expired card its own error code and no decline code.
    pm_card_chargeDeclinedExpiredCard: { code: 'expired_card', message: 'Your card has expired.' },
    pm_card_chargeDeclinedIncorrectCvc: {
      code: 'incorrect_cvc',
      message: "Your card's security code is incorrect.",
    },
    pm_card_chargeDeclinedProcessingError: {
      code: 'processing_error',
      message: 'An error occurred while processing your card. Try again in a little bit.',
    },
    // Off-session nobody can pass 3-D Secure: Stripe declines, the customer must come back.
    pm_card_authenticationRequired: {
      code: 'authentication_required',
      decline_code: 'authentication_required',
      message: 'Your card was declined. This transaction requires authentication.',
    },
  };

/** One idempotency key's PaymentIntent creation, as the proxy saw it. */
export interface RecordedPaymentIntent {
  idempotencyKey: string;
  /** Requests that carried this key (the first and every retry). */
  requests: number;
  id: string;
  status: 'succeeded' | 'declined';
  amount: number;
  currency: string;
  customer: string;
  paymentMethod: string;
  offSession: boolean;
}

export interface StripeTestProxy {
  url: string;
  /** PaymentIntents created, one per idempotency key, in order. */
  paymentIntents(): RecordedPaymentIntent[];
  /** Every PaymentIntent creation request (retries included). */
  creationRequests(): number;
  /**
   * The next `count` PaymentIntent creation requests fail in transit: `drop` processes the
   * request (the payment happens, or its stored answer is replayed) and then closes the
   * connection without an answer, as a timeout after Stripe charged; `error500` answers
   * Stripe's api_error at once without charging.
   */
  failNext(count: number, mode: 'drop' | 'error500'): void;
  /**
   * The PaymentIntents created, as retrieve, list and search answer them (stripe-intents.ts);
   * `settle` changes one as Stripe does when a payment completes later.
   */
  intents: RememberedIntents;
  /** Customers, payment methods and hosted card setups (stripe-test-cards.ts). */
  cards: StripeTestCards;
  close(): Promise<void>;
}

interface Stored {
  body: string;
  status: number;
  params: string;
  record: RecordedPaymentIntent;
}

/**
 * A small HTTP proxy in front of stripe-mock with the part of Stripe's behaviour that
 * stripe-mock leaves out (it is stateless and answers fixtures: every PaymentIntent has the
 * same id and status `requires_payment_method`, and no card is ever declined):
 *
 * - idempotency: the first answer of an `Idempotency-Key` is kept and replayed to every retry;
 *   the same key with other parameters is Stripe's 400 `idempotency_error`; a key whose first
 *   request is still in flight is Stripe's 409 `idempotency_key_in_use`;
 * - a confirmed PaymentIntent gets an id of its own and `succeeded`, or, for the test payment
 *   methods above, HTTP 402 with Stripe's `card_error` body (`code`, `decline_code`, `message`,
 *   the PaymentIntent with its `last_payment_error`);
 * - it counts PaymentIntent creations by key, and can fail the next ones in transit;
 * - it remembers the PaymentIntents and answers retrieve, list and search for them.
 * - customers, who owns a payment method, and card setups with their hosted page
 *   (stripe-test-cards.ts).
 *
 * Every request still goes to stripe-mock first, which validates it against Stripe's OpenAPI
 * document and answers a 400 for what Stripe would refuse. Tests and the demo only.
 */
export async function startStripeTestProxy(upstream: string): Promise<StripeTestProxy> {
  const target = new URL(upstream);
  const stored = new Map<string, Stored>();
  const inFlight = new Set<string>();
  let creations = 0;
  let failures: { count: number; mode: 'drop' | 'error500' } = { count: 0, mode: 'drop' };
  const intents = new RememberedIntents();

  const forward = (req: IncomingMessage, body: Buffer) =>
    new Promise<{ status: number; headers: Record<string, string>; body: string }>((resolve, reject) => {
      const headers = { ...req.headers, host: target.host };
      const upstreamRequest = httpRequest(
        {
          host: target.hostname,
          port: target.port,
          path: req.url,
          method: req.method,
          headers,
          agent: false,
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () =>
            resolve({
              status: response.statusCode ?? 502,
              headers: Object.fromEntries(
                Object.entries(response.headers).flatMap(([name, value]) =>
                  typeof value === 'string' ? [[name, value]] : [],
                ),
              ),
              body: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          response.on('error', reject);
        },
      );
      upstreamRequest.on('error', reject);
      upstreamRequest.end(body);
    });

  const send = (res: ServerResponse, status: number, body: string, key?: string) => {
    res.writeHead(status, {
      'content-type': 'application/json',
      'request-id': `req_proxy_${creations}`,
      ...(key ? { 'idempotency-key': key } : {}),
    });
    res.end(body);
  };
  const stripeError = (type: string, message: string, extra: Record<string, unknown> = {}) =>
    JSON.stringify({ error: { type, message, ...extra } });

  const createPaymentIntent = async (req: IncomingMessage, res: ServerResponse, body: Buffer) => {
    const params = body.toString('utf8');
    const form = new URLSearchParams(params);
    const key = req.headers['idempotency-key'] as string | undefined;
    creations += 1;
    if (key) {
      const previous = stored.get(key);
      if (previous) {
        previous.record.requests += 1;
        if (failures.count > 0 && failures.mode === 'drop') {
          failures.count -= 1;
          res.socket?.destroy();
          return;
        }
        if (previous.params !== params)
          return send(
            res,
            400,
            stripeError(
              'idempotency_error',
              `Keys for idempotent requests can only be used with the same parameters they were first used with.`,
            ),
            key,
          );
        return send(res, previous.status, previous.body, key);
      }
      if (inFlight.has(key))
        return send(
          res,
          409,
          stripeError(
            'invalid_request_error',
            'There is currently another in-progress request using this Stripe API key.',
            {
              code: 'idempotency_key_in_use',
            },
          ),
          key,
        );
    }
    if (failures.count > 0 && failures.mode === 'error500') {
      failures.count -= 1;
      return send(res, 500, stripeError('api_error', 'An unknown error occurred.'), key);
    }
    if (key) inFlight.add(key);
    try {
      const answer = await forward(req, body);
      if (answer.status !== 200) return send(res, answer.status, answer.body, key);
      const n = stored.size + 1;
      const intent = JSON.parse(answer.body) as Record<string, unknown>;
      const paymentMethod = form.get('payment_method') ?? '';
      const decline = STRIPE_TEST_DECLINES[paymentMethod];
      const confirmed = form.get('confirm') === 'true';
      Object.assign(intent, {
        id: `pi_proxy_${n}`,
        client_secret: `pi_proxy_${n}_secret_proxy`,
        customer: form.get('customer'),
        payment_method: paymentMethod || null,
        created: Math.floor(Date.now() / 1000),
        amount: Number(form.get('amount')),
        currency: form.get('currency'),
        metadata: Object.fromEntries(
          [...form.entries()].flatMap(([name, value]) => {
            const field = /^metadata\[(.+)\]$/.exec(name);
            return field ? [[field[1]!, value]] : [];
          }),
        ),
      });
      let status = 200;
      let reply: string;
      if (confirmed && decline) {
        const error = {
          type: 'card_error',
          ...decline,
          doc_url: `https://docs.stripe.com/error-codes/${decline.code.replaceAll('_', '-')}`,
          charge: `ch_proxy_${n}`,
          payment_method: { id: paymentMethod, object: 'payment_method', type: 'card' },
        };
        Object.assign(intent, {
          status: 'requires_payment_method',
          latest_charge: `ch_proxy_${n}`,
          last_payment_error: error,
        });
        status = 402;
        reply = JSON.stringify({ error: { ...error, payment_intent: intent } });
      } else {
        if (confirmed)
          Object.assign(intent, {
            status: 'succeeded',
            amount_received: Number(form.get('amount')),
            latest_charge: `ch_proxy_${n}`,
          });
        reply = JSON.stringify(intent);
      }
      const record: RecordedPaymentIntent = {
        idempotencyKey: key ?? '',
        requests: 1,
        id: `pi_proxy_${n}`,
        status: status === 200 ? 'succeeded' : 'declined',
        amount: Number(form.get('amount')),
        currency: form.get('currency') ?? '',
        customer: form.get('customer') ?? '',
        paymentMethod,
        offSession: form.get('off_session') === 'true',
      };
      stored.set(key ?? `no-key-${n}`, { body: reply, status, params, record });
      intents.remember(key ?? '', intent);
      if (failures.count > 0 && failures.mode === 'drop') {
        failures.count -= 1;
        res.socket?.destroy();
        return;
      }
      return send(res, status, reply, key);
    } finally {
      if (key) inFlight.delete(key);
    }
  };

  let publicUrl = '';
  const cards = stripeTestCards(forward, () => publicUrl);
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (cards.handle(req, res, body)) return;
      const path = (req.url ?? '').split('?')[0];
      if (intents.answer(req, res)) return;
      const handled =
        req.method === 'POST' && path === '/v1/payment_intents'
          ? createPaymentIntent(req, res, body)
          : forward(req, body).then((answer) => {
              res.writeHead(answer.status, answer.headers);
              res.end(answer.body);
            });
      handled.catch((error: unknown) => {
        if (!res.headersSent)
          send(res, 502, stripeError('api_error', `stripe-mock: ${(error as Error).message}`));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  publicUrl = `http://127.0.0.1:${port}`;

  return {
    url: `http://127.0.0.1:${port}`,
    paymentIntents: () => [...stored.values()].map((s) => ({ ...s.record })),
    creationRequests: () => creations,
    intents,
    failNext(count, mode) {
      failures = { count, mode };
    },
    cards,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
