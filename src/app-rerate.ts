import type { Ledger } from './ledger/open-ledger';
import { rateBookDigest, type RateBook } from './rating';
import type { RatedRecordSink, RerateLedger, UsagePricer } from './settlement/ports';
import { PeriodRerate, RerateOptions } from './settlement/rerate-period';

/** The ledger as re-rating a period needs it. */
export function rerateLedgerOf(ledger: Ledger): RerateLedger {
  return {
    tenantPages: () => ledger.tenants.pages(),
    readUsageState: (tenantId, usages, poolMonths) =>
      ledger.writes.readUsageState(tenantId, usages, poolMonths),
    listUsage: (tenantId, range) => ledger.reads.listUsage(tenantId, range),
    rerate: (tenantId, change) => ledger.writes.rerate(tenantId, change),
    awaitReplicas: (tenantIds) => ledger.writes.awaitReplicas(tenantIds),
    rerateNotice: (tenantId, notice) => ledger.writes.rerateNotice(tenantId, notice),
  };
}

/** The use case "re-rate a past period" over the ledger, with the decks of `book`. */
export function periodRerate(
  ledger: Ledger,
  pricer: UsagePricer,
  book: RateBook,
  records?: RatedRecordSink,
  options: Partial<RerateOptions> = {},
): PeriodRerate {
  return new PeriodRerate({
    ledger: rerateLedgerOf(ledger),
    pricer,
    decksDigest: rateBookDigest(book),
    checkpoints: ledger.rerates,
    ...(records ? { records } : {}),
    ...options,
  });
}
