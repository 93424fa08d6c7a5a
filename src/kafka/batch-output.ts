import type { Message } from 'kafkajs';
import { formatMoney } from '../credits/money';
import { GroupedSender, messageBytes } from './grouped-sender';
import type { PipelineInstrumentation } from '../shared/instrumentation';
import { Incoming, MINIMAL_DEAD_LETTER_BYTES, Outcome, RecordMessages } from './record-messages';

/** A record of the batch with its outcome and the one message it ends in. */
export interface Outgoing {
  item: Incoming;
  outcome: Outcome;
  message: Message;
}

/** How many times a batch's messages go out at most: as they are, as dead letters, as minimal ones. */
const SEND_ROUNDS = 3;

/**
 * Sends a batch's messages, rated records and dead letters, with the other partitions' batches
 * in as few requests as possible, each well under the broker's message size limit
 * (GroupedSender); what the broker refuses as too large comes back, and goes again as a dead
 * letter (truncated, then without its extras).
 */
export class BatchOutput {
  constructor(
    private readonly sender: GroupedSender,
    private readonly messages: RecordMessages,
    private readonly topics: { ratedOut: string; deadLetter: string },
  ) {}

  /** Sends `out` through `wait` (the retrier that waits out the broker); the outcomes of refused ones change. */
  async send(out: Outgoing[], wait: (send: () => Promise<Message[]>) => Promise<Message[]>): Promise<void> {
    let pending = out;
    for (let round = 1; pending.length > 0; round++) {
      const sending = pending;
      const refused = new Set(
        await wait(() =>
          this.sender.send([
            {
              topic: this.topics.ratedOut,
              messages: sending.filter((o) => o.outcome.kind === 'rated').map((o) => o.message),
            },
            {
              topic: this.topics.deadLetter,
              messages: sending.filter((o) => o.outcome.kind === 'rejected').map((o) => o.message),
            },
          ]),
        ),
      );
      pending = sending.filter((o) => refused.has(o.message));
      if (pending.length > 0 && round === SEND_ROUNDS) {
        throw new Error(`the broker refused ${pending.length} minimal dead letters as too large`);
      }
      for (const entry of pending) this.refusedAsTooLarge(entry);
    }
  }

  /** A message the broker refused as too large, made its dead letter (or a smaller one). */
  private refusedAsTooLarge(entry: Outgoing): void {
    if (entry.outcome.kind === 'rated') {
      const { record } = entry.outcome;
      entry.outcome = {
        kind: 'rejected',
        rejection: {
          code: 'too_large',
          message: `the broker refused the rated record (${messageBytes(entry.message)} bytes) as too large`,
        },
        stage: 'produce',
        usageId: record.id,
        tenantId: record.tenantId,
        charged: true,
      };
      entry.message = this.messages.deadLetter(entry.item, entry.outcome);
    } else {
      entry.message = this.messages.deadLetter(entry.item, entry.outcome, MINIMAL_DEAD_LETTER_BYTES);
    }
  }
}

/**
 * Tells each dead letter, and each record's end to those who listen (the debug log, tests;
 * the metrics count batches); the records rated, and how many of them were duplicates.
 */
export function tellOutcomes(
  events: PipelineInstrumentation,
  out: { item: Incoming; outcome: Outcome }[],
): { rated: number; duplicates: number } {
  let rated = 0;
  let duplicates = 0;
  const tellRecords = events.listenerCount('record') > 0;
  for (const { item, outcome } of out) {
    if (outcome.kind === 'rejected') {
      events.emit('deadLetter', {
        reason: outcome.rejection.code,
        message: outcome.rejection.message,
        stage: outcome.stage,
        charged: outcome.charged,
        tenantId: outcome.tenantId ?? item.message.key?.toString(),
        usageId: outcome.usageId,
        origin: `${item.topic}/${item.partition}/${item.message.offset}`,
      });
      if (tellRecords) events.emit('record', { result: 'dead_letter' });
      continue;
    }
    rated += 1;
    if (outcome.duplicate) duplicates += 1;
    if (!tellRecords) continue;
    events.emit('record', {
      result: outcome.duplicate ? 'duplicate' : 'rated',
      tenantId: outcome.record.tenantId,
      usageId: outcome.record.id,
      source: outcome.applied.source,
      charge: formatMoney({ minor: outcome.applied.charge, currency: outcome.details.currency }),
      currency: outcome.details.currency,
      poolSeconds: outcome.applied.poolSeconds,
    });
  }
  return { rated, duplicates };
}
