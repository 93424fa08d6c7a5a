import type { Cluster, Redis } from 'ioredis';
import type { ChainableCommander } from 'ioredis';
import type { AttentionIndex, RechargeFailure, TenantsNeedingAttention } from '../settlement/admin-ports';
import type { OutboxIndex, Unsubscribe } from '../settlement/event-ports';
import type { IndexShards } from './index-shards';
import { indexKeys, IndexKeys, outboxPendingChannel } from './keys';
import { guarded } from './result-codes';

/** The ledger-wide gauges, summed over the shards (src/ledger/commands/includes/indexes.lua). */
export interface LedgerGauges {
  /** Tenants with an account. */
  tenants: number;
  /** Prepaid tenants whose credit-paid calls are blocked at zero balance. */
  depleted: number;
  /** Events waiting in the tenants' outboxes for the relay. */
  backlog: number;
}

/** A payment begun and not settled, as the index lists it. */
export interface PendingPaymentEntry {
  kind: 'purchase' | 'recharge';
  tenantId: string;
  id: string;
  since: Date;
}

function assertLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1)
    throw new RangeError(`limit must be a positive integer, not ${limit}`);
}

/**
 * Reads of the index shards the scripts keep: the tenants with something to do and the
 * gauges. Each read costs one command per shard, whatever the number of tenants: one on
 * standalone Redis, 16,384 on a Cluster (sent as one pipeline per node).
 */
export class LedgerIndexes implements OutboxIndex, AttentionIndex {
  constructor(
    private readonly redis: Redis | Cluster,
    readonly shards: IndexShards,
    private readonly prefix = '',
  ) {}

  keys(shard: number): IndexKeys {
    return indexKeys(this.shards.tag(shard), this.prefix);
  }

  /**
   * One command per shard, the replies in shard order. On a Cluster the shards are grouped by
   * the node that serves their slot (an ioredis pipeline must stay on one node); a group whose
   * pipeline fails (slots moving) is sent again command by command, which ioredis redirects.
   */
  private async perShard<T>(
    operation: string,
    shards: number[],
    command: (target: ChainableCommander, keys: IndexKeys) => void,
    single: (keys: IndexKeys) => Promise<T>,
  ): Promise<T[]> {
    return guarded(operation, async () => {
      const groups = new Map<string, number[]>();
      const cluster = this.redis.isCluster ? (this.redis as Cluster) : undefined;
      for (const shard of shards) {
        const node = cluster ? (cluster.slots[shard]?.[0] ?? '') : '';
        const group = groups.get(node) ?? [];
        group.push(shard);
        groups.set(node, group);
      }
      const replies = new Map<number, T>();
      await Promise.all(
        [...groups.values()].map(async (group) => {
          if (group.length === 1) {
            replies.set(group[0]!, await single(this.keys(group[0]!)));
            return;
          }
          const pipeline = this.redis.pipeline();
          for (const shard of group) command(pipeline, this.keys(shard));
          const results = (await pipeline.exec().catch(() => null)) ?? [];
          const failed = results.length !== group.length || results.some(([error]) => error);
          if (!failed) {
            group.forEach((shard, i) => replies.set(shard, results[i]![1] as T));
            return;
          }
          const again = await Promise.all(group.map((shard) => single(this.keys(shard))));
          group.forEach((shard, i) => replies.set(shard, again[i]!));
        }),
      );
      return shards.map((shard) => replies.get(shard)!);
    });
  }

  /** Every tenant whose outbox has events (the members of each shard's outbox index). */
  async tenantsWithEvents(): Promise<string[]> {
    const sets = await this.perShard(
      'tenantsWithEvents',
      this.shards.all(),
      (p, k) => p.smembers(k.outbox),
      (k) => this.redis.smembers(k.outbox),
    );
    return sets.flat();
  }

  /**
   * The tenants with a lot whose expiry has come by `now`, a page at a time: per shard, the
   * lowest-scored entries of its expiry index, until a shard's page comes back short.
   * Each tenant's entry moves past `now` once its lots are expired (the caller's work); a
   * tenant that stays (its expiry failed) is yielded once, and a shard whose full page holds
   * only such tenants is left for the next sweep.
   */
  async *dueForExpiry(now: Date, pageSize = 500): AsyncGenerator<string[]> {
    yield* this.due('expiry', now, pageSize);
  }

  /** The tenants with a call session due (to expire or to drop), in pages, each tenant once. */
  async *dueSessions(now: Date, pageSize = 500): AsyncGenerator<string[]> {
    yield* this.due('sessions', now, pageSize);
  }

  private async *due(index: 'expiry' | 'sessions', now: Date, pageSize: number): AsyncGenerator<string[]> {
    const seen = new Set<string>();
    let shards = this.shards.all();
    while (shards.length > 0) {
      const pages = await this.perShard(
        index === 'expiry' ? 'dueForExpiry' : 'dueSessions',
        shards,
        (p, k) => p.zrangebyscore(k[index], '-inf', now.getTime(), 'LIMIT', 0, pageSize),
        (k) => this.redis.zrangebyscore(k[index], '-inf', now.getTime(), 'LIMIT', 0, pageSize),
      );
      const fresh = pages.map((page) => page.filter((tenant) => !seen.has(tenant)));
      const tenants = fresh.flat();
      tenants.forEach((tenant) => seen.add(tenant));
      if (tenants.length > 0) yield tenants;
      shards = shards.filter((_, i) => pages[i]!.length === pageSize && fresh[i]!.length > 0);
    }
  }

  /**
   * The call sessions' gauges, summed over the shards: live sessions, and the money sessions
   * hold by currency (minor units), as the session scripts count them.
   */
  async sessionGauges(): Promise<{ live: number; held: Record<string, number> }> {
    const replies = await this.perShard(
      'sessionGauges',
      this.shards.all(),
      (p, k) => p.hgetall(k.gauges),
      (k) => this.redis.hgetall(k.gauges),
    );
    const totals = { live: 0, held: {} as Record<string, number> };
    for (const fields of replies) {
      totals.live += Number(fields.sessionsLive ?? 0);
      for (const [field, value] of Object.entries(fields))
        if (field.startsWith('sessionsHeld:')) {
          const currency = field.slice('sessionsHeld:'.length);
          totals.held[currency] = (totals.held[currency] ?? 0) + Number(value);
        }
    }
    return totals;
  }

  /** The gauges, summed over the shards. */
  async gauges(): Promise<LedgerGauges> {
    const fields = ['tenants', 'depleted', 'backlog'] as const;
    const replies = await this.perShard(
      'gauges',
      this.shards.all(),
      (p, k) => p.hmget(k.gauges, ...fields),
      (k) => this.redis.hmget(k.gauges, ...fields),
    );
    const totals: LedgerGauges = { tenants: 0, depleted: 0, backlog: 0 };
    for (const values of replies) fields.forEach((field, i) => (totals[field] += Number(values[i] ?? 0)));
    return totals;
  }

  /**
   * The tenants needing attention: blocked, and below their low-balance threshold, at most
   * `limit` of each, the first by name. Each shard gives its first `limit` (its sets are
   * scored 0, so ZRANGE reads them in name order) and the pages are merged: one command per
   * shard and list, and a reply of at most `limit` per shard, whatever the tenants.
   */
  async attention({ limit }: { limit: number }): Promise<TenantsNeedingAttention> {
    assertLimit(limit);
    const first = async (list: 'blocked' | 'low') => {
      const pages = await this.perShard(
        'attention',
        this.shards.all(),
        (p, k) => p.zrange(k[list], 0, limit - 1),
        (k) => this.redis.zrange(k[list], 0, limit - 1),
      );
      return byName(pages.flat()).slice(0, limit);
    };
    const [blocked, low] = await Promise.all([first('blocked'), first('low')]);
    return { blocked, low };
  }

  /**
   * The tenants whose last auto-recharge failed (none has succeeded since), newest first, at
   * most `limit`: each shard's newest `limit`, merged.
   */
  async recentRechargeFailures({ limit }: { limit: number }): Promise<RechargeFailure[]> {
    assertLimit(limit);
    const pages = await this.perShard(
      'recentRechargeFailures',
      this.shards.all(),
      (p, k) => p.zrevrange(k.rechargeFailed, 0, limit - 1, 'WITHSCORES'),
      (k) => this.redis.zrevrange(k.rechargeFailed, 0, limit - 1, 'WITHSCORES'),
    );
    const failures: RechargeFailure[] = [];
    for (const page of pages)
      for (let i = 0; i + 1 < page.length; i += 2)
        failures.push({ tenantId: page[i]!, at: new Date(Number(page[i + 1])) });
    return failures
      .sort((a, b) => b.at.getTime() - a.at.getTime() || compareNames(a.tenantId, b.tenantId))
      .slice(0, limit);
  }

  /**
   * The payments begun before `before` and not settled (purchases, auto-recharge requests),
   * oldest first: each shard's oldest `limit`, merged. A payment stays listed until a script
   * settles it, so a caller that leaves one pending meets it again on its next pass.
   */
  async pendingPayments(before: Date, limit: number): Promise<PendingPaymentEntry[]> {
    assertLimit(limit);
    const pages = await this.perShard(
      'pendingPayments',
      this.shards.all(),
      (p, k) => p.zrangebyscore(k.pendingPayments, '-inf', before.getTime(), 'WITHSCORES', 'LIMIT', 0, limit),
      (k) =>
        this.redis.zrangebyscore(
          k.pendingPayments,
          '-inf',
          before.getTime(),
          'WITHSCORES',
          'LIMIT',
          0,
          limit,
        ),
    );
    const entries: PendingPaymentEntry[] = [];
    for (const page of pages)
      for (let i = 0; i + 1 < page.length; i += 2) {
        const [kind, tenantId, id] = JSON.parse(page[i]!) as [PendingPaymentEntry['kind'], string, string];
        entries.push({ kind, tenantId, id, since: new Date(Number(page[i + 1])) });
      }
    return entries.sort((a, b) => a.since.getTime() - b.since.getTime());
  }

  /** How many payments are pending, and when the oldest began (none: undefined). */
  async pendingSummary(): Promise<{ count: number; oldest?: Date }> {
    const [firsts, counts] = await Promise.all([
      this.perShard(
        'pendingSummary',
        this.shards.all(),
        (p, k) => p.zrange(k.pendingPayments, 0, 0, 'WITHSCORES'),
        (k) => this.redis.zrange(k.pendingPayments, 0, 0, 'WITHSCORES'),
      ),
      this.perShard(
        'pendingSummary',
        this.shards.all(),
        (p, k) => p.zcard(k.pendingPayments),
        (k) => this.redis.zcard(k.pendingPayments),
      ),
    ]);
    const scores = firsts.filter((first) => first.length === 2).map((first) => Number(first[1]));
    return {
      count: counts.reduce((sum, n) => sum + Number(n), 0),
      ...(scores.length > 0 ? { oldest: new Date(Math.min(...scores)) } : {}),
    };
  }

  /**
   * Listens for the hint a script publishes when a tenant's outbox goes from empty to not
   * empty, on a connection of its own. `onSubscribed` is called on each (re)subscription: a
   * hint sent while the connection was down is lost, so the caller sweeps then.
   */
  async watchOutbox(onPending: (tenantId: string) => void, onSubscribed: () => void): Promise<Unsubscribe> {
    const channel = outboxPendingChannel(this.prefix);
    const subscriber = this.redis.duplicate();
    subscriber.on('error', () => undefined); // the ledger's own connection reports outages
    subscriber.on('message', (from: string, tenantId: string) => {
      if (from === channel) onPending(tenantId);
    });
    let first = true;
    subscriber.on('ready', () => {
      if (!first) onSubscribed(); // ioredis resubscribes on reconnect
    });
    try {
      await subscriber.subscribe(channel);
    } catch (error) {
      subscriber.disconnect();
      throw error;
    }
    first = false;
    onSubscribed();
    return async () => {
      subscriber.disconnect();
    };
  }
}

/** Byte order, as Redis orders members of equal score (tenant ids are ASCII). */
const compareNames = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const byName = (names: string[]) => names.sort(compareNames);
