import {
  MAX_BURST_CALLS,
  MAX_BURST_WINDOW_MINUTES,
  MAX_CONCURRENT_CALLS,
  MAX_USER_KEY_LENGTH,
} from '../../credits/user-limits';

const callCap = {
  anyOf: [{ type: 'integer', minimum: 1, maximum: MAX_CONCURRENT_CALLS }, { type: 'null' }],
} as const;
import { amount, BODY_ERRORS, currency, dateTime, money, month, replies, tenantId } from '../schemas';

/** Schemas of the per-user monthly spend limits (routes/user-limits.ts). */

/** Users a request may name at most. */
export const MAX_USERS_A_REQUEST = 1000;

export const userLimitsBody = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    default: {
      anyOf: [amount, { type: 'null' }],
      description: 'the limit of every user without one of their own; null: no default',
    },
    users: {
      type: 'object',
      maxProperties: MAX_USERS_A_REQUEST,
      propertyNames: { minLength: 1, maxLength: MAX_USER_KEY_LENGTH },
      additionalProperties: {
        anyOf: [amount, { const: 'none' }, { type: 'null' }],
      },
      description:
        "by user (the usage records' userId, else userPrincipalName): a limit, 'none' (no limit, whatever the default) or null (the user's own limit removed: the default applies); users not named keep theirs",
    },
    burstGuard: {
      anyOf: [
        {
          type: 'object',
          additionalProperties: false,
          required: ['windowMinutes'],
          properties: {
            windowMinutes: { type: 'integer', minimum: 1, maximum: MAX_BURST_WINDOW_MINUTES },
            maxInternationalCalls: {
              anyOf: [{ type: 'integer', minimum: 1, maximum: MAX_BURST_CALLS }, { type: 'null' }],
              description:
                'more international credit-paid calls in the window block the user; null: not checked',
            },
            maxSpend: {
              anyOf: [amount, { type: 'null' }],
              description: 'more credit-paid spend in the window blocks the user; null: not checked',
            },
          },
        },
        { type: 'null' },
      ],
      description:
        'the burst (toll-fraud) guard: a user whose credit-paid calls started in the last windowMinutes hold more international calls or more spend than allowed is blocked until an admin clears it; null, or neither threshold: off',
    },
    concurrentCalls: concurrentCallsBody(),
  },
} as const;

function concurrentCallsBody() {
  return {
    anyOf: [
      {
        type: 'object',
        additionalProperties: false,
        properties: {
          perTenant: {
            ...callCap,
            description: "the tenant's live credit-paid call sessions at most; null: no cap",
          },
          perUser: {
            ...callCap,
            description: "each user's live credit-paid call sessions at most; null: no cap",
          },
        },
      },
      { type: 'null' },
    ],
    description:
      'caps on credit-paid calls in progress (call sessions): a start past either is refused with concurrent_calls; null: no caps',
  } as const;
}

const nullableMoney = { anyOf: [money, { type: 'null' }] } as const;

const burstGuardView = {
  anyOf: [
    {
      type: 'object',
      additionalProperties: false,
      required: ['windowMinutes', 'maxInternationalCalls', 'maxSpend'],
      properties: {
        windowMinutes: { type: 'integer' },
        maxInternationalCalls: { anyOf: [{ type: 'integer' }, { type: 'null' }] },
        maxSpend: nullableMoney,
      },
    },
    { type: 'null' },
  ],
  description: 'the burst guard; null: off',
} as const;

const blockedView = {
  type: 'array',
  description: 'the users the burst guard blocked, until an admin clears them',
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['user', 'at', 'reason'],
    properties: {
      user: { type: 'string' },
      at: { ...dateTime, description: 'when the guard blocked the user' },
      reason: { enum: ['international_calls', 'spend'], description: 'the threshold passed' },
    },
  },
} as const;

const userLimitsView = {
  description:
    "the default, and every user with a limit of their own or a credit-paid spend this month (UTC), with the limit that applies and what they spent of the tenant's credits",
  type: 'object',
  additionalProperties: false,
  required: ['tenantId', 'month', 'currency', 'default', 'users', 'burstGuard', 'blocked', 'concurrentCalls'],
  properties: {
    tenantId,
    month,
    currency,
    default: nullableMoney,
    users: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['user', 'limit', 'limitFrom', 'spent', 'left', 'reached'],
        properties: {
          user: { type: 'string' },
          limit: { ...nullableMoney, description: 'the limit that applies; null: none' },
          limitFrom: { enum: ['user', 'default', 'none'] },
          spent: { ...money, description: 'credit-paid spend of calls started this month (UTC)' },
          left: {
            ...nullableMoney,
            description: 'what is left of the limit (zero at or past it); null: no limit',
          },
          reached: { type: 'boolean', description: 'credits.user.limit_reached went out this month' },
        },
      },
    },
    burstGuard: burstGuardView,
    blocked: blockedView,
    concurrentCalls: {
      anyOf: [
        {
          type: 'object',
          additionalProperties: false,
          required: ['perTenant', 'perUser'],
          properties: {
            perTenant: { anyOf: [{ type: 'integer' }, { type: 'null' }] },
            perUser: { anyOf: [{ type: 'integer' }, { type: 'null' }] },
          },
        },
        { type: 'null' },
      ],
      description: 'the caps on live credit-paid call sessions; null: none',
    },
  },
} as const;

export const getUserLimitsResponses = replies({ 200: userLimitsView }, [400, 401, 403, 404]);

export const putUserLimitsResponses = replies({ 200: userLimitsView }, [...BODY_ERRORS, 403, 404, 409]);

export const userBlockParams = {
  type: 'object',
  required: ['tenantId', 'user'],
  properties: { tenantId, user: { type: 'string', minLength: 1, maxLength: MAX_USER_KEY_LENGTH } },
} as const;

export const clearUserBlockResponses = replies(
  { 204: { type: 'null', description: "the block and the user's burst window are cleared" } },
  [400, 401, 403, 404],
);
