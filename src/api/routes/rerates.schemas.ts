import { BODY_ERRORS, count, dateTime, money, replies, tenantId } from '../schemas';

/** Schemas of the operator's re-rating of a period (routes/rerates.ts). */

export const rerateBody = {
  type: 'object',
  additionalProperties: false,
  required: ['from', 'to'],
  properties: {
    from: { ...dateTime, description: 'the period starts here (inclusive): calls that started from then' },
    to: { ...dateTime, description: 'and ends here (exclusive)' },
    tenantId: { ...tenantId, description: "one tenant's usage only; absent: every tenant's" },
    dryRun: {
      type: 'boolean',
      default: false,
      description: 'price and compare only: nothing is changed, published or told',
    },
  },
} as const;

const skipped = {
  type: 'array',
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['usageId', 'reason'],
    properties: { usageId: { type: 'string' }, reason: { type: 'string' } },
  },
} as const;

export const rerateResponses = replies(
  {
    200: {
      description:
        "the run's revision and, per tenant with usage in the period, the calls whose charge changes with the decks now in force, what they were charged and what they are charged now; a real run has applied each change once (this revision), published the re-rated records and told each tenant",
      type: 'object',
      additionalProperties: false,
      required: ['revision', 'from', 'to', 'dryRun', 'complete', 'tenants'],
      properties: {
        revision: { type: 'string', description: 'derived from the period, the tenant and the decks' },
        from: dateTime,
        to: dateTime,
        dryRun: { type: 'boolean' },
        complete: { type: 'boolean', description: 'false when the run stopped part way: run it again' },
        tenants: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: [
              'tenantId',
              'examined',
              'calls',
              'oldTotal',
              'newTotal',
              'difference',
              'unpriced',
              'refused',
            ],
            properties: {
              tenantId,
              examined: { ...count, description: 'usages of the period looked at by this run' },
              calls: { ...count, description: 'calls re-rated (dry run: that would be)' },
              oldTotal: money,
              newTotal: money,
              difference: {
                ...money,
                description: 'new - old: negative is a refund, positive an extra charge',
              },
              unpriced: { ...skipped, description: 'usages the decks do not price again: left as they are' },
              refused: { ...skipped, description: 'usages the ledger refused to re-rate: left as they are' },
            },
          },
        },
      },
    },
  },
  [...BODY_ERRORS, 403, 503],
);
