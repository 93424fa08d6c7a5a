import { replies, tenantId } from '../schemas';

/** Schemas of a tenant's API keys (routes/keys.ts). */

export const apiKeyResponses = replies(
  {
    201: {
      description: 'a new API key for the tenant: shown once, only its SHA-256 is kept',
      type: 'object',
      additionalProperties: false,
      required: ['tenantId', 'keyId', 'apiKey'],
      properties: { tenantId, keyId: { type: 'string' }, apiKey: { type: 'string' } },
    },
  },
  [400, 401, 403, 404],
);
