import type { Kafka } from 'kafkajs';

export interface ReplayOptions {
  kafka: Kafka;
  deadLetterTopic: string;
  usageTopic: string;
  /** Consumer group that remembers what was replayed already. */
  groupId: string;
  /** Replay only records rejected for this reason (x-error-code), e.g. unknown_tenant. */
  reason?: string;
  /** Stop after this many replayed records. */
  max?: number;
  dryRun?: boolean;
}

/**
 * Sends dead letters back to the usage topic, original bytes and key untouched, once the
 * cause is fixed (a tenant created, a deck extended). Reads up to the end the topic had when
 * it started. Safe to repeat: the group remembers its position, and the ledger charges a
 * usage id once however often it arrives.
 */
export async function replayDeadLetters(
  options: ReplayOptions,
): Promise<{ read: number; replayed: number; byReason: Record<string, number> }> {
  const { kafka, deadLetterTopic, usageTopic } = options;
  // A dry run reads with a throwaway group, so the real replay still finds everything.
  const groupId = options.dryRun ? `${options.groupId}-dry-run-${Date.now()}` : options.groupId;
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(deadLetterTopic);
  const committed = await admin.fetchOffsets({ groupId, topics: [deadLetterTopic] });
  await admin.disconnect();
  const done = new Map(committed[0]!.partitions.map((p) => [p.partition, BigInt(p.offset)]));
  /** Partitions with something to read, and the offset to read up to. */
  const remaining = new Map<number, bigint>();
  for (const end of ends) {
    const position = done.get(end.partition) ?? -1n;
    const from = position >= 0n ? position : BigInt(end.low);
    if (BigInt(end.high) > from) remaining.set(end.partition, BigInt(end.high));
  }
  const result = { read: 0, replayed: 0, byReason: {} as Record<string, number> };
  if (remaining.size === 0) return result;

  const producer = kafka.producer();
  const consumer = kafka.consumer({ groupId });
  await Promise.all([producer.connect(), consumer.connect()]);
  await consumer.subscribe({ topic: deadLetterTopic, fromBeginning: true });
  try {
    await new Promise<void>((resolve, reject) => {
      consumer.on(consumer.events.CRASH, (event) => reject(event.payload.error));
      void consumer.run({
        eachMessage: async ({ partition, message }) => {
          const end = remaining.get(partition);
          if (end === undefined || BigInt(message.offset) >= end) return;
          result.read += 1;
          const reason = message.headers?.['x-error-code']?.toString() ?? 'unknown';
          const wanted =
            (!options.reason || options.reason === reason) &&
            (options.max === undefined || result.replayed < options.max);
          if (wanted) {
            if (!options.dryRun) {
              await producer.send({
                topic: usageTopic,
                messages: [
                  {
                    key: message.key,
                    value: message.value,
                    headers: {
                      'x-replayed-from': `${deadLetterTopic}/${partition}/${message.offset}`,
                      'x-replayed-reason': reason,
                    },
                  },
                ],
              });
            }
            result.replayed += 1;
            result.byReason[reason] = (result.byReason[reason] ?? 0) + 1;
          }
          if (BigInt(message.offset) + 1n >= end) remaining.delete(partition);
          if (remaining.size === 0) resolve();
        },
      });
    });
  } finally {
    await consumer.disconnect();
    await producer.disconnect();
  }
  return result;
}
