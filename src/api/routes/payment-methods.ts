import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import type { CardOutcome } from '../../settlement/cards';
import { completeCardSetup, setPaymentMethod, startCardSetup } from '../../settlement/cards';
import type { CardGateway, LedgerRefusal } from '../../settlement/ports';
import { isRetriable } from '../../settlement/retry';
import type { AdminApp, ResourceOptions } from '../admin-app';
import { noAccount, settingsRefused } from '../refusals';
import { tenantParams } from '../schemas';
import { etag, ifMatch, ifMatchHeaders } from '../settings-version';
import {
  cardSetupBody,
  cardSetupParams,
  cardSetupResponses,
  completeSetupResponses,
  paymentMethodBody,
  paymentMethodResponses,
} from './payment-methods.schemas';

/** Where the hosted page sends the admin back by default: the console, which completes the setup. */
export const consoleSetupUrls = (base: string, tenantId: string) => {
  const page = `${base}/console/t/${encodeURIComponent(tenantId)}`;
  return {
    successUrl: `${page}/payment-method/setup/return?session_id={CHECKOUT_SESSION_ID}`,
    cancelUrl: `${page}/auto-recharge?setup=cancelled`,
  };
};

/** The address browsers reach the service at: PUBLIC_URL, or the request's own. */
export const publicBase = (request: FastifyRequest, publicUrl: string | undefined) =>
  (publicUrl ?? `${request.protocol}://${request.host}`).replace(/\/+$/, '');

/**
 * A card refusal as the API answers it, `field` naming what was refused: 404 without an
 * account; 409 for a postpaid tenant or a setup that is another tenant's or not finished;
 * 422 for a payment method that is not the tenant's own; 400 for a reference of no payment
 * method; the ledger's refusals as every settings change answers them.
 */
export function cardRefused(
  reply: FastifyReply,
  tenantId: string,
  outcome: Exclude<CardOutcome, { recorded: true }> | LedgerRefusal,
  field: string,
) {
  if ('refused' in outcome)
    return settingsRefused(reply, outcome as Parameters<typeof settingsRefused>[1], {
      paymentCustomer: field,
    });
  const send = (status: number, error: string, message: string) =>
    reply.code(status).send({ error, message: `${field}: ${message}` });
  switch (outcome.problem) {
    case 'no_account':
      return noAccount(reply, tenantId);
    case 'postpaid':
      return send(409, 'postpaid', 'postpaid tenants pay after use: they have no payment method');
    case 'invalid_ref':
      return send(
        400,
        'bad_request',
        'is not a payment method of the payment gateway (pm_... or cus_.../pm_...)',
      );
    case 'unknown_payment_method':
      return send(422, 'unknown_payment_method', 'the payment gateway has no such payment method');
    case 'not_owned':
      return send(
        422,
        'not_tenant_payment_method',
        "the payment method is not attached to the tenant's customer",
      );
    case 'no_setup':
      return send(404, 'no_setup', 'the payment gateway has no such card setup');
    case 'setup_not_owned':
      return send(409, 'setup_not_owned', "the card setup was not made for this tenant's customer");
    case 'setup_not_succeeded':
      return send(
        409,
        'setup_not_succeeded',
        outcome.status === 'open'
          ? 'the card setup is not finished: nothing was recorded'
          : 'the card setup was declined, abandoned or expired: nothing was recorded',
      );
  }
}

/** There is no payment gateway to check cards with: 503, nothing changed. */
export const noGateway = (reply: FastifyReply) =>
  reply.code(503).send({
    error: 'no_payment_gateway',
    message: 'this service has no payment gateway to check cards with (PAYMENT_GATEWAY=none)',
  });

/** The gateway (or the ledger) did not answer: 503, nothing changed; anything else is thrown. */
export function gatewayUnavailable(reply: FastifyReply, error: unknown) {
  if (!isRetriable(error)) throw error;
  reply.log.warn({ err: error }, 'payment gateway did not answer');
  return reply.code(503).send({
    error: 'gateway_unavailable',
    message: 'the payment gateway (or the ledger) did not answer; nothing was changed: try again',
  });
}

/** Runs `work` with the card gateway: 503 when there is none or it did not answer. */
async function withGateway(
  reply: FastifyReply,
  cards: CardGateway | undefined,
  work: (cards: CardGateway) => Promise<unknown>,
) {
  if (!cards) return noGateway(reply);
  try {
    return await work(cards);
  } catch (error) {
    return gatewayUnavailable(reply, error);
  }
}

/**
 * A tenant's card (docs/payments.md, "Cards"): recorded only when the payment gateway says its payment
 * method is attached to the tenant's own customer, whoever names it. The tenant's admin adds
 * one through the gateway's hosted page (setup, then complete, or the gateway's webhook).
 */
export function paymentMethodRoutes<L extends FastifyBaseLogger>(
  app: AdminApp<L>,
  { ledger, guards, cards, publicUrl }: ResourceOptions,
): void {
  /** The card recorded: `updated` for the PUT (as every settings change), else recorded or unchanged. */
  const cardReply = (
    reply: FastifyReply,
    tenantId: string,
    outcome: CardOutcome,
    field: string,
    updated = false,
  ) => {
    if (!('recorded' in outcome)) return cardRefused(reply, tenantId, outcome, field);
    if (outcome.version !== undefined) void reply.header('etag', etag(outcome.version));
    return reply.send({
      tenantId,
      status: updated ? 'updated' : outcome.unchanged ? 'unchanged' : 'recorded',
      paymentMethodRef: outcome.ref,
      card: outcome.label,
    });
  };

  app.put(
    '/v1/tenants/:tenantId/payment-method',
    {
      ...guards.forTenant,
      schema: {
        operationId: 'updatePaymentMethod',
        tags: ['tenants'],
        params: tenantParams,
        headers: ifMatchHeaders,
        body: paymentMethodBody,
        response: paymentMethodResponses,
      },
    },
    async (request, reply) =>
      withGateway(reply, cards, async (gateway) => {
        const tenantId = request.params.tenantId;
        const outcome = await setPaymentMethod(
          ledger.cards,
          gateway,
          tenantId,
          request.body.paymentMethodRef,
          ifMatch(request.headers['if-match']),
        );
        return cardReply(reply, tenantId, outcome, 'body/paymentMethodRef', true);
      }),
  );

  app.post(
    '/v1/tenants/:tenantId/payment-method/setup',
    {
      ...guards.forTenant,
      schema: {
        operationId: 'startCardSetup',
        tags: ['tenants'],
        params: tenantParams,
        body: cardSetupBody,
        response: cardSetupResponses,
      },
    },
    async (request, reply) =>
      withGateway(reply, cards, async (gateway) => {
        const tenantId = request.params.tenantId;
        const defaults = consoleSetupUrls(publicBase(request, publicUrl), tenantId);
        const started = await startCardSetup(ledger.cards, gateway, tenantId, {
          successUrl: request.body?.successUrl ?? defaults.successUrl,
          cancelUrl: request.body?.cancelUrl ?? defaults.cancelUrl,
        });
        if ('problem' in started || 'refused' in started)
          return cardRefused(reply, tenantId, started, 'params/tenantId');
        return reply.code(201).send({ tenantId, ...started });
      }),
  );

  app.post(
    '/v1/tenants/:tenantId/payment-method/setup/:sessionId/complete',
    {
      ...guards.forTenant,
      schema: {
        operationId: 'completeCardSetup',
        tags: ['tenants'],
        params: cardSetupParams,
        response: completeSetupResponses,
      },
    },
    async (request, reply) =>
      withGateway(reply, cards, async (gateway) => {
        const { tenantId, sessionId } = request.params;
        const outcome = await completeCardSetup(ledger.cards, gateway, tenantId, sessionId);
        return cardReply(reply, tenantId, outcome, 'params/sessionId');
      }),
  );
}
