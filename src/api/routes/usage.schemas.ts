import { count, dateTime, money, month, replies, tenantId } from '../schemas';

/** Schemas of a tenant's rated usage: the listing and a period's statement (routes/usage.ts). */

export const usageQuery = {
  type: 'object',
  additionalProperties: false,
  required: ['from', 'to'],
  properties: {
    from: { ...dateTime, description: 'calls that started at or after this' },
    to: { ...dateTime, description: 'calls that started before this' },
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

export const usageResponses = replies(
  {
    200: {
      description:
        'applied usage of the calls that started in the range, by start (within the idempotency retention), and the totals of the periods it spans',
      type: 'object',
      additionalProperties: false,
      required: ['items', 'nextCursor', 'totalsByPeriod'],
      properties: {
        items: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: [
              'usageId',
              'startedAt',
              'appliedAt',
              'period',
              'source',
              'charge',
              'poolSeconds',
              'revision',
              'user',
            ],
            properties: {
              usageId: { type: 'string' },
              startedAt: { ...dateTime, description: 'when the call started (to the second)' },
              appliedAt: dateTime,
              period: month,
              source: { enum: ['credits', 'postpaid', 'bundle', 'free'] },
              charge: money,
              poolSeconds: count,
              revision: { type: ['string', 'null'] },
              user: {
                type: ['string', 'null'],
                description:
                  'the user the spend limits count the call for (its userId, else userPrincipalName); null: none kept',
              },
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
