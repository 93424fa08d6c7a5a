import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

/**
 * How the admin API answers an error no route answered itself. A refusal the framework
 * raised (a 4xx: a schema's 400 naming the field, a body too large, not JSON) keeps the
 * framework's body. Anything else is a 500 that says nothing of its cause (no Redis or Lua
 * error text reaches a client): an error id, logged with the details.
 */
export async function answerError(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  const status = error.statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    request.log.info({ code: error.code, status }, 'request refused');
    return reply.code(status).send({
      statusCode: status,
      ...(error.code ? { code: error.code } : {}),
      error: STATUS_CODES[status] ?? 'Error',
      message: error.message,
    });
  }
  const errorId = randomUUID();
  request.log.error({ err: error, errorId }, 'request failed');
  return reply.code(500).send({
    error: 'internal_error',
    message: `the request failed; nothing more is told here (error id ${errorId})`,
    errorId,
  });
}
