import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { forwarder, IntentCreations, type RecordedPaymentIntent } from './stripe-intent-creation';
import { RememberedIntents } from './stripe-intents';

export { STRIPE_TEST_DECLINES, type RecordedPaymentIntent } from './stripe-intent-creation';
import { stripeTestCards, StripeTestCards } from './stripe-test-cards';

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
  const forward = forwarder(target);
  const intents = new RememberedIntents();
  const creation = new IntentCreations(forward, intents);

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
          ? creation.create(req, res, body)
          : forward(req, body).then((answer) => {
              res.writeHead(answer.status, answer.headers);
              res.end(answer.body);
            });
      handled.catch((error: unknown) => {
        if (!res.headersSent) creation.unreachable(res, error);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  publicUrl = `http://127.0.0.1:${port}`;

  return {
    url: `http://127.0.0.1:${port}`,
    paymentIntents: () => [...creation.stored.values()].map((s) => ({ ...s.record })),
    creationRequests: () => creation.creations,
    intents,
    failNext(count, mode) {
      creation.failures = { count, mode };
    },
    cards,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
