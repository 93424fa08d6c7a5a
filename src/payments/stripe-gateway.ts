import Stripe from 'stripe';
import { GatewayUnavailableError } from './gateway';
import type {
  CardGateway,
  CardSetupState,
  ChargeRequest,
  ChargeResult,
  GatewayPayment,
  GatewayPaymentMethod,
  PaymentGateway,
} from '../settlement/ports';

/** How far before a payment began its PaymentIntent is looked for (clocks differ). */
const LOOKUP_MARGIN_S = 3600;
/** PaymentIntents read at most by one lookup: a customer's since the payment began. */
const LOOKUP_MAX = 1000;

/**
 * A PaymentIntent as the port sees it, or undefined when it was not made by the rater (no
 * `tenantId` and `chargeId` metadata). Off-session nobody completes a PaymentIntent that needs
 * the customer, so `requires_payment_method`, `requires_action` and `canceled` are final.
 */
export function gatewayPaymentOf(intent: Stripe.PaymentIntent): GatewayPayment | undefined {
  const { tenantId, chargeId } = intent.metadata ?? {};
  if (!tenantId || !chargeId) return undefined;
  const pending = ['processing', 'requires_capture', 'requires_confirmation'].includes(intent.status);
  const error = intent.last_payment_error;
  return {
    gatewayRef: intent.id,
    tenantId,
    chargeId,
    status: intent.status === 'succeeded' ? 'succeeded' : pending ? 'processing' : 'failed',
    amountMinor: BigInt(intent.amount),
    currency: intent.currency.toUpperCase(),
    createdAt: new Date(intent.created * 1000),
    ...(intent.status !== 'succeeded' && !pending
      ? {
          reason:
            error?.decline_code ||
            error?.code ||
            (intent.status === 'requires_action' ? 'authentication_required' : `payment_${intent.status}`),
          message: error?.message ?? `the PaymentIntent is ${intent.status}`,
        }
      : {}),
  };
}

/** A Stripe error that means no answer (worth retrying with the same key), as the port's error. */
function unavailable(error: unknown, what: string): GatewayUnavailableError | undefined {
  if (
    error instanceof Stripe.errors.StripeConnectionError ||
    error instanceof Stripe.errors.StripeAPIError ||
    error instanceof Stripe.errors.StripeRateLimitError ||
    (error instanceof Stripe.errors.StripeError && (error.statusCode ?? 0) >= 500) ||
    (error instanceof Stripe.errors.StripeError && error.code === 'idempotency_key_in_use')
  )
    return new GatewayUnavailableError(`Stripe did not answer ${what}: ${error.message}`, { cause: error });
  return undefined;
}

/** Not thrown as it is: a framework would take the Stripe error's statusCode and headers for its own response. */
function refused(error: unknown, what: string): unknown {
  if (error instanceof Stripe.errors.StripeError)
    return new Error(`Stripe refused ${what} (${error.type} ${error.statusCode}): ${error.message}`);
  return error;
}

export interface StripeGatewayOptions {
  /** A secret key (`sk_live_...`, `sk_test_...`) or a restricted key that may create PaymentIntents. */
  apiKey: string;
  /** Another API base URL than Stripe's (stripe-mock in the tests and the demo). */
  apiBase?: string;
  /** The SDK's own retries of a request that got no answer or a retriable one (same key). */
  maxNetworkRetries?: number;
  timeoutMs?: number;
}

/**
 * The tenant's payment method reference for Stripe: the saved customer and the payment
 * method attached to it, `cus_.../pm_...`. An off-session PaymentIntent charges a saved
 * PaymentMethod only through the customer it is attached to.
 */
export function parseStripeMethodRef(ref: string): { customer: string; paymentMethod: string } | undefined {
  const match = /^(cus_[A-Za-z0-9_]+)\/(pm_[A-Za-z0-9_]+)$/.exec(ref);
  return match ? { customer: match[1]!, paymentMethod: match[2]! } : undefined;
}

/**
 * Charges through Stripe: one off-session PaymentIntent, confirmed at once against the
 * tenant's saved customer and payment method, in the tenant's currency, with the recharge
 * request id or the purchase id as Stripe's idempotency key. Stripe keeps the first answer
 * of a key and replays it, so a retry after a timeout (the SDK's or ours, always with the
 * same key) never charges twice.
 *
 * - A card error (HTTP 402: a decline, an expired card, `authentication_required` because
 *   nobody is there to pass 3-D Secure) is a final answer: declined, with Stripe's
 *   `decline_code`, or its `code` when it gives none.
 * - No answer, a 5xx, a 429, or a key still in use by a concurrent request (409) is thrown
 *   as GatewayUnavailableError (retriable): the caller tries again with the same key.
 * - Anything else (an invalid request, a bad API key) is a bug or a misconfiguration: thrown
 *   as it is, never taken for a decline.
 */
export class StripeGateway implements PaymentGateway, CardGateway {
  private readonly stripe: Stripe;

  constructor(options: StripeGatewayOptions) {
    const base = options.apiBase ? new URL(options.apiBase) : undefined;
    this.stripe = new Stripe(options.apiKey, {
      maxNetworkRetries: options.maxNetworkRetries ?? 2,
      timeout: options.timeoutMs ?? 30_000,
      telemetry: false,
      ...(base
        ? {
            host: base.hostname,
            port: base.port || (base.protocol === 'https:' ? 443 : 80),
            protocol: base.protocol === 'https:' ? 'https' : 'http',
          }
        : {}),
    });
  }

  async charge(request: ChargeRequest): Promise<ChargeResult> {
    const ref = parseStripeMethodRef(request.paymentMethodRef);
    if (!ref)
      return {
        status: 'declined',
        reason: 'payment_method_invalid',
        message: 'the payment method reference is not a Stripe customer and payment method (cus_.../pm_...)',
      };
    if (request.amountMinor <= 0n || request.amountMinor > BigInt(Number.MAX_SAFE_INTEGER))
      throw new RangeError(`amount ${request.amountMinor} cannot be charged`);
    try {
      const intent = await this.stripe.paymentIntents.create(
        {
          amount: Number(request.amountMinor),
          currency: request.currency.toLowerCase(),
          customer: ref.customer,
          payment_method: ref.paymentMethod,
          off_session: true,
          confirm: true,
          description: 'Communications credits',
          metadata: { tenantId: request.tenantId, chargeId: request.idempotencyKey },
        },
        { idempotencyKey: request.idempotencyKey },
      );
      if (intent.status === 'succeeded') return { status: 'succeeded', gatewayRef: intent.id };
      // Off-session, a PaymentIntent that did not succeed needs the customer: nobody is there.
      const error = intent.last_payment_error;
      return {
        status: 'declined',
        reason:
          error?.decline_code ||
          error?.code ||
          (intent.status === 'requires_action' ? 'authentication_required' : `payment_${intent.status}`),
        message: error?.message ?? `the PaymentIntent ended ${intent.status}`,
      };
    } catch (error) {
      if (error instanceof Stripe.errors.StripeCardError)
        return {
          status: 'declined',
          reason: error.decline_code || error.code || 'card_declined',
          message: error.message,
        };
      throw unavailable(error, request.idempotencyKey) ?? refused(error, request.idempotencyKey);
    }
  }

  /**
   * The PaymentIntent whose metadata `chargeId` is the key: among the customer's PaymentIntents
   * created since the payment began (an hour's margin), which Stripe lists consistently (its
   * search may lag behind by a minute), at most LOOKUP_MAX of them.
   */
  async lookup(request: {
    idempotencyKey: string;
    paymentMethodRef: string;
    since: Date;
  }): Promise<GatewayPayment | undefined> {
    const ref = parseStripeMethodRef(request.paymentMethodRef);
    if (!ref) return undefined; // charge() declines such a reference without asking Stripe
    const since = Math.floor(request.since.getTime() / 1000) - LOOKUP_MARGIN_S;
    try {
      let read = 0;
      for await (const intent of this.stripe.paymentIntents.list({
        customer: ref.customer,
        created: { gte: since },
        limit: 100,
      })) {
        if (intent.metadata?.chargeId === request.idempotencyKey) return gatewayPaymentOf(intent);
        if (++read >= LOOKUP_MAX) break;
      }
      return undefined;
    } catch (error) {
      throw unavailable(error, `a lookup of ${request.idempotencyKey}`) ?? refused(error, 'a lookup');
    }
  }

  /** The rater's PaymentIntents created in [from, to), newest first (Stripe's list order). */
  async *listPayments(window: { from: Date; to: Date }): AsyncIterable<GatewayPayment> {
    const created = {
      gte: Math.floor(window.from.getTime() / 1000),
      lt: Math.ceil(window.to.getTime() / 1000),
    };
    try {
      for await (const intent of this.stripe.paymentIntents.list({ created, limit: 100 })) {
        const payment = gatewayPaymentOf(intent);
        if (payment) yield payment;
      }
    } catch (error) {
      throw unavailable(error, 'the PaymentIntents list') ?? refused(error, 'the PaymentIntents list');
    }
  }

  /**
   * The tenant's Stripe customer: created with the tenant in its metadata, the idempotency key
   * naming the tenant, so that two concurrent first uses get the same customer (within the
   * 24 hours Stripe keeps a key; the ledger keeps the first one stored in any case).
   */
  async ensureCustomer(tenantId: string): Promise<string> {
    const customer = await this.call(`customer of ${tenantId}`, () =>
      this.stripe.customers.create(
        { description: `Communications credits: ${tenantId}`, metadata: { tenantId } },
        { idempotencyKey: `customer:${tenantId}` },
      ),
    );
    return customer.id;
  }

  async paymentMethod(id: string): Promise<GatewayPaymentMethod | undefined> {
    try {
      const method = await this.call(`payment method ${id}`, () => this.stripe.paymentMethods.retrieve(id));
      const customer = typeof method.customer === 'string' ? method.customer : (method.customer?.id ?? null);
      const card = method.card;
      return { id: method.id, customer, ...(card ? { label: `${card.brand} •••• ${card.last4}` } : {}) };
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  methodRef(customer: string, paymentMethod: string): string {
    return `${customer}/${paymentMethod}`;
  }

  parseMethodRef(ref: string): { customer?: string; paymentMethod: string } | undefined {
    if (/^pm_[A-Za-z0-9_]+$/.test(ref)) return { paymentMethod: ref };
    return parseStripeMethodRef(ref);
  }

  /** A Checkout Session in setup mode for the tenant's customer: Stripe's hosted page saves the card. */
  async startCardSetup(request: {
    tenantId: string;
    customer: string;
    currency: string;
    successUrl: string;
    cancelUrl: string;
  }): Promise<{ sessionId: string; url: string }> {
    const metadata = { tenantId: request.tenantId };
    const session = await this.call(`card setup of ${request.tenantId}`, () =>
      this.stripe.checkout.sessions.create({
        mode: 'setup',
        customer: request.customer,
        currency: request.currency.toLowerCase(),
        success_url: request.successUrl,
        cancel_url: request.cancelUrl,
        metadata,
        setup_intent_data: { metadata },
      }),
    );
    if (!session.url) throw new Error(`Stripe gave the setup session ${session.id} no URL`);
    return { sessionId: session.id, url: session.url };
  }

  /** The Checkout Session with its SetupIntent: succeeded only when the SetupIntent did. */
  async cardSetup(sessionId: string): Promise<CardSetupState | undefined> {
    let session;
    try {
      session = await this.call(`card setup ${sessionId}`, () =>
        this.stripe.checkout.sessions.retrieve(sessionId, { expand: ['setup_intent'] }),
      );
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
    if (session.mode !== 'setup') return undefined;
    const id = (value: string | { id: string } | null | undefined) =>
      typeof value === 'string' ? value : (value?.id ?? null);
    const intent = typeof session.setup_intent === 'object' ? session.setup_intent : null;
    const succeeded = intent?.status === 'succeeded';
    const paymentMethod = id(intent?.payment_method);
    return {
      ...(session.metadata?.tenantId ? { tenantId: session.metadata.tenantId } : {}),
      customer: id(session.customer),
      status: succeeded
        ? 'succeeded'
        : session.status === 'expired' || intent?.status === 'canceled'
          ? 'failed'
          : 'open',
      ...(succeeded && paymentMethod ? { paymentMethod } : {}),
    };
  }

  /** A card call: no answer (or a retriable one) is GatewayUnavailableError, the rest as charge's. */
  private async call<T>(what: string, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      if (isMissing(error)) throw error;
      if (
        error instanceof Stripe.errors.StripeConnectionError ||
        error instanceof Stripe.errors.StripeAPIError ||
        error instanceof Stripe.errors.StripeRateLimitError ||
        (error instanceof Stripe.errors.StripeError && (error.statusCode ?? 0) >= 500) ||
        (error instanceof Stripe.errors.StripeError && error.code === 'idempotency_key_in_use')
      )
        throw new GatewayUnavailableError(`Stripe did not answer (${what}): ${error.message}`, {
          cause: error,
        });
      if (error instanceof Stripe.errors.StripeError)
        throw new Error(`Stripe refused ${what} (${error.type} ${error.statusCode}): ${error.message}`);
      throw error;
    }
  }
}

/** Stripe's 404 for an id it does not know. */
const isMissing = (error: unknown) =>
  error instanceof Stripe.errors.StripeError &&
  (error.code === 'resource_missing' || error.statusCode === 404);
