import { TENANT_ID_PATTERN } from '../credits/tenant';

/**
 * The JSON schemas every resource of the admin API shares. Fastify validates requests with
 * them (and, through the type provider, types the handlers' requests from them), serializes
 * responses with them, and @fastify/swagger turns them into openapi/admin-api.yaml. Every
 * status a route can answer is listed, so the document is the whole contract (the fuzz test,
 * test/integration/admin-api-fuzz.test.ts, holds the service to it). A resource's own
 * schemas live beside its routes (routes/*.schemas.ts).
 */

export const tenantId = { type: 'string', pattern: TENANT_ID_PATTERN.source } as const;

/**
 * An amount in a request: at most a billion, so that every amount, in minor units of any
 * currency (up to 4 decimals), stays an exact integer in the ledger's Lua numbers (2^53).
 */
export const amount = {
  type: 'string',
  pattern: '^\\d{1,9}(\\.\\d{1,4})?$',
  description: 'decimal string, no sign, at most 999999999.9999; no more decimals than the currency has',
} as const;

export const currency = {
  type: 'string',
  pattern: '^[A-Z]{3}$',
  description: 'ISO 4217 code',
} as const;

export const country = { type: 'string', pattern: '^[A-Z]{2}$' } as const;
export const capability = { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' } as const;
export const dateTime = { type: 'string', format: 'date-time' } as const;
export const month = {
  type: 'string',
  pattern: '^\\d{4}-(0[1-9]|1[0-2])$',
  description: 'yyyy-mm (UTC)',
} as const;
export const count = { type: 'integer', minimum: 0 } as const;

export const tenantParams = { type: 'object', required: ['tenantId'], properties: { tenantId } } as const;

/** An amount in a response: a decimal string (negative for a balance in debt) and its currency. */
const MONEY = {
  $id: 'Money',
  type: 'object',
  additionalProperties: false,
  required: ['amount', 'currency'],
  properties: { amount: { type: 'string', pattern: '^-?\\d+(\\.\\d+)?$' }, currency },
} as const;
export const money = { $ref: 'Money#' } as const;

/** Every refusal has this shape, the service's own and the framework's (which adds its code). */
const ERROR = {
  $id: 'Error',
  type: 'object',
  additionalProperties: false,
  required: ['error', 'message'],
  properties: {
    error: {
      type: 'string',
      description: 'what went wrong, as a code (bad_request, no_account, forbidden, ...)',
    },
    message: { type: 'string', description: 'what is wrong; for a 400, it names the field' },
    statusCode: { type: 'integer' },
    code: { type: 'string' },
  },
} as const;

/** Schemas the others refer to by id; they become the document's components. */
export const SHARED_SCHEMAS = [MONEY, ERROR];

/** A tenant and what became of it (created, updated). */
export const tenantStatus = (statuses: string[]) =>
  ({
    type: 'object',
    additionalProperties: false,
    required: ['tenantId', 'status'],
    properties: { tenantId, status: { enum: statuses } },
  }) as const;

const ERROR_DESCRIPTIONS = {
  400: 'the request is invalid: the message names the field',
  401: 'no valid bearer token',
  403: "another tenant's credentials, or a tenant's for an operator's action",
  404: 'no account for this tenant, or no call session under this usage id (session_unknown)',
  402: "the payment failed: the gateway's decline code and message; nothing was created",
  409: "refused by the ledger: another currency or billing mode than the tenant's, a change of them while money is held or owed, a setting the stored settings do not allow (settings_conflict), a total past the ledger's limit (balance_limit), or a reference (purchase or adjustment id) reused with another amount or currency (payment_ref_conflict); for a call session, a request its state does not allow, named in `error` (usage_id_reused, session_ended, session_expired, session_settled, used_seconds_decreased)",
  412: 'If-Match names a settings version that is no longer the stored one (version_mismatch)',
  413: 'the body is over 64 KiB',
  415: 'the body is not JSON',
  503: 'no payment gateway answered (the purchase stays pending: retry the same request), or purchases are disabled; for a re-rating, this instance has no rate decks',
} as const;
type ErrorStatus = keyof typeof ERROR_DESCRIPTIONS;

const errorReply = (status: ErrorStatus) => ({
  description: ERROR_DESCRIPTIONS[status],
  content: { 'application/json': { schema: { $ref: 'Error#' } } },
});

/** A route's responses: its successes and the refusals it can answer with. */
export const replies = (successes: Record<number, object>, errors: ErrorStatus[]) => ({
  ...successes,
  ...Object.fromEntries(errors.map((status) => [status, errorReply(status)])),
});

/** Refusals of any route with a JSON body: a bad one, a missing token, the framework's. */
export const BODY_ERRORS: ErrorStatus[] = [400, 401, 413, 415];
