import { AUTHORIZATION_REASONS } from '../../credits/codes';
import { CALL_TYPES } from '../../rating';
import { BODY_ERRORS, capability, country, dateTime, money, replies, tenantId, userKey } from '../schemas';

/** Schemas of the call authorization a switch asks before it connects a call (routes/authorize.ts). */

const e164 = { type: 'string', pattern: '^\\+[1-9]\\d{1,14}$' } as const;

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
    userId: {
      ...userKey,
      description: "the calling user, as the usage record will name it: the user's spend limit applies",
    },
    userPrincipalName: {
      ...userKey,
      description: 'the user when there is no userId',
    },
  },
} as const;

export const authorizeResponses = replies(
  {
    200: {
      description: 'whether the call may start, why, and for how many seconds at most',
      type: 'object',
      additionalProperties: false,
      required: ['allowed', 'reason', 'maxSeconds'],
      properties: {
        allowed: { type: 'boolean' },
        reason: { enum: [...AUTHORIZATION_REASONS] },
        maxSeconds: {
          type: ['integer', 'null'],
          minimum: 0,
          description: 'null when money does not limit the call',
        },
        balance: money,
        userLimitLeft: {
          ...money,
          description: "what is left of the user's monthly spend limit, when the user has one",
        },
      },
    },
  },
  [...BODY_ERRORS, 403],
);
