import type { FastifyBaseLogger, FastifyInstance, RawServerDefault } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GatewayEvent, GatewayEventHandler, GatewayEventLog } from '../settlement/ports';

/**
 * A handled event id is remembered this long: longer than the signature tolerance, and than
 * the 3 days Stripe sends an event again (each retry is signed anew, with the same event id).
 */
export const WEBHOOK_REPLAY_TTL_MS = 7 * 24 * 3600 * 1000;
/** Stripe's events are a few kB; a body past this is not one of them. */
const WEBHOOK_BODY_LIMIT = 256 * 1024;

export interface GatewayWebhookOptions {
  /** The path's name and the replay records' namespace: `stripe` serves POST /webhooks/stripe. */
  source: string;
  /** Checks the signature over the exact bytes received: the event, or why it was refused. */
  verify: (rawBody: Buffer, signature: string | undefined) => GatewayEvent | { invalid: string };
  /** The signature's header (`stripe-signature`). */
  signatureHeader: string;
  /** What each event type does; any other type is answered 200 and ignored. */
  handlers: Record<string, GatewayEventHandler>;
  events: GatewayEventLog;
  replayTtlMs?: number;
}

/**
 * The payment gateway's webhook: `POST /webhooks/<source>`, without a bearer token (the
 * signature is the credential), with a parser of its own that keeps the raw bytes, since the
 * signature is over them. An unsigned, forged or stale event is a 400 and changes nothing; an
 * event id handled before is answered 200 and changes nothing; a handler that fails gives the
 * event back (500), so the gateway sends it again.
 */
export function gatewayWebhookRoute<L extends FastifyBaseLogger>(
  server: FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, L>,
  options: GatewayWebhookOptions,
): void {
  const ttl = options.replayTtlMs ?? WEBHOOK_REPLAY_TTL_MS;
  void server.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: WEBHOOK_BODY_LIMIT },
      (_request, body, done) => done(null, body),
    );
    scope.post(`/webhooks/${options.source}`, { schema: { hide: true } }, async (request, reply) => {
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const header = request.headers[options.signatureHeader];
      const event = options.verify(raw, typeof header === 'string' ? header : undefined);
      if ('invalid' in event) {
        request.log.warn({ webhook: options.source, reason: event.invalid }, 'webhook event refused');
        return reply.code(400).send({
          error: 'invalid_signature',
          message: `headers/${options.signatureHeader}: ${event.invalid}`,
        });
      }
      const log = { webhook: options.source, eventId: event.id, eventType: event.type };
      const claim = await options.events.claim(options.source, event.id, ttl);
      if (!claim) {
        request.log.info(log, 'webhook event handled before: ignored');
        return reply.send({ received: true, duplicate: true });
      }
      const handler = Object.hasOwn(options.handlers, event.type) ? options.handlers[event.type] : undefined;
      if (!handler) {
        request.log.debug(log, 'webhook event type not handled: ignored');
        return reply.send({ received: true, handled: false });
      }
      try {
        const outcome = await handler(event);
        request.log.info({ ...log, outcome: outcome ?? 'handled' }, 'webhook event handled');
        return reply.send({ received: true, handled: true });
      } catch (error) {
        await options.events.release(options.source, event.id, claim);
        request.log.error({ ...log, err: error }, 'webhook event failed: the gateway sends it again');
        return reply
          .code(500)
          .send({ error: 'not_handled', message: 'the event could not be handled now; send it again later' });
      }
    });
  });
}
