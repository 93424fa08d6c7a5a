import type { FastifyBaseLogger } from 'fastify';
import type { AdminApp, ResourceOptions } from '../admin-app';
import { newApiKey } from '../auth';
import { noAccount } from '../refusals';
import { tenantParams } from '../schemas';
import { apiKeyListResponses, apiKeyParams, apiKeyResponses, revokeApiKeyResponses } from './keys.schemas';

/** A tenant's API keys: the operator issues, lists and revokes them; only their SHA-256 is stored. */
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

  app.get(
    '/v1/tenants/:tenantId/api-keys',
    {
      ...guards.forOperator,
      schema: {
        operationId: 'listApiKeys',
        tags: ['keys'],
        params: tenantParams,
        response: apiKeyListResponses,
      },
    },
    async (request, reply) => {
      const tenant = request.params.tenantId;
      if (!(await ledger.reads.readAccount(tenant))) return noAccount(reply, tenant);
      return reply.send({ tenantId: tenant, keys: await ledger.apiKeys.listApiKeys(tenant) });
    },
  );

  app.delete(
    '/v1/tenants/:tenantId/api-keys/:keyId',
    {
      ...guards.forOperator,
      schema: {
        operationId: 'revokeApiKey',
        tags: ['keys'],
        params: apiKeyParams,
        response: revokeApiKeyResponses,
      },
    },
    async (request, reply) => {
      const { tenantId: tenant, keyId } = request.params;
      if (!(await ledger.reads.readAccount(tenant))) return noAccount(reply, tenant);
      if (!(await ledger.apiKeys.revokeApiKey(tenant, keyId)))
        return reply
          .code(404)
          .send({ error: 'unknown_key', message: `tenant ${tenant} has no key ${keyId}` });
      return reply.code(204).send();
    },
  );
}
