import { etagHeader } from '../settings-version';
import { amount, BODY_ERRORS, capability, country, currency, replies, tenantStatus } from '../schemas';

/** Schemas of a tenant's account and the settings its admin changes (routes/tenants.ts). */

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

export const tenantBody = {
  type: 'object',
  additionalProperties: false,
  required: ['billingMode', 'currency'],
  properties: {
    billingMode: { enum: ['prepaid', 'postpaid'] },
    currency,
    lowBalanceThreshold: amount,
    sessionOverdraft: {
      ...amount,
      description: `${amount.description}. How far what call sessions hold may pass the balance (default 0)`,
    },
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
