import type { Cluster, Redis } from 'ioredis';
import type { TenantSearch } from '../settlement/admin-ports';
import { AccountField, isBlocked } from './account-fields';
import { tenantKeys, tenantRegistryKey } from './keys';
import type { OutboxStore } from './outbox-store';
import { guarded } from './result-codes';

/** The most registry entries one search page looks at (its SSCAN COUNT). */
export const MAX_SEARCH_COUNT = 1000;

/**
 * Every tenant with an account (updateSettings registers it), for the walks an operator asks
 * for (`rater ledger reindex`, listings): the timers and scrapes read the index shards instead.
 */
export class TenantRegistry implements TenantSearch {
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
   * A page of the tenants whose id contains `query` (every tenant without one), for an
   * operator's search: one SSCAN with MATCH `*<query>*` (glob characters escaped, so they match
   * themselves; case as given), its page sorted. `count` is SSCAN's COUNT, the work a page
   * does: a page may hold fewer tenants, even none, while `nextCursor` is not null. Pass
   * `nextCursor` back for the next page; null when the scan is done. A tenant there for the
   * whole scan is returned at least once (SSCAN's guarantee), perhaps twice.
   */
  async search({
    query = '',
    cursor = '0',
    count,
  }: {
    query?: string;
    cursor?: string;
    count: number;
  }): Promise<{ tenants: string[]; nextCursor: string | null }> {
    if (!Number.isInteger(count) || count < 1 || count > MAX_SEARCH_COUNT)
      throw new RangeError(`count must be an integer from 1 to ${MAX_SEARCH_COUNT}, not ${count}`);
    if (!/^\d{1,20}$/.test(cursor)) throw new RangeError(`not a search cursor: ${cursor}`);
    const match = `*${query.replace(/[*?[\]\\]/g, '\\$&')}*`;
    const [next, page] = await guarded('searchTenants', () =>
      this.redis.sscan(tenantRegistryKey(this.prefix), cursor, 'MATCH', match, 'COUNT', count),
    );
    return {
      tenants: page.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)),
      nextCursor: next === '0' ? null : next,
    };
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
