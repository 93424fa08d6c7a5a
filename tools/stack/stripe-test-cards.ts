import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * The card part of the Stripe test proxy (stripe-test-proxy.ts): what stripe-mock's stateless
 * fixtures cannot answer, kept in memory.
 *
 * - customers: `POST /v1/customers` gives `cus_<tenant id>` (from `metadata[tenantId]`, with
 *   characters Stripe ids do not have made `_`), or `cus_proxy_<n>`; the same tenant gets the
 *   same customer, as Stripe's idempotency key would;
 * - payment methods: `GET /v1/payment_methods/:id` answers the customer it is attached to
 *   (`attach` below, `POST /v1/payment_methods/:id/attach`, or a finished setup) and its card;
 *   Stripe's test payment methods (`pm_card_...`) exist unattached; any other id is Stripe's 404;
 * - Checkout Sessions in setup mode with their SetupIntents: created `open` with a hosted page
 *   the proxy serves itself (`GET /checkout/pay/:id`, a form: save the card, decline it, or
 *   cancel), which sends the browser to the session's success or cancel URL as Stripe does.
 *
 * Every API request still goes to stripe-mock first, which validates its parameters.
 */

export interface TestCard {
  customer: string | null;
  brand: string;
  last4: string;
}

export interface TestSetupSession {
  id: string;
  customer: string | null;
  currency: string;
  metadata: Record<string, string>;
  successUrl: string;
  cancelUrl: string;
  status: 'open' | 'complete' | 'expired';
  setupIntent: {
    id: string;
    status: 'requires_payment_method' | 'succeeded' | 'canceled';
    paymentMethod: string | null;
    metadata: Record<string, string>;
    lastSetupError?: { code: string; decline_code: string; message: string };
  };
}

export interface StripeTestCards {
  /** Attaches a payment method to a customer (a test arranging "another customer's card"). */
  attach(paymentMethod: string, customer: string, card?: { brand: string; last4: string }): void;
  /** Customers created, by id, with their metadata. */
  customers(): Map<string, Record<string, string>>;
  /** The setup session, as the proxy keeps it. */
  setupSession(id: string): TestSetupSession | undefined;
  /** What the hosted page does when the admin saves (or the card is declined) or cancels. */
  finishSetup(id: string, outcome: 'save' | 'decline' | 'cancel'): string;
  /** The session expires (the admin never came back). */
  expire(id: string): void;
  /** Handles the request when it is one of the card routes (true), else leaves it (false). */
  handle(req: IncomingMessage, res: ServerResponse, body: Buffer): boolean;
}

type Forward = (
  req: IncomingMessage,
  body: Buffer,
) => Promise<{ status: number; headers: Record<string, string>; body: string }>;

const BRANDS: Record<string, { brand: string; last4: string }> = {
  pm_card_visa: { brand: 'visa', last4: '4242' },
  pm_card_mastercard: { brand: 'mastercard', last4: '4444' },
  pm_card_amex: { brand: 'amex', last4: '8431' },
};

const stripeError = (status: number, type: string, message: string, extra: Record<string, unknown> = {}) => ({
  status,
  body: JSON.stringify({ error: { type, message, ...extra } }),
});

/** `metadata[tenantId]=acme` form fields as an object. */
const formRecord = (form: URLSearchParams, name: string) =>
  Object.fromEntries(
    [...form.entries()].flatMap(([key, value]) => {
      const match = new RegExp(`^${name.replace(/[[\]]/g, '\\$&')}\\[([^\\]]+)\\]$`).exec(key);
      return match ? [[match[1]!, value]] : [];
    }),
  );

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
/** What the proxy keeps of customers, cards and setups. */
interface CardState {
  customers: Map<string, Record<string, string>>;
  cards: Map<string, TestCard>;
  sessions: Map<string, TestSetupSession>;
  savedCards: number;
  publicUrl: () => string;
}

const paymentMethodJson = (id: string, card: TestCard) => ({
  id,
  object: 'payment_method',
  type: 'card',
  customer: card.customer,
  card: { brand: card.brand, last4: card.last4, exp_month: 12, exp_year: 2034, country: 'US' },
  metadata: {},
  livemode: false,
});
const cardOf = (state: CardState, id: string): TestCard | undefined =>
  state.cards.get(id) ??
  (BRANDS[id]
    ? { customer: null, ...BRANDS[id] }
    : id.startsWith('pm_card_')
      ? { customer: null, brand: 'visa', last4: '4242' }
      : undefined);

const sessionJson = (state: CardState, session: TestSetupSession, expand: boolean) => {
  const intent = {
    id: session.setupIntent.id,
    object: 'setup_intent',
    status: session.setupIntent.status,
    customer: session.customer,
    payment_method: session.setupIntent.paymentMethod,
    metadata: session.setupIntent.metadata,
    usage: 'off_session',
    last_setup_error: session.setupIntent.lastSetupError ?? null,
    livemode: false,
  };
  return {
    id: session.id,
    object: 'checkout.session',
    mode: 'setup',
    status: session.status,
    customer: session.customer,
    currency: session.currency,
    metadata: session.metadata,
    success_url: session.successUrl,
    cancel_url: session.cancelUrl,
    url: session.status === 'open' ? `${state.publicUrl()}/checkout/pay/${session.id}` : null,
    setup_intent: expand ? intent : intent.id,
    livemode: false,
  };
};

/** The card routes of Stripe's API, after stripe-mock checked the request. */
const cardApi = async (
  state: CardState,
  forward: Forward,
  req: IncomingMessage,
  body: Buffer,
  path: string,
): Promise<{ status: number; body: string }> => {
  const method = req.method ?? 'GET';
  const query = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
  const form = new URLSearchParams(body.toString('utf8'));
  // stripe-mock first: it refuses what Stripe would.
  const checked = await forward(req, body);
  if (checked.status !== 200) return checked;
  let match: RegExpExecArray | null;
  if (method === 'POST' && path === '/v1/customers') {
    const metadata = formRecord(form, 'metadata');
    const id = metadata.tenantId
      ? `cus_${metadata.tenantId.replace(/[^A-Za-z0-9_]/g, '_')}`
      : `cus_proxy_${state.customers.size + 1}`;
    state.customers.set(id, metadata);
    return { status: 200, body: JSON.stringify({ ...JSON.parse(checked.body), id, metadata }) };
  }
  if ((match = /^\/v1\/payment_methods\/([^/]+)\/attach$/.exec(path)) && method === 'POST') {
    const card = cardOf(state, match[1]!);
    if (!card)
      return stripeError(404, 'invalid_request_error', `No such PaymentMethod: '${match[1]}'`, {
        code: 'resource_missing',
      });
    state.cards.set(match[1]!, { ...card, customer: form.get('customer') });
    return { status: 200, body: JSON.stringify(paymentMethodJson(match[1]!, state.cards.get(match[1]!)!)) };
  }
  if ((match = /^\/v1\/payment_methods\/([^/]+)$/.exec(path)) && method === 'GET') {
    const card = cardOf(state, match[1]!);
    if (!card)
      return stripeError(404, 'invalid_request_error', `No such PaymentMethod: '${match[1]}'`, {
        code: 'resource_missing',
      });
    return { status: 200, body: JSON.stringify(paymentMethodJson(match[1]!, card)) };
  }
  if (method === 'POST' && path === '/v1/checkout/sessions' && form.get('mode') === 'setup') {
    const n = state.sessions.size + 1;
    const session: TestSetupSession = {
      id: `cs_test_proxy_${n}`,
      customer: form.get('customer'),
      currency: form.get('currency') ?? '',
      metadata: formRecord(form, 'metadata'),
      successUrl: form.get('success_url') ?? '',
      cancelUrl: form.get('cancel_url') ?? '',
      status: 'open',
      setupIntent: {
        id: `seti_proxy_${n}`,
        status: 'requires_payment_method',
        paymentMethod: null,
        metadata: formRecord(form, 'setup_intent_data[metadata]'),
      },
    };
    state.sessions.set(session.id, session);
    return { status: 200, body: JSON.stringify(sessionJson(state, session, false)) };
  }
  if ((match = /^\/v1\/checkout\/sessions\/([^/]+)$/.exec(path)) && method === 'GET') {
    const session = state.sessions.get(match[1]!);
    if (!session)
      return stripeError(404, 'invalid_request_error', `No such checkout.session: '${match[1]}'`, {
        code: 'resource_missing',
      });
    return {
      status: 200,
      body: JSON.stringify(
        sessionJson(
          state,
          session,
          [...query.entries()].some(([k, v]) => k.startsWith('expand') && v === 'setup_intent'),
        ),
      ),
    };
  }
  return checked;
};

const finishSetup = (state: CardState, id: string, outcome: 'save' | 'decline' | 'cancel'): string => {
  const session = state.sessions.get(id);
  if (!session || session.status !== 'open') throw new Error(`no open setup session ${id}`);
  if (outcome === 'cancel') return session.cancelUrl;
  if (outcome === 'decline') {
    session.setupIntent.lastSetupError = {
      code: 'card_declined',
      decline_code: 'generic_decline',
      message: 'Your card was declined.',
    };
    return `${state.publicUrl()}/checkout/pay/${id}?declined=1`;
  }
  state.savedCards += 1;
  const paymentMethod = `pm_proxy_card_${state.savedCards}`;
  state.cards.set(paymentMethod, { customer: session.customer, brand: 'visa', last4: '4242' });
  session.setupIntent = { ...session.setupIntent, status: 'succeeded', paymentMethod };
  delete session.setupIntent.lastSetupError;
  session.status = 'complete';
  return session.successUrl.replace('{CHECKOUT_SESSION_ID}', id);
};

const hostedPage = (state: CardState, res: ServerResponse, id: string, declined: boolean) => {
  const session = state.sessions.get(id);
  if (!session || session.status !== 'open') {
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('This card page has expired.');
    return;
  }
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  res.end(`<!doctype html><html lang="en"><head><title>Save a card (test)</title></head><body><main>
<h1>Save a card for ${escapeHtml(session.customer ?? '')}</h1>
${declined ? '<p role="alert">Your card was declined.</p>' : ''}
<form method="post" action="/checkout/pay/${id}">
<button name="action" value="save">Save card</button>
<button name="action" value="decline">Use a card that is declined</button>
<button name="action" value="cancel">Cancel</button>
</form></main></body></html>`);
};

export function stripeTestCards(forward: Forward, publicUrl: () => string): StripeTestCards {
  const state: CardState = {
    customers: new Map(),
    cards: new Map(),
    sessions: new Map(),
    savedCards: 0,
    publicUrl,
  };
  return {
    attach(paymentMethod, customer, card = BRANDS[paymentMethod] ?? { brand: 'visa', last4: '4242' }) {
      state.cards.set(paymentMethod, { customer, ...card });
    },
    customers: () => new Map(state.customers),
    setupSession: (id) => state.sessions.get(id),
    finishSetup: (id, outcome) => finishSetup(state, id, outcome),
    expire(id) {
      const session = state.sessions.get(id);
      if (session) session.status = 'expired';
    },
    handle(req, res, body) {
      const path = (req.url ?? '').split('?')[0]!;
      const page = /^\/checkout\/pay\/([A-Za-z0-9_]+)$/.exec(path);
      if (page) {
        if (req.method === 'GET') hostedPage(state, res, page[1]!, (req.url ?? '').includes('declined=1'));
        else {
          const action = new URLSearchParams(body.toString('utf8')).get('action');
          const to = finishSetup(
            state,
            page[1]!,
            action === 'decline' ? 'decline' : action === 'cancel' ? 'cancel' : 'save',
          );
          res.writeHead(303, { location: to });
          res.end();
        }
        return true;
      }
      if (!/^\/v1\/(customers|payment_methods|checkout\/sessions)(\/|$)/.test(path)) return false;
      cardApi(state, forward, req, body, path)
        .then((answer) => {
          res.writeHead(answer.status, {
            'content-type': 'application/json',
            'request-id': 'req_proxy_cards',
          });
          res.end(answer.body);
        })
        .catch((error: unknown) => {
          res.writeHead(502, { 'content-type': 'application/json' });
          res.end(
            JSON.stringify({
              error: { type: 'api_error', message: `stripe-mock: ${(error as Error).message}` },
            }),
          );
        });
      return true;
    },
  };
}
