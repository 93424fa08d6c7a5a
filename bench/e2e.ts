/**
 * npm run bench: the rater end to end on the local stack, with its baselines in the same run
 * (docs/benchmarks.md, _The end-to-end benchmark_, says what each phase measures):
 *
 * 1. a seeded stream of CDRs (tools/loadgen) written to a fresh usage topic;
 * 2. baselines: consume only, the passthrough (bench/passthrough.ts: the rater's Kafka client
 *    settings and nothing else), one ledger script call per usage;
 * 3. the rater, built and run as in production with the image's heap cap, drains the topic:
 *    throughput, CPU per CDR of the rater, the broker and Redis, Redis's commands, the
 *    requests its clients sent the broker, its peak RSS; then the broker's idle CPU;
 * 4. the latency curve, produce to debit: 1,000, 5,000 and 10,000 CDRs/s, half the drain
 *    rate (the latency goal's point) and saturation (1.5 times it);
 * 5. the rater without the heap cap drains the same stream under other ids.
 *
 * Writes bench-results/e2e.json and .svg and prints every figure beside its goal.
 * BENCH_E2E_COUNT sets the backlog (default 100,000); `--redis-cluster` (or
 * REDIS_CLUSTER=true) puts the ledger on the stack's Redis Cluster (e2e-cluster.*);
 * `--appendfsync always|everysec` and `--wait-replicas N` set Redis's durability.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { down, up } from '../tools/stack/stack';
import { projectRoot } from '../tools/stack/toolchain';
import { drawChart } from './chart';
import { brokerIdle, drainBacklog, Drained, DrainRun } from './e2e-drain';
import { E2eFigures, printTables } from './e2e-report';
import {
  baselines,
  Bench,
  BROKER_IDLE_SECONDS,
  COUNT,
  DURABILITY,
  HALF_SATURATION,
  HEADLINE_RATE,
  LATENCY_RATES,
  LATENCY_SECONDS,
  LATENCY_WAIT_SECONDS,
  LATENCY_WARMUP_SECONDS,
  openBench,
  OUT,
  PARTITIONS,
  prepare,
  REDIS_CLUSTER,
  round1,
  RUN,
  SATURATION_FACTOR,
  TENANTS,
  topics,
  UNCAPPED_STREAM,
  UNCAPPED_TOPIC,
} from './e2e-setup';
import { onInterrupt } from './interrupt';
import { CurvePoint, LatencyProbe } from './latency';
import { sleep } from './measure';
import {
  buildService,
  committedTotal,
  endTotal,
  Rater,
  raterNodeOptionsText,
  SHIPPED_NODE,
  UNCAPPED_NODE,
  stopRater,
  waitForDrain,
} from './rater-run';
import { cdrStream } from '../tools/loadgen/cdr-stream';
import { writeStream } from '../tools/loadgen/writer';

/** The latency curve's points: the fixed rates, half the drain rate and saturation, by rate. */
function curvePoints(cdrsPerSecond: number): CurvePoint[] {
  const hundreds = (n: number) => Math.max(100, Math.round(n / 100) * 100);
  return [
    ...LATENCY_RATES.map((rate) => ({ rate, point: `${rate.toLocaleString('en')}/s` })),
    { rate: hundreds(cdrsPerSecond * HALF_SATURATION), point: 'half saturation' },
    { rate: hundreds(cdrsPerSecond * SATURATION_FACTOR), point: 'saturation' },
  ].sort((x, y) => x.rate - y.rate);
}

const drainRun = (
  b: Bench,
  started: (rater: Rater) => void,
): Omit<DrainRun, 'topics' | 'groupId' | 'node'> => ({
  stack: b.stack,
  admin: b.admin,
  redis: b.redis,
  // The one Redis idles while the ledger is on the cluster; the registry is not on the path.
  processes: b.processes.filter(
    (p) => p.name !== 'schema-registry' && !(REDIS_CLUSTER && p.name === 'redis'),
  ),
  redisCluster: REDIS_CLUSTER,
  keyPrefix: `${RUN}:`,
  count: COUNT,
  waitReplicas: DURABILITY.waitReplicas,
  started,
});

/** The same stream under other ids, drained by a rater without the heap cap. */
async function uncappedDrain(b: Bench, started: (rater: Rater) => void): Promise<Drained> {
  console.log(`writing ${COUNT.toLocaleString('en')} more CDRs (other ids) to ${UNCAPPED_TOPIC}`);
  await writeStream(cdrStream(COUNT, UNCAPPED_STREAM), { producer: b.producer, topic: UNCAPPED_TOPIC });
  console.log(`the rater without the heap cap drains them (node: no NODE_OPTIONS)`);
  return drainBacklog({
    ...drainRun(b, started),
    topics: { ...topics, usageIn: UNCAPPED_TOPIC },
    groupId: `${RUN}-rater-uncapped`,
    node: UNCAPPED_NODE,
  });
}

/** The figures of a run, as bench-results/e2e.json has them. */
function figures(
  m: {
    base: Awaited<ReturnType<typeof baselines>>;
    capped: Drained;
    uncapped: Drained;
    curve: Awaited<ReturnType<LatencyProbe['curve']>>;
    rated: number;
    deadLettered: number;
    rssMBAfterLatency: number;
  },
  o: {
    appendfsync: string;
    writtenPerSecond: number;
    brokerBackgroundCpuMsPerSecond: number;
    brokerIdleCpuMsPerSecond: number;
    brokerPolledCpuMsPerSecond: number;
    ratedRecordBytesSeen: number;
  },
): E2eFigures & Record<string, unknown> {
  const { base, capped, uncapped, curve, rated, deadLettered, rssMBAfterLatency } = m;
  const { appendfsync, writtenPerSecond, brokerBackgroundCpuMsPerSecond, brokerIdleCpuMsPerSecond } = o;
  const cdrsPerSecond = capped.cdrsPerSecond;
  const headline = curve.find((p) => p.point === `${HEADLINE_RATE.toLocaleString('en')}/s`)!;
  const half = curve.find((p) => p.point === 'half saturation')!;

  const result: E2eFigures & Record<string, unknown> = {
    cdrs: COUNT,
    tenants: TENANTS,
    partitions: PARTITIONS,
    writtenPerSecond,
    cdrsPerSecond: Math.round(cdrsPerSecond),
    rawConsumePerSecond: Math.round(base.rawConsumePerSecond),
    ratio: Number((cdrsPerSecond / base.rawConsumePerSecond).toFixed(3)),
    passthroughPerSecond: Math.round(base.passthroughPerSecond),
    ratioToPassthrough: Number((cdrsPerSecond / base.passthroughPerSecond).toFixed(3)),
    passthroughRecordBytes: base.passthroughRecordBytes,
    passthroughCpuUsPerCdr: base.passthroughCpuUsPerCdr,
    brokerToPassthrough: Number((capped.cpuUsPerCdr.broker / base.passthroughCpuUsPerCdr.broker).toFixed(2)),
    brokerBackgroundCpuMsPerSecond,
    brokerIdleCpuMsPerSecond,
    brokerPolledCpuMsPerSecond: o.brokerPolledCpuMsPerSecond,
    // The broker's CPU a CDR beyond what it spends a second anyway, over the metered time.
    brokerAboveIdleUsPerCdr: {
      rater: round1(
        capped.cpuUsPerCdr.broker - (brokerIdleCpuMsPerSecond * 1e3 * capped.meteredSeconds) / COUNT,
      ),
      passthrough: round1(
        base.passthroughCpuUsPerCdr.broker -
          (brokerBackgroundCpuMsPerSecond * 1e3 * base.passthroughSeconds) / COUNT,
      ),
    },
    passthroughRequests: base.passthroughRequests,
    raterRequests: capped.requests,
    singleScriptPerSecond: Math.round(base.singleScriptPerSecond),
    ratedRecords: rated,
    deadLettered,
    ratedRecordBytesSeen: o.ratedRecordBytesSeen,
    latencyRate: HEADLINE_RATE,
    p50Ms: headline.p50Ms,
    p99Ms: headline.p99Ms,
    maxMs: headline.maxMs,
    latencyMeasured: headline.measured,
    latencyMissing: headline.missing,
    halfSaturation: {
      rate: half.offeredPerSecond,
      p50Ms: half.p50Ms,
      p99Ms: half.p99Ms,
      missing: half.missing,
    },
    latencyCurve: curve,
    saturationFactor: SATURATION_FACTOR,
    rssMB: capped.rssMB,
    rssMBAfterLatency,
    raterNodeOptions: raterNodeOptionsText(),
    uncapped: {
      cdrsPerSecond: Math.round(uncapped.cdrsPerSecond),
      cpuUsPerCdr: uncapped.cpuUsPerCdr,
      rssMB: uncapped.rssMB,
      requests: uncapped.requests,
    },
    cappedCpuOverUncapped: Number((capped.cpuUsPerCdr.rater / uncapped.cpuUsPerCdr.rater - 1).toFixed(3)),
    cpuUsPerCdr: capped.cpuUsPerCdr,
    cpuMsPerThousandCdrs: capped.cpuMsPerThousandCdrs,
    redisCommandsPerCdr: capped.redisCommandsPerCdr,
    redis: REDIS_CLUSTER ? 'cluster: 3 masters, a replica each' : 'one server',
    appendfsync,
    waitReplicas: DURABILITY.waitReplicas,
    cores: cpus().length,
    node: process.version,
  };
  return result;
}

/** The run's phases after the stack is up: what `npm run bench` measures. */
async function measure(
  b: Bench,
  started: (rater: Rater) => void,
  opened: (probe: LatencyProbe) => void,
  sampling: (timer: NodeJS.Timeout) => void,
): Promise<E2eFigures & Record<string, unknown>> {
  const { appendfsync, writtenPerSecond } = await prepare(b);
  const base = await baselines(b);
  console.log(`the broker with no client at work, ${BROKER_IDLE_SECONDS} s`);
  const brokerBackgroundCpuMsPerSecond = await brokerIdle(b.broker, BROKER_IDLE_SECONDS);

  console.log(`the rater drains the backlog (node: ${raterNodeOptionsText()})`);
  const groupId = `${RUN}-rater`;
  const capped = await drainBacklog({
    ...drainRun(b, started),
    topics,
    groupId,
    node: SHIPPED_NODE,
  });
  const cdrsPerSecond = capped.cdrsPerSecond;
  console.log(
    `the broker with the rater idle, ${BROKER_IDLE_SECONDS} s, then with the bench polling as in a drain`,
  );
  const brokerIdleCpuMsPerSecond = await brokerIdle(b.broker, BROKER_IDLE_SECONDS);
  const brokerPolledCpuMsPerSecond = await brokerIdle(b.broker, BROKER_IDLE_SECONDS, () =>
    committedTotal(b.admin, groupId, topics.usageIn),
  );
  const rated = await endTotal(b.admin, topics.ratedOut);
  const deadLettered = await endTotal(b.admin, topics.deadLetter);

  const probe = await LatencyProbe.open(b.kafka, b.admin, topics.ratedOut, `${RUN}-latency`);
  opened(probe);
  const sampler = setInterval(() => capped.rater.sample(), 200);
  sampling(sampler);
  const curve = await probe.curve(
    curvePoints(cdrsPerSecond),
    {
      producer: b.producer,
      topic: topics.usageIn,
      tenants: TENANTS,
      seconds: LATENCY_SECONDS,
      warmupSeconds: LATENCY_WARMUP_SECONDS,
      waitSeconds: LATENCY_WAIT_SECONDS,
      idPrefix: `${RUN}-lat`,
      seed: 2,
    },
    // The next point starts with the rater caught up.
    async () =>
      void (await waitForDrain(b.admin, groupId, topics.usageIn, await endTotal(b.admin, topics.usageIn))),
  );
  clearInterval(sampler);
  capped.rater.sample();
  const rssMBAfterLatency = Math.round(capped.rater.peakRssMB);
  await stopRater(capped.rater);
  const uncapped = await uncappedDrain(b, started);
  await stopRater(uncapped.rater);
  const measured = { base, capped, uncapped, curve, rated, deadLettered, rssMBAfterLatency };
  return figures(measured, {
    appendfsync,
    writtenPerSecond,
    brokerBackgroundCpuMsPerSecond,
    brokerIdleCpuMsPerSecond,
    brokerPolledCpuMsPerSecond,
    ratedRecordBytesSeen: probe.ratedValueBytes().bytes,
  });
}

async function main(): Promise<void> {
  buildService();
  const stackDir = join(projectRoot, '.stack', 'bench');
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
  const started = (r: Rater) => (rater = r);
  try {
    const b = await openBench(await up(stackDir, { redisCluster: REDIS_CLUSTER }));
    close = async () => {
      await probe?.close().catch(() => {});
      await b.producer.disconnect().catch(() => {});
      await b.admin.disconnect().catch(() => {});
      b.redis.disconnect();
    };
    const result = await measure(
      b,
      started,
      (p) => (probe = p),
      (t) => (sampler = t),
    );
    mkdirSync(join(projectRoot, 'bench-results'), { recursive: true });
    writeFileSync(join(projectRoot, 'bench-results', `${OUT}.json`), `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(join(projectRoot, 'bench-results', `${OUT}.svg`), await drawChart(result));
    printTables(result, {
      out: OUT,
      curve: `${LATENCY_SECONDS} s a point, the first ${LATENCY_WARMUP_SECONDS} s left out; half saturation offers ${HALF_SATURATION}x the drain rate, saturation ${SATURATION_FACTOR}x; missing: not rated within ${LATENCY_WAIT_SECONDS} s of the last send`,
    });
  } finally {
    clearInterval(sampler);
    await close();
    await stopAll().catch((error: unknown) => console.error(error));
    cleanUp();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
