/**
 * The end-to-end benchmark's run: its settings, topics and stream, the stack's clients it
 * opens, the backlog it writes, and the baselines the rater is read against.
 */
import { Admin, Kafka, logLevel, Partitioners, Producer } from 'kafkajs';
import { join } from 'node:path';
import { openLedger } from '../src/ledger/open-ledger';
import { loadRateBook } from '../src/rating';
import { cdrStream, CdrStreamOptions, tenantProfiles } from '../tools/loadgen/cdr-stream';
import { provisionTenants } from '../tools/loadgen/tenants';
import { writeStream } from '../tools/loadgen/writer';
import { StackInfo, stackProcesses, stackRedis } from '../tools/stack/stack';
import { projectRoot } from '../tools/stack/toolchain';
import { applyAppendfsync, durabilityOptions } from './durability';
import { rawConsume } from './e2e-drain';
import { requestsPerCdr } from './kafka-requests';
import { applyAll, makeUsages, oneCallPerUsage, openBenchTenants } from './ledger-paths';
import { NamedProcess } from './measure';
import { passthrough } from './passthrough';
import { averageRatedValueBytes } from './rated-size';

export const COUNT = Number(process.env.BENCH_E2E_COUNT ?? 100_000);
export const PARTITIONS = Number(process.env.BENCH_E2E_PARTITIONS ?? 12);
export const TENANTS = 1_000;
/** The fixed offered loads of the latency curve; saturation is added from the drain rate. */
export const LATENCY_RATES = [1_000, 5_000, 10_000];
/** The fixed point kept for the history, with the latency goals of before. */
export const HEADLINE_RATE = 5_000;
/** The point with the latency goal: this share of the drain rate. */
export const HALF_SATURATION = 0.5;
/** The broker's CPU with the rater caught up and nothing to read, over this long. */
export const BROKER_IDLE_SECONDS = 5;
/** Saturation: offered at this multiple of the measured drain rate (a backlog builds up). */
export const SATURATION_FACTOR = 1.5;
export const LATENCY_SECONDS = 12;
/** The first seconds of each fixed-rate point are left out of its percentiles (warm-up). */
export const LATENCY_WARMUP_SECONDS = 3;
/** After a point's last send: a record not rated within this counts as missing. */
export const LATENCY_WAIT_SECONDS = 30;
export const SINGLE_SCRIPT_USAGES = 20_000;
/** CDRs of the stream rated without Redis to size the passthrough's records. */
export const RATED_SIZE_SAMPLE = 2_000;
export const RUN = `e2e-${Date.now()}`;
export const REDIS_CLUSTER = process.argv.includes('--redis-cluster') || process.env.REDIS_CLUSTER === 'true';
export const DURABILITY = durabilityOptions();
/** bench-results/<OUT>.json and .svg: the cluster's figures beside the single server's. */
export const OUT =
  (REDIS_CLUSTER ? 'e2e-cluster' : 'e2e') +
  (DURABILITY.appendfsync === 'always' ? '' : `-${DURABILITY.appendfsync}`) +
  (DURABILITY.waitReplicas > 0 ? `-wait${DURABILITY.waitReplicas}` : '');
export const topics = {
  usageIn: `${RUN}.cdr`,
  ratedOut: `${RUN}.rated`,
  eventsOut: `${RUN}.events`,
  deadLetter: `${RUN}.dlq`,
};
export const PASSTHROUGH_TOPIC = `${RUN}.passthrough`;
export const STREAM: Partial<CdrStreamOptions> = { seed: 1, tenants: TENANTS, idPrefix: `${RUN}-` };
/** The uncapped rater's backlog: the same stream under other ids, on a topic of its own. */
export const UNCAPPED_TOPIC = `${RUN}.cdr-uncapped`;
export const UNCAPPED_STREAM: Partial<CdrStreamOptions> = { ...STREAM, idPrefix: `${RUN}-uncapped-` };

export const round1 = (n: number) => Math.round(n * 10) / 10;
export const us = (cpuSecondsSpent: number, cdrs: number) => round1((cpuSecondsSpent * 1e6) / cdrs);

/** What the run has open, for the phases and for stopping whatever fails. */
export interface Bench {
  stack: StackInfo;
  kafka: Kafka;
  admin: Admin;
  producer: Producer;
  redis: ReturnType<typeof stackRedis>;
  book: ReturnType<typeof loadRateBook>;
  tenants: ReturnType<typeof tenantProfiles>;
  processes: NamedProcess[];
  broker: NamedProcess;
}

/** The baselines: consume only, the passthrough, one script call per usage. */
export async function baselines(b: Bench) {
  console.log('baseline: consume only');
  const rawConsumePerSecond = await rawConsume(b.kafka, `${RUN}-raw`, topics.usageIn, COUNT);

  const estimated = await averageRatedValueBytes(b.book, b.tenants, cdrStream(RATED_SIZE_SAMPLE, STREAM));
  console.log(
    `baseline: passthrough, ${estimated.bytes}-byte records out (the average rated record of the stream's first ${estimated.records.toLocaleString('en')} valid CDRs)`,
  );
  const pass = await passthrough({
    brokers: b.stack.kafka.brokers,
    groupId: `${RUN}-passthrough`,
    from: topics.usageIn,
    to: PASSTHROUGH_TOPIC,
    total: COUNT,
    valueBytes: estimated.bytes,
    brokerPid: b.broker.pid,
  });
  const passthroughCpu = {
    bench: us(pass.cpuSeconds['bench (passthrough)']!, COUNT),
    broker: us(pass.cpuSeconds.kafka!, COUNT),
  };

  console.log('baseline: one ledger script call per usage');
  const baselineLedger = openLedger(b.redis, { prefix: `${RUN}-single:` });
  await openBenchTenants(baselineLedger);
  await applyAll(baselineLedger, oneCallPerUsage(makeUsages('warm', 2_000)));
  const singleSeconds = await applyAll(
    baselineLedger,
    oneCallPerUsage(makeUsages('single', SINGLE_SCRIPT_USAGES)),
  );
  return {
    rawConsumePerSecond,
    passthroughPerSecond: pass.perSecond,
    passthroughRecordBytes: estimated.bytes,
    passthroughCpuUsPerCdr: {
      ...passthroughCpu,
      total: round1(passthroughCpu.bench + passthroughCpu.broker),
    },
    passthroughRequests: requestsPerCdr(pass.requests, COUNT),
    passthroughSeconds: pass.meteredSeconds,
    singleScriptPerSecond: SINGLE_SCRIPT_USAGES / singleSeconds,
  };
}

export async function openBench(stack: StackInfo): Promise<Bench> {
  const kafka = new Kafka({ clientId: RUN, brokers: stack.kafka.brokers, logLevel: logLevel.NOTHING });
  const processes = stackProcesses(stack).map((p) => ({ name: p.name, pid: p.pid }));
  return {
    stack,
    kafka,
    admin: kafka.admin(),
    redis: stackRedis(stack, { redisCluster: REDIS_CLUSTER }),
    // Not idempotent: kafkajs's idempotent producer does not take several sends in flight, and
    // a load generator's repeats are part of the load anyway.
    producer: kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner }),
    book: loadRateBook(join(projectRoot, 'rates')),
    tenants: tenantProfiles({ seed: 1, tenants: TENANTS }),
    processes,
    broker: processes.find((p) => p.name === 'kafka')!,
  };
}

export async function prepare(b: Bench): Promise<{ appendfsync: string; writtenPerSecond: number }> {
  const appendfsync = await applyAppendfsync(b.redis, DURABILITY.appendfsync);
  console.log(`Redis appendfsync ${appendfsync}; the rater waits for ${DURABILITY.waitReplicas} replicas`);
  await b.admin.connect();
  await b.admin.createTopics({
    topics: [...Object.values(topics), PASSTHROUGH_TOPIC, UNCAPPED_TOPIC].map((topic) => ({
      topic,
      numPartitions: PARTITIONS,
    })),
    waitForLeaders: true,
  });
  await b.producer.connect();
  const ledger = openLedger(b.redis, { prefix: `${RUN}:` });
  await provisionTenants(ledger, b.book, b.tenants, 10n ** 12n);
  console.log(`writing ${COUNT.toLocaleString('en')} CDRs to ${topics.usageIn}`);
  const written = await writeStream(cdrStream(COUNT, STREAM), {
    producer: b.producer,
    topic: topics.usageIn,
  });
  return { appendfsync, writtenPerSecond: Math.round(written.sent / written.seconds) };
}
