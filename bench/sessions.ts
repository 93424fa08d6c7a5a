/**
 * npm run bench:sessions: call sessions on the running service under load. Calls are offered
 * at BENCH_SESSIONS_RATE a second (2,000 by default) for BENCH_SESSIONS_SECONDS (20), after a
 * warm-up of BENCH_SESSIONS_WARMUP_SECONDS (3) at the same rate; each call is started
 * (POST /v1/sessions), renewed once halfway (/update) and ended (/end) BENCH_SESSIONS_HOLD_MS
 * (1,000) after its start, so about rate x hold calls are live at once, spread over 50 prepaid
 * tenants and 97 users each. The load comes from a process of its own
 * (bench/sessions-client.ts), open loop, over 32 keep-alive connections, against the local
 * stack's Redis with the shipped decks; the service runs the `api` role in this process.
 *
 * Prints each figure with its goal and verdict, and writes bench-results/sessions.json:
 * client-side p50/p99 latency by request kind (goal p99 < 10 ms), the achieved rate of completed
 * calls (goal: at least 95% of the offered), and the CPU time per call of the service and of
 * Redis (deltas of their CPU time in /proc over the measured run, divided by the calls
 * completed). BENCH_SESSIONS_PIN=1 pins the service to CPU 0 and the load to CPU 1.
 */
import { execFileSync, fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type App, startApp } from '../src/app';
import { loadConfig } from '../src/config';
import { accountSettings } from '../src/credits/wallet';
import { createLogger } from '../src/observability/logs';
import { loadRateBook } from '../src/rating';
import { RatingPricer } from '../src/settlement/rating-pricer';
import { down, stackEnv, up } from '../tools/stack/stack';
import { projectRoot } from '../tools/stack/toolchain';
import Redis from 'ioredis';
import { cpuMeter, sleep } from './measure';
import { commandStats, statsDelta } from './redis-stats';
import type { ClientPlan, ClientResult } from './sessions-client';

const TOKEN = 'bench-operator-token';
const TENANTS = 50;
const CONNECTIONS = 32;
/** Calls in flight at most at the client: twice what the offered rate keeps live. */
const IN_FLIGHT_FACTOR = 2;
/** How long the idle CPU of the service and Redis is measured before the run. */
const IDLE_MS = 3000;

/**
 * The goals: every request kind answered within 10 ms at the 99th percentile; the service keeps
 * up (95% of the offered calls completed in the run's time); at 2,000 calls a second the service
 * spends at most half a core (250 us a call: three requests) and Redis a fifth (100 us a call:
 * three scripts and their reads).
 */
export const SESSION_GOALS = {
  p99Ms: 10,
  achievedShare: 0.95,
  serviceCpuUsPerCall: 250,
  redisCpuUsPerCall: 100,
} as const;

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return (
    Math.round((sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN) * 100) /
    100
  );
};

/** Runs the load in its own process (pinned to CPU 1 when asked) and waits for its result. */
function offer(plan: ClientPlan, pin: boolean): Promise<ClientResult> {
  return new Promise((resolve, reject) => {
    const child = fork(join(__dirname, 'sessions-client.ts'), [], { stdio: 'inherit' });
    if (pin) execFileSync('taskset', ['-a', '-cp', '1', String(child.pid)], { stdio: 'ignore' });
    child.once('message', (message: { result?: ClientResult; error?: string }) =>
      message.result ? resolve(message.result) : reject(new Error(message.error)),
    );
    child.once('exit', (code) => code !== 0 && reject(new Error(`the load process exited with ${code}`)));
    child.send(plan);
  });
}

interface Figure {
  figure: string;
  value: number;
  goal: string;
  verdict: 'met' | 'missed';
}

/** The run's figures, each against its goal. */
function judge(result: ClientResult, plan: ClientPlan, cpu: { service: number; redis: number }): Figure[] {
  const figures: Figure[] = [];
  const add = (figure: string, value: number, goal: string, met: boolean) =>
    figures.push({ figure, value, goal, verdict: met ? 'met' : 'missed' });
  for (const kind of ['start', 'update', 'end'] as const) {
    const values = result.latenciesMs[kind];
    add(`${kind} p50 ms`, percentile(values, 50), '-', true);
    add(
      `${kind} p99 ms`,
      percentile(values, 99),
      `< ${SESSION_GOALS.p99Ms}`,
      percentile(values, 99) < SESSION_GOALS.p99Ms,
    );
  }
  const achieved = Math.round(result.completed / plan.seconds);
  const floor = Math.round(plan.rate * SESSION_GOALS.achievedShare);
  add('calls/s completed', achieved, `>= ${floor} (95% of ${plan.rate} offered)`, achieved >= floor);
  const perCall = (seconds: number) => Math.round((seconds * 1e7) / Math.max(1, result.completed)) / 10;
  const service = perCall(cpu.service);
  const redis = perCall(cpu.redis);
  add(
    'service CPU us/call',
    service,
    `<= ${SESSION_GOALS.serviceCpuUsPerCall}`,
    service <= SESSION_GOALS.serviceCpuUsPerCall,
  );
  add(
    'redis CPU us/call',
    redis,
    `<= ${SESSION_GOALS.redisCpuUsPerCall}`,
    redis <= SESSION_GOALS.redisCpuUsPerCall,
  );
  return figures;
}

/** 50 prepaid tenants with enough for every call of the run (each holds at most 0.35). */
async function seedTenants(app: App): Promise<string[]> {
  const tenants = Array.from({ length: TENANTS }, (_, t) => `tenant-${t}`);
  for (const tenant of tenants) {
    await app.ledger.writes.upsertAccount(tenant, accountSettings('prepaid', 'USD'));
    await app.ledger.writes.addFunds(tenant, {
      paymentRef: 'seed',
      amount: 10_000_000n,
      currency: 'USD',
      purchasedAt: new Date(),
    });
  }
  return tenants;
}

async function main(): Promise<void> {
  const pin = process.env.BENCH_SESSIONS_PIN === '1';
  if (pin) execFileSync('taskset', ['-a', '-cp', '0', String(process.pid)], { stdio: 'ignore' });
  const rate = Number(process.env.BENCH_SESSIONS_RATE ?? 2000);
  const seconds = Number(process.env.BENCH_SESSIONS_SECONDS ?? 20);
  const warmUp = Number(process.env.BENCH_SESSIONS_WARMUP_SECONDS ?? 3);
  const holdMs = Number(process.env.BENCH_SESSIONS_HOLD_MS ?? 1000);
  const dir = join(projectRoot, '.stack', 'bench');
  const stack = await up(dir);
  const book = loadRateBook(join(projectRoot, 'rates'));
  const config = loadConfig({
    ...stackEnv(stack),
    HTTP_PORT: '0',
    RATER_ROLES: 'api',
    PAYMENT_GATEWAY: 'none',
    REDIS_KEY_PREFIX: `bench-sessions-${Date.now()}:`,
    OPERATOR_TOKEN_SHA256: createHash('sha256').update(TOKEN).digest('hex'),
  });
  const app = await startApp(config, {
    pricer: new RatingPricer(book),
    book,
    logger: createLogger('silent'),
  });
  try {
    const tenants = await seedTenants(app);
    const plan = (run: string, runSeconds: number): ClientPlan => ({
      url: app.url,
      token: TOKEN,
      tenants,
      rate,
      seconds: runSeconds,
      holdMs,
      connections: CONNECTIONS,
      maxInFlight: Math.max(100, Math.ceil((rate * holdMs * IN_FLIGHT_FACTOR) / 1000)),
      run,
    });
    if (warmUp > 0) await offer(plan('warm', warmUp), pin);
    const redis = stack.processes.find((p) => p.name === 'redis')!;
    const processes = [
      { name: 'service', pid: process.pid },
      { name: 'redis', pid: redis.pid },
    ];
    // What the two spend with no load (timers, Redis's own cron): shown apart, not subtracted.
    const idleMeter = cpuMeter(processes);
    await sleep(IDLE_MS);
    const idle = idleMeter();
    const stats = new Redis(stack.redis.url);
    const statsBefore = await commandStats(stats);
    const meter = cpuMeter(processes);
    const measured = plan('run', seconds);
    const result = await offer(measured, pin);
    const cpu = meter();
    // Redis's own account: CPU inside commands by command, a call (the rest is its I/O and fsync).
    const redisCommands = statsDelta(statsBefore, await commandStats(stats), Math.max(1, result.completed));
    stats.disconnect();
    const figures = judge(result, measured, { service: cpu.service!, redis: cpu.redis! });
    const report = {
      offeredCallsPerSecond: rate,
      seconds,
      holdMs,
      connections: CONNECTIONS,
      pinned: pin,
      offered: result.offered,
      skipped: result.skipped,
      completed: result.completed,
      failed: result.failed,
      refusals: result.refusals,
      requests: {
        start: result.latenciesMs.start.length,
        update: result.latenciesMs.update.length,
        end: result.latenciesMs.end.length,
      },
      cpuSeconds: cpu,
      idleCpuUsPerSecond: {
        service: Math.round((idle.service! * 1e6 * 1000) / IDLE_MS),
        redis: Math.round((idle.redis! * 1e6 * 1000) / IDLE_MS),
      },
      figures,
      redisCommandsPerCall: redisCommands.slice(0, 12),
    };
    mkdirSync('bench-results', { recursive: true });
    writeFileSync('bench-results/sessions.json', `${JSON.stringify(report, null, 2)}\n`);
    console.log(
      `${result.completed} calls completed of ${result.offered} offered in ${seconds} s (${result.skipped} not offered: too many in flight; ${result.failed} failed)`,
    );
    if (Object.keys(result.refusals).length) console.log('refusals:', result.refusals);
    console.log('CPU us a second with no load (included in the figures):', report.idleCpuUsPerSecond);
    console.table(figures);
    console.table(redisCommands.slice(0, 8));
  } finally {
    await app.stop();
    await down(dir);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
