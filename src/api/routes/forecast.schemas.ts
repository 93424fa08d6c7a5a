import { dateTime, money, replies, tenantId } from '../schemas';

/** The runway forecast (routes/forecast.ts; the method is src/credits/forecast.ts's). */

const nullableTime = { anyOf: [dateTime, { type: 'null' }] } as const;
const nullableMoney = { anyOf: [money, { type: 'null' }] } as const;

export const forecastResponses = replies(
  {
    200: {
      description:
        "the burn rate (the mean daily spend of the last 14 full UTC days, rounded up) and, for a prepaid tenant, when the balance is projected to reach zero and when auto-recharge is expected to trigger instead; a postpaid tenant's amount owed by the month's end",
      type: 'object',
      additionalProperties: false,
      required: [
        'tenantId',
        'billingMode',
        'asOf',
        'balance',
        'burnRate',
        'basis',
        'depletesAt',
        'rechargeExpectedAt',
        'runwayDays',
        'autoRecharge',
        'projectedRecharges',
        'projectedForfeits',
        'beyondHorizon',
        'projectedUntil',
        'owedAtMonthEnd',
        'method',
      ],
      properties: {
        tenantId,
        billingMode: { enum: ['prepaid', 'postpaid'] },
        asOf: dateTime,
        balance: money,
        burnRate: { ...money, description: 'money spent a day, rounded up' },
        basis: {
          type: 'object',
          additionalProperties: false,
          required: ['kind'],
          properties: {
            kind: { enum: ['mean_of_full_days', 'today_so_far', 'no_spend_history'] },
            from: { type: 'string', format: 'date' },
            to: { type: 'string', format: 'date' },
            days: { type: 'integer', minimum: 1 },
            total: money,
          },
        },
        depletesAt: {
          ...nullableTime,
          description:
            'when the projected balance reaches zero; null if not within the horizon, or while auto-recharge is counted on',
        },
        rechargeExpectedAt: {
          ...nullableTime,
          description: 'the first projected recharge, only before depletesAt',
        },
        runwayDays: { anyOf: [{ type: 'integer', minimum: 0 }, { type: 'null' }] },
        autoRecharge: { enum: ['off', 'able', 'stopped_by_failures'] },
        projectedRecharges: { type: 'integer', minimum: 0 },
        projectedForfeits: money,
        beyondHorizon: { type: 'boolean' },
        projectedUntil: dateTime,
        owedAtMonthEnd: nullableMoney,
        method: { type: 'string' },
      },
    },
  },
  [400, 401, 403, 404],
);
