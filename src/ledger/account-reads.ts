import type { Cluster, Redis } from 'ioredis';
import {
  unpackBurstGuard,
  unpackConcurrentCalls,
  unpackUserBlock,
  type UserBlock,
  type UserLimitsView,
  type UserSpendView,
} from '../credits/user-limits';
import type { AccountView, AppliedRecord, LotView, UsageTotal } from '../credits/wallet';
import type { AccountReads } from '../settlement/admin-ports';
import { decodeAccount } from './account-fields';
import { DailySpend, isDailyField, spendDays, spendFields, spendSeries } from './daily-spend';
import { tenantKeys, TenantKeys, userSpendKey } from './keys';
import { guarded } from './result-codes';
import { runScript } from './script-loader';
import { DAY_MS, monthOfDay, parseLegacyOutcome, parseRecord, usageIdOf } from './usage-outcome';

/**
 * The read models of a tenant's wallet: the account with its lots and pools, usage totals and
 * the applied usages. Plain reads, no script: what they show may be a moment old, never wrong.
 */
export class LedgerReads implements AccountReads {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly prefix = '',
    private readonly clock: () => Date = () => new Date(),
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
          ...(lot.expiredAt ? { expiredAt: new Date(Number(lot.expiredAt)) } : {}),
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
      if (isDailyField(field)) continue;
      const [period, source, measure] = field.split(':') as [string, string, keyof UsageTotal];
      const bySource = (totals[period] ??= {});
      const total = (bySource[source] ??= { count: 0, charge: 0n, poolSeconds: 0 });
      if (measure === 'charge') total.charge = BigInt(value);
      else total[measure] = Number(value);
    }
    return totals;
  }

  /**
   * Money debited from credits and accrued postpaid per UTC day the usages were applied on
   * (the ledger's clock; re-rates count on their own day), for the `days` days ending today
   * (`now`, by default the ledger's clock), oldest first, zeros where nothing was spent. At
   * most MAX_SPEND_DAYS (62): more is a RangeError. One HMGET.
   */
  async dailySpend(tenantId: string, options: { days: number; now?: Date }): Promise<DailySpend[]> {
    const days = spendDays(options.now ?? this.clock(), options.days);
    const key = this.keys(tenantId).totals;
    const values = await guarded('dailySpend', () => this.redis.hmget(key, ...spendFields(days)));
    return spendSeries(days, values);
  }

  /**
   * The per-user spend limits and each user's credit-paid spend in `month` (yyyy-mm): every
   * user with a limit of their own or a spend that month. Limits set in another currency than
   * `currency` (the account's) count as none, as the scripts count them.
   */
  async userLimits(tenantId: string, month: string, currency: string): Promise<UserLimitsView> {
    const k = this.keys(tenantId);
    const [limits, spend] = await guarded('userLimits', () =>
      Promise.all([this.redis.hgetall(k.userLimits), this.redis.hgetall(userSpendKey(k, month))]),
    );
    const current = limits.currency === currency;
    const users = new Map<string, UserSpendView>();
    const user = (name: string) => {
      let view = users.get(name);
      if (!view) users.set(name, (view = { spent: 0n, reached: false }));
      return view;
    };
    const blocked = new Map<string, UserBlock>();
    for (const [field, value] of Object.entries(limits)) {
      const block = field.startsWith('b:') ? unpackUserBlock(value) : undefined;
      if (block) blocked.set(field.slice(2), block);
    }
    for (const [field, value] of Object.entries(current ? limits : {}))
      if (field.startsWith('u:')) user(field.slice(2)).own = value === 'none' ? 'none' : BigInt(value);
    const burstGuard = current ? unpackBurstGuard(limits.burst) : undefined;
    const concurrentCalls = unpackConcurrentCalls(limits.calls);
    for (const [field, value] of Object.entries(spend)) {
      if (field.startsWith('s:')) user(field.slice(2)).spent = BigInt(value);
      else if (field.startsWith('r:')) user(field.slice(2)).reached = true;
    }
    return {
      month,
      ...(current && limits.default !== undefined ? { default: BigInt(limits.default) } : {}),
      users,
      ...(burstGuard ? { burstGuard } : {}),
      blocked,
      ...(concurrentCalls ? { concurrentCalls } : {}),
    };
  }

  /** One start day's records, a page of its buckets at a time. */
  private async *appliedDay(tenantId: string, day: number): AsyncGenerator<AppliedRecord[]> {
    const k = this.keys(tenantId);
    const month = monthOfDay(day);
    let bucket = 0;
    while (bucket >= 0) {
      const result = await runScript(this.redis, 'readAppliedDay', [k.applied], [day, month, bucket, 64]);
      if ('refused' in result) return;
      const { reply } = result;
      const page: AppliedRecord[] = [];
      for (let i = 3; i < reply.length; i += 2)
        page.push({ usageId: usageIdOf(String(reply[i])), outcome: parseRecord(reply[i + 1], day) });
      if (page.length > 0) yield page;
      bucket = Number(reply[2]);
    }
  }

  /**
   * Applied usages whose calls started in [from, to), by start (then usage id), `limit` from
   * `offset`. Only within the idempotency retention, which counts from the call's start day:
   * older ones remain in the totals. Reads the whole of each start day it lists from.
   */
  async listUsage(
    tenantId: string,
    range: { from: Date; to: Date; offset: number; limit: number },
  ): Promise<AppliedRecord[]> {
    const from = range.from.getTime();
    const to = range.to.getTime();
    const meta = `${this.keys(tenantId).applied}:meta`;
    const days = (await guarded('listUsage', () => this.redis.hkeys(meta)))
      .map(Number)
      .filter((day) => (day + 1) * DAY_MS > from && day * DAY_MS < to)
      .sort((a, b) => a - b);
    const items: AppliedRecord[] = [];
    let skip = range.offset;
    for (const day of days) {
      const records: AppliedRecord[] = [];
      for await (const page of this.appliedDay(tenantId, day))
        for (const record of page) {
          const start = record.outcome.start.getTime();
          if (start >= from && start < to) records.push(record);
        }
      records.sort(
        (a, b) =>
          a.outcome.start.getTime() - b.outcome.start.getTime() ||
          (a.usageId < b.usageId ? -1 : a.usageId > b.usageId ? 1 : 0),
      );
      if (skip >= records.length) {
        skip -= records.length;
        continue;
      }
      items.push(...records.slice(skip, skip + range.limit - items.length));
      skip = 0;
      if (items.length >= range.limit) break;
    }
    return items;
  }

  /**
   * Every idempotency record of a tenant (usage id and stored outcome), in pages, in no
   * particular order: for audits that need all of them, not a time range. Records kept in
   * the legacy format know no call start: theirs reads as when they were applied.
   */
  async *appliedUsages(tenantId: string, pageSize = 1000): AsyncGenerator<AppliedRecord[]> {
    const k = this.keys(tenantId);
    const days = await guarded('appliedUsages', () => this.redis.hkeys(`${k.applied}:meta`));
    for (const day of days.map(Number).sort((a, b) => a - b)) yield* this.appliedDay(tenantId, day);
    let cursor = '0';
    do {
      const [next, flat] = await guarded('appliedUsages', () =>
        this.redis.hscan(k.legacyApplied, cursor, 'COUNT', pageSize),
      );
      cursor = next;
      const page: AppliedRecord[] = [];
      for (let i = 0; i < flat.length; i += 2) {
        const outcome = parseLegacyOutcome(flat[i + 1]!, new Date(0));
        page.push({ usageId: flat[i]!, outcome: { ...outcome, start: outcome.appliedAt } });
      }
      if (page.length > 0) yield page;
    } while (cursor !== '0');
  }
}
