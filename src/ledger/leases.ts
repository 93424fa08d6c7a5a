import type { Cluster, Redis } from 'ioredis';
import { leaseKey } from './keys';
import { guarded } from './result-codes';
import { registerScripts, runScript } from './script-loader';

/**
 * Short leases on one tenant's work (relaying its outbox), so that concurrent instances take
 * turns; correctness never depends on them.
 */
export class Leases {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly prefix = '',
  ) {
    registerScripts(redis);
  }

  /** True when this holder got the lease (nobody held it). */
  async lease(tenantId: string, what: string, holder: string, ttlMs: number): Promise<boolean> {
    const key = leaseKey(tenantId, what, this.prefix);
    return (await guarded('lease', () => this.redis.set(key, holder, 'PX', ttlMs, 'NX'))) === 'OK';
  }

  /** Releases the lease if this holder still holds it (releaseLease-1.lua compares, then deletes). */
  async releaseLease(tenantId: string, what: string, holder: string): Promise<void> {
    await runScript(this.redis, 'releaseLease', [leaseKey(tenantId, what, this.prefix)], [holder]);
  }
}
