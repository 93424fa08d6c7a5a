/**
 * npm run bench:ledger: usages applied per second through the ledger's Lua scripts on a real
 * redis-server (its own, started and stopped here), batched per tenant versus one script call
 * per usage, in the same run; and the memory an idempotency record costs.
 * Writes bench-results/ledger.json.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { accountSettings, CreditLedger, LedgerUsage } from '../src/ledger/ledger';
import { stopProcess } from '../src/stack/processes';
import { startRedis } from '../src/stack/servers';

const TENANTS = 100;
const USAGES = Number(process.env.BENCH_LEDGER_USAGES ?? 40_000);
const BATCH = 100;
const IN_FLIGHT = 16;

const tenantOf = (i: number) => `bench-${i % TENANTS}`;

function makeUsages(label: string): LedgerUsage[] {
  return Array.from({ length: USAGES }, (_, i) => ({
    id: `${label}-${randomUUID()}`,
    source: 'credits' as const,
    charge: BigInt((i % 97) + 1),
    pool: '',
    poolSeconds: 0,
    period: '2026-11',
  }));
}

async function inParallel<T>(jobs: T[], run: (job: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < jobs.length) await run(jobs[next++]!);
    }),
  );
}

async function applyAll(
  ledger: CreditLedger,
  jobs: { tenant: string; usages: LedgerUsage[] }[],
): Promise<number> {
  const started = process.hrtime.bigint();
  await inParallel(jobs, async ({ tenant, usages }) => {
    const result = await ledger.applyUsage(tenant, { currency: 'USD', usages, poolUse: {} });
    if (!('applied' in result)) throw new Error(`apply failed: ${JSON.stringify(result)}`);
  });
  return Number(process.hrtime.bigint() - started) / 1e9;
}

function batchesPerTenant(usages: LedgerUsage[], size: number) {
  const byTenant = new Map<string, LedgerUsage[]>();
  usages.forEach((u, i) => byTenant.set(tenantOf(i), [...(byTenant.get(tenantOf(i)) ?? []), u]));
  return [...byTenant].flatMap(([tenant, list]) =>
    Array.from({ length: Math.ceil(list.length / size) }, (_, b) => ({
      tenant,
      usages: list.slice(b * size, (b + 1) * size),
    })),
  );
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'rater-bench-ledger-'));
  const server = await startRedis(dir);
  const redis = new Redis({ host: server.host, port: server.port });
  try {
    const ledger = new CreditLedger(redis);
    for (let t = 0; t < TENANTS; t++) {
      const tenant = `bench-${t}`;
      await ledger.upsertAccount(tenant, accountSettings('prepaid', 'USD'));
      await ledger.addFunds(tenant, {
        paymentRef: 'seed',
        amount: 10n ** 12n,
        currency: 'USD',
        purchasedAt: new Date(),
      });
    }
    const perTenantBytes = await tenantBytes(redis, ledger, 'bench-0');

    // Warm up both paths (script cache, JIT), then measure.
    await applyAll(ledger, batchesPerTenant(makeUsages('warm').slice(0, 2000), BATCH));
    const single = makeUsages('single');
    const singleSeconds = await applyAll(
      ledger,
      single.map((u, i) => ({ tenant: tenantOf(i), usages: [u] })),
    );
    const before = Number((await redis.info('memory')).match(/used_memory:(\d+)/)![1]);
    const batched = makeUsages('batched');
    const batchedSeconds = await applyAll(ledger, batchesPerTenant(batched, BATCH));
    const after = Number((await redis.info('memory')).match(/used_memory:(\d+)/)![1]);

    const result = {
      usages: USAGES,
      tenants: TENANTS,
      batchSize: BATCH,
      inFlight: IN_FLIGHT,
      batchedPerSecond: Math.round(USAGES / batchedSeconds),
      singleCallPerSecond: Math.round(USAGES / singleSeconds),
      ratio: Number((singleSeconds / batchedSeconds).toFixed(2)),
      bytesPerUsageId: Math.round((after - before) / USAGES),
      bytesPerTenantAccount: perTenantBytes,
      redis: (await redis.info('server')).match(/redis_version:(\S+)/)![1],
    };
    mkdirSync('bench-results', { recursive: true });
    writeFileSync('bench-results/ledger.json', `${JSON.stringify(result, null, 2)}\n`);
    console.table(result);
  } finally {
    redis.disconnect();
    await stopProcess(server.proc);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Memory of one tenant's account, lot and pool keys (before usage ids accumulate). */
async function tenantBytes(redis: Redis, ledger: CreditLedger, tenant: string): Promise<number> {
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
