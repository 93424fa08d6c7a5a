import type { Cluster, Redis } from 'ioredis';
import { rerateCheckpointKey } from './keys';
import { guarded } from './result-codes';

/** How far a re-rating run got with one tenant, and what it changed so far. */
export interface TenantCheckpoint {
  /** The last usage done, by the listing's order: its call's start (ms) and id. */
  after?: { start: number; usageId: string };
  calls: number;
  /** Minor units charged for the calls re-rated, before and after. */
  before: bigint;
  charged: bigint;
  /** The tenant was told (its notice written): nothing left to do for it. */
  done: boolean;
}

const EMPTY: TenantCheckpoint = { calls: 0, before: 0n, charged: 0n, done: false };

/**
 * The checkpoints of re-rating runs, one hash per run (its revision), a few fields per
 * tenant. Each save is one HSET of all of a tenant's fields, so a checkpoint is never half
 * written. Kept for `ttlMs` after the last save: a run resumed later than that starts over,
 * which the ledger's once-per-revision re-rate makes harmless, only slower.
 */
export class RerateCheckpoints {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly prefix = '',
    private readonly ttlMs = 30 * 24 * 3600 * 1000,
  ) {}

  async read(revision: string, tenantId: string): Promise<TenantCheckpoint> {
    const values = await guarded('rerateCheckpoint', () =>
      this.redis.hmget(
        rerateCheckpointKey(revision, this.prefix),
        `${tenantId}:after`,
        `${tenantId}:calls`,
        `${tenantId}:before`,
        `${tenantId}:charged`,
        `${tenantId}:done`,
      ),
    );
    const [after, calls, before, charged, done] = values;
    if (calls === null || calls === undefined) return { ...EMPTY };
    const colon = after ? after.indexOf(':') : -1;
    return {
      ...(after && colon > 0
        ? { after: { start: Number(after.slice(0, colon)), usageId: after.slice(colon + 1) } }
        : {}),
      calls: Number(calls),
      before: BigInt(before ?? '0'),
      charged: BigInt(charged ?? '0'),
      done: done === '1',
    };
  }

  async save(revision: string, tenantId: string, checkpoint: TenantCheckpoint): Promise<void> {
    const key = rerateCheckpointKey(revision, this.prefix);
    await guarded('rerateCheckpoint', async () => {
      await this.redis.hset(key, {
        [`${tenantId}:after`]: checkpoint.after
          ? `${checkpoint.after.start}:${checkpoint.after.usageId}`
          : '',
        [`${tenantId}:calls`]: String(checkpoint.calls),
        [`${tenantId}:before`]: checkpoint.before.toString(),
        [`${tenantId}:charged`]: checkpoint.charged.toString(),
        [`${tenantId}:done`]: checkpoint.done ? '1' : '0',
      });
      await this.redis.pexpire(key, this.ttlMs);
    });
  }
}
