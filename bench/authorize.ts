/**
 * npm run bench:authorize: POST /v1/authorize on the running service under load
 * (autocannon, 16 connections offering 2,000 requests/s for 10 s, on loopback, after a 3 s
 * warm-up at the same rate), against the local stack's Redis with the shipped decks. Writes
 * bench-results/authorize.json: autocannon's latencies, and the service's own figures, which
 * a busy machine disturbs less: CPU time per request, GC pauses, event-loop delay, and the
 * time from a request's arrival to its response's end inside the service.
 *
 * The service runs the `api` role only, as an authorization front would be deployed.
 * BENCH_AUTHORIZE_PIN=1 pins the service to CPU 0 and the load generator to CPU 1.
 *
 * Profile findings (docs/benchmarks.md, "The authorization benchmark"): the tail was young-generation GC
 * (10-50 ms scavenges: pricing's result objects had a getter, and their garbage survived)
 * and the 19 pricings of the bisection; both fixed. What remains on a shared 2-core machine
 * is the process waiting for a core, and autocannon's -R, which sends each second's requests
 * as a burst at the start of the second.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { subscribe } from 'node:diagnostics_channel';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { promisify } from 'node:util';
import type autocannon from 'autocannon';
import { startApp } from '../src/app';
import { loadConfig } from '../src/config';
import { RatingPricer } from '../src/settlement/rating-pricer';
import { accountSettings } from '../src/credits/wallet';
import { createLogger } from '../src/observability/logs';
import { loadRateBook } from '../src/rating';
import { down, stackEnv, up } from '../tools/stack/stack';
import { projectRoot } from '../tools/stack/toolchain';

const TOKEN = 'bench-operator-token';
const CONNECTIONS = 16;
const LOOP_RESOLUTION_MS = 10;
const execFileAsync = promisify(execFile);

/**
 * Nanoseconds the main thread (the event loop) has spent runnable but waiting for a CPU,
 * from Linux's /proc/self/schedstat; undefined elsewhere.
 */
function runQueueWaitNs(): number | undefined {
  try {
    return Number(readFileSync('/proc/self/schedstat', 'utf8').split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** The service's own view of a run: CPU, GC pauses, event-loop delay, request times. */
function serviceProbe() {
  // It samples every 10 ms and records each interval: the delay is what exceeds the 10 ms.
  const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  const gcPauses: number[] = [];
  const served: number[] = [];
  const arrived = new WeakMap<object, number>();
  let recording = false;
  const gc = new PerformanceObserver((list) => {
    if (recording) for (const entry of list.getEntries()) gcPauses.push(entry.duration);
  });
  gc.observe({ entryTypes: ['gc'] });
  subscribe('http.server.request.start', (message) => {
    arrived.set((message as { response: object }).response, performance.now());
  });
  subscribe('http.server.response.finish', (message) => {
    const start = arrived.get((message as { response: object }).response);
    if (recording && start !== undefined) served.push(performance.now() - start);
  });
  let cpu = process.cpuUsage();
  let waited = runQueueWaitNs();
  const ms = (value: number) => Math.round(value * 100) / 100;
  const percentile = (sorted: number[], p: number) =>
    ms(sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0);
  return {
    start() {
      loop.enable();
      cpu = process.cpuUsage();
      waited = runQueueWaitNs();
      recording = true;
    },
    stop(requests: number) {
      recording = false;
      loop.disable();
      gc.disconnect();
      const used = process.cpuUsage(cpu);
      const waitedNow = runQueueWaitNs();
      served.sort((a, b) => a - b);
      return {
        serviceCpuUsPerRequest: Math.round((used.user + used.system) / Math.max(1, requests)),
        servedP50Ms: percentile(served, 50),
        servedP99Ms: percentile(served, 99),
        servedMaxMs: percentile(served, 100),
        gcPauses: gcPauses.length,
        gcMaxMs: ms(Math.max(0, ...gcPauses)),
        gcTotalMs: ms(gcPauses.reduce((a, b) => a + b, 0)),
        loopDelayP99Ms: ms(Math.max(0, loop.percentile(99) / 1e6 - LOOP_RESOLUTION_MS)),
        loopDelayMaxMs: ms(Math.max(0, loop.max / 1e6 - LOOP_RESOLUTION_MS)),
        // How long the event loop waited for a core: other processes' share of the machine.
        runQueueWaitMs:
          waited !== undefined && waitedNow !== undefined ? Math.round((waitedNow - waited) / 1e6) : null,
      };
    },
  };
}

async function main(): Promise<void> {
  const pin = process.env.BENCH_AUTHORIZE_PIN === '1';
  // Every thread of this process (the service: V8's and libuv's too) on CPU 0.
  if (pin) execFileSync('taskset', ['-a', '-cp', '0', String(process.pid)], { stdio: 'ignore' });
  const dir = join(projectRoot, '.stack', 'bench');
  const stack = await up(dir);
  const book = loadRateBook(join(projectRoot, 'rates'));
  const config = loadConfig({
    ...stackEnv(stack),
    HTTP_PORT: '0',
    RATER_ROLES: 'api',
    PAYMENT_GATEWAY: 'none',
    REDIS_KEY_PREFIX: 'bench:',
    OPERATOR_TOKEN_SHA256: createHash('sha256').update(TOKEN).digest('hex'),
  });
  const app = await startApp(config, {
    pricer: new RatingPricer(book),
    book,
    logger: createLogger('silent'),
  });
  const probe = serviceProbe();
  try {
    for (let t = 0; t < 50; t++) {
      await app.ledger.writes.upsertAccount(
        `tenant-${t}`,
        accountSettings('prepaid', 'USD', { poolCapacities: { 'MCOPSTN1:US': 360_000 } }),
      );
      await app.ledger.writes.addFunds(`tenant-${t}`, {
        paymentRef: 'seed',
        amount: BigInt(500 + t * 37),
        currency: 'USD',
        purchasedAt: new Date(),
      });
    }
    // The load comes from a process of its own (the autocannon CLI), so it does not share the
    // service's event loop.
    const rate = Number(process.env.BENCH_AUTHORIZE_RATE ?? 2000);
    const seconds = Number(process.env.BENCH_AUTHORIZE_SECONDS ?? 10);
    const warmUp = Number(process.env.BENCH_AUTHORIZE_WARMUP_SECONDS ?? 3);
    const body = JSON.stringify({
      tenantId: 'tenant-7',
      callType: 'user_out',
      calleeNumber: '+447911123456',
      licenseCapability: 'MCOPSTNPP',
      usageCountryCode: 'US',
    });
    // Asynchronously: the service answering the load runs in this process.
    const load = async (duration: number) => {
      const command = [
        require.resolve('autocannon/autocannon.js'),
        ...['-j', '-c', String(CONNECTIONS), '-d', String(duration), '-R', String(rate)],
        ...['-m', 'POST', '-H', 'content-type=application/json', '-H', `authorization=Bearer ${TOKEN}`],
        ...['-b', body, `${app.url}/v1/authorize`],
      ];
      const run = pin
        ? await execFileAsync('taskset', ['-c', '1', process.execPath, ...command], {
            encoding: 'utf8',
            maxBuffer: 64 * 1024 * 1024,
          })
        : await execFileAsync(process.execPath, command, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
      return JSON.parse(run.stdout) as autocannon.Result;
    };
    if (warmUp > 0) await load(warmUp);
    probe.start();
    const result = await load(seconds);
    const figures = {
      requestsPerSecond: Math.round(result.requests.average),
      p50Ms: result.latency.p50,
      p99Ms: result.latency.p99,
      maxMs: result.latency.max,
      non2xx: result.non2xx,
      errors: result.errors,
      offeredPerSecond: rate,
      connections: CONNECTIONS,
      pinned: pin,
      ...probe.stop(result.requests.total),
    };
    mkdirSync('bench-results', { recursive: true });
    writeFileSync('bench-results/authorize.json', `${JSON.stringify(figures, null, 2)}\n`);
    console.table(figures);
  } finally {
    await app.stop();
    await down(dir);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
