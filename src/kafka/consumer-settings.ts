/**
 * The Kafka client settings of the CDR path, in one place: the usage consumer
 * (`UsageConsumer.start()`), the producer its rated records, dead letters and events go out
 * on (`src/app.ts`), and the benchmark's passthrough, which moves records with the same
 * settings so that it is the rater's baseline (docs/benchmarks.md).
 */
import type {
  Consumer,
  ConsumerConfig,
  Producer,
  ProducerConfig,
  RequestEvent,
  TopicPartitionOffsetAndMetadata,
} from 'kafkajs';
import { Partitioners } from 'kafkajs';
import type { KafkaRequest } from '../shared/instrumentation';
import { Grouped } from './grouped';

export const DEFAULT_SESSION_TIMEOUT_MS = 30_000;

/** Partitions whose batches are processed at once (each is one `eachBatch` call). */
export const PARTITIONS_CONSUMED_CONCURRENTLY = 16;

/** The most record bytes one fetch brings for one partition. */
export const MAX_BYTES_PER_PARTITION = 1024 * 1024;

/**
 * The most record bytes one fetch brings in all (one batch cycle's input). 1 MB: with 2 MB the
 * records in flight took the rater's peak RSS 20-30 MB higher at the heap cap, with no less
 * CPU per CDR for it or for Redis (docs/benchmarks.md, the rater at the heap cap).
 */
export const MAX_FETCH_BYTES = 1024 * 1024;

/**
 * How long a batch's offset commit waits for those of other partitions' batches (`Grouped`),
 * so that batches ending within this of each other share one commit. A batch's records are
 * produced before its offset is handed in. 0: the commits handed in during one turn of the
 * event loop go together, and none waits. A 10 ms wait changed no commit count in a drain (the
 * batches of one fetch end further apart than that), and kafkajs fetches again only when every
 * batch of a fetch is done, so it added its 10 ms to each fetch cycle of a caught-up rater
 * (docs/benchmarks.md).
 */
export const COMMIT_LINGER_MS = 0;

/** The group commit of the offsets of batches whose records are produced (one request for all). */
export function offsetCommits(consumer: Consumer): Grouped<TopicPartitionOffsetAndMetadata> {
  return new Grouped((offsets) => consumer.commitOffsets(offsets), COMMIT_LINGER_MS);
}

/** The usage consumer's group settings; `heartbeatInterval` is also its batches' heartbeat. */
export function usageConsumerConfig(
  groupId: string,
  sessionTimeout = DEFAULT_SESSION_TIMEOUT_MS,
): ConsumerConfig & { heartbeatInterval: number } {
  return {
    groupId,
    sessionTimeout,
    heartbeatInterval: Math.max(500, Math.floor(sessionTimeout / 10)),
    // kafkajs heartbeats between fetches: an idle fetch held by the broker for its default
    // 5 s left a 6 s session one slow turn from expiring. A fifth of the session at most.
    maxWaitTimeInMs: Math.min(5_000, Math.max(500, Math.floor(sessionTimeout / 5))),
    maxBytesPerPartition: MAX_BYTES_PER_PARTITION,
    maxBytes: MAX_FETCH_BYTES,
    // kafkajs restarts the consumer after a crash with a retriable cause (the broker away
    // longer than these retries); a crash it does not restart from (a bug) leaves the
    // process not alive (/healthz), so that it is restarted from outside.
    retry: { retries: 10 },
  };
}

/**
 * The producer of rated records, dead letters and events: idempotent (a retried request is
 * not written twice), the default partitioner (by key: a tenant's records in one partition).
 */
export function usageProducerConfig(): ProducerConfig {
  return { createPartitioner: Partitioners.DefaultPartitioner, idempotent: true };
}

/**
 * Tells each request the client sends (kafkajs's request instrumentation event): what the
 * broker is asked to do, counted on the client side.
 */
export function countRequests(
  client: Consumer | Producer,
  name: KafkaRequest['client'],
  onRequest: (request: KafkaRequest) => void,
): void {
  const tell = ({ payload }: RequestEvent) => onRequest({ client: name, api: payload.apiName });
  if (name === 'producer') {
    const producer = client as Producer;
    producer.on(producer.events.REQUEST, tell);
  } else {
    const consumer = client as Consumer;
    consumer.on(consumer.events.REQUEST, tell);
  }
}
