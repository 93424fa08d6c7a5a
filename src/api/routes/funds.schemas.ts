import { etagHeader } from '../settings-version';
import { amount, BODY_ERRORS, count, currency, dateTime, money, month, replies, tenantId } from '../schemas';

/** Schemas of a tenant's funds: purchases, adjustments, and the balance with its lots (routes/funds.ts). */

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
        'reserved',
        'available',
        'blocked',
        'lowBalanceThreshold',
        'autoRecharge',
        'lots',
        'pools',
        'owed',
        'usersAtLimit',
      ],
      properties: {
        tenantId,
        billingMode: { enum: ['prepaid', 'postpaid'] },
        balance: money,
        reserved: {
          ...money,
          description:
            "what the tenant's call sessions hold: reserved for calls in progress, held until their CDRs",
        },
        available: { ...money, description: 'the balance less what call sessions hold' },
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
            'lastFailure',
          ],
          properties: {
            enabled: { type: 'boolean' },
            triggerAmount: money,
            rechargeAmount: money,
            monthlyCap: count,
            pendingRequestId: { type: ['string', 'null'] },
            consecutiveFailures: count,
            lastFailure: {
              description: 'the last failed auto-recharge since the last that succeeded',
              anyOf: [
                {
                  type: 'object',
                  additionalProperties: false,
                  required: ['at', 'reason'],
                  properties: { at: dateTime, reason: { type: 'string' } },
                },
                { type: 'null' },
              ],
            },
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
        usersAtLimit: {
          description:
            "the users whose credit-paid spend this month (UTC) is at or past the limit that applies to them (GET user-limits has each user's figures)",
          type: 'object',
          additionalProperties: false,
          required: ['month', 'users', 'more'],
          properties: {
            month,
            users: {
              type: 'array',
              maxItems: 100,
              items: { type: 'string' },
              description: 'by name, the first 100',
            },
            more: { ...count, description: 'how many more there are' },
          },
        },
      },
    },
  },
  [400, 401, 403, 404],
);
