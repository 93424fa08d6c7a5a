import type { Cluster, Redis } from 'ioredis';
import type { OutboxEvent, OutboxReader } from '../settlement/event-ports';
import type { IndexShards } from './index-shards';
import { indexKeys, tenantKeys } from './keys';
import { guarded, LedgerError, ResultCode } from './result-codes';
import { registerScripts, runScript } from './script-loader';

/**
 * The tenants' outbox streams, as the relay drains them: the scripts append an event in the
 * same step as the state change that caused it; this reads them and removes what the broker
 * has acknowledged.
 */
export class OutboxStore implements OutboxReader {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly shards: IndexShards,
    private readonly prefix = '',
  ) {
    registerScripts(redis);
  }

  private key(tenantId: string): string {
    return tenantKeys(tenantId, this.prefix).outbox;
  }

  async readOutbox(tenantId: string, afterStreamId = '-', count = 1000): Promise<OutboxEvent[]> {
    const start = afterStreamId === '-' ? '-' : `(${afterStreamId}`;
    const key = this.key(tenantId);
    const entries = await guarded('readOutbox', () => this.redis.xrange(key, start, '+', 'COUNT', count));
    return entries.map(([streamId, flat]) => {
      const fields: Record<string, string> = {};
      for (let i = 0; i < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
      return {
        streamId,
        id: fields.id!,
        type: fields.type!,
        time: fields.time!,
        tenantId: fields.tenant!,
        data: JSON.parse(fields.data!) as Record<string, unknown>,
      };
    });
  }

  /**
   * Removes outbox entries once the broker has acknowledged them (ackOutbox-4.lua: the backlog
   * gauge follows, and the tenant leaves the relay's index only when its outbox is empty).
   */
  async acknowledgeOutbox(tenantId: string, streamIds: string[]): Promise<number> {
    return (await this.acknowledge(tenantId, streamIds)).removed;
  }

  /** Removes acknowledged entries; says how many went and how many are left in the outbox. */
  async acknowledge(tenantId: string, streamIds: string[]): Promise<{ removed: number; left: number }> {
    if (streamIds.length === 0) return { removed: 0, left: await this.outboxLength(tenantId) };
    const k = tenantKeys(tenantId, this.prefix);
    const ix = indexKeys(this.shards.tag(this.shards.shardOf(tenantId)), this.prefix);
    const result = await runScript(
      this.redis,
      'ackOutbox',
      [k.outbox, k.account, ix.outbox, ix.gauges],
      [tenantId, ...streamIds],
    );
    if ('refused' in result) throw new LedgerError('ackOutbox', ResultCode.BAD_ARGUMENT, result.detail);
    return { removed: Number(result.reply[1]), left: Number(result.reply[2]) };
  }

  async outboxLength(tenantId: string): Promise<number> {
    const key = this.key(tenantId);
    return guarded('outboxLength', () => this.redis.xlen(key));
  }

  /**
   * Events waiting in each tenant's outbox: one XLEN per tenant, sent together. Not a
   * pipeline: on a Redis Cluster the tenants' keys live on different nodes, and ioredis
   * refuses a pipeline that spans them.
   */
  async outboxLengths(tenantIds: string[]): Promise<number[]> {
    const keys = tenantIds.map((tenant) => this.key(tenant));
    return guarded('outboxLengths', () => Promise.all(keys.map((key) => this.redis.xlen(key))));
  }
}
