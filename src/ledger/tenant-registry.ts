import type { Cluster, Redis } from 'ioredis';
import { AccountField, isBlocked } from './account-fields';
import { tenantKeys, tenantRegistryKey } from './keys';
import type { OutboxStore } from './outbox-store';
import { guarded } from './result-codes';

/**
 * Every tenant with an account (updateSettings registers it), for the walks an operator asks
 * for (`rater ledger reindex`, listings): the timers and scrapes read the index shards instead.
 */
export class TenantRegistry {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly outbox: OutboxStore,
    private readonly prefix = '',
  ) {}

  /** Every tenant id, in pages (SSCAN). */
  async *pages(pageSize = 500): AsyncGenerator<string[]> {
    const key = tenantRegistryKey(this.prefix);
    let cursor = '0';
    do {
      const [next, page] = await guarded('tenants', () => this.redis.sscan(key, cursor, 'COUNT', pageSize));
      cursor = next;
      if (page.length > 0) yield page;
    } while (cursor !== '0');
  }

  /**
   * Ledger-wide figures recounted from every tenant's state (O(tenants)): an audit of the
   * index shards' gauges (LedgerIndexes.gauges), never on a timer or a scrape.
   */
  async totals(): Promise<{ outboxBacklog: number; blockedTenants: number; tenants: number }> {
    const totals = { outboxBacklog: 0, blockedTenants: 0, tenants: 0 };
    for await (const page of this.pages()) {
      const [lengths, states] = await Promise.all([
        this.outbox.outboxLengths(page),
        guarded('totals', () =>
          Promise.all(
            page.map((tenant) =>
              this.redis.hmget(
                tenantKeys(tenant, this.prefix).account,
                AccountField.mode,
                AccountField.blocked,
              ),
            ),
          ),
        ),
      ]);
      lengths.forEach((length) => (totals.outboxBacklog += length));
      for (const [mode, blocked] of states)
        if (mode === 'prepaid' && isBlocked(blocked)) totals.blockedTenants += 1;
      totals.tenants += page.length;
    }
    return totals;
  }
}
