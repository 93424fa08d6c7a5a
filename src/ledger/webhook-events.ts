import { randomUUID } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { webhookEventKey } from './keys';
import { guarded } from './result-codes';
import { registerScripts, runScript } from './script-loader';

/**
 * The payment gateway's webhook events this service handled, by event id, so that a replayed
 * event changes nothing. An event is claimed before it is handled (SET NX: one handler at a
 * time, whatever the gateway or an attacker sends at once) and kept as handled for `ttlMs`,
 * longer than the signature tolerance: an older copy is refused by its signature's age. A
 * handler that failed gives its claim back (compare and delete), so the gateway's retry runs.
 */
export class WebhookEvents {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly prefix = '',
  ) {
    registerScripts(redis);
  }

  /** A claim token when this event is new; undefined when it was handled (or is being handled). */
  async claim(source: string, eventId: string, ttlMs: number): Promise<string | undefined> {
    const token = `claim:${randomUUID()}`;
    const key = webhookEventKey(source, eventId, this.prefix);
    const set = await guarded('claimWebhookEvent', () => this.redis.set(key, token, 'PX', ttlMs, 'NX'));
    return set === 'OK' ? token : undefined;
  }

  /** Gives the claim back after a failed handler, unless it expired and was taken meanwhile. */
  async release(source: string, eventId: string, token: string): Promise<void> {
    await runScript(this.redis, 'releaseLease', [webhookEventKey(source, eventId, this.prefix)], [token]);
  }
}
