import type { Consumer, Kafka } from 'kafkajs';
import type { CloudEvent } from '../settlement/event-ports';

export interface EventSubscriberOptions {
  kafka: Kafka;
  groupId: string;
  topic: string;
  /** Must be idempotent: a message whose handler throws is delivered again. */
  handle: (event: CloudEvent) => Promise<void>;
  /** A message that is not a CloudEvent: reported, then skipped (it cannot be handled later either). */
  onMalformed?: (error: unknown, raw: string) => void;
  fromBeginning?: boolean;
}

/** A consumer group on the balance events topic that hands each CloudEvent to a handler. */
export async function subscribeToEvents(
  options: EventSubscriberOptions,
): Promise<{ consumer: Consumer; stop(): Promise<void> }> {
  const consumer = options.kafka.consumer({ groupId: options.groupId, retry: { retries: 10 } });
  await consumer.connect();
  await consumer.subscribe({ topic: options.topic, fromBeginning: options.fromBeginning ?? false });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const raw = message.value?.toString() ?? '';
      let event: CloudEvent;
      try {
        event = JSON.parse(raw) as CloudEvent;
        if (
          event.specversion !== '1.0' ||
          typeof event.type !== 'string' ||
          typeof event.subject !== 'string'
        ) {
          throw new Error('not a CloudEvent 1.0');
        }
      } catch (error) {
        options.onMalformed?.(error, raw);
        return;
      }
      await options.handle(event);
    },
  });
  return { consumer, stop: () => consumer.disconnect() };
}
