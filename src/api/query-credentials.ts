import type { FastifyBaseLogger, FastifyInstance, RawServerDefault } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CREDENTIAL_PARAMETER, redactUrl } from '../shared/redact';

/**
 * Credentials belong in the `Authorization` header: a token in the query string is written
 * to access logs, proxies and browser histories. Every route refuses one with a 400 naming
 * the parameter, before anything else of the request is looked at, even when the token is
 * valid. The 404 of an unknown route names the URL redacted (fastify's own would log it).
 */
export function refuseQueryCredentials<L extends FastifyBaseLogger>(
  app: FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, L>,
): void {
  app.addHook('onRequest', async (request, reply) => {
    const at = request.url.indexOf('?');
    if (at < 0) return;
    const names = [...new URLSearchParams(request.url.slice(at + 1)).keys()];
    const found = names.find((name) => CREDENTIAL_PARAMETER.test(name.trim()));
    if (found === undefined) return;
    return reply.code(400).send({
      error: 'bad_request',
      message: `query parameter ${found}: credentials are refused in the URL; send Authorization: Bearer <token>`,
    });
  });
  app.setNotFoundHandler(async (request, reply) =>
    reply.code(404).send({
      error: 'Not Found',
      message: `Route ${request.method}:${redactUrl(request.url)} not found`,
      statusCode: 404,
    }),
  );
}
