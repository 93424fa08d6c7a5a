/**
 * npm run bench: the rater end to end on the local stack, with its baselines in the same run.
 *
 * 1. A seeded stream of realistic CDRs (tools/loadgen) is written to a fresh usage topic.
 * 2. Baseline: a consume-only kafkajs consumer reads the whole topic (rawConsumePerSecond).
 * 3. Baseline: the ledger applies usages with one script call per usage (singleScriptPerSecond),
 *    against the same Redis.
 * 4. The rater, built and run as in production (`node dist/cli.js serve`, consumer and relay
 *    roles), drains the same topic: decoded, rated, debited, rated records and events out,
 *    offsets committed (cdrsPerSecond, ratio = cdrsPerSecond / rawConsumePerSecond, and the
 *    process's peak RSS).
 * 5. With the rater caught up, records are offered at a fixed 5,000 a second; each one's
 *    latency runs from its produce request to its debit (`ratedAt` on usage.rated.v1): p50Ms
 *    and p99Ms.
 *
 * Writes bench-results/e2e.json and bench-results/e2e.svg (e2e-cluster.* on the cluster) and prints a table.
 * BENCH_E2E_COUNT sets the backlog size (default 300,000). `--redis-cluster` (or
 * REDIS_CLUSTER=true) puts the ledger on the stack's Redis Cluster, 3 masters with a replica
 * each, for the rater and the baselines alike.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Admin, Kafka, logLevel, Partitioners, Producer } from 'kafkajs';
import { openLedger } from '../src/ledger/open-ledger';
import { cdrStream, tenantProfiles } from '../tools/loadgen/cdr-stream';
import { provisionTenants } from '../tools/loadgen/tenants';
import { writeStream } from '../tools/loadgen/writer';
import { loadRateBook } from '../src/rating';
import { down, stackProcesses, stackRedis, up } from '../tools/stack/stack';
import { projectRoot } from '../tools/stack/toolchain';
import { drawChart } from './chart';
import { applyAll, makeUsages, oneCallPerUsage, openBenchTenants } from './ledger-paths';
import { buildService, endTotal, Rater, raterEnv, startRater, stopRater, waitForDrain } from './rater-run';
import { cpuSeconds, seconds, sleep } from './measure';
import { commandStats, statsDelta } from './redis-stats';

const COUNT = Number(process.env.BENCH_E2E_COUNT ?? 300_000);
const PARTITIONS = Number(process.env.BENCH_E2E_PARTITIONS ?? 12);
const TENANTS = 1_000;
const LATENCY_RATE = 5_000;
const LATENCY_SECONDS = 20;
/** The first seconds of the fixed-rate phase are left out of the percentiles (warm-up). */
const LATENCY_WARMUP_SECONDS = 3;
const SINGLE_SCRIPT_USAGES = 20_000;
const RUN = `e2e-${Date.now()}`;
const REDIS_CLUSTER = process.argv.includes('--redis-cluster') || process.env.REDIS_CLUSTER === 'true';
/** bench-results/<OUT>.json and .svg: the cluster's figures beside the single server's. */
const OUT = REDIS_CLUSTER ? 'e2e-cluster' : 'e2e';
const topics = {
  usageIn: `${RUN}.cdr`,
  ratedOut: `${RUN}.rated`,
  eventsOut: `${RUN}.events`,
  deadLetter: `${RUN}.dlq`,
};

/** Reads the whole usage topic with a consumer that does nothing with what it reads. */
async function rawConsume(kafka: Kafka, total: number): Promise<number> {
  const consumer = kafka.consumer({ groupId: `${RUN}-raw`, maxBytesPerPartition: 4 * 1024 * 1024 });
  await consumer.connect();
  await consumer.subscribe({ topic: topics.usageIn, fromBeginning: true });
  let seen = 0;
  let started: bigint | undefined;
  let took = 0;
  await new Promise<void>((resolve) => {
    void consumer.run({
      partitionsConsumedConcurrently: 3,
      eachBatch: async ({ batch }) => {
        started ??= process.hrtime.bigint();
        seen += batch.messages.length;
        if (seen >= total) {
          took = seconds(started);
          resolve();
        }
      },
    });
  });
  await consumer.disconnect();
  return total / took;
}

/** Fixed offered load; each record's produce time against its debit time (`ratedAt`). */
async function latencyAtFixedRate(kafka: Kafka, producer: Producer, admin: Admin) {
  const total = LATENCY_RATE * LATENCY_SECONDS;
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const starts = await admin.fetchTopicOffsets(topics.ratedOut);
  const reader = kafka.consumer({ groupId: `${RUN}-latency` });
  await reader.connect();
  await reader.subscribe({ topic: topics.ratedOut });
  let phaseStart = 0;
  let wanted = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  let joined!: () => void;
  const ready = new Promise<void>((resolve) => (joined = resolve));
  reader.on(reader.events.GROUP_JOIN, () => joined());
  await reader.run({
    eachMessage: async ({ message }) => {
      if (message.headers?.['x-duplicate']) return;
      const value = JSON.parse(message.value!.toString()) as { id: string; ratedAt: string };
      const sent = sentAt.get(value.id);
      if (sent === undefined) return;
      sentAt.delete(value.id);
      if (sent - phaseStart >= LATENCY_WARMUP_SECONDS * 1000)
        latencies.push(Date.parse(value.ratedAt) - sent);
      if (--wanted <= 0) resolveDone();
    },
  });
  await ready;
  for (const p of starts) reader.seek({ topic: topics.ratedOut, partition: p.partition, offset: p.high });
  await sleep(500);

  const stream = cdrStream(total, {
    seed: 2,
    tenants: TENANTS,
    idPrefix: `${RUN}-lat-`,
    duplicateShare: 0,
    malformedShare: 0,
  });
  phaseStart = Date.now();
  wanted = total;
  const written = await writeStream(stream, {
    producer,
    topic: topics.usageIn,
    rate: LATENCY_RATE,
    onSend: (record, at) => sentAt.set(record.id!, at),
  });
  await Promise.race([done, sleep(60_000)]);
  await reader.disconnect();
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return {
    offeredPerSecond: Math.round(written.sent / written.seconds),
    measured: latencies.length,
    missing: sentAt.size,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    maxMs: latencies.at(-1) ?? NaN,
  };
}

async function main(): Promise<void> {
  buildService();
  const stack = await up(join(projectRoot, '.stack', 'bench'), { redisCluster: REDIS_CLUSTER });
  const kafka = new Kafka({ clientId: RUN, brokers: stack.kafka.brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const redis = stackRedis(stack, { redisCluster: REDIS_CLUSTER });
  // Not idempotent: kafkajs's idempotent producer does not take several sends in flight, and
  // a load generator's repeats are part of the load anyway.
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  let rater: Rater | undefined;
  try {
    await admin.createTopics({
      topics: Object.values(topics).map((topic) => ({ topic, numPartitions: PARTITIONS })),
      waitForLeaders: true,
    });
    await producer.connect();
    const book = loadRateBook(join(projectRoot, 'rates'));
    const ledger = openLedger(redis, { prefix: `${RUN}:` });
    await provisionTenants(ledger, book, tenantProfiles({ seed: 1, tenants: TENANTS }), 10n ** 12n);

    console.log(`writing ${COUNT.toLocaleString()} CDRs to ${topics.usageIn}`);
    const written = await writeStream(cdrStream(COUNT, { seed: 1, tenants: TENANTS, idPrefix: `${RUN}-` }), {
      producer,
      topic: topics.usageIn,
    });

    console.log('baseline: consume only');
    const rawConsumePerSecond = await rawConsume(kafka, COUNT);

    console.log('baseline: one ledger script call per usage');
    const baselineLedger = openLedger(redis, { prefix: `${RUN}-single:` });
    await openBenchTenants(baselineLedger);
    await applyAll(baselineLedger, oneCallPerUsage(makeUsages('warm', 2_000)));
    const singleSeconds = await applyAll(
      baselineLedger,
      oneCallPerUsage(makeUsages('single', SINGLE_SCRIPT_USAGES)),
    );
    const singleScriptPerSecond = SINGLE_SCRIPT_USAGES / singleSeconds;

    console.log('the rater drains the backlog');
    const groupId = `${RUN}-rater`;
    rater = await startRater(
      raterEnv(stack, { topics, groupId, keyPrefix: `${RUN}:`, redisCluster: REDIS_CLUSTER }),
    );
    // What each process spends while the rater drains the backlog: where the cores go.
    const processes = [
      { name: 'rater', pid: rater.child.pid! },
      ...stackProcesses(stack)
        // The one Redis idles while the ledger is on the cluster.
        .filter((p) => p.name !== 'schema-registry' && !(REDIS_CLUSTER && p.name === 'redis'))
        .map((p) => ({ name: p.name, pid: p.pid })),
      { name: 'bench (polling)', pid: process.pid },
    ];
    const cpuBefore = processes.map((p) => cpuSeconds(p.pid));
    const redisBefore = await commandStats(redis);
    const { drainSeconds, firstCommitted } = await waitForDrain(admin, groupId, topics.usageIn, COUNT, () =>
      rater!.sample(),
    );
    const cpuMsPerThousandCdrs = Object.fromEntries(
      processes.map((p, i) => [p.name, Math.round(((cpuSeconds(p.pid) - cpuBefore[i]!) * 1e6) / COUNT)]),
    );
    const redisCommandsPerCdr = statsDelta(redisBefore, await commandStats(redis), COUNT);
    const cdrsPerSecond = (COUNT - firstCommitted) / drainSeconds;
    const rated = await endTotal(admin, topics.ratedOut);
    const deadLettered = await endTotal(admin, topics.deadLetter);

    console.log(`latency at a fixed ${LATENCY_RATE.toLocaleString()} CDRs/s`);
    const sampler = setInterval(() => rater!.sample(), 200);
    const latency = await latencyAtFixedRate(kafka, producer, admin);
    clearInterval(sampler);
    rater.sample();

    const result = {
      cdrs: COUNT,
      tenants: TENANTS,
      partitions: PARTITIONS,
      writtenPerSecond: Math.round(written.sent / written.seconds),
      cdrsPerSecond: Math.round(cdrsPerSecond),
      rawConsumePerSecond: Math.round(rawConsumePerSecond),
      ratio: Number((cdrsPerSecond / rawConsumePerSecond).toFixed(3)),
      singleScriptPerSecond: Math.round(singleScriptPerSecond),
      ratedRecords: rated,
      deadLettered,
      latencyRate: LATENCY_RATE,
      p50Ms: latency.p50Ms,
      p99Ms: latency.p99Ms,
      maxMs: latency.maxMs,
      latencyMeasured: latency.measured,
      latencyMissing: latency.missing,
      rssMB: Math.round(rater.peakRssMB),
      cpuMsPerThousandCdrs,
      redisCommandsPerCdr,
      redis: REDIS_CLUSTER ? 'cluster: 3 masters, a replica each' : 'one server',
      cores: (await import('node:os')).cpus().length,
      node: process.version,
    };
    mkdirSync(join(projectRoot, 'bench-results'), { recursive: true });
    writeFileSync(join(projectRoot, 'bench-results', `${OUT}.json`), `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(join(projectRoot, 'bench-results', `${OUT}.svg`), await drawChart(result));
    printTable(result);
    console.log('Redis commands per CDR while draining (INFO commandstats; a script counts its own commands too):');
    console.table(redisCommandsPerCdr.slice(0, 14));
  } finally {
    if (rater) await stopRater(rater);
    await producer.disconnect();
    await admin.disconnect();
    redis.disconnect();
    await down(stack.dir);
  }
}

function printTable(r: {
  cdrsPerSecond: number;
  rawConsumePerSecond: number;
  singleScriptPerSecond: number;
  ratio: number;
  p50Ms: number;
  p99Ms: number;
  rssMB: number;
  cpuMsPerThousandCdrs: Record<string, number>;
}): void {
  const goal = (ok: boolean) => (ok ? 'met' : 'NOT met');
  console.table([
    {
      measure: 'rater end to end (CDRs/s)',
      value: r.cdrsPerSecond,
      goal: '>= 50,000',
      verdict: goal(r.cdrsPerSecond >= 50_000),
    },
    {
      measure: 'consume only, kafkajs (CDRs/s)',
      value: r.rawConsumePerSecond,
      goal: 'baseline',
      verdict: '',
    },
    {
      measure: 'one script call per usage (usages/s)',
      value: r.singleScriptPerSecond,
      goal: 'baseline',
      verdict: '',
    },
    { measure: 'ratio to consume only', value: r.ratio, goal: '>= 0.7', verdict: goal(r.ratio >= 0.7) },
    { measure: `p50 produce to debit at ${LATENCY_RATE}/s (ms)`, value: r.p50Ms, goal: '', verdict: '' },
    {
      measure: `p99 produce to debit at ${LATENCY_RATE}/s (ms)`,
      value: r.p99Ms,
      goal: '<= 50',
      verdict: goal(r.p99Ms <= 50),
    },
    { measure: 'rater peak RSS (MB)', value: r.rssMB, goal: '<= 200', verdict: goal(r.rssMB <= 200) },
  ]);
  console.log('CPU milliseconds per 1,000 CDRs while draining the backlog, by process:');
  console.table(r.cpuMsPerThousandCdrs);
  console.log(`wrote bench-results/${OUT}.json and bench-results/${OUT}.svg`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
