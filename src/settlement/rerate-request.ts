/** What a re-rating run is asked, what it reports, and the revision that makes it run once. */
import { hash } from 'node:crypto';
import type { MinorUnits } from '../credits/wallet';
import type { RatedRecordSink, RerateCheckpointStore, RerateLedger, UsagePricer } from './ports';

/** A period to re-rate, [from, to), for one tenant or all. */
export interface RerateRequest {
  from: Date;
  to: Date;
  tenantId?: string;
  /** Price and compare only: nothing is changed, published or kept. */
  dryRun: boolean;
}

/** What a run changed (or, dry, would change) for one tenant. */
export interface TenantRerate {
  tenantId: string;
  currency: string;
  /** Usages of the period looked at. */
  examined: number;
  /** Calls whose charge, source or pool seconds change. */
  calls: number;
  /** What those calls were charged, and what they are charged now (minor units). */
  before: MinorUnits;
  after: MinorUnits;
  /** Usages the decks now in force do not price, or that cannot be priced again: left as they are. */
  unpriced: { usageId: string; reason: string }[];
  /** Usages the ledger refused to re-rate (a bound passed, ...): left as they are. */
  refused: { usageId: string; reason: string }[];
}

export interface RerateReport {
  revision: string;
  from: Date;
  to: Date;
  dryRun: boolean;
  /** False when the run was stopped before the end (a limit, a signal): run it again to finish. */
  complete: boolean;
  tenants: TenantRerate[];
}

/** What a run reports as it goes (the CLI draws a bar or writes lines from it). */
export interface RerateProgress {
  tenant?(tenantId: string): void;
  usage?(tenantId: string, examined: number, calls: number): void;
  tenantDone?(result: TenantRerate): void;
}

export interface RerateOptions {
  ledger: RerateLedger;
  pricer: UsagePricer;
  /** A digest of the decks the pricer prices with (rateBookDigest): part of the revision. */
  decksDigest: string;
  checkpoints: RerateCheckpointStore;
  /** Where the re-rated records go; none: they are not published. */
  records?: RatedRecordSink;
  clock?: () => Date;
  /** Usages listed a page. */
  pageSize?: number;
  /** Stops after this many usages re-rated (a test's interruption); the next run goes on. */
  stopAfter?: number;
  signal?: AbortSignal;
  progress?: RerateProgress;
  /** Pool use read again this many times at most when it moved meanwhile. */
  maxAttempts?: number;
}

/**
 * The revision of a run: the period, the tenant (or all) and the decks it prices with. The
 * same run again (resumed, or repeated) has the same revision, so the ledger re-rates each
 * usage once; corrected decks make another.
 */
export function rerateRevision(
  request: Pick<RerateRequest, 'from' | 'to' | 'tenantId'>,
  decksDigest: string,
) {
  const text = JSON.stringify([
    request.from.toISOString(),
    request.to.toISOString(),
    request.tenantId ?? '*',
    decksDigest,
  ]);
  return `rr-${hash('sha256', text, 'hex').slice(0, 20)}`;
}
