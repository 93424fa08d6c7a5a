import type { FastifyReply } from 'fastify';
import { minorToDecimal } from '../credits/money';
import type { Refusal } from '../credits/codes';
import { etag } from './settings-version';

/** How the admin API answers what it refuses: one `{ error, message }` body per case. */

export const badRequest = (reply: FastifyReply, message: string) =>
  reply.code(400).send({ error: 'bad_request', message });

export const noAccount = (reply: FastifyReply, tenant: string) =>
  reply.code(404).send({ error: 'no_account', message: tenant });

/**
 * Money recorded but not yet confirmed by the Redis replicas (REDIS_WAIT_REPLICAS): a failover
 * could lose it, so it is not answered as done. The request is idempotent by its id: the
 * client retries it, and the retry answers the stored outcome once the replicas have it.
 */
export const replicasLagging = (reply: FastifyReply, what: 'purchase' | 'adjustment') =>
  reply
    .code(503)
    .header('retry-after', '1')
    .send({
      error: 'redis_replicas_lagging',
      message: `the ${what} is recorded but not yet replicated; retry the same request`,
    });

/** A ledger refusal: 404 without an account, 409 for anything else. */
export const refused = (reply: FastifyReply, refusal: { refused: string; detail: string }) =>
  reply
    .code(refusal.refused === 'no_account' ? 404 : 409)
    .send({ error: refusal.refused, message: refusal.detail });

/**
 * A settings update refused by the ledger: 404 without an account, 412 when the If-Match
 * version is stale, 409 for a rule the stored settings break (named by the body's field).
 */
export const settingsRefused = (reply: FastifyReply, refusal: Refusal, fields: Record<string, string>) => {
  if (refusal.refused === 'version_mismatch')
    return reply.code(412).send({
      error: 'version_mismatch',
      message: `headers/if-match: the settings changed since; their version is now ${etag(Number(refusal.detail))}`,
    });
  if (refusal.refused === 'settings_conflict') {
    const split = refusal.detail.indexOf(': ');
    const field = refusal.detail.slice(0, split);
    return reply.code(409).send({
      error: 'settings_conflict',
      message: `${fields[field] ?? field}: ${refusal.detail.slice(split + 2)}`,
    });
  }
  return refused(reply, refusal);
};

/** A reference reused with another amount or currency: 409 naming the field and the first use. */
export const refusedPayment = (
  reply: FastifyReply,
  field: string,
  id: string,
  refusal: { refused: string; detail: string },
) => {
  if (refusal.refused !== 'payment_ref_conflict') return refused(reply, refusal);
  const first = JSON.parse(refusal.detail) as { amount: string; currency: string };
  const amount = first.currency
    ? `${minorToDecimal(first.amount, first.currency)} ${first.currency}`
    : `${first.amount} minor units`;
  return reply.code(409).send({
    error: 'payment_ref_conflict',
    message: `${field} ${id} was used before with ${amount}: a new payment needs a new id`,
  });
};
