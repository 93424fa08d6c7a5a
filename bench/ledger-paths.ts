/**
 * The two ways of applying usage to the ledger that the benchmarks compare: one script call
 * per tenant batch (what the consumer does) and one script call per usage (the baseline).
 */
import { randomUUID } from 'node:crypto';
import type { Ledger } from '../src/ledger/open-ledger';
import type { ReportSource } from '../src/credits/usage-details';
import { accountSettings, LedgerUsage } from '../src/credits/wallet';

export const TENANTS = 100;
export const BATCH = 100;
export const IN_FLIGHT = 16;

export const tenantOf = (i: number) => `bench-${i % TENANTS}`;

/** Opens prepaid USD accounts `bench-0` to `bench-<tenants - 1>`, each with plenty of funds. */
export async function openBenchTenants(ledger: Ledger, tenants = TENANTS): Promise<void> {
  await inParallel(
    Array.from({ length: tenants }, (_, t) => `bench-${t}`),
    async (tenant) => {
      await ledger.writes.upsertAccount(tenant, accountSettings('prepaid', 'USD'));
      await ledger.writes.addFunds(tenant, {
        paymentRef: 'seed',
        amount: 10n ** 12n,
        currency: 'USD',
        purchasedAt: new Date(),
      });
    },
  );
}

export function makeUsages(label: string, count: number, report?: ReportSource): LedgerUsage[] {
  return Array.from({ length: count }, (_, i) => ({
    ...(report ? { report, derivedContext: 'International' as const } : {}),
    id: `${label}-${randomUUID()}`,
    start: new Date(),
    source: 'credits' as const,
    charge: BigInt((i % 97) + 1),
    pool: '',
    poolSeconds: 0,
    period: new Date().toISOString().slice(0, 7),
  }));
}

/** Runs the jobs, IN_FLIGHT at a time; the jobs are drawn as they are needed (a generator may make them). */
async function inParallel<T>(jobs: Iterable<T>, run: (job: T) => Promise<void>): Promise<void> {
  const iterator = jobs[Symbol.iterator]();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      for (let next = iterator.next(); !next.done; next = iterator.next()) await run(next.value);
    }),
  );
}

/** Applies the jobs, IN_FLIGHT script calls at a time; returns the seconds it took. */
export async function applyAll(
  ledger: Ledger,
  jobs: Iterable<{ tenant: string; usages: LedgerUsage[] }>,
): Promise<number> {
  const started = process.hrtime.bigint();
  await inParallel(jobs, async ({ tenant, usages }) => {
    const result = await ledger.writes.applyUsage(tenant, { currency: 'USD', usages, poolUse: {} });
    if (!('applied' in result)) throw new Error(`apply failed: ${JSON.stringify(result)}`);
  });
  return Number(process.hrtime.bigint() - started) / 1e9;
}

export function batchesPerTenant(usages: LedgerUsage[], size: number) {
  const byTenant = new Map<string, LedgerUsage[]>();
  usages.forEach((u, i) => byTenant.set(tenantOf(i), [...(byTenant.get(tenantOf(i)) ?? []), u]));
  return [...byTenant].flatMap(([tenant, list]) =>
    Array.from({ length: Math.ceil(list.length / size) }, (_, b) => ({
      tenant,
      usages: list.slice(b * size, (b + 1) * size),
    })),
  );
}

export const oneCallPerUsage = (usages: LedgerUsage[]) =>
  usages.map((u, i) => ({ tenant: tenantOf(i), usages: [u] }));
