import type { Kafka } from 'kafkajs';
import type { Ledger } from '../../src/ledger/open-ledger';
import type { MinorUnits } from '../../src/credits/wallet';
import type { CdrStreamOptions, TenantProfile } from '../loadgen/cdr-stream';
import { auditTenant, type Audit, type CurrencyTotals } from './reconcile-tenant';
import { regenerateInput, scanDeadLetters, scanEvents, scanRated } from './reconcile-topics';

export type { CurrencyTotals } from './reconcile-tenant';

/** What a chaos run fed in and how the tenants were set up: everything the audit compares with. */
export interface ReconcileInput {
  kafka: Kafka;
  ledger: Ledger;
  topics: { ratedOut: string; eventsOut: string; deadLetter: string };
  /** The generated stream, regenerated from its seed (never held whole in memory). */
  stream: { count: number; options: Partial<CdrStreamOptions> };
  tenants: TenantProfile[];
  /** The one purchase of each prepaid tenant, in minor units. */
  funds: MinorUnits;
  lowBalanceThreshold: MinorUnits;
}

export interface Reconciliation {
  /** CDRs generated (valid, repeats and malformed). */
  inputs: number;
  validIds: number;
  repeats: number;
  malformed: number;
  /** Valid usage ids never rated or never applied in the ledger. */
  lost: number;
  /** Usage ids debited more than once (by the ledger's records or by conflicting rated records). */
  doubleCharged: number;
  reconciled: boolean;
  rated: {
    records: number;
    distinctIds: number;
    /** Records with x-duplicate: the input's repeats and the redeliveries after crashes. */
    flaggedDuplicate: number;
    /** Records beyond one per input message: what crashes and retries made the rater send again. */
    replayed: number;
    /** Ids with more than one identical unflagged record (a produce retried; charged once). */
    producerRepeats: number;
    /**
     * Ids whose every rated record carries x-duplicate: applied, then killed before producing,
     * so the redelivery produced the stored outcome. Downstream must drop repeats by usage id,
     * never by the header, or it loses these.
     */
    onlyFlaggedDuplicate: number;
  };
  deadLetters: { records: number; distinct: number; missing: number; unexpected: number };
  events: { records: number; distinct: number; redelivered: number; byType: Record<string, number> };
  tenants: { prepaid: number; postpaid: number; depleted: number; belowLowThreshold: number };
  money: Record<string, CurrencyTotals>;
  /** Every discrepancy found (the first 100). */
  problems: string[];
  problemCount: number;
}

/**
 * The audit after a chaos run, exact in integer minor units, per tenant and in total:
 * (a) every valid usage id was rated and applied once, malformed input all dead-lettered;
 * (b) debits (funds minus balance) = rated credit charges = applied charges = lot draws
 *     = what the lots lost (+ debt); postpaid owed = postpaid charges;
 * (c) the events agree with the balances: the one purchase, and a depletion (and a
 *     low-balance crossing) exactly for the tenants whose balance crossed, caused by the
 *     usage whose stored outcome crossed; nothing else; redelivered events identical.
 */
export async function reconcile(input: ReconcileInput): Promise<Reconciliation> {
  const problems: string[] = [];
  const problem = (text: string) => problems.push(text);
  const profiles = new Map(input.tenants.map((t) => [t.tenantId, t]));
  const { kafka, topics } = input;

  const { expected, malformedInputs, repeats } = regenerateInput(input.stream);
  const scanned = await scanRated(kafka, topics.ratedOut, expected, problem);
  const { rated, flaggedDuplicate, unexpectedRated, ratedRecords } = scanned;
  const dead = await scanDeadLetters(kafka, topics.deadLetter, malformedInputs, problem);
  const { deadValues, deadRecords, missingDead, unexpectedDead } = dead;
  const seen = await scanEvents(kafka, topics.eventsOut, new Set(profiles.keys()), problem);
  const { events, byType, eventRecords, distinctEvents } = seen;

  const expectedByTenant = new Map<string, string[]>();
  for (const [id, tenant] of expected) {
    const ids = expectedByTenant.get(tenant) ?? [];
    ids.push(id);
    expectedByTenant.set(tenant, ids);
  }

  const audit: Audit = {
    ledger: input.ledger,
    funds: input.funds,
    lowBalanceThreshold: input.lowBalanceThreshold,
    problem,
    expected,
    expectedByTenant,
    rated,
    events,
    money: new Map(),
    tenantCounts: { prepaid: 0, postpaid: 0, depleted: 0, belowLowThreshold: 0 },
    lost: 0,
    doubleCharged: [...rated.values()].filter((entry) => entry.inconsistent).length,
  };
  const producerRepeats = [...rated.values()].filter((e) => !e.inconsistent && e.unflagged > 1).length;
  for (const profile of input.tenants) await auditTenant(audit, profile);
  const { lost, doubleCharged, tenantCounts, money } = audit;

  return {
    inputs: input.stream.count,
    validIds: expected.size,
    repeats,
    malformed: malformedInputs.size,
    lost,
    doubleCharged,
    reconciled: problems.length === 0 && lost === 0 && doubleCharged === 0 && unexpectedRated === 0,
    rated: {
      records: ratedRecords,
      distinctIds: rated.size,
      flaggedDuplicate,
      replayed: ratedRecords - expected.size - repeats,
      producerRepeats,
      onlyFlaggedDuplicate: [...rated.values()].filter((entry) => entry.unflagged === 0).length,
    },
    deadLetters: {
      records: deadRecords,
      distinct: deadValues.size,
      missing: missingDead.length,
      unexpected: unexpectedDead.length,
    },
    events: {
      records: eventRecords,
      distinct: distinctEvents,
      redelivered: eventRecords - distinctEvents,
      byType,
    },
    tenants: tenantCounts,
    money: Object.fromEntries(
      [...money].map(([currency, totals]) => [
        currency,
        Object.fromEntries(
          Object.entries(totals).map(([k, v]) => [k, v.toString()]),
        ) as unknown as CurrencyTotals,
      ]),
    ),
    problems: problems.slice(0, 100),
    problemCount: problems.length,
  };
}
