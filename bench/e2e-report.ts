/**
 * The end-to-end benchmark's goals, and the tables `npm run bench` prints: every figure beside
 * its goal and verdict, what the broker was asked to do, the latency curve, the CPU by
 * process and Redis's commands.
 */
import { CPU_GOALS_US, CpuUsPerCdr } from './cpu-budget';
import type { RequestsPerCdr } from './kafka-requests';
import type { LatencyPoint } from './latency';

export const GOALS = {
  cdrsPerSecond: 50_000,
  ratioToPassthrough: 0.33,
  /** The broker's CPU per CDR for the rater, at most this multiple of the passthrough's. */
  brokerToPassthrough: 1.5,
  /** At the shipped heap cap. */
  rssMB: 200,
  /** The rater's CPU per CDR at the heap cap, at most this much above an uncapped rater's. */
  cappedCpuOverUncapped: 0.1,
  /** p99 produce to debit at half the saturation rate (the drain rate). */
  halfSaturationP99Ms: 250,
  /** At the fixed 5,000/s point. */
  p50Ms: 15,
  p99Ms: 50,
};

export interface E2eFigures {
  cdrsPerSecond: number;
  passthroughPerSecond: number;
  ratioToPassthrough: number;
  passthroughRecordBytes: number;
  passthroughCpuUsPerCdr: { bench: number; broker: number; total: number };
  brokerToPassthrough: number;
  brokerBackgroundCpuMsPerSecond: number;
  brokerIdleCpuMsPerSecond: number;
  brokerPolledCpuMsPerSecond: number;
  brokerAboveIdleUsPerCdr: { rater: number; passthrough: number };
  rawConsumePerSecond: number;
  singleScriptPerSecond: number;
  cpuUsPerCdr: CpuUsPerCdr;
  latencyRate: number;
  p50Ms: number;
  p99Ms: number;
  latencyMissing: number;
  halfSaturation: { rate: number; p50Ms: number; p99Ms: number; missing: number };
  rssMB: number;
  raterNodeOptions: string;
  uncapped: { cdrsPerSecond: number; cpuUsPerCdr: CpuUsPerCdr; rssMB: number; requests: RequestsPerCdr };
  cappedCpuOverUncapped: number;
  ratedRecordBytesSeen: number;
  passthroughRequests: RequestsPerCdr;
  raterRequests: RequestsPerCdr;
  latencyCurve: (LatencyPoint & { point: string })[];
  cpuMsPerThousandCdrs: Record<string, number>;
  redisCommandsPerCdr: unknown[];
  appendfsync: string;
  waitReplicas: number;
}

const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
const fmt = (n: number) => (Number.isFinite(n) ? n.toLocaleString('en') : String(n));
const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;

interface Row {
  measure: string;
  value: string | number;
  goal: string;
  verdict: string;
}

const baseline = (measure: string, value: string | number): Row => ({
  measure,
  value,
  goal: 'baseline',
  verdict: '',
});

function throughputRows(r: E2eFigures): Row[] {
  return [
    {
      measure: 'cdrsPerSecond: rater end to end (CDRs/s)',
      value: fmt(r.cdrsPerSecond),
      goal: `>= ${fmt(GOALS.cdrsPerSecond)}`,
      verdict: verdict(r.cdrsPerSecond >= GOALS.cdrsPerSecond),
    },
    baseline(
      `passthroughPerSecond: consume, produce ${r.passthroughRecordBytes} B, commit (CDRs/s)`,
      fmt(r.passthroughPerSecond),
    ),
    {
      measure: 'ratioToPassthrough',
      value: r.ratioToPassthrough,
      goal: `>= ${GOALS.ratioToPassthrough}`,
      verdict: verdict(r.ratioToPassthrough >= GOALS.ratioToPassthrough),
    },
    baseline('rawConsumePerSecond: consume only (CDRs/s)', fmt(r.rawConsumePerSecond)),
    baseline('singleScriptPerSecond: one script call per usage (usages/s)', fmt(r.singleScriptPerSecond)),
  ];
}

function cpuRows(r: E2eFigures): Row[] {
  const cpu = r.cpuUsPerCdr;
  const brokerGoal = GOALS.brokerToPassthrough * r.passthroughCpuUsPerCdr.broker;
  return [
    {
      measure: 'CPU per CDR, rater (us)',
      value: cpu.rater,
      goal: `<= ${CPU_GOALS_US.rater}`,
      verdict: verdict(cpu.rater <= CPU_GOALS_US.rater),
    },
    {
      measure: `CPU per CDR, broker (us; ${r.brokerToPassthrough}x the passthrough's)`,
      value: cpu.broker,
      goal: `<= ${Math.round(brokerGoal * 10) / 10} (${GOALS.brokerToPassthrough}x)`,
      verdict: verdict(cpu.broker <= brokerGoal),
    },
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
    baseline(
      'CPU per CDR, passthrough: bench + broker (us)',
      `${r.passthroughCpuUsPerCdr.total} (${r.passthroughCpuUsPerCdr.bench} + ${r.passthroughCpuUsPerCdr.broker})`,
    ),
    baseline(
      'broker CPU a second (ms): no client at work; the rater idle; and the bench polling every 50 ms',
      `${r.brokerBackgroundCpuMsPerSecond}; ${r.brokerIdleCpuMsPerSecond}; ${r.brokerPolledCpuMsPerSecond}`,
    ),
    baseline(
      'broker CPU per CDR beyond that (us): rater; passthrough',
      `${r.brokerAboveIdleUsPerCdr.rater}; ${r.brokerAboveIdleUsPerCdr.passthrough}`,
    ),
  ];
}

function heapAndLatencyRows(r: E2eFigures): Row[] {
  const missing = r.latencyMissing > 0 ? ` (${r.latencyMissing} missing)` : '';
  const half = r.halfSaturation;
  const halfMissing = half.missing > 0 ? ` (${half.missing} missing)` : '';
  return [
    {
      measure: `rater peak RSS while draining, VmHWM, heap cap (MB)`,
      value: r.rssMB,
      goal: `<= ${GOALS.rssMB}`,
      verdict: verdict(r.rssMB <= GOALS.rssMB),
    },
    {
      measure: `rater CPU per CDR, heap cap against none (${r.cpuUsPerCdr.rater} / ${r.uncapped.cpuUsPerCdr.rater} us)`,
      value: pct(r.cappedCpuOverUncapped),
      goal: `<= +${GOALS.cappedCpuOverUncapped * 100}%`,
      verdict: verdict(r.cappedCpuOverUncapped <= GOALS.cappedCpuOverUncapped),
    },
    baseline(
      'rater without the heap cap: peak RSS (MB), CDRs/s',
      `${r.uncapped.rssMB}, ${fmt(r.uncapped.cdrsPerSecond)}`,
    ),
    {
      measure: `p99 produce to debit at half saturation, ${fmt(half.rate)}/s (ms)`,
      value: `${half.p99Ms}${halfMissing}`,
      goal: `<= ${GOALS.halfSaturationP99Ms}`,
      verdict: verdict(half.p99Ms <= GOALS.halfSaturationP99Ms && half.missing === 0),
    },
    {
      measure: `p50 produce to debit at ${fmt(r.latencyRate)}/s (ms)`,
      value: `${r.p50Ms}${missing}`,
      goal: `<= ${GOALS.p50Ms}`,
      verdict: verdict(r.p50Ms <= GOALS.p50Ms && r.latencyMissing === 0),
    },
    {
      measure: `p99 produce to debit at ${fmt(r.latencyRate)}/s (ms)`,
      value: `${r.p99Ms}${missing}`,
      goal: `<= ${GOALS.p99Ms}`,
      verdict: verdict(r.p99Ms <= GOALS.p99Ms && r.latencyMissing === 0),
    },
  ];
}

/** What the broker was asked to do, per CDR, by the passthrough and the rater (capped and not). */
function requestRows(r: E2eFigures): Record<string, string | number>[] {
  const row = (who: string, q: RequestsPerCdr) => ({
    clients: who,
    'produce requests per CDR': q.produceRequestsPerCdr,
    'offset commits per CDR': q.offsetCommitsPerCdr,
    'fetches per CDR': q.fetchesPerCdr,
    'CDRs a produce request': Math.round(1 / q.produceRequestsPerCdr),
    'CDRs a commit': Math.round(1 / q.offsetCommitsPerCdr),
  });
  return [
    row('passthrough', r.passthroughRequests),
    row('rater (heap cap)', r.raterRequests),
    row('rater (no cap)', r.uncapped.requests),
  ];
}

export function printTables(r: E2eFigures, run: { out: string; curve: string }): void {
  console.log(`Redis appendfsync ${r.appendfsync}; the rater waited for ${r.waitReplicas} replicas`);
  console.table([...throughputRows(r), ...cpuRows(r), ...heapAndLatencyRows(r)]);
  console.log(
    `rater node options: ${r.raterNodeOptions}; rated records read back averaged ${r.ratedRecordBytesSeen} bytes (the passthrough's: ${r.passthroughRecordBytes})`,
  );
  console.log('What the broker was asked to do (counted by the clients), per CDR while draining:');
  console.table(requestRows(r));
  console.log(`Latency curve, produce to debit (${run.curve}):`);
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
  console.log(`wrote bench-results/${run.out}.json and bench-results/${run.out}.svg`);
}
