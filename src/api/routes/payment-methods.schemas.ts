import { etagHeader } from '../settings-version';
import { BODY_ERRORS, replies, tenantId } from '../schemas';

/** Schemas of a tenant's card: the named reference, and the gateway's hosted setup (routes/payment-methods.ts). */

export const paymentMethodBody = {
  type: 'object',
  additionalProperties: false,
  required: ['paymentMethodRef'],
  properties: {
    paymentMethodRef: {
      type: 'string',
      minLength: 1,
      maxLength: 128,
      description:
        "the gateway's payment method (`pm_...`, or `cus_.../pm_...` naming the tenant's customer)",
    },
  },
} as const;

const returnUrl = {
  type: 'string',
  maxLength: 2048,
  pattern: '^https?://',
  description: 'an http(s) URL; `{CHECKOUT_SESSION_ID}` in it is replaced by the session id',
} as const;

export const cardSetupBody = {
  type: 'object',
  additionalProperties: false,
  properties: { successUrl: returnUrl, cancelUrl: returnUrl },
} as const;

export const cardSetupParams = {
  type: 'object',
  required: ['tenantId', 'sessionId'],
  properties: {
    tenantId,
    sessionId: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[A-Za-z0-9_]+$' },
  },
} as const;

const card = {
  type: 'object',
  additionalProperties: false,
  required: ['tenantId', 'status', 'paymentMethodRef', 'card'],
  properties: {
    tenantId,
    status: { enum: ['updated', 'recorded', 'unchanged'] },
    paymentMethodRef: { type: 'string' },
    card: { type: 'string', description: "what the gateway says the card is (`visa •••• 4242`), or ''" },
  },
} as const;

export const paymentMethodResponses = replies(
  { 200: { description: 'recorded', ...card, headers: etagHeader } },
  [...BODY_ERRORS, 403, 404, 409, 412, 422, 503],
);

export const cardSetupResponses = replies(
  {
    201: {
      description: "the hosted page where the tenant's admin adds the card: send the admin to `url`",
      type: 'object',
      additionalProperties: false,
      required: ['tenantId', 'sessionId', 'url'],
      properties: { tenantId, sessionId: { type: 'string' }, url: { type: 'string' } },
    },
  },
  [...BODY_ERRORS, 403, 404, 409, 503],
);

export const completeSetupResponses = replies(
  { 200: { description: 'the card of the finished setup, recorded', ...card } },
  [400, 401, 403, 404, 409, 422, 503],
);
