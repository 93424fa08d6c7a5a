/**
 * npm run bench:ledger: usages applied per second through the ledger's Lua scripts on a real
 * redis-server (its own, started and stopped here), batched per tenant versus one script call
 * per usage, in the same run; and the memory an idempotency record costs.
 * Writes bench-results/ledger.json.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { Ledger, openLedger } from '../src/ledger/open-ledger';
import type { ReportFields } from '../src/credits/usage-details';
import { packReport } from '../src/ledger/report-encoding';
import { stopProcess } from '../tools/stack/processes';
import { cpuSeconds } from './measure';
import { commandStats, statsDelta } from './redis-stats';
import { startRedis } from '../tools/stack/servers';
import {
  applyAll,
  BATCH,
  batchesPerTenant,
  IN_FLIGHT,
  makeUsages,
  oneCallPerUsage,
  openBenchTenants,
  TENANTS,
} from './ledger-paths';

const USAGES = Number(process.env.BENCH_LEDGER_USAGES ?? 40_000);
/**
 * BENCH_LEDGER_REPORT=1: each usage carries a Teams-like usage report (148 bytes packed), as
 * the consumer sends it; by default none, the money path alone.
 */
const REPORT: ReportFields | undefined =
  process.env.BENCH_LEDGER_REPORT === '1'
    ? {
        callId: '9f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b',
        userId: '4c7f2a1e-0b3d-4e5f-9a8b-7c6d5e4f3a2b',
        userPrincipalName: 'ann.smith@contoso.com',
        userDisplayName: 'Ann Smith',
        callerNumber: '+14255550100',
        calleeNumber: '+442071234567',
        callType: 'user_out',
        numberType: 'subscriber',
        endDateTime: '2026-11-24T09:02:05Z',
        duration: 125,
        licenseCapability: 'MCOPSTNPP',
      }
    : undefined;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'rater-bench-ledger-'));
  const server = await startRedis(dir);
  const redis = new Redis({ host: server.host, port: server.port });
  try {
    const ledger = openLedger(redis);
    await openBenchTenants(ledger);
    const perTenantBytes = await tenantBytes(redis, ledger, 'bench-0');

    // Warm up both paths (script cache, JIT), then measure.
    await applyAll(ledger, batchesPerTenant(makeUsages('warm', USAGES, REPORT).slice(0, 2000), BATCH));
    const single = makeUsages('single', USAGES, REPORT);
    const singleStats = await commandStats(redis);
    const singleCpu = cpuSeconds(server.proc.pid);
    const singleSeconds = await applyAll(ledger, oneCallPerUsage(single));
    const singleRedisCpu = cpuSeconds(server.proc.pid) - singleCpu;
    const singleScript = scriptCost(statsDelta(singleStats, await commandStats(redis), USAGES));
    const before = Number((await redis.info('memory')).match(/used_memory:(\d+)/)![1]);
    const batched = makeUsages('batched', USAGES, REPORT);
    const batchedStats = await commandStats(redis);
    const batchedCpu = cpuSeconds(server.proc.pid);
    const batchedSeconds = await applyAll(ledger, batchesPerTenant(batched, BATCH));
    const batchedRedisCpu = cpuSeconds(server.proc.pid) - batchedCpu;
    const batchedRows = statsDelta(batchedStats, await commandStats(redis), USAGES);
    const batchedScript = scriptCost(batchedRows);
    const after = Number((await redis.info('memory')).match(/used_memory:(\d+)/)![1]);

    const result = {
      usages: USAGES,
      reportBytes: REPORT ? Buffer.byteLength(packReport(REPORT, 'International')) : 0,
      tenants: TENANTS,
      batchSize: BATCH,
      inFlight: IN_FLIGHT,
      batchedPerSecond: Math.round(USAGES / batchedSeconds),
      singleCallPerSecond: Math.round(USAGES / singleSeconds),
      ratio: Number((singleSeconds / batchedSeconds).toFixed(2)),
      // Redis's own account (INFO commandstats) of the script calls: CPU µs a call and a usage.
      scriptCommand: batchedScript.command,
      batchedUsecPerCall: batchedScript.usecPerCall,
      batchedUsecPerUsage: batchedScript.usecPer,
      singleUsecPerCall: singleScript.usecPerCall,
      // The redis-server process's CPU (user + system, /proc: 10 ms ticks) a usage: steadier
      // than the wall time above on a busy machine.
      batchedRedisCpuUsPerUsage: Number(((batchedRedisCpu * 1e6) / USAGES).toFixed(1)),
      singleRedisCpuUsPerUsage: Number(((singleRedisCpu * 1e6) / USAGES).toFixed(1)),
      bytesPerUsageId: Math.round((after - before) / USAGES),
      bytesPerTenantAccount: perTenantBytes,
      redis: (await redis.info('server')).match(/redis_version:(\S+)/)![1],
    };
    mkdirSync('bench-results', { recursive: true });
    writeFileSync('bench-results/ledger.json', `${JSON.stringify(result, null, 2)}\n`);
    console.table(result);
    // The commands the scripts ran, per usage (their time is part of the script's).
    console.table(batchedRows.slice(0, 12));
  } finally {
    redis.disconnect();
    await stopProcess(server.proc);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The script command's row (EVALSHA or FCALL): the one that cost the most. */
function scriptCost(rows: ReturnType<typeof statsDelta>): {
  command: string;
  usecPerCall: number;
  usecPer: number;
} {
  const row = rows.find((r) => /^(evalsha|eval|fcall|fcall_ro)$/.test(r.command));
  return row ?? { command: 'none', usecPerCall: 0, usecPer: 0 };
}

/** Memory of one tenant's account, lot and pool keys (before usage ids accumulate). */
async function tenantBytes(redis: Redis, ledger: Ledger, tenant: string): Promise<number> {
  const k = ledger.keys(tenant);
  const sizes = await Promise.all(
    [k.account, k.lots, k.lotExpiry, k.pools, k.payments].map(async (key) =>
      Number((await redis.memory('USAGE', key)) ?? 0),
    ),
  );
  return sizes.reduce((a, b) => a + b, 0);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
