import { IncomingMessage, request as httpRequest, ServerResponse } from 'node:http';
import type { RememberedIntents } from './stripe-intents';

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

/** Sends a request on to stripe-mock as it came, and reads its answer. */
export const forwarder = (target: URL) => (req: IncomingMessage, body: Buffer) =>
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

type Forward = ReturnType<typeof forwarder>;

interface Stored {
  body: string;
  status: number;
  params: string;
  record: RecordedPaymentIntent;
}

const stripeError = (type: string, message: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ error: { type, message, ...extra } });

/**
 * The PaymentIntent stripe-mock answered, made what Stripe would answer: an id of its own, the
 * request's fields, and `succeeded` when confirmed, or a 402 card error for a declining test card.
 */
function confirmedIntent(form: URLSearchParams, answerBody: string, n: number) {
  const intent = JSON.parse(answerBody) as Record<string, unknown>;
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
    return {
      intent,
      paymentMethod,
      status: 402,
      reply: JSON.stringify({ error: { ...error, payment_intent: intent } }),
    };
  }
  if (confirmed)
    Object.assign(intent, {
      status: 'succeeded',
      amount_received: Number(form.get('amount')),
      latest_charge: `ch_proxy_${n}`,
    });
  return { intent, paymentMethod, status: 200, reply: JSON.stringify(intent) };
}

/**
 * PaymentIntent creation with Stripe's idempotency: the first answer of a key kept and replayed,
 * another request's parameters under it a 400, a key in flight a 409; and failures on demand.
 */
export class IntentCreations {
  readonly stored = new Map<string, Stored>();
  private readonly inFlight = new Set<string>();
  creations = 0;
  failures: { count: number; mode: 'drop' | 'error500' } = { count: 0, mode: 'drop' };

  constructor(
    private readonly forward: Forward,
    private readonly intents: RememberedIntents,
  ) {}

  send(res: ServerResponse, status: number, body: string, key?: string) {
    res.writeHead(status, {
      'content-type': 'application/json',
      'request-id': `req_proxy_${this.creations}`,
      ...(key ? { 'idempotency-key': key } : {}),
    });
    res.end(body);
  }

  /** Answers `POST /v1/payment_intents`. */
  async create(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
    const params = body.toString('utf8');
    const key = req.headers['idempotency-key'] as string | undefined;
    this.creations += 1;
    if (key && this.answeredAlready(res, key, params)) return;
    if (this.failures.count > 0 && this.failures.mode === 'error500') {
      this.failures.count -= 1;
      return this.send(res, 500, stripeError('api_error', 'An unknown error occurred.'), key);
    }
    if (key) this.inFlight.add(key);
    try {
      await this.createNew(req, res, body, key);
    } finally {
      if (key) this.inFlight.delete(key);
    }
  }

  /** A key seen before: its stored answer replayed (or dropped), a 400 for other parameters, a 409 in flight. */
  private answeredAlready(res: ServerResponse, key: string, params: string): boolean {
    const previous = this.stored.get(key);
    if (previous) {
      previous.record.requests += 1;
      if (this.failures.count > 0 && this.failures.mode === 'drop') {
        this.failures.count -= 1;
        res.socket?.destroy();
        return true;
      }
      if (previous.params !== params)
        this.send(
          res,
          400,
          stripeError(
            'idempotency_error',
            `Keys for idempotent requests can only be used with the same parameters they were first used with.`,
          ),
          key,
        );
      else this.send(res, previous.status, previous.body, key);
      return true;
    }
    if (!this.inFlight.has(key)) return false;
    this.send(
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
    return true;
  }

  /** A new PaymentIntent: stripe-mock's answer made Stripe's, recorded, remembered, sent (or dropped). */
  private async createNew(req: IncomingMessage, res: ServerResponse, body: Buffer, key: string | undefined) {
    const params = body.toString('utf8');
    const form = new URLSearchParams(params);
    const answer = await this.forward(req, body);
    if (answer.status !== 200) return this.send(res, answer.status, answer.body, key);
    const n = this.stored.size + 1;
    const { intent, paymentMethod, status, reply } = confirmedIntent(form, answer.body, n);
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
    this.stored.set(key ?? `no-key-${n}`, { body: reply, status, params, record });
    this.intents.remember(key ?? '', intent);
    if (this.failures.count > 0 && this.failures.mode === 'drop') {
      this.failures.count -= 1;
      res.socket?.destroy();
      return;
    }
    return this.send(res, status, reply, key);
  }

  /** stripe-mock did not answer: a 502 with Stripe's api_error. */
  unreachable(res: ServerResponse, error: unknown) {
    this.send(res, 502, stripeError('api_error', `stripe-mock: ${(error as Error).message}`));
  }
}
