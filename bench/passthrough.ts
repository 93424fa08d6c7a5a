/**
 * The passthrough baseline: the least Kafka-to-Kafka processor, set up as the rater sets up
 * its Kafka clients, so that the rater's throughput can be read against what reading,
 * producing and committing alone cost on the same machine.
 *
 * - The consumer: `usageConsumerConfig` and `PARTITIONS_CONSUMED_CONCURRENTLY`
 *   (src/kafka/consumer-settings.ts), what `UsageConsumer.start()` reads, with its default
 *   session; `eachBatch` without auto-commit or auto-resolve.
 * - The producer: `usageProducerConfig`, as `src/app.ts` makes it; records go out through the
 *   rater's own `GroupedSender` (acks -1, what the partitions hand in meanwhile sent together)
 *   and offsets through a `Grouped` commit, as the consumer does.
 * - Both clients' requests are counted (`countRequests`), as the rater's are.
 * - For each input record one record of a rated record's size (the same bytes for each, with
 *   the rated record's headers), keyed by the input's key (the tenant), to the passthrough
 *   topic; the batch's offset is committed once its records are sent.
 *
 * The throughput runs from the first commit to the last, as the rater's does.
 */
import { Kafka, logLevel } from 'kafkajs';
import {
  countRequests,
  offsetCommits,
  PARTITIONS_CONSUMED_CONCURRENTLY,
  usageConsumerConfig,
  usageProducerConfig,
} from '../src/kafka/consumer-settings';
import { GroupedSender } from '../src/kafka/grouped-sender';
import { RequestCounts, requestsBetween, requestTally } from './kafka-requests';
import { cpuMeter, seconds } from './measure';
import { RATED_HEADERS } from './rated-size';

const NO_PROGRESS_MS = 60_000;

export interface PassthroughRun {
  brokers: string[];
  groupId: string;
  from: string;
  to: string;
  /** Records in `from`; the run ends when all are committed. */
  total: number;
  valueBytes: number;
  /** The broker's process, whose CPU is measured with the bench's own. */
  brokerPid: number;
}

export interface PassthroughResult {
  perSecond: number;
  /** CPU seconds by process over the run: `bench (passthrough)` and `kafka`. */
  cpuSeconds: Record<string, number>;
  /** Wall seconds the CPU was measured over. */
  meteredSeconds: number;
  /** The requests its clients sent the broker over the run. */
  requests: RequestCounts;
}

export async function passthrough(run: PassthroughRun): Promise<PassthroughResult> {
  // A client of its own, as a separate processor would have.
  const kafka = new Kafka({ clientId: `${run.groupId}`, brokers: run.brokers, logLevel: logLevel.NOTHING });
  const producer = kafka.producer(usageProducerConfig());
  const consumer = kafka.consumer(usageConsumerConfig(run.groupId));
  const tally = requestTally();
  countRequests(producer, 'producer', tally.count);
  countRequests(consumer, 'consumer', tally.count);
  const sender = new GroupedSender(producer);
  const commits = offsetCommits(consumer);
  const value = Buffer.alloc(run.valueBytes, 'x');
  let watchdog: NodeJS.Timeout | undefined;
  try {
    await producer.connect();
    await consumer.connect();
    await consumer.subscribe({ topic: run.from, fromBeginning: true });
    let committed = 0;
    let first: { at: bigint; committed: number } | undefined;
    let last = process.hrtime.bigint();
    const before = { ...tally.counts };
    const meteredFrom = process.hrtime.bigint();
    const stopMeter = cpuMeter([
      { name: 'bench (passthrough)', pid: process.pid },
      { name: 'kafka', pid: run.brokerPid },
    ]);
    const finished = new Promise<{ perSecond: number }>((resolve, reject) => {
      consumer.on(consumer.events.CRASH, ({ payload }) => reject(payload.error));
      watchdog = setInterval(() => {
        if (Number(process.hrtime.bigint() - last) / 1e6 > NO_PROGRESS_MS)
          reject(new Error(`the passthrough made no progress for a minute at ${committed} of ${run.total}`));
      }, 1_000);
      void consumer
        .run({
          autoCommit: false,
          eachBatchAutoResolve: false,
          partitionsConsumedConcurrently: PARTITIONS_CONSUMED_CONCURRENTLY,
          eachBatch: async ({ batch, resolveOffset }) => {
            if (batch.messages.length === 0) return;
            const messages = batch.messages.map((m) => ({ key: m.key, value, headers: RATED_HEADERS }));
            await sender.send([{ topic: run.to, messages }]);
            resolveOffset(batch.lastOffset());
            const next = (BigInt(batch.lastOffset()) + 1n).toString();
            await commits.add({ topic: batch.topic, partition: batch.partition, offset: next });
            committed += batch.messages.length;
            last = process.hrtime.bigint();
            first ??= { at: last, committed };
            if (committed >= run.total) {
              const took = Number(last - first.at) / 1e9;
              resolve({ perSecond: took > 0 ? (committed - first.committed) / took : NaN });
            }
          },
        })
        .catch(reject);
    });
    const { perSecond } = await finished;
    return {
      perSecond,
      cpuSeconds: stopMeter(),
      meteredSeconds: seconds(meteredFrom),
      requests: requestsBetween(before, tally.counts),
    };
  } finally {
    clearInterval(watchdog);
    await consumer.disconnect().catch(() => {});
    await producer.disconnect().catch(() => {});
  }
}
