import type { Cluster, Redis } from 'ioredis';
import type { AccountView, LotView, UsageOutcome, UsageTotal } from '../credits/wallet';
import { decodeAccount } from './account-fields';
import { tenantKeys, TenantKeys } from './keys';
import { guarded } from './result-codes';
import { parseOutcome } from './usage-outcome';

/**
 * The read models of a tenant's wallet: the account with its lots and pools, usage totals and
 * the applied usages. Plain reads, no script: what they show may be a moment old, never wrong.
 */
export class LedgerReads {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly prefix = '',
  ) {}

  private keys(tenantId: string): TenantKeys {
    return tenantKeys(tenantId, this.prefix);
  }

  async readAccount(tenantId: string): Promise<AccountView | undefined> {
    const k = this.keys(tenantId);
    const redis = this.redis;
    const [hash, lots, live, pools] = await guarded('readAccount', () =>
      Promise.all([
        redis.hgetall(k.account),
        redis.hgetall(k.lots),
        redis.zrange(k.lotExpiry, 0, -1),
        redis.hgetall(k.pools),
      ]),
    );
    const account = decodeAccount(hash);
    if (!account) return undefined;
    const liveIds = new Set(live);
    const lotViews = Object.entries(lots)
      .map(([lotId, json]) => {
        const lot = JSON.parse(json) as Record<string, string>;
        const expired = BigInt(lot.expired ?? '0');
        const remaining = BigInt(lot.remaining!);
        return {
          lotId,
          source: lot.source as LotView['source'],
          ref: lot.ref ?? '',
          amount: BigInt(lot.amount!),
          remaining,
          expired,
          purchasedAt: new Date(Number(lot.purchasedAt)),
          expiresAt: new Date(Number(lot.expiresAt)),
          status: (liveIds.has(lotId) ? 'active' : lot.expiredAt ? 'expired' : 'spent') as LotView['status'],
        };
      })
      .sort((a, b) => a.expiresAt.getTime() - b.expiresAt.getTime() || a.lotId.localeCompare(b.lotId));
    const poolUsed: Record<string, number> = {};
    const poolCapacities: Record<string, number> = {};
    for (const [field, value] of Object.entries(pools)) {
      if (field.startsWith('used:')) poolUsed[field.slice(5)] = Number(value);
      if (field.startsWith('cap:')) poolCapacities[field.slice(4)] = Number(value);
    }
    return {
      tenantId,
      ...account,
      settings: { ...account.settings, poolCapacities },
      lots: lotViews,
      poolUsed,
    };
  }

  /** Usage totals by period and source (what was applied, re-rates included), kept for good. */
  async usageTotals(tenantId: string): Promise<Record<string, Record<string, UsageTotal>>> {
    const raw = await guarded('usageTotals', () => this.redis.hgetall(this.keys(tenantId).totals));
    const totals: Record<string, Record<string, UsageTotal>> = {};
    for (const [field, value] of Object.entries(raw)) {
      const [period, source, measure] = field.split(':') as [string, string, keyof UsageTotal];
      const bySource = (totals[period] ??= {});
      const total = (bySource[source] ??= { count: 0, charge: 0n, poolSeconds: 0 });
      if (measure === 'charge') total.charge = BigInt(value);
      else total[measure] = Number(value);
    }
    return totals;
  }

  /**
   * Applied usages in [from, to) by when they were applied, oldest first, `limit` from
   * `offset` (only within the idempotency retention: older ones remain in the totals).
   */
  async listUsage(
    tenantId: string,
    range: { from: Date; to: Date; offset: number; limit: number },
  ): Promise<{ usageId: string; outcome: UsageOutcome }[]> {
    const k = this.keys(tenantId);
    return guarded('listUsage', async () => {
      const ids = await this.redis.zrangebyscore(
        k.appliedIndex,
        range.from.getTime(),
        `(${range.to.getTime()}`,
        'LIMIT',
        range.offset,
        range.limit,
      );
      if (ids.length === 0) return [];
      const outcomes = await this.redis.hmget(k.applied, ...ids);
      return ids.flatMap((usageId, i) =>
        outcomes[i] ? [{ usageId, outcome: parseOutcome(outcomes[i]!) }] : [],
      );
    });
  }

  /**
   * Every idempotency record of a tenant (usage id and stored outcome), in pages (HSCAN), in
   * no particular order: for audits that need all of them, not a time range.
   */
  async *appliedUsages(
    tenantId: string,
    pageSize = 1000,
  ): AsyncGenerator<{ usageId: string; outcome: UsageOutcome }[]> {
    const key = this.keys(tenantId).applied;
    let cursor = '0';
    do {
      const [next, flat] = await guarded('appliedUsages', () =>
        this.redis.hscan(key, cursor, 'COUNT', pageSize),
      );
      cursor = next;
      const page: { usageId: string; outcome: UsageOutcome }[] = [];
      for (let i = 0; i < flat.length; i += 2)
        page.push({ usageId: flat[i]!, outcome: parseOutcome(flat[i + 1]!) });
      if (page.length > 0) yield page;
    } while (cursor !== '0');
  }
}
