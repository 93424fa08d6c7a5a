import type { Message, Producer } from 'kafkajs';

export interface TopicMessages {
  topic: string;
  messages: Message[];
}

/** Bytes of records in one produce request: half the broker's default message.max.bytes. */
export const MAX_PRODUCE_BYTES = 512 * 1024;

/**
 * Sends for several partitions' batches as few produce requests as possible ("group commit"):
 * what callers hand in while a request is on its way goes out together in the next one. The
 * consumer works on many partitions at once, and the producer (idempotent) has one request
 * in flight at a time, so one request per batch would queue them one behind the other.
 *
 * Each caller's promise settles when the request carrying its messages is acknowledged
 * (acks = all), or rejects with that request's error; a caller that retries sends its own
 * messages again, which is what at-least-once delivery of rated records allows.
 */
export class GroupedSender {
  private queue: { topics: TopicMessages[]; resolve: () => void; reject: (error: unknown) => void }[] = [];
  private flushing = false;

  constructor(
    private readonly producer: Producer,
    private readonly maxBytes = MAX_PRODUCE_BYTES,
  ) {}

  send(topics: TopicMessages[]): Promise<void> {
    if (topics.every((t) => t.messages.length === 0)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.queue.push({ topics, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    // Let the callers of this turn of the event loop join the first request.
    await new Promise((resolve) => setImmediate(resolve));
    while (this.queue.length > 0) {
      const callers = this.queue;
      this.queue = [];
      try {
        for (const topicMessages of produceRequests(
          callers.flatMap((c) => c.topics),
          this.maxBytes,
        )) {
          await this.producer.sendBatch({ topicMessages, acks: -1 });
        }
        callers.forEach((c) => c.resolve());
      } catch (error) {
        callers.forEach((c) => c.reject(error));
      }
    }
    this.flushing = false;
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
