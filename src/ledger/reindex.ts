import type { Ledger } from './open-ledger';

export interface ReindexReport {
  /** Tenants in the registry that were reindexed. */
  tenants: number;
  /** Tenants in the registry without an account (nothing to index). */
  withoutAccount: number;
  /** What the run changed in the gauges: zero when every index entry was right already. */
  changed: { tenants: number; depleted: number; backlog: number };
}

/**
 * Recomputes every tenant's index entries (reindex-10.lua, per tenant, idempotent, safe while
 * traffic flows): after an upgrade from a version without indexes, or a move between
 * standalone Redis and a Cluster. The one walk over every tenant, run on request.
 */
export async function reindexTenants(
  ledger: Pick<Ledger, 'tenants' | 'writes'>,
  options: { pageSize?: number; onPage?: (report: ReindexReport) => void } = {},
): Promise<ReindexReport> {
  const report: ReindexReport = {
    tenants: 0,
    withoutAccount: 0,
    changed: { tenants: 0, depleted: 0, backlog: 0 },
  };
  for await (const page of ledger.tenants.pages(options.pageSize ?? 500)) {
    const results = await Promise.all(page.map((tenant) => ledger.writes.reindex(tenant)));
    for (const result of results) {
      if ('refused' in result) {
        report.withoutAccount += 1;
        continue;
      }
      report.tenants += 1;
      report.changed.tenants += result.tenants;
      report.changed.depleted += result.depleted;
      report.changed.backlog += result.backlog;
    }
    options.onPage?.(report);
  }
  return report;
}
