/**
 * npm run bench: the rater end to end on the local stack, with its baselines in the same run.
 *
 * 1. A seeded stream of realistic CDRs (tools/loadgen) is written to a fresh usage topic.
 * 2. Baseline: a consume-only kafkajs consumer reads the whole topic (rawConsumePerSecond).
 * 3. Baseline: a passthrough (bench/passthrough.ts), the rater's Kafka client settings with
 *    nothing between consuming and producing: one record of a rated record's size out for
 *    each record in, offsets committed after each batch's produce (passthroughPerSecond, and
 *    the CPU per CDR of this process and the broker meanwhile).
 * 4. Baseline: the ledger applies usages with one script call per usage (singleScriptPerSecond),
 *    against the same Redis.
 * 5. The rater, built and run as in production (`node dist/cli.js serve`, consumer and relay
 *    roles, the image's node options), drains the same topic: decoded, rated, debited, rated
 *    records and events out, offsets committed (cdrsPerSecond, ratioToPassthrough, CPU per CDR
 *    of the rater, the broker and Redis, Redis's commands, and the rater's peak RSS).
 * 6. A latency curve: with the rater caught up, CDRs are offered at a fixed 1,000, 5,000 and
 *    10,000 a second and at saturation (1.5 times the drain rate just measured), 12 s each;
 *    each one's latency runs from its produce request to its debit (`ratedAt` on
 *    usage.rated.v1), the first 3 s left out. The 5,000/s point is the headline (p50Ms, p99Ms).
 *
 * Writes bench-results/e2e.json and bench-results/e2e.svg (e2e-cluster.* on the cluster) and
 * prints the figures beside their goals. BENCH_E2E_COUNT sets the backlog size (default
 * 300,000). `--redis-cluster` (or REDIS_CLUSTER=true) puts the ledger on the stack's Redis
 * Cluster, 3 masters with a replica each, for the rater and the baselines alike.
 * `--appendfsync always|everysec` sets Redis's fsync (default always, as the stack starts it;
 * everysec writes e2e-everysec.*) and `--wait-replicas N` makes the rater wait for N replicas
 * (REDIS_WAIT_REPLICAS) before it commits a batch; both are printed with the figures.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { openLedger } from '../src/ledger/open-ledger';
import { cdrStream, CdrStreamOptions, tenantProfiles } from '../tools/loadgen/cdr-stream';
import { provisionTenants } from '../tools/loadgen/tenants';
import { writeStream } from '../tools/loadgen/writer';
import { loadRateBook } from '../src/rating';
import { down, StackInfo, stackProcesses, stackRedis, up } from '../tools/stack/stack';
import { projectRoot } from '../tools/stack/toolchain';
import { drawChart } from './chart';
import { CPU_GOALS_US, cpuUsPerCdr } from './cpu-budget';
import { applyAppendfsync, durabilityOptions } from './durability';
import { onInterrupt } from './interrupt';
import { LatencyPoint, LatencyProbe } from './latency';
import { applyAll, makeUsages, oneCallPerUsage, openBenchTenants } from './ledger-paths';
import { cpuMeter, seconds, sleep } from './measure';
import { passthrough } from './passthrough';
import { averageRatedValueBytes } from './rated-size';
import {
  buildService,
  endTotal,
  Rater,
  raterEnv,
  raterNodeOptionsText,
  startRater,
  stopRater,
  waitForDrain,
} from './rater-run';
import { commandStats, statsDelta } from './redis-stats';

const COUNT = Number(process.env.BENCH_E2E_COUNT ?? 300_000);
const PARTITIONS = Number(process.env.BENCH_E2E_PARTITIONS ?? 12);
const TENANTS = 1_000;
/** The fixed offered loads of the latency curve; saturation is added from the drain rate. */
const LATENCY_RATES = [1_000, 5_000, 10_000];
/** The curve's headline point, with the latency goals. */
const HEADLINE_RATE = 5_000;
/** Saturation: offered at this multiple of the measured drain rate (a backlog builds up). */
const SATURATION_FACTOR = 1.5;
const LATENCY_SECONDS = 12;
/** The first seconds of each fixed-rate point are left out of its percentiles (warm-up). */
const LATENCY_WARMUP_SECONDS = 3;
/** After a point's last send: a record not rated within this counts as missing. */
const LATENCY_WAIT_SECONDS = 30;
const SINGLE_SCRIPT_USAGES = 20_000;
/** CDRs of the stream rated without Redis to size the passthrough's records. */
const RATED_SIZE_SAMPLE = 2_000;
const GOALS = {
  cdrsPerSecond: 50_000,
  ratioToPassthrough: 0.5,
  p50Ms: 15,
  p99Ms: 50,
  rssMB: 200,
};
const RUN = `e2e-${Date.now()}`;
const REDIS_CLUSTER = process.argv.includes('--redis-cluster') || process.env.REDIS_CLUSTER === 'true';
const DURABILITY = durabilityOptions();
/** bench-results/<OUT>.json and .svg: the cluster's figures beside the single server's. */
const OUT =
  (REDIS_CLUSTER ? 'e2e-cluster' : 'e2e') +
  (DURABILITY.appendfsync === 'always' ? '' : `-${DURABILITY.appendfsync}`) +
  (DURABILITY.waitReplicas > 0 ? `-wait${DURABILITY.waitReplicas}` : '');
const topics = {
  usageIn: `${RUN}.cdr`,
  ratedOut: `${RUN}.rated`,
  eventsOut: `${RUN}.events`,
  deadLetter: `${RUN}.dlq`,
};
const PASSTHROUGH_TOPIC = `${RUN}.passthrough`;
const STREAM: Partial<CdrStreamOptions> = { seed: 1, tenants: TENANTS, idPrefix: `${RUN}-` };

/** Reads the whole usage topic with a consumer that does nothing with what it reads. */
async function rawConsume(kafka: Kafka, total: number): Promise<number> {
  const consumer = kafka.consumer({ groupId: `${RUN}-raw`, maxBytesPerPartition: 4 * 1024 * 1024 });
  try {
    await consumer.connect();
    await consumer.subscribe({ topic: topics.usageIn, fromBeginning: true });
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

const round1 = (n: number) => Math.round(n * 10) / 10;
const us = (cpuSecondsSpent: number, cdrs: number) => round1((cpuSecondsSpent * 1e6) / cdrs);

async function main(): Promise<void> {
  buildService();
  const stackDir = join(projectRoot, '.stack', 'bench');
  let stack: StackInfo | undefined;
  let rater: Rater | undefined;
  let probe: LatencyProbe | undefined;
  let sampler: NodeJS.Timeout | undefined;
  let stopping: Promise<void> | undefined;
  // Once, whoever asks first (the finally block, an interrupt, an unhandled rejection).
  const stopAll = () =>
    (stopping ??= (async () => {
      if (rater) await stopRater(rater);
      await down(stackDir);
    })());
  const cleanUp = onInterrupt(stopAll);
  // A rejection nothing waits for ends the process before any finally block runs: stop what
  // the bench started first.
  let close = async () => {};
  process.once('unhandledRejection', (error) => {
    console.error(error);
    void Promise.race([close(), sleep(5_000)])
      .then(stopAll)
      .finally(() => process.exit(1));
  });
  try {
    stack = await up(stackDir, { redisCluster: REDIS_CLUSTER });
    const kafka = new Kafka({ clientId: RUN, brokers: stack.kafka.brokers, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    const redis = stackRedis(stack, { redisCluster: REDIS_CLUSTER });
    // Not idempotent: kafkajs's idempotent producer does not take several sends in flight, and
    // a load generator's repeats are part of the load anyway.
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    close = async () => {
      await probe?.close().catch(() => {});
      await producer.disconnect().catch(() => {});
      await admin.disconnect().catch(() => {});
      redis.disconnect();
    };
    const appendfsync = await applyAppendfsync(redis, DURABILITY.appendfsync);
    console.log(`Redis appendfsync ${appendfsync}; the rater waits for ${DURABILITY.waitReplicas} replicas`);
    await admin.connect();
    await admin.createTopics({
      topics: [...Object.values(topics), PASSTHROUGH_TOPIC].map((topic) => ({
        topic,
        numPartitions: PARTITIONS,
      })),
      waitForLeaders: true,
    });
    await producer.connect();
    const book = loadRateBook(join(projectRoot, 'rates'));
    const ledger = openLedger(redis, { prefix: `${RUN}:` });
    const tenants = tenantProfiles({ seed: 1, tenants: TENANTS });
    await provisionTenants(ledger, book, tenants, 10n ** 12n);
    const processes = stackProcesses(stack);
    const broker = processes.find((p) => p.name === 'kafka')!;

    console.log(`writing ${COUNT.toLocaleString('en')} CDRs to ${topics.usageIn}`);
    const written = await writeStream(cdrStream(COUNT, STREAM), { producer, topic: topics.usageIn });

    console.log('baseline: consume only');
    const rawConsumePerSecond = await rawConsume(kafka, COUNT);

    const estimated = await averageRatedValueBytes(book, tenants, cdrStream(RATED_SIZE_SAMPLE, STREAM));
    console.log(
      `baseline: passthrough, ${estimated.bytes}-byte records out (the average rated record of the stream's first ${estimated.records.toLocaleString('en')} valid CDRs)`,
    );
    const pass = await passthrough({
      brokers: stack.kafka.brokers,
      groupId: `${RUN}-passthrough`,
      from: topics.usageIn,
      to: PASSTHROUGH_TOPIC,
      total: COUNT,
      valueBytes: estimated.bytes,
      brokerPid: broker.pid,
    });
    const passthroughCpu = {
      bench: us(pass.cpuSeconds['bench (passthrough)']!, COUNT),
      broker: us(pass.cpuSeconds.kafka!, COUNT),
    };

    console.log('baseline: one ledger script call per usage');
    const baselineLedger = openLedger(redis, { prefix: `${RUN}-single:` });
    await openBenchTenants(baselineLedger);
    await applyAll(baselineLedger, oneCallPerUsage(makeUsages('warm', 2_000)));
    const singleSeconds = await applyAll(
      baselineLedger,
      oneCallPerUsage(makeUsages('single', SINGLE_SCRIPT_USAGES)),
    );
    const singleScriptPerSecond = SINGLE_SCRIPT_USAGES / singleSeconds;

    console.log(`the rater drains the backlog (node: ${raterNodeOptionsText()})`);
    const groupId = `${RUN}-rater`;
    rater = await startRater({
      ...raterEnv(stack, { topics, groupId, keyPrefix: `${RUN}:`, redisCluster: REDIS_CLUSTER }),
      REDIS_WAIT_REPLICAS: String(DURABILITY.waitReplicas),
    });
    // What each process spends while the rater drains the backlog: where the cores go.
    const meter = cpuMeter([
      { name: 'rater', pid: rater.child.pid! },
      ...processes
        // The one Redis idles while the ledger is on the cluster.
        .filter((p) => p.name !== 'schema-registry' && !(REDIS_CLUSTER && p.name === 'redis'))
        .map((p) => ({ name: p.name, pid: p.pid })),
      { name: 'bench (polling)', pid: process.pid },
    ]);
    const redisBefore = await commandStats(redis);
    const { drainSeconds, firstCommitted } = await waitForDrain(admin, groupId, topics.usageIn, COUNT, () =>
      rater!.sample(),
    );
    const drainCpu = meter();
    rater.sample();
    const rssMB = Math.round(rater.peakRssMB);
    const cpuMsPerThousandCdrs = Object.fromEntries(
      Object.entries(drainCpu).map(([name, s]) => [name, Math.round((s * 1e6) / COUNT)]),
    );
    const cpuPerCdr = cpuUsPerCdr(drainCpu, COUNT);
    const redisCommandsPerCdr = statsDelta(redisBefore, await commandStats(redis), COUNT);
    const cdrsPerSecond = (COUNT - firstCommitted) / drainSeconds;
    const rated = await endTotal(admin, topics.ratedOut);
    const deadLettered = await endTotal(admin, topics.deadLetter);

    probe = await LatencyProbe.open(kafka, admin, topics.ratedOut, `${RUN}-latency`);
    sampler = setInterval(() => rater!.sample(), 200);
    const saturationRate = Math.round((cdrsPerSecond * SATURATION_FACTOR) / 100) * 100;
    const latencyCurve: (LatencyPoint & { point: string })[] = [];
    for (const [i, rate] of [...LATENCY_RATES, saturationRate].entries()) {
      const point = i < LATENCY_RATES.length ? `${rate.toLocaleString('en')}/s` : 'saturation';
      console.log(
        `latency at ${rate.toLocaleString('en')} CDRs/s offered (${point}), ${LATENCY_SECONDS} s, the first ${LATENCY_WARMUP_SECONDS} s left out`,
      );
      const measured = await probe.measure({
        producer,
        topic: topics.usageIn,
        tenants: TENANTS,
        rate,
        seconds: LATENCY_SECONDS,
        warmupSeconds: LATENCY_WARMUP_SECONDS,
        waitSeconds: LATENCY_WAIT_SECONDS,
        idPrefix: `${RUN}-lat${i}-`,
        seed: 2 + i,
      });
      latencyCurve.push({ point, ...measured });
      if (measured.missing > 0)
        console.log(`  ${measured.missing} records not rated within the wait: missing`);
      // The next point starts with the rater caught up.
      await waitForDrain(admin, groupId, topics.usageIn, await endTotal(admin, topics.usageIn));
    }
    clearInterval(sampler);
    rater.sample();
    const headline = latencyCurve.find((p) => p.point === `${HEADLINE_RATE.toLocaleString('en')}/s`)!;
    const passthroughPerSecond = pass.perSecond;

    const result = {
      cdrs: COUNT,
      tenants: TENANTS,
      partitions: PARTITIONS,
      writtenPerSecond: Math.round(written.sent / written.seconds),
      cdrsPerSecond: Math.round(cdrsPerSecond),
      rawConsumePerSecond: Math.round(rawConsumePerSecond),
      ratio: Number((cdrsPerSecond / rawConsumePerSecond).toFixed(3)),
      passthroughPerSecond: Math.round(passthroughPerSecond),
      ratioToPassthrough: Number((cdrsPerSecond / passthroughPerSecond).toFixed(3)),
      passthroughRecordBytes: estimated.bytes,
      passthroughCpuUsPerCdr: {
        ...passthroughCpu,
        total: round1(passthroughCpu.bench + passthroughCpu.broker),
      },
      singleScriptPerSecond: Math.round(singleScriptPerSecond),
      ratedRecords: rated,
      deadLettered,
      ratedRecordBytesSeen: probe.ratedValueBytes().bytes,
      latencyRate: HEADLINE_RATE,
      p50Ms: headline.p50Ms,
      p99Ms: headline.p99Ms,
      maxMs: headline.maxMs,
      latencyMeasured: headline.measured,
      latencyMissing: headline.missing,
      latencyCurve,
      saturationFactor: SATURATION_FACTOR,
      rssMB,
      rssMBAfterLatency: Math.round(rater.peakRssMB),
      raterNodeOptions: raterNodeOptionsText(),
      cpuUsPerCdr: cpuPerCdr,
      cpuMsPerThousandCdrs,
      redisCommandsPerCdr,
      redis: REDIS_CLUSTER ? 'cluster: 3 masters, a replica each' : 'one server',
      appendfsync,
      waitReplicas: DURABILITY.waitReplicas,
      cores: cpus().length,
      node: process.version,
    };
    mkdirSync(join(projectRoot, 'bench-results'), { recursive: true });
    writeFileSync(join(projectRoot, 'bench-results', `${OUT}.json`), `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(join(projectRoot, 'bench-results', `${OUT}.svg`), await drawChart(result));
    printTables(result);
  } finally {
    clearInterval(sampler);
    await close();
    await stopAll().catch((error: unknown) => console.error(error));
    cleanUp();
  }
}

const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
const fmt = (n: number) => (Number.isFinite(n) ? n.toLocaleString('en') : String(n));

function printTables(r: {
  cdrsPerSecond: number;
  passthroughPerSecond: number;
  ratioToPassthrough: number;
  passthroughRecordBytes: number;
  passthroughCpuUsPerCdr: { bench: number; broker: number; total: number };
  rawConsumePerSecond: number;
  singleScriptPerSecond: number;
  cpuUsPerCdr: { rater: number; broker: number; redis: number; total: number };
  p50Ms: number;
  p99Ms: number;
  latencyMissing: number;
  rssMB: number;
  raterNodeOptions: string;
  ratedRecordBytesSeen: number;
  latencyCurve: (LatencyPoint & { point: string })[];
  cpuMsPerThousandCdrs: Record<string, number>;
  redisCommandsPerCdr: unknown[];
  appendfsync: string;
  waitReplicas: number;
}): void {
  const cpu = r.cpuUsPerCdr;
  console.log(`Redis appendfsync ${r.appendfsync}; the rater waited for ${r.waitReplicas} replicas`);
  const missing = r.latencyMissing > 0 ? ` (${r.latencyMissing} missing)` : '';
  console.table([
    {
      measure: 'cdrsPerSecond: rater end to end (CDRs/s)',
      value: fmt(r.cdrsPerSecond),
      goal: `>= ${fmt(GOALS.cdrsPerSecond)}`,
      verdict: verdict(r.cdrsPerSecond >= GOALS.cdrsPerSecond),
    },
    {
      measure: `passthroughPerSecond: consume, produce ${r.passthroughRecordBytes} B, commit (CDRs/s)`,
      value: fmt(r.passthroughPerSecond),
      goal: 'baseline',
      verdict: '',
    },
    {
      measure: 'ratioToPassthrough',
      value: r.ratioToPassthrough,
      goal: `>= ${GOALS.ratioToPassthrough}`,
      verdict: verdict(r.ratioToPassthrough >= GOALS.ratioToPassthrough),
    },
    {
      measure: 'rawConsumePerSecond: consume only (CDRs/s)',
      value: fmt(r.rawConsumePerSecond),
      goal: 'baseline',
      verdict: '',
    },
    {
      measure: 'singleScriptPerSecond: one script call per usage (usages/s)',
      value: fmt(r.singleScriptPerSecond),
      goal: 'baseline',
      verdict: '',
    },
    {
      measure: 'CPU per CDR, rater (us)',
      value: cpu.rater,
      goal: `<= ${CPU_GOALS_US.rater}`,
      verdict: verdict(cpu.rater <= CPU_GOALS_US.rater),
    },
    { measure: 'CPU per CDR, broker (us)', value: cpu.broker, goal: '', verdict: '' },
    {
      measure: 'CPU per CDR, Redis (us)',
      value: cpu.redis,
      goal: `<= ${CPU_GOALS_US.redis}`,
      verdict: verdict(cpu.redis <= CPU_GOALS_US.redis),
    },
    {
      measure: 'CPU per CDR, total (us)',
      value: cpu.total,
      goal: `<= ${CPU_GOALS_US.total}`,
      verdict: verdict(cpu.total <= CPU_GOALS_US.total),
    },
    {
      measure: 'CPU per CDR, passthrough: bench + broker (us)',
      value: `${r.passthroughCpuUsPerCdr.total} (${r.passthroughCpuUsPerCdr.bench} + ${r.passthroughCpuUsPerCdr.broker})`,
      goal: 'baseline',
      verdict: '',
    },
    {
      measure: `p50 produce to debit at ${fmt(HEADLINE_RATE)}/s (ms)`,
      value: `${r.p50Ms}${missing}`,
      goal: `<= ${GOALS.p50Ms}`,
      verdict: verdict(r.p50Ms <= GOALS.p50Ms && r.latencyMissing === 0),
    },
    {
      measure: `p99 produce to debit at ${fmt(HEADLINE_RATE)}/s (ms)`,
      value: `${r.p99Ms}${missing}`,
      goal: `<= ${GOALS.p99Ms}`,
      verdict: verdict(r.p99Ms <= GOALS.p99Ms && r.latencyMissing === 0),
    },
    {
      measure: 'rater peak RSS while draining, VmHWM (MB)',
      value: r.rssMB,
      goal: `<= ${GOALS.rssMB}`,
      verdict: verdict(r.rssMB <= GOALS.rssMB),
    },
  ]);
  console.log(
    `rater node options: ${r.raterNodeOptions}; rated records read back averaged ${r.ratedRecordBytesSeen} bytes (the passthrough's: ${r.passthroughRecordBytes})`,
  );
  console.log(
    `Latency curve, produce to debit (${LATENCY_SECONDS} s a point, the first ${LATENCY_WARMUP_SECONDS} s left out; saturation offers ${SATURATION_FACTOR}x the drain rate; missing: not rated within ${LATENCY_WAIT_SECONDS} s of the last send):`,
  );
  console.table(
    r.latencyCurve.map((p) => ({
      point: p.point,
      offeredPerSecond: p.offeredPerSecond,
      achievedPerSecond: p.achievedPerSecond,
      p50Ms: p.p50Ms,
      p99Ms: p.p99Ms,
      maxMs: p.maxMs,
      measured: p.measured,
      missing: p.missing,
    })),
  );
  console.log('CPU milliseconds per 1,000 CDRs while draining the backlog, by process:');
  console.table(r.cpuMsPerThousandCdrs);
  console.log(
    'Redis commands per CDR while draining (INFO commandstats; a script counts its own commands too):',
  );
  console.table(r.redisCommandsPerCdr.slice(0, 14));
  console.log(`wrote bench-results/${OUT}.json and bench-results/${OUT}.svg`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
