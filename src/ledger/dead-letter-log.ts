import type { Cluster, Redis } from 'ioredis';
import type { DeadLetterEntry, DeadLetterReads, DeadLetterSummary } from '../settlement/admin-ports';
import { deadLetterKeys } from './keys';
import { guarded } from './result-codes';

export type { DeadLetterEntry, DeadLetterSummary };

/** How many of the latest dead letters the log keeps. */
export const DEAD_LETTERS_KEPT = 100;
const MAX_MESSAGE_CHARS = 500;

interface StoredEntry {
  reason: string;
  message: string;
  topic: string;
  partition: number;
  offset: string;
  tenantId?: string;
  at: number;
}

/**
 * What the usage consumer set aside, for an operator: a count per reason and the latest
 * DEAD_LETTERS_KEPT. The dead-letter topic stays the record of each one (bytes, headers); this
 * is a summary that costs one pipeline a batch, so it is best effort: the consumer records what
 * it sent after sending it and carries on whether or not this succeeds.
 */
export class DeadLetterLog implements DeadLetterReads {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly prefix = '',
  ) {}

  /** Counts the dead letters by reason and keeps them as the latest (one pipeline). */
  async record(entries: readonly DeadLetterEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const keys = deadLetterKeys(this.prefix);
    const transaction = this.redis.multi();
    for (const entry of entries) transaction.hincrby(keys.byReason, entry.reason, 1);
    // LPUSH puts its last value at the head: the batch's last dead letter is the newest.
    transaction.lpush(keys.recent, ...entries.map((entry) => JSON.stringify(stored(entry))));
    transaction.ltrim(keys.recent, 0, DEAD_LETTERS_KEPT - 1);
    const results = await guarded('recordDeadLetters', () => transaction.exec());
    const failed = results?.find(([error]) => error)?.[0];
    if (!results || failed) throw failed ?? new Error('the dead-letter log was not written');
  }

  /** The counts by reason and the latest `recent` dead letters (at most DEAD_LETTERS_KEPT). */
  async summary({ recent = 20 }: { recent?: number } = {}): Promise<DeadLetterSummary> {
    if (!Number.isInteger(recent) || recent < 0)
      throw new RangeError(`recent must be a whole number, not ${recent}`);
    const keys = deadLetterKeys(this.prefix);
    const [counts, latest] = await guarded('deadLetterSummary', () =>
      Promise.all([
        this.redis.hgetall(keys.byReason),
        recent === 0
          ? Promise.resolve([])
          : this.redis.lrange(keys.recent, 0, Math.min(recent, DEAD_LETTERS_KEPT) - 1),
      ]),
    );
    return {
      byReason: Object.fromEntries(Object.entries(counts).map(([reason, count]) => [reason, Number(count)])),
      recent: latest.map((json) => {
        const { at, ...entry } = JSON.parse(json) as StoredEntry;
        return { ...entry, at: new Date(at) };
      }),
    };
  }
}

function stored(entry: DeadLetterEntry): StoredEntry {
  return {
    reason: entry.reason,
    message:
      entry.message.length > MAX_MESSAGE_CHARS ? entry.message.slice(0, MAX_MESSAGE_CHARS) : entry.message,
    topic: entry.topic,
    partition: entry.partition,
    offset: entry.offset,
    ...(entry.tenantId === undefined ? {} : { tenantId: entry.tenantId }),
    at: entry.at.getTime(),
  };
}
