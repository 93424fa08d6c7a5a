import { MAX_USER_KEY_LENGTH } from '../../credits/user-limits';
import { amount, BODY_ERRORS, currency, money, month, replies, tenantId } from '../schemas';

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
  },
} as const;

const nullableMoney = { anyOf: [money, { type: 'null' }] } as const;

const userLimitsView = {
  description:
    "the default, and every user with a limit of their own or a credit-paid spend this month (UTC), with the limit that applies and what they spent of the tenant's credits",
  type: 'object',
  additionalProperties: false,
  required: ['tenantId', 'month', 'currency', 'default', 'users'],
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
  },
} as const;

export const getUserLimitsResponses = replies({ 200: userLimitsView }, [400, 401, 403, 404]);

export const putUserLimitsResponses = replies({ 200: userLimitsView }, [...BODY_ERRORS, 403, 404, 409]);
