import type { FastifyBaseLogger } from 'fastify';
import type { AdminApp, ResourceOptions } from '../admin-app';
import { newApiKey } from '../auth';
import { noAccount } from '../refusals';
import { tenantParams } from '../schemas';
import { apiKeyResponses } from './keys.schemas';

/** A tenant's API keys: the operator issues them; only their SHA-256 is stored. */
export function keyRoutes<L extends FastifyBaseLogger>(
  app: AdminApp<L>,
  { ledger, guards }: ResourceOptions,
): void {
  app.post(
    '/v1/tenants/:tenantId/api-keys',
    {
      ...guards.forOperator,
      schema: {
        operationId: 'createApiKey',
        tags: ['keys'],
        params: tenantParams,
        response: apiKeyResponses,
      },
    },
    async (request, reply) => {
      const tenant = request.params.tenantId;
      if (!(await ledger.reads.readAccount(tenant))) return noAccount(reply, tenant);
      const key = newApiKey(tenant);
      await ledger.apiKeys.storeApiKeyDigest(tenant, key.keyId, key.digest);
      return reply.code(201).send({ tenantId: tenant, keyId: key.keyId, apiKey: key.token });
    },
  );
}
