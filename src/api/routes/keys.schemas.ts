import { replies, tenantId } from '../schemas';

/** Schemas of a tenant's API keys (routes/keys.ts). */

const keyId = { type: 'string', pattern: '^[0-9a-f]{12}$' } as const;

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

export const apiKeyListResponses = replies(
  {
    200: {
      description: "the tenant's live API keys, oldest first (ids and issue times, never the keys)",
      type: 'object',
      additionalProperties: false,
      required: ['tenantId', 'keys'],
      properties: {
        tenantId,
        keys: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['keyId', 'createdAt'],
            properties: {
              keyId: { type: 'string' },
              createdAt: {
                type: ['string', 'null'],
                format: 'date-time',
                description: 'null for a key issued before issue times were kept',
              },
            },
          },
        },
      },
    },
  },
  [400, 401, 403, 404],
);

export const apiKeyParams = {
  type: 'object',
  required: ['tenantId', 'keyId'],
  properties: { tenantId, keyId },
} as const;

export const revokeApiKeyResponses = replies(
  {
    204: {
      type: 'null',
      description: 'revoked: the API refuses the key at once, and the console signs its sessions out',
    },
  },
  [400, 401, 403, 404],
);
