/**
 * One drain of the end-to-end benchmark: the rater, started with the given node options,
 * reads a backlog from the start, and what each process spent meanwhile is measured: CPU per
 * CDR, Redis's commands, the requests the rater's clients sent the broker, its peak RSS. And
 * the consume-only baseline, and the broker's CPU when nothing is read.
 */
import type { Admin, Kafka } from 'kafkajs';
import type { Cluster, Redis } from 'ioredis';
import type { StackInfo } from '../tools/stack/stack';
import { cpuUsPerCdr, CpuUsPerCdr } from './cpu-budget';
import { requestsBetween, requestsPerCdr, RequestsPerCdr, scrapeRequests } from './kafka-requests';
import { cpuMeter, NamedProcess, seconds, sleep } from './measure';
import { Rater, raterEnv, RaterNode, RaterTopics, startRater, waitForDrain } from './rater-run';
import { commandStats, statsDelta } from './redis-stats';

export interface DrainRun {
  stack: StackInfo;
  admin: Admin;
  redis: Redis | Cluster;
  /** The stack's processes whose CPU is measured (the broker is `kafka`). */
  processes: NamedProcess[];
  redisCluster: boolean;
  topics: RaterTopics;
  groupId: string;
  keyPrefix: string;
  /** CDRs in `topics.usageIn`. */
  count: number;
  waitReplicas: number;
  node: RaterNode;
  /** Told the rater as soon as it runs (so that whoever stops the bench stops it too). */
  started: (rater: Rater) => void;
}

export interface Drained {
  rater: Rater;
  cdrsPerSecond: number;
  /** Wall seconds the CPU was measured over. */
  meteredSeconds: number;
  cpuUsPerCdr: CpuUsPerCdr;
  cpuMsPerThousandCdrs: Record<string, number>;
  redisCommandsPerCdr: ReturnType<typeof statsDelta>;
  /** Peak resident memory (VmHWM) at the end of the drain. */
  rssMB: number;
  requests: RequestsPerCdr;
}

export async function drainBacklog(run: DrainRun): Promise<Drained> {
  const rater = await startRater(
    {
      ...raterEnv(run.stack, {
        topics: run.topics,
        groupId: run.groupId,
        keyPrefix: run.keyPrefix,
        redisCluster: run.redisCluster,
      }),
      REDIS_WAIT_REPLICAS: String(run.waitReplicas),
    },
    run.node,
  );
  run.started(rater);
  const requestsBefore = await scrapeRequests(rater.port);
  // What each process spends while the rater drains the backlog: where the cores go.
  const meteredFrom = process.hrtime.bigint();
  const meter = cpuMeter([
    { name: 'rater', pid: rater.child.pid! },
    ...run.processes,
    { name: 'bench (polling)', pid: process.pid },
  ]);
  const redisBefore = await commandStats(run.redis);
  const { drainSeconds, firstCommitted } = await waitForDrain(
    run.admin,
    run.groupId,
    run.topics.usageIn,
    run.count,
    () => rater.sample(),
  );
  const drainCpu = meter();
  const meteredSeconds = seconds(meteredFrom);
  const requests = requestsBetween(requestsBefore, await scrapeRequests(rater.port));
  rater.sample();
  return {
    rater,
    cdrsPerSecond: (run.count - firstCommitted) / drainSeconds,
    meteredSeconds,
    cpuUsPerCdr: cpuUsPerCdr(drainCpu, run.count),
    cpuMsPerThousandCdrs: Object.fromEntries(
      Object.entries(drainCpu).map(([name, s]) => [name, Math.round((s * 1e6) / run.count)]),
    ),
    redisCommandsPerCdr: statsDelta(redisBefore, await commandStats(run.redis), run.count),
    rssMB: Math.round(rater.peakRssMB),
    requests: requestsPerCdr(requests, run.count),
  };
}

/** Reads the whole usage topic with a consumer that does nothing with what it reads. */
export async function rawConsume(
  kafka: Kafka,
  groupId: string,
  topic: string,
  total: number,
): Promise<number> {
  const consumer = kafka.consumer({ groupId, maxBytesPerPartition: 4 * 1024 * 1024 });
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    let seen = 0;
    let started: bigint | undefined;
    let took = 0;
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          partitionsConsumedConcurrently: 3,
          eachBatch: async ({ batch }) => {
            started ??= process.hrtime.bigint();
            seen += batch.messages.length;
            if (seen >= total) {
              took = seconds(started);
              resolve();
            }
          },
        })
        .catch(reject);
    });
    return total / took;
  } finally {
    await consumer.disconnect().catch(() => {});
  }
}

/**
 * The broker's CPU, ms a second, over `forSeconds` with nothing to read; `poll`, when given,
 * runs every 50 ms meanwhile (the bench's polling of the committed offsets during a drain).
 */
export async function brokerIdle(
  broker: NamedProcess,
  forSeconds: number,
  poll: () => Promise<unknown> = async () => undefined,
): Promise<number> {
  const meter = cpuMeter([broker]);
  const until = process.hrtime.bigint() + BigInt(forSeconds * 1e9);
  while (process.hrtime.bigint() < until) await Promise.all([poll(), sleep(50)]);
  return Math.round((meter()[broker.name]! * 1000) / forSeconds);
}
