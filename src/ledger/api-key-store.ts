import type { Cluster, Redis } from 'ioredis';
import type { ApiKeyEntry, ApiKeys } from '../settlement/admin-ports';
import { API_KEY_CREATED_PREFIX, API_KEY_PREFIX, apiKeyCreatedField, apiKeyField } from './account-fields';
import { tenantKeys } from './keys';
import { guarded } from './result-codes';

/** Tenants' API keys, as SHA-256 digests (never the key itself), in the tenant's account hash. */
export class ApiKeyStore implements ApiKeys {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly prefix = '',
  ) {}

  async storeApiKeyDigest(
    tenantId: string,
    keyId: string,
    digestHex: string,
    now = new Date(),
  ): Promise<void> {
    const key = tenantKeys(tenantId, this.prefix).account;
    await guarded('storeApiKeyDigest', () =>
      this.redis.hset(key, apiKeyField(keyId), digestHex, apiKeyCreatedField(keyId), now.toISOString()),
    );
  }

  async apiKeyDigest(tenantId: string, keyId: string): Promise<string | undefined> {
    const key = tenantKeys(tenantId, this.prefix).account;
    return (await guarded('apiKeyDigest', () => this.redis.hget(key, apiKeyField(keyId)))) ?? undefined;
  }

  /** The tenant's live keys, oldest first (keys without an issue time first, by id). */
  async listApiKeys(tenantId: string): Promise<ApiKeyEntry[]> {
    const key = tenantKeys(tenantId, this.prefix).account;
    const created = new Map<string, string>();
    const ids: string[] = [];
    let cursor = '0';
    do {
      const [next, fields] = await guarded('listApiKeys', () =>
        this.redis.hscan(key, cursor, 'MATCH', 'apiKey*', 'COUNT', 200),
      );
      cursor = next;
      for (let i = 0; i < fields.length; i += 2) {
        const field = fields[i]!;
        if (field.startsWith(API_KEY_CREATED_PREFIX))
          created.set(field.slice(API_KEY_CREATED_PREFIX.length), fields[i + 1]!);
        else if (field.startsWith(API_KEY_PREFIX)) ids.push(field.slice(API_KEY_PREFIX.length));
      }
    } while (cursor !== '0');
    return ids
      .map((keyId) => ({ keyId, createdAt: created.get(keyId) ?? null }))
      .sort((a, b) => (a.createdAt ?? '').localeCompare(b.createdAt ?? '') || a.keyId.localeCompare(b.keyId));
  }

  /**
   * Revokes a key at once (one HDEL, atomic): the API refuses it from the next request and the
   * console's sessions signed in with it from their next page. False when there was no such key.
   */
  async revokeApiKey(tenantId: string, keyId: string): Promise<boolean> {
    const key = tenantKeys(tenantId, this.prefix).account;
    const removed = await guarded('revokeApiKey', () =>
      this.redis.hdel(key, apiKeyField(keyId), apiKeyCreatedField(keyId)),
    );
    return removed > 0;
  }
}
