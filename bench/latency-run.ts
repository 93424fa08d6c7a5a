/**
 * npm run bench:latency: only the latency phase of the end-to-end benchmark, and where the
 * time goes. The stack is started, a backlog of BENCH_E2E_COUNT CDRs (default 100,000) written
 * and drained by the rater (its CDRs/s printed, so that a throughput loss shows), then CDRs are
 * offered at each of BENCH_LATENCY_RATES (default 2000,4000) for BENCH_LATENCY_SECONDS (default
 * 15), the rater caught up between points. Per point: p50 / p99 / max produce to debit, split
 * at the broker's acknowledgement of the produce request, and the rater's own figures over the
 * point from GET /metrics: fetches, batches and records a batch, the mean batch and ledger call.
 */
import { join } from 'node:path';
import { down, up } from '../tools/stack/stack';
import { projectRoot } from '../tools/stack/toolchain';
import { drainBacklog } from './e2e-drain';
import { COUNT, openBench, prepare, RUN, TENANTS, topics } from './e2e-setup';
import { onInterrupt } from './interrupt';
import { LatencyProbe } from './latency';
import { cpuMeter } from './measure';
import { buildService, endTotal, Rater, SHIPPED_NODE, stopRater, waitForDrain } from './rater-run';

const RATES = (process.env.BENCH_LATENCY_RATES ?? '2000,4000').split(',').map(Number);
const SECONDS = Number(process.env.BENCH_LATENCY_SECONDS ?? 15);
const WARMUP_SECONDS = 3;

/** The rater's counters and histogram sums and counts, by series. */
async function scrape(port: number): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const wanted =
    /^(rater_(?:batch|ledger|rating)_duration_seconds_(?:sum|count)|rater_records_consumed_total\S*|rater_kafka_requests_total\{client="consumer",api="Fetch"\}) (\S+)$/gm;
  const out: Record<string, number> = {};
  for (const [, name, value] of text.matchAll(wanted)) out[name!] = (out[name!] ?? 0) + Number(value);
  return out;
}

function rater(before: Record<string, number>, after: Record<string, number>, seconds: number) {
  const d = (name: string) => (after[name] ?? 0) - (before[name] ?? 0);
  const batches = d('rater_batch_duration_seconds_count');
  const records = Object.keys(after)
    .filter((name) => name.startsWith('rater_records_consumed_total'))
    .reduce((sum, name) => sum + d(name), 0);
  const ms = (name: string) => Math.round((d(`${name}_sum`) / d(`${name}_count`)) * 10_000) / 10;
  return {
    fetchesPerSecond:
      Math.round((d('rater_kafka_requests_total{client="consumer",api="Fetch"}') / seconds) * 10) / 10,
    batches,
    recordsPerBatch: Math.round((records / batches) * 10) / 10,
    batchMs: ms('rater_batch_duration_seconds'),
    ledgerCallMs: ms('rater_ledger_duration_seconds'),
  };
}

async function main(): Promise<void> {
  buildService();
  const stackDir = join(projectRoot, '.stack', 'latency');
  let running: Rater | undefined;
  const stopAll = async () => {
    if (running) await stopRater(running);
    await down(stackDir);
  };
  const cleanUp = onInterrupt(stopAll);
  try {
    const b = await openBench(await up(stackDir, {}));
    await prepare(b);
    const processes = b.processes.filter((p) => p.name === 'kafka' || p.name === 'redis');
    const groupId = `${RUN}-rater`;
    const drained = await drainBacklog({
      stack: b.stack,
      admin: b.admin,
      redis: b.redis,
      processes,
      redisCluster: false,
      topics,
      groupId,
      keyPrefix: `${RUN}:`,
      count: COUNT,
      waitReplicas: 0,
      node: SHIPPED_NODE,
      started: (r) => (running = r),
    });
    console.log(
      `drain: ${Math.round(drained.cdrsPerSecond)} CDRs/s (${COUNT} CDRs), peak RSS ${drained.rssMB} MB, rater CPU ${drained.cpuUsPerCdr.rater} us a CDR`,
    );
    const sampler = setInterval(() => drained.rater.sample(), 200);
    const probe = await LatencyProbe.open(b.kafka, b.admin, topics.ratedOut, `${RUN}-latency`);
    for (const [i, rate] of RATES.entries()) {
      const before = await scrape(drained.rater.port);
      const meter = cpuMeter([{ name: 'rater', pid: drained.rater.child.pid! }, ...processes]);
      const point = await probe.measure({
        producer: b.producer,
        topic: topics.usageIn,
        tenants: TENANTS,
        rate,
        seconds: SECONDS,
        warmupSeconds: WARMUP_SECONDS,
        waitSeconds: 30,
        idPrefix: `${RUN}-lat${i}-`,
        seed: 2 + i,
      });
      const cpu = Object.fromEntries(
        Object.entries(meter()).map(([name, s]) => [name, Math.round((s * 1000) / SECONDS)]),
      );
      const figures = rater(before, await scrape(drained.rater.port), SECONDS);
      console.log(JSON.stringify({ rate, ...point, rater: figures, cpuMsPerSecond: cpu }));
      await waitForDrain(b.admin, groupId, topics.usageIn, await endTotal(b.admin, topics.usageIn));
    }
    clearInterval(sampler);
    drained.rater.sample();
    console.log(`peak RSS after the points: ${Math.round(drained.rater.peakRssMB)} MB`);
    await probe.close();
    await b.producer.disconnect();
    await b.admin.disconnect();
    b.redis.disconnect();
  } finally {
    await stopAll().catch((error: unknown) => console.error(error));
    cleanUp();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
