import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { Admin, Consumer, Kafka, KafkaMessage, logLevel } from 'kafkajs';
import { readStack, StackInfo } from '../../tools/stack/stack';

/** Connection details of the stack started by the global setup. */
export function testStack(): StackInfo {
  const dir = process.env.RATER_TEST_STACK_DIR;
  const info = dir ? readStack(dir) : undefined;
  if (!info)
    throw new Error('no local stack: run the integration tests through jest so its global setup starts one');
  return info;
}

/** A name no other test uses, so tests never see each other's topics, groups or keys. */
export const uniqueName = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

export function testKafka(info = testStack()): Kafka {
  return new Kafka({ clientId: uniqueName('test'), brokers: info.kafka.brokers, logLevel: logLevel.NOTHING });
}

export async function createTopics(admin: Admin, topics: string[], numPartitions = 1): Promise<void> {
  const created = await admin.createTopics({
    topics: topics.map((topic) => ({ topic, numPartitions })),
    waitForLeaders: true,
  });
  if (!created) throw new Error(`topics already exist: ${topics.join(', ')}`);
}

/**
 * Collects `count` messages from `topic` with a fresh consumer group, failing fast on a
 * consumer crash and after `timeoutMs` with what did arrive.
 */
export async function consumeMessages(
  kafka: Kafka,
  topic: string,
  count: number,
  timeoutMs = 20_000,
): Promise<KafkaMessage[]> {
  const consumer: Consumer = kafka.consumer({ groupId: uniqueName('test-group') });
  const messages: KafkaMessage[] = [];
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(new Error(`got ${messages.length} of ${count} messages from ${topic} in ${timeoutMs} ms`)),
        timeoutMs,
      );
      consumer.on(consumer.events.CRASH, (event) => {
        clearTimeout(timer);
        reject(event.payload.error);
      });
      void consumer.run({
        eachMessage: async ({ message }) => {
          messages.push(message);
          if (messages.length >= count) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return messages;
}

/** A Redis client whose keys all live under a fresh prefix, so tests cannot collide. */
export function testRedis(info = testStack()): { redis: Redis; prefix: string } {
  const prefix = `${uniqueName('test')}:`;
  const redis = new Redis(info.redis.url, { keyPrefix: prefix, maxRetriesPerRequest: 3 });
  return { redis, prefix };
}
