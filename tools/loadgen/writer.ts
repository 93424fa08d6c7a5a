import type { Message, Producer } from 'kafkajs';
import type { GeneratedCdr } from './cdr-stream';

export interface WriteOptions {
  producer: Producer;
  topic: string;
  /** Records a second; absent or 0: as fast as the broker takes them. */
  rate?: number;
  /** Records per produce request when writing as fast as possible. */
  batchSize?: number;
  /** Produce requests in flight at once when writing as fast as possible. */
  inFlight?: number;
  /** Called with each record the moment its produce request is sent (epoch ms). */
  onSend?: (record: GeneratedCdr, sentAtMs: number) => void;
  /** Called with each record when the broker acknowledged its produce request (epoch ms). */
  onAcked?: (record: GeneratedCdr, ackedAtMs: number) => void;
  /** Stop early (the records not yet sent are not sent). */
  signal?: AbortSignal;
}

export interface WriteResult {
  sent: number;
  seconds: number;
}

const toMessage = (r: GeneratedCdr): Message => ({ key: r.key, value: r.value });

/** Bytes of CDR values in one produce request: half the broker's default message.max.bytes. */
export const MAX_REQUEST_BYTES = 512 * 1024;

/**
 * The batch in requests the broker takes: at a fixed rate everything due goes at once, and
 * after the event loop stalls for a moment at a high rate that is more than its 1 MB.
 */
function requests(batch: GeneratedCdr[]): Message[][] {
  const parts: Message[][] = [[]];
  let bytes = 0;
  for (const record of batch) {
    const size = record.value.length;
    if (bytes + size > MAX_REQUEST_BYTES && parts.at(-1)!.length > 0) {
      parts.push([]);
      bytes = 0;
    }
    parts.at(-1)!.push(toMessage(record));
    bytes += size;
  }
  return parts;
}

/**
 * Writes a generated stream to a topic: as fast as it goes (several batches in flight), or at
 * a fixed rate, sending every 10 ms what is due so far, so the offered load stays steady and
 * a slow broker shows up as latency rather than as a lower rate.
 */
export async function writeStream(
  records: Iterable<GeneratedCdr>,
  options: WriteOptions,
): Promise<WriteResult> {
  const started = process.hrtime.bigint();
  const elapsed = () => Number(process.hrtime.bigint() - started) / 1e9;
  const iterator = records[Symbol.iterator]();
  let sent = 0;
  let done = false;
  const take = (n: number): GeneratedCdr[] => {
    const out: GeneratedCdr[] = [];
    while (out.length < n && !done) {
      const next = iterator.next();
      if (next.done) done = true;
      else out.push(next.value);
    }
    return out;
  };
  const send = async (batch: GeneratedCdr[]) => {
    const at = Date.now();
    if (options.onSend) for (const record of batch) options.onSend(record, at);
    await Promise.all(
      requests(batch).map((messages) => options.producer.send({ topic: options.topic, messages, acks: -1 })),
    );
    const acked = Date.now();
    if (options.onAcked) for (const record of batch) options.onAcked(record, acked);
    sent += batch.length;
  };

  if (!options.rate) {
    const size = options.batchSize ?? 2_000;
    await Promise.all(
      Array.from({ length: options.inFlight ?? 4 }, async () => {
        while (!done && !options.signal?.aborted) {
          const batch = take(size);
          if (batch.length > 0) await send(batch);
        }
      }),
    );
    return { sent, seconds: elapsed() };
  }

  const pending = new Set<Promise<void>>();
  let offered = 0;
  while (!done && !options.signal?.aborted) {
    const due = Math.floor(elapsed() * options.rate) - offered;
    if (due > 0) {
      const batch = take(due);
      offered += due;
      if (batch.length > 0) {
        const request = send(batch).finally(() => pending.delete(request));
        pending.add(request);
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await Promise.all(pending);
  return { sent, seconds: elapsed() };
}
