import type { Message, Producer } from 'kafkajs';
import { Grouped } from './grouped';

export interface TopicMessages {
  topic: string;
  messages: Message[];
}

/** Bytes of records in one produce request: half the broker's default message.max.bytes. */
export const MAX_PRODUCE_BYTES = 512 * 1024;

/**
 * Sends what several partitions' batches produce in as few produce requests as possible
 * (Grouped), each under `maxBytes`. A caller that retries after a failed request sends its
 * own messages again, which at-least-once delivery of rated records allows.
 */
export class GroupedSender {
  private readonly group: Grouped<TopicMessages[]>;

  constructor(producer: Producer, maxBytes = MAX_PRODUCE_BYTES) {
    this.group = new Grouped(async (batches) => {
      for (const topicMessages of produceRequests(batches.flat(), maxBytes)) {
        await producer.sendBatch({ topicMessages, acks: -1 });
      }
    });
  }

  send(topics: TopicMessages[]): Promise<void> {
    if (topics.every((t) => t.messages.length === 0)) return Promise.resolve();
    return this.group.add(topics);
  }
}

/** Per-record overhead in a record batch, beyond key, value and headers (a generous bound). */
const RECORD_OVERHEAD_BYTES = 64;

const messageBytes = (m: Message) =>
  RECORD_OVERHEAD_BYTES +
  byteLength(m.key) +
  byteLength(m.value) +
  Object.entries(m.headers ?? {}).reduce((sum, [k, v]) => sum + k.length + byteLength(v), 0);

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
