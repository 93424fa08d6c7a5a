import type { DeadLetterEntry } from '../settlement/admin-ports';
import type { Incoming, Outcome } from './record-messages';

export type { DeadLetterEntry };

/** Where the dead letters sent are counted by reason for an operator (the ledger's DeadLetterLog). */
export interface DeadLetterLogPort {
  record(entries: DeadLetterEntry[]): Promise<void>;
}

/** Dead-letter log writes that may wait for Redis at once (best effort: more are given up). */
const DEAD_LETTER_LOGS_IN_FLIGHT = 64;

/**
 * Records each batch's dead letters, all sent by then, in the dead-letter log: best effort,
 * without waiting; a failure is told (`failed`), never held against the batch.
 */
export class DeadLetterRecorder {
  private inFlight = 0;

  constructor(
    private readonly log: DeadLetterLogPort | undefined,
    private readonly clock: () => Date,
    private readonly failed: (error: unknown, deadLetters: number) => void,
  ) {}

  record(out: { item: Incoming; outcome: Outcome }[]): void {
    if (!this.log) return;
    const at = this.clock();
    const entries: DeadLetterEntry[] = [];
    for (const { item, outcome } of out) {
      if (outcome.kind !== 'rejected') continue;
      entries.push({
        reason: outcome.rejection.code,
        message: outcome.rejection.message,
        topic: item.topic,
        partition: item.partition,
        offset: item.message.offset,
        ...(outcome.tenantId === undefined ? {} : { tenantId: outcome.tenantId }),
        at,
      });
    }
    if (entries.length === 0) return;
    const failed = (error: unknown) => this.failed(error, entries.length);
    // Not awaited: with Redis away, writes wait in the client; past a few batches' worth,
    // the next are given up rather than held in memory.
    if (this.inFlight >= DEAD_LETTER_LOGS_IN_FLIGHT) {
      failed(new Error(`${DEAD_LETTER_LOGS_IN_FLIGHT} dead-letter log writes are waiting already`));
      return;
    }
    this.inFlight += 1;
    let recording: Promise<void>;
    try {
      recording = this.log.record(entries);
    } catch (error) {
      recording = Promise.reject(error);
    }
    void recording.catch(failed).finally(() => (this.inFlight -= 1));
  }
}
