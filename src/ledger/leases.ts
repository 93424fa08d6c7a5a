import type { Cluster, Redis } from 'ioredis';
import type { LeasePort } from '../settlement/event-ports';
import type { NoticeClaim, NoticeLeases } from '../settlement/worker-ports';
import { leaseKey, noticeSentKey } from './keys';
import { guarded } from './result-codes';
import { registerScripts, runScript } from './script-loader';

/** The value a notice's key keeps once the notice was mailed (a claim holds its holder's token). */
const NOTICE_SENT = 'sent';

/**
 * Short leases: on one tenant's work (relaying its outbox), so that concurrent instances take
 * turns, and on mailing one event's notice. A lease is taken only when nobody holds it (SET NX
 * with the holder's token) and released only by its holder (releaseLease-1.lua compares the
 * token, then deletes): a lease that expired and was taken by another holder stays theirs.
 */
export class Leases implements LeasePort, NoticeLeases {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly prefix = '',
  ) {
    registerScripts(redis);
  }

  /** True when this holder got the lease (nobody held it). */
  async lease(tenantId: string, what: string, holder: string, ttlMs: number): Promise<boolean> {
    return this.take('lease', leaseKey(tenantId, what, this.prefix), holder, ttlMs);
  }

  /** Releases the lease if this holder still holds it. */
  async releaseLease(tenantId: string, what: string, holder: string): Promise<void> {
    await this.release(leaseKey(tenantId, what, this.prefix), holder);
  }

  /**
   * Claims the notice of an event for this holder, unless it was mailed (`sent`) or another
   * holder's claim has not expired (`busy`). The holder must not be `sent`.
   */
  async claimNotice(tenantId: string, eventId: string, holder: string, ttlMs: number): Promise<NoticeClaim> {
    if (holder === NOTICE_SENT) throw new RangeError(`a notice's holder cannot be "${NOTICE_SENT}"`);
    const key = noticeSentKey(tenantId, eventId, this.prefix);
    if (await this.take('claimNotice', key, holder, ttlMs)) return 'claimed';
    return (await guarded('claimNotice', () => this.redis.get(key))) === NOTICE_SENT ? 'sent' : 'busy';
  }

  /** Remembers that the notice was mailed, for `rememberMs`: a redelivered event mails no more. */
  async markNoticeSent(tenantId: string, eventId: string, rememberMs: number): Promise<void> {
    const key = noticeSentKey(tenantId, eventId, this.prefix);
    await guarded('markNoticeSent', () => this.redis.set(key, NOTICE_SENT, 'PX', rememberMs));
  }

  /** Gives the claim back if this holder still holds it (never a mark of a notice mailed). */
  async releaseNotice(tenantId: string, eventId: string, holder: string): Promise<void> {
    await this.release(noticeSentKey(tenantId, eventId, this.prefix), holder);
  }

  private async take(operation: string, key: string, holder: string, ttlMs: number): Promise<boolean> {
    return (await guarded(operation, () => this.redis.set(key, holder, 'PX', ttlMs, 'NX'))) === 'OK';
  }

  private async release(key: string, holder: string): Promise<void> {
    await runScript(this.redis, 'releaseLease', [key], [holder]);
  }
}
