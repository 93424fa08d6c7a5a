import type { Message, Producer } from 'kafkajs';
import { Grouped } from './grouped';

export interface TopicMessages {
  topic: string;
  messages: Message[];
}

/** Bytes of records in one produce request: half the broker's default message.max.bytes. */
export const MAX_PRODUCE_BYTES = 512 * 1024;

/** The broker's `message.max.bytes` unless configured otherwise (KAFKA_MAX_MESSAGE_BYTES). */
export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024;

/** The broker's answers that say a record (batch) is too large: never worth a retry. */
const SIZE_ERRORS = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);

/** Whether an error (or one it wraps: kafkajs wraps the protocol error) is a size refusal. */
export function isSizeError(error: unknown): boolean {
  const seen = new Set<unknown>();
  const queue = [error];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    if (typeof next !== 'object' || next === null || seen.has(next)) continue;
    seen.add(next);
    const e = next as { type?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
    if (typeof e.type === 'string' && SIZE_ERRORS.has(e.type)) return true;
    if (
      typeof e.message === 'string' &&
      /larger than the (max message size|configured segment size)/.test(e.message)
    )
      return true;
    queue.push(e.cause);
    if (Array.isArray(e.errors)) queue.push(...(e.errors as unknown[]));
  }
  return false;
}

/**
 * Sends what several partitions' batches produce in as few produce requests as possible
 * (Grouped), each under `maxBytes`. A caller that retries after a failed request sends its
 * own messages again, which at-least-once delivery of rated records allows.
 *
 * A message the broker cannot take (over `maxMessageBytes`, or refused by the broker as too
 * large) is never retried: the request it was in is split in halves until it stands alone,
 * the others go out, and it comes back to its caller as refused. One oversized message
 * never stalls the messages (of other partitions) that shared its request.
 */
export class GroupedSender {
  private readonly group: Grouped<TopicMessages[]>;
  private readonly refused = new WeakSet<Message>();

  constructor(
    private readonly producer: Producer,
    maxBytes = MAX_PRODUCE_BYTES,
    private readonly maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES,
  ) {
    this.group = new Grouped(async (batches) => {
      const fitting: TopicMessages[] = [];
      for (const { topic, messages } of batches.flat()) {
        const kept = messages.filter((m) => fitsMessageLimit(m, this.maxMessageBytes) || this.refuse(m));
        fitting.push({ topic, messages: kept });
      }
      for (const topicMessages of produceRequests(fitting, maxBytes)) await this.sendOrSplit(topicMessages);
    });
  }

  /** Sends the messages; resolves with those the broker cannot take (too large), in order. */
  async send(topics: TopicMessages[]): Promise<Message[]> {
    if (topics.every((t) => t.messages.length === 0)) return [];
    await this.group.add(topics);
    return topics.flatMap((t) => t.messages.filter((m) => this.refused.has(m)));
  }

  /** Marks a message refused; false, so that it can be used as a filter. */
  private refuse(message: Message): false {
    this.refused.add(message);
    return false;
  }

  private async sendOrSplit(request: TopicMessages[]): Promise<void> {
    try {
      await this.producer.sendBatch({ topicMessages: request, acks: -1 });
    } catch (error) {
      if (!isSizeError(error)) throw error;
      const flat = request.flatMap(({ topic, messages }) => messages.map((message) => ({ topic, message })));
      if (flat.length === 1) {
        this.refuse(flat[0]!.message);
        return;
      }
      // Halves, in order: what went out before the refusal may go again (at least once).
      const half = Math.ceil(flat.length / 2);
      for (const part of [flat.slice(0, half), flat.slice(half)]) {
        const byTopic = new Map<string, TopicMessages>();
        for (const { topic, message } of part) {
          let entry = byTopic.get(topic);
          if (!entry) byTopic.set(topic, (entry = { topic, messages: [] }));
          entry.messages.push(message);
        }
        await this.sendOrSplit([...byTopic.values()]);
      }
    }
  }
}

/** Per-record overhead in a record batch, beyond key, value and headers (a generous bound). */
const RECORD_OVERHEAD_BYTES = 64;

/** A header's length varints, beyond its name and value. */
const HEADER_OVERHEAD_BYTES = 4;

/** Bytes of a record batch beyond its records (the v2 batch header). */
const RECORD_BATCH_OVERHEAD_BYTES = 61;

/** An upper bound of a message's bytes in a record batch of its own. */
export const messageBytes = (m: Message) =>
  RECORD_OVERHEAD_BYTES +
  byteLength(m.key) +
  byteLength(m.value) +
  Object.entries(m.headers ?? {}).reduce(
    (sum, [k, v]) => sum + HEADER_OVERHEAD_BYTES + Buffer.byteLength(k) + byteLength(v),
    0,
  );

/** Whether a message alone fits the broker's `message.max.bytes`. */
export const fitsMessageLimit = (m: Message, maxMessageBytes: number) =>
  RECORD_BATCH_OVERHEAD_BYTES + messageBytes(m) <= maxMessageBytes;

function byteLength(data: unknown): number {
  if (Array.isArray(data)) return data.reduce((sum: number, part) => sum + byteLength(part), 0);
  if (typeof data === 'string') return Buffer.byteLength(data);
  return Buffer.isBuffer(data) ? data.length : 0;
}

/**
 * Splits messages into requests of at most `maxBytes` of records each, in order, so that no
 * record batch exceeds the broker's message size limit (a message larger than the limit
 * goes alone). A request has one entry per topic, its messages in the order given.
 */
export function produceRequests(topics: TopicMessages[], maxBytes = MAX_PRODUCE_BYTES): TopicMessages[][] {
  const requests: TopicMessages[][] = [];
  let request = new Map<string, TopicMessages>();
  let bytes = 0;
  for (const { topic, messages } of topics) {
    for (const message of messages) {
      const size = messageBytes(message);
      if (bytes > 0 && bytes + size > maxBytes) {
        requests.push([...request.values()]);
        request = new Map();
        bytes = 0;
      }
      let entry = request.get(topic);
      if (!entry) request.set(topic, (entry = { topic, messages: [] }));
      entry.messages.push(message);
      bytes += size;
    }
  }
  if (request.size > 0) requests.push([...request.values()]);
  return requests;
}
