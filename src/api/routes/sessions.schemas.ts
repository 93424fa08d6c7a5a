import { SESSION_REASONS } from '../../credits/codes';
import { BODY_ERRORS, count, replies, tenantId, tenantParams } from '../schemas';
import { authorizeBody } from './authorize.schemas';

/** Schemas of the call sessions a switch opens, renews and ends (routes/sessions.ts). */

export const usageId = {
  type: 'string',
  pattern: '^[!-~]{1,128}$',
  description: "the id the call's CDR will carry (printable ASCII, no spaces, at most 128)",
} as const;

const decimal = { type: 'string', pattern: '^\\d+(\\.\\d+)?$' } as const;

export const startSessionBody = {
  ...authorizeBody,
  required: ['usageId', 'tenantId', 'callType'],
  properties: { ...authorizeBody.properties, usageId },
} as const;

const usedSeconds = {
  type: 'integer',
  minimum: 0,
  maximum: 864_000,
  description: 'seconds connected so far, never less than the last reported',
} as const;

export const sessionReportBody = {
  type: 'object',
  additionalProperties: false,
  required: ['tenantId', 'usedSeconds'],
  properties: { tenantId, usedSeconds },
} as const;

export const sessionParams = {
  type: 'object',
  required: ['usageId'],
  properties: { usageId },
} as const;

export const grantResponses = replies(
  {
    200: {
      description:
        'whether the call may (go on), why, the seconds granted from now and what the session holds',
      type: 'object',
      additionalProperties: false,
      required: ['usageId', 'allowed', 'reason', 'grantedSeconds', 'reserved', 'currency', 'validUntil'],
      properties: {
        usageId: { type: 'string' },
        allowed: { type: 'boolean' },
        reason: { enum: [...SESSION_REASONS] },
        grantedSeconds: { ...count, description: 'seconds granted from now; 0 when nothing more is' },
        reserved: { ...decimal, description: 'what the session holds in total after this request' },
        currency: {
          type: ['string', 'null'],
          description: "the tenant's currency; null for an unknown tenant",
        },
        validUntil: {
          type: ['string', 'null'],
          format: 'date-time',
          description:
            'when the session expires unless renewed (the end of the grant plus a grace); null when nothing was granted',
        },
      },
    },
  },
  [...BODY_ERRORS, 403, 404, 409],
);

export const endResponses = replies(
  {
    200: {
      description: 'what the end released, and what stays held until the CDR settles the call',
      type: 'object',
      additionalProperties: false,
      required: ['usageId', 'released', 'held', 'currency'],
      properties: {
        usageId: { type: 'string' },
        released: decimal,
        held: decimal,
        currency: { type: 'string' },
      },
    },
  },
  [...BODY_ERRORS, 403, 404, 409],
);

export const sessionListQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    cursor: { type: 'string', pattern: '^\\d{1,19}$', description: "'0' (the default) for the first page" },
    limit: {
      type: 'string',
      pattern: '^(?:[1-9]\\d?|[1-4]\\d\\d|500)$',
      description: '1 to 500 (default 100)',
    },
  },
} as const;

export const sessionListResponses = replies(
  {
    200: {
      description: "the tenant's live sessions, a page at a time (cursor '0' back: the last page)",
      type: 'object',
      additionalProperties: false,
      required: ['tenantId', 'sessions', 'cursor'],
      properties: {
        tenantId,
        cursor: { type: 'string' },
        sessions: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: [
              'usageId',
              'reserved',
              'currency',
              'usedSeconds',
              'grantedSeconds',
              'startDateTime',
              'validUntil',
            ],
            properties: {
              usageId: { type: 'string' },
              reserved: decimal,
              currency: { type: 'string' },
              usedSeconds: count,
              grantedSeconds: {
                ...count,
                description:
                  'seconds of the call granted so far: those used at the last renewal plus its grant',
              },
              startDateTime: { type: 'string', format: 'date-time', description: 'when the call started' },
              validUntil: { type: 'string', format: 'date-time' },
              user: { type: 'string' },
              calleeNumber: { type: 'string' },
            },
          },
        },
      },
    },
  },
  [400, 401, 403, 404],
);

export { tenantParams };
