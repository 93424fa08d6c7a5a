import type { Cluster, Redis } from 'ioredis';
import { apiKeyField } from './account-fields';
import { tenantKeys } from './keys';
import { guarded } from './result-codes';

/** Tenants' API keys, as SHA-256 digests (never the key itself), in the tenant's account hash. */
export class ApiKeyStore {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly prefix = '',
  ) {}

  async storeApiKeyDigest(tenantId: string, keyId: string, digestHex: string): Promise<void> {
    const key = tenantKeys(tenantId, this.prefix).account;
    await guarded('storeApiKeyDigest', () => this.redis.hset(key, apiKeyField(keyId), digestHex));
  }

  async apiKeyDigest(tenantId: string, keyId: string): Promise<string | undefined> {
    const key = tenantKeys(tenantId, this.prefix).account;
    return (await guarded('apiKeyDigest', () => this.redis.hget(key, apiKeyField(keyId)))) ?? undefined;
  }
}
