import { randomUUID } from 'node:crypto';
import type { Admin, Kafka } from 'kafkajs';

/** How far a consumer group has got on a topic: messages committed and messages written. */
export async function groupProgress(
  admin: Admin,
  groupId: string,
  topic: string,
): Promise<{ committed: number; end: number }> {
  const [ends, offsets] = await Promise.all([
    admin.fetchTopicOffsets(topic),
    admin.fetchOffsets({ groupId, topics: [topic] }),
  ]);
  const done = new Map(offsets[0]!.partitions.map((p) => [p.partition, Number(p.offset)]));
  let committed = 0;
  let end = 0;
  for (const partition of ends) {
    const low = Number(partition.low);
    end += Number(partition.high) - low;
    // -1: nothing committed yet on that partition.
    committed += Math.max(0, (done.get(partition.partition) ?? -1) - low);
  }
  return { committed, end };
}

/** True once the group has committed every message of the topic. */
export async function caughtUp(admin: Admin, groupId: string, topic: string): Promise<boolean> {
  const [ends, committed] = await Promise.all([
    admin.fetchTopicOffsets(topic),
    admin.fetchOffsets({ groupId, topics: [topic] }),
  ]);
  const done = new Map(committed[0]!.partitions.map((p) => [p.partition, BigInt(p.offset)]));
  return ends.every((end) => BigInt(end.high) === 0n || done.get(end.partition) === BigInt(end.high));
}

export interface TopicMessage {
  partition: number;
  offset: string;
  key: string;
  value: Buffer;
  headers: Record<string, string>;
}

/**
 * Hands every message of a topic, as far as it was written when the scan started, to
 * `onMessage`, one at a time, without keeping them: a fresh consumer group reads each
 * partition from its start to its end. Returns how many messages were read.
 */
export async function scanTopic(
  kafka: Kafka,
  topic: string,
  onMessage: (message: TopicMessage) => void,
): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const remaining = new Map(
    ends.filter((p) => BigInt(p.high) > BigInt(p.low)).map((p) => [p.partition, BigInt(p.high)]),
  );
  if (remaining.size === 0) return 0;
  let read = 0;
  const consumer = kafka.consumer({ groupId: `scan-${randomUUID()}`, maxBytesPerPartition: 8 * 1024 * 1024 });
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      consumer.on(consumer.events.CRASH, (event) => reject(event.payload.error));
      void consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          const end = remaining.get(batch.partition);
          if (end === undefined) return;
          for (const message of batch.messages) {
            if (BigInt(message.offset) >= end) break;
            const headers: Record<string, string> = {};
            for (const [name, value] of Object.entries(message.headers ?? {})) headers[name] = String(value);
            onMessage({
              partition: batch.partition,
              offset: message.offset,
              key: message.key?.toString() ?? '',
              value: message.value ?? Buffer.alloc(0),
              headers,
            });
            read += 1;
            if (BigInt(message.offset) + 1n >= end) {
              remaining.delete(batch.partition);
              if (remaining.size === 0) resolve();
              break;
            }
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return read;
}
