import { TENANT_ID_PATTERN } from '../credits/tenant';
import { CALL_TYPES } from '../rating';

/**
 * JSON schemas of the admin API: fastify validates requests with them and serializes
 * responses with them, and @fastify/swagger turns them into openapi/admin-api.yaml. Every
 * status a route can answer is listed, so the document is the whole contract (the fuzz test,
 * test/integration/admin-api-fuzz.test.ts, holds the service to it).
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

const e164 = { type: 'string', pattern: '^\\+[1-9]\\d{1,14}$' } as const;
const country = { type: 'string', pattern: '^[A-Z]{2}$' } as const;
const capability = { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' } as const;
const dateTime = { type: 'string', format: 'date-time' } as const;
const month = { type: 'string', pattern: '^\\d{4}-(0[1-9]|1[0-2])$', description: 'yyyy-mm (UTC)' } as const;
const count = { type: 'integer', minimum: 0 } as const;

export const autoRechargeBody = {
  type: 'object',
  additionalProperties: false,
  required: ['enabled'],
  properties: {
    enabled: { type: 'boolean' },
    triggerAmount: amount,
    rechargeAmount: amount,
    monthlyCap: { type: 'integer', minimum: 0, maximum: 100 },
    maxConsecutiveFailures: { type: 'integer', minimum: 0, maximum: 100 },
  },
} as const;

/**
 * The settings version a client read (the ETag of GET .../balance or of a settings update): the
 * update is made only if the settings are still at that version (412 otherwise). Optional.
 */
export const ifMatchHeaders = {
  type: 'object',
  properties: {
    'if-match': {
      type: 'string',
      pattern: '^"\\d{1,15}"$',
      description: 'the settings version read, as its ETag ("<n>")',
    },
  },
} as const;

/** The settings version after the request, to send back in If-Match. */
const etagHeader = {
  etag: { type: 'string', description: 'the settings version ("<n>"), for If-Match' },
} as const;

export const tenantParams = { type: 'object', required: ['tenantId'], properties: { tenantId } } as const;

export const tenantBody = {
  type: 'object',
  additionalProperties: false,
  required: ['billingMode', 'currency'],
  properties: {
    billingMode: { enum: ['prepaid', 'postpaid'] },
    currency,
    lowBalanceThreshold: amount,
    autoRecharge: autoRechargeBody,
    paymentMethodRef: { type: 'string', maxLength: 128 },
    adminContacts: {
      type: 'array',
      maxItems: 20,
      items: { type: 'string', format: 'email', maxLength: 254 },
    },
    licences: {
      type: 'array',
      maxItems: 500,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['capability', 'country', 'users'],
        properties: { capability, country, users: { type: 'integer', minimum: 0, maximum: 1_000_000 } },
      },
    },
  },
} as const;

export const paymentMethodBody = {
  type: 'object',
  additionalProperties: false,
  required: ['paymentMethodRef'],
  properties: { paymentMethodRef: { type: 'string', minLength: 1, maxLength: 128 } },
} as const;

const paymentRef = { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,128}$' } as const;

export const purchaseBody = {
  type: 'object',
  additionalProperties: false,
  required: ['purchaseId', 'amount', 'currency'],
  properties: {
    purchaseId: {
      ...paymentRef,
      description:
        "the purchase's idempotency key, chosen by the caller: the same id is charged and credited once, ever",
    },
    amount,
    currency: { ...currency, description: "ISO 4217 code: the tenant's currency" },
  },
} as const;

export const adjustmentBody = {
  type: 'object',
  additionalProperties: false,
  required: ['adjustmentId', 'amount', 'currency', 'reason', 'madeBy'],
  properties: {
    adjustmentId: { ...paymentRef, description: 'idempotency key: the same id credits once, ever' },
    amount,
    currency,
    reason: { type: 'string', minLength: 1, maxLength: 500, description: 'why the balance is adjusted' },
    madeBy: { type: 'string', minLength: 1, maxLength: 128, description: 'who made the adjustment' },
    kind: {
      enum: ['credit', 'migration'],
      description: 'credit (default): goodwill or a correction; migration: funds moved from another system',
    },
    purchasedAt: {
      ...dateTime,
      description:
        'migrations only: when the funds were bought in the old system (they expire 12 months later); default now',
    },
  },
} as const;

export const usageQuery = {
  type: 'object',
  additionalProperties: false,
  required: ['from', 'to'],
  properties: {
    from: dateTime,
    to: dateTime,
    limit: { type: 'string', pattern: '^(?:[1-9]\\d{0,2}|1000)$' },
    cursor: { type: 'string', pattern: '^\\d{1,9}$' },
  },
} as const;

export const statementQuery = {
  type: 'object',
  additionalProperties: false,
  required: ['period'],
  properties: { period: month },
} as const;

export const authorizeBody = {
  type: 'object',
  additionalProperties: true,
  required: ['tenantId', 'callType'],
  properties: {
    tenantId,
    callType: { enum: [...CALL_TYPES] },
    calleeNumber: e164,
    callerNumber: e164,
    numberType: { enum: ['subscriber', 'service', 'tollFree'] },
    licenseCapability: capability,
    usageCountryCode: country,
    tenantCountryCode: country,
    destinationContext: { enum: ['Domestic', 'International'], description: 'derived when absent' },
    startDateTime: dateTime,
  },
} as const;

/** An amount in a response: a decimal string (negative for a balance in debt) and its currency. */
const MONEY = {
  $id: 'Money',
  type: 'object',
  additionalProperties: false,
  required: ['amount', 'currency'],
  properties: { amount: { type: 'string', pattern: '^-?\\d+(\\.\\d+)?$' }, currency },
} as const;
const money = { $ref: 'Money#' } as const;

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

const usageTotals = {
  type: 'object',
  description: 'by where the money came from: bundle, credits, postpaid, free',
  additionalProperties: {
    type: 'object',
    additionalProperties: false,
    required: ['count', 'charge', 'poolSeconds'],
    properties: { count, charge: money, poolSeconds: count },
  },
} as const;

const tenantStatus = (statuses: string[]) =>
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
  404: 'no account for this tenant',
  402: "the payment failed: the gateway's decline code and message; nothing was created",
  409: "refused by the ledger: another currency or billing mode than the tenant's, a change of them while money is held or owed, a setting the stored settings do not allow (settings_conflict), a total past the ledger's limit (balance_limit), or a reference (purchase or adjustment id) reused with another amount or currency (payment_ref_conflict)",
  412: 'If-Match names a settings version that is no longer the stored one (version_mismatch)',
  413: 'the body is over 64 KiB',
  415: 'the body is not JSON',
  503: 'no payment gateway answered (the purchase stays pending: retry the same request), or purchases are disabled',
} as const;
type ErrorStatus = keyof typeof ERROR_DESCRIPTIONS;

const errorReply = (status: ErrorStatus) => ({
  description: ERROR_DESCRIPTIONS[status],
  content: { 'application/json': { schema: { $ref: 'Error#' } } },
});

/** A route's responses: its successes and the refusals it can answer with. */
const replies = (successes: Record<number, object>, errors: ErrorStatus[]) => ({
  ...successes,
  ...Object.fromEntries(errors.map((status) => [status, errorReply(status)])),
});

/** Refusals of any route with a JSON body: a bad one, a missing token, the framework's. */
const BODY_ERRORS: ErrorStatus[] = [400, 401, 413, 415];

export const upsertTenantResponses = replies(
  {
    200: { description: 'updated', ...tenantStatus(['updated']), headers: etagHeader },
    201: { description: 'created', ...tenantStatus(['created']), headers: etagHeader },
  },
  [...BODY_ERRORS, 403, 409, 412],
);

export const settingsResponses = replies(
  { 200: { description: 'updated', ...tenantStatus(['updated']), headers: etagHeader } },
  [...BODY_ERRORS, 403, 404, 409, 412],
);

export const apiKeyResponses = replies(
  {
    201: {
      description: 'a new API key for the tenant: shown once, only its SHA-256 is kept',
      type: 'object',
      additionalProperties: false,
      required: ['tenantId', 'keyId', 'apiKey'],
      properties: { tenantId, keyId: { type: 'string' }, apiKey: { type: 'string' } },
    },
  },
  [400, 401, 403, 404],
);

const purchaseResult = (description: string) => ({
  description,
  type: 'object',
  additionalProperties: false,
  required: ['purchaseId', 'status', 'duplicate', 'lotId', 'amount', 'gatewayRef', 'balance'],
  properties: {
    purchaseId: { type: 'string' },
    status: { enum: ['succeeded'] },
    duplicate: { type: 'boolean' },
    lotId: { type: 'string' },
    amount: money,
    gatewayRef: { type: 'string', description: "the gateway's payment (a Stripe PaymentIntent id)" },
    balance: { ...money, description: 'the balance right after this purchase was credited' },
  },
});

export const purchaseResponses = replies(
  {
    200: purchaseResult('this purchase id was paid and credited before: the same lot, nothing charged again'),
    201: purchaseResult('paid and credited as a new lot'),
    402: {
      description:
        'the payment failed (now, or on an earlier attempt of this purchase id): nothing was created',
      type: 'object',
      additionalProperties: false,
      required: ['error', 'message', 'purchaseId', 'declineCode'],
      properties: {
        error: { enum: ['payment_failed'] },
        message: { type: 'string', description: "the gateway's message" },
        purchaseId: { type: 'string' },
        declineCode: {
          type: 'string',
          description:
            "the gateway's decline code: insufficient_funds, expired_card, authentication_required, ...",
        },
      },
    },
  },
  [...BODY_ERRORS, 403, 404, 409, 503],
);

const adjustmentAdded = (description: string) => ({
  description,
  type: 'object',
  additionalProperties: false,
  required: ['adjustmentId', 'lotId', 'duplicate', 'balance'],
  properties: {
    adjustmentId: { type: 'string' },
    lotId: { type: 'string' },
    duplicate: { type: 'boolean' },
    balance: money,
  },
});

export const adjustmentResponses = replies(
  {
    200: adjustmentAdded('this adjustment id was credited before: the same lot, nothing added again'),
    201: adjustmentAdded('credited as a new lot'),
  },
  [...BODY_ERRORS, 403, 404, 409],
);

export const balanceResponses = replies(
  {
    200: {
      description: "the tenant's balance, lots, auto-recharge state, pool use and amounts owed",
      headers: etagHeader,
      type: 'object',
      additionalProperties: false,
      required: [
        'tenantId',
        'billingMode',
        'balance',
        'blocked',
        'lowBalanceThreshold',
        'autoRecharge',
        'lots',
        'pools',
        'owed',
      ],
      properties: {
        tenantId,
        billingMode: { enum: ['prepaid', 'postpaid'] },
        balance: money,
        blocked: { type: 'boolean' },
        lowBalanceThreshold: money,
        autoRecharge: {
          type: 'object',
          additionalProperties: false,
          required: [
            'enabled',
            'triggerAmount',
            'rechargeAmount',
            'monthlyCap',
            'pendingRequestId',
            'consecutiveFailures',
          ],
          properties: {
            enabled: { type: 'boolean' },
            triggerAmount: money,
            rechargeAmount: money,
            monthlyCap: count,
            pendingRequestId: { type: ['string', 'null'] },
            consecutiveFailures: count,
          },
        },
        lots: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: [
              'lotId',
              'source',
              'amount',
              'remaining',
              'forfeited',
              'purchasedAt',
              'expiresAt',
              'status',
            ],
            properties: {
              lotId: { type: 'string' },
              source: { enum: ['manual', 'purchase', 'recharge', 'refund'] },
              amount: money,
              remaining: money,
              forfeited: money,
              purchasedAt: dateTime,
              expiresAt: dateTime,
              status: { enum: ['active', 'expired', 'spent'] },
            },
          },
        },
        pools: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['pool', 'month', 'usedSeconds'],
            properties: { pool: { type: 'string' }, month, usedSeconds: count },
          },
        },
        owed: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['period', 'amount'],
            properties: { period: month, amount: money },
          },
        },
      },
    },
  },
  [400, 401, 403, 404],
);

export const usageResponses = replies(
  {
    200: {
      description: 'applied usage in the range, oldest first, and the totals of the periods it spans',
      type: 'object',
      additionalProperties: false,
      required: ['items', 'nextCursor', 'totalsByPeriod'],
      properties: {
        items: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['usageId', 'appliedAt', 'period', 'source', 'charge', 'poolSeconds', 'revision'],
            properties: {
              usageId: { type: 'string' },
              appliedAt: dateTime,
              period: month,
              source: { enum: ['credits', 'postpaid', 'bundle', 'free'] },
              charge: money,
              poolSeconds: count,
              revision: { type: ['string', 'null'] },
            },
          },
        },
        nextCursor: {
          type: ['string', 'null'],
          description: 'the cursor of the next page; null on the last',
        },
        totalsByPeriod: { type: 'object', additionalProperties: usageTotals },
      },
    },
  },
  [400, 401, 403, 404],
);

export const statementResponses = replies(
  {
    200: {
      description: "a period's usage totals, and the amount owed for a postpaid tenant",
      type: 'object',
      additionalProperties: false,
      required: ['tenantId', 'period', 'billingMode', 'usage', 'amountOwed'],
      properties: {
        tenantId,
        period: month,
        billingMode: { enum: ['prepaid', 'postpaid'] },
        usage: usageTotals,
        amountOwed: { anyOf: [money, { type: 'null' }], description: 'null for a prepaid tenant' },
      },
    },
  },
  [400, 401, 403, 404],
);

export const authorizeResponses = replies(
  {
    200: {
      description: 'whether the call may start, why, and for how many seconds at most',
      type: 'object',
      additionalProperties: false,
      required: ['allowed', 'reason', 'maxSeconds'],
      properties: {
        allowed: { type: 'boolean' },
        reason: {
          enum: [
            'emergency',
            'free',
            'postpaid',
            'covered',
            'unknown_tenant',
            'unrated_destination',
            'balance_depleted',
          ],
        },
        maxSeconds: {
          type: ['integer', 'null'],
          minimum: 0,
          description: 'null when money does not limit the call',
        },
        balance: money,
      },
    },
  },
  [...BODY_ERRORS, 403],
);
