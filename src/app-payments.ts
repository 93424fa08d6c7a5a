import type { FastifyBaseLogger, FastifyInstance, RawServerDefault } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { gatewayWebhookRoute } from './api/webhooks';
import { stripeKeyProblem, type Config } from './config';
import { paymentLedgerOf, type Ledger } from './ledger/open-ledger';
import { SimulatedGateway } from './payments/gateway';
import { StripeGateway } from './payments/stripe-gateway';
import { stripeEventVerifier } from './payments/stripe-webhooks';
import { cardEventHandlers } from './settlement/cards';
import type { CardGateway, GatewayEvent, GatewayEventHandler, PaymentGateway } from './settlement/ports';
import { paymentIntentHandlers, type PaymentIntentObject } from './settlement/settle-payment';

/** The gateway PAYMENT_GATEWAY names; loadConfig has checked that the roles have what they need. */
export function paymentGateway(config: Config): (PaymentGateway & CardGateway) | undefined {
  const { gateway, stripeApiKey, stripeApiKeyFile, stripeApiBase } = config.payments;
  if (gateway === 'simulated') return new SimulatedGateway();
  if (gateway !== 'stripe') return undefined;
  let apiKey = stripeApiKey;
  if (!apiKey) {
    try {
      apiKey = readFileSync(stripeApiKeyFile!, 'utf8').trim();
    } catch (error) {
      throw new Error(`STRIPE_API_KEY_FILE ${stripeApiKeyFile}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    if (!apiKey) throw new Error(`STRIPE_API_KEY_FILE ${stripeApiKeyFile} is empty`);
    const problem = stripeKeyProblem(apiKey);
    if (problem) throw new Error(`STRIPE_API_KEY_FILE ${stripeApiKeyFile}: the key ${problem}`);
  }
  return new StripeGateway({ apiKey, apiBase: stripeApiBase });
}

/** The gateway's card operations, when it has them (a charging-only test double has none). */
export function cardGatewayOf(gateway: PaymentGateway | undefined): CardGateway | undefined {
  return gateway && 'ensureCustomer' in gateway ? (gateway as PaymentGateway & CardGateway) : undefined;
}

/**
 * What each webhook event type does (the dispatch table of POST /webhooks/stripe). Every other
 * type is answered 200 and ignored.
 */
export function gatewayEventHandlers(
  ledger: Ledger,
  cards: CardGateway,
): Record<string, GatewayEventHandler> {
  return {
    // A card saved through the hosted page: setup_intent.succeeded, checkout.session.completed.
    ...cardEventHandlers(ledger.cards, cards),
    // A payment the gateway settled: payment_intent.succeeded, payment_intent.payment_failed
    // settle the purchase or recharge once, as the reconciler would.
    ...paymentEventHandlers(paymentLedgerOf(ledger)),
  };
}

/** The PaymentIntent handlers as dispatch entries: the event's object is the PaymentIntent. */
function paymentEventHandlers(
  ledger: ReturnType<typeof paymentLedgerOf>,
): Record<string, GatewayEventHandler> {
  const handlers = paymentIntentHandlers(ledger);
  return Object.fromEntries(
    Object.entries(handlers).map(([type, handle]) => [
      type,
      async (event: GatewayEvent) => {
        const settled = await handle(event.object as unknown as PaymentIntentObject);
        return `${settled.outcome}${'detail' in settled && settled.detail ? `: ${settled.detail}` : ''}`;
      },
    ]),
  );
}

/** Serves POST /webhooks/stripe when STRIPE_WEBHOOK_SECRET is set (and only then). */
export function serveGatewayWebhooks<L extends FastifyBaseLogger>(
  http: FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, L>,
  config: Config,
  ledger: Ledger,
  cards: CardGateway | undefined,
  logger: Logger,
): void {
  const secret = config.payments.stripeWebhookSecret;
  if (!secret || !cards) {
    if (config.payments.gateway === 'stripe')
      logger.info('STRIPE_WEBHOOK_SECRET is not set: POST /webhooks/stripe is not served');
    return;
  }
  gatewayWebhookRoute(http, {
    source: 'stripe',
    verify: stripeEventVerifier(secret),
    signatureHeader: 'stripe-signature',
    handlers: gatewayEventHandlers(ledger, cards),
    events: ledger.webhookEvents,
  });
}
