import type { Kafka } from 'kafkajs';
import { decimalToMinor } from '../../src/credits/money';
import type { Ledger } from '../../src/ledger/open-ledger';
import type { MinorUnits } from '../../src/credits/wallet';
import { cdrStream, CdrStreamOptions, TenantProfile } from '../loadgen/cdr-stream';
import { scanTopic } from './topics';

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

/** Money totals of one currency, in minor units (decimal strings of integers). */
export interface CurrencyTotals {
  /** Prepaid: funds bought, and funds minus balances. */
  funds: string;
  debited: string;
  /** Credit charges of the distinct rated usages (usage.rated.v1). */
  ratedCredits: string;
  /** Credit charges of the usages applied in the ledger (idempotency records). */
  appliedCredits: string;
  /** Lot draws of the applied usages, and the part of them that went into debt. */
  drawnFromLots: string;
  intoDebt: string;
  /** What the lots lost: amount minus remaining minus forfeited. */
  takenFromLots: string;
  /** Postpaid: accrued owed, and the postpaid charges rated and applied. */
  owed: string;
  ratedPostpaid: string;
  appliedPostpaid: string;
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

interface RatedEntry {
  tenantId: string;
  charge: string;
  source: string;
  ratedAt: string;
  records: number;
  unflagged: number;
  inconsistent: boolean;
}

interface EventRecord {
  type: string;
  body: string;
  data: Record<string, unknown>;
}

type Totals = { [K in keyof CurrencyTotals]: bigint };

const zeroTotals = (): Totals => ({
  funds: 0n,
  debited: 0n,
  ratedCredits: 0n,
  appliedCredits: 0n,
  drawnFromLots: 0n,
  intoDebt: 0n,
  takenFromLots: 0n,
  owed: 0n,
  ratedPostpaid: 0n,
  appliedPostpaid: 0n,
});

const amountOf = (data: Record<string, unknown>, field: string): bigint | undefined => {
  const money = data[field] as { amount?: string; currency?: string } | undefined;
  return money?.amount && money.currency ? decimalToMinor(money.amount, money.currency) : undefined;
};

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

  // The input, regenerated from its seed.
  const expected = new Map<string, string>();
  const malformedInputs = new Set<string>();
  let repeats = 0;
  for (const record of cdrStream(input.stream.count, input.stream.options)) {
    if (record.kind === 'valid') expected.set(record.id!, record.tenantId);
    else if (record.kind === 'duplicate') repeats += 1;
    else malformedInputs.add(record.value.toString());
  }

  // Rated records, folded per usage id as they stream by.
  const rated = new Map<string, RatedEntry>();
  let flaggedDuplicate = 0;
  let unexpectedRated = 0;
  const ratedRecords = await scanTopic(input.kafka, input.topics.ratedOut, (message) => {
    const value = JSON.parse(message.value.toString()) as {
      id: string;
      tenantId: string;
      charge: string;
      source: string;
      ratedAt: string;
    };
    const duplicate = message.headers['x-duplicate'] === 'true';
    if (duplicate) flaggedDuplicate += 1;
    const entry = rated.get(value.id);
    if (!entry) {
      if (expected.get(value.id) !== value.tenantId) {
        unexpectedRated += 1;
        problem(`rated ${value.id} of ${value.tenantId}: not a valid input of that tenant`);
      }
      rated.set(value.id, {
        tenantId: value.tenantId,
        charge: value.charge,
        source: value.source,
        ratedAt: value.ratedAt,
        records: 1,
        unflagged: duplicate ? 0 : 1,
        inconsistent: false,
      });
      return;
    }
    entry.records += 1;
    if (!duplicate) entry.unflagged += 1;
    if (
      !entry.inconsistent &&
      (entry.charge !== value.charge || entry.source !== value.source || entry.ratedAt !== value.ratedAt)
    ) {
      // Two stored outcomes for one id: it was applied twice.
      entry.inconsistent = true;
      problem(
        `rated ${value.id}: records disagree (${entry.charge} ${entry.source} ${entry.ratedAt} vs ` +
          `${value.charge} ${value.source} ${value.ratedAt})`,
      );
    }
  });

  // Dead letters, by their untouched bytes.
  const deadValues = new Set<string>();
  const deadRecords = await scanTopic(input.kafka, input.topics.deadLetter, (message) => {
    deadValues.add(message.value.toString());
  });
  const missingDead = [...malformedInputs].filter((value) => !deadValues.has(value));
  const unexpectedDead = [...deadValues].filter((value) => !malformedInputs.has(value));
  for (const value of missingDead.slice(0, 5)) problem(`malformed input not dead-lettered: ${value}`);
  for (const value of unexpectedDead.slice(0, 5)) problem(`dead-lettered but not malformed: ${value}`);

  // Events, by tenant and id; a redelivery must be the same event.
  const events = new Map<string, Map<string, EventRecord>>();
  const byType: Record<string, number> = {};
  let eventRecords = 0;
  let distinctEvents = 0;
  await scanTopic(input.kafka, input.topics.eventsOut, (message) => {
    eventRecords += 1;
    const body = message.value.toString();
    const event = JSON.parse(body) as {
      id: string;
      type: string;
      subject: string;
      data: Record<string, unknown>;
    };
    const tenantEvents = events.get(event.subject) ?? new Map<string, EventRecord>();
    events.set(event.subject, tenantEvents);
    const seen = tenantEvents.get(event.id);
    if (seen) {
      if (seen.body !== body) problem(`event ${event.id}: redelivered with other content`);
      return;
    }
    distinctEvents += 1;
    byType[event.type] = (byType[event.type] ?? 0) + 1;
    tenantEvents.set(event.id, { type: event.type, body, data: event.data });
  });
  for (const tenant of events.keys()) {
    if (!profiles.has(tenant)) problem(`events for ${tenant}, a tenant the run did not open`);
  }

  const expectedByTenant = new Map<string, string[]>();
  for (const [id, tenant] of expected) {
    const ids = expectedByTenant.get(tenant) ?? [];
    ids.push(id);
    expectedByTenant.set(tenant, ids);
  }

  let lost = 0;
  let doubleCharged = [...rated.values()].filter((entry) => entry.inconsistent).length;
  const producerRepeats = [...rated.values()].filter((e) => !e.inconsistent && e.unflagged > 1).length;
  const money = new Map<string, Totals>();
  const tenantCounts = { prepaid: 0, postpaid: 0, depleted: 0, belowLowThreshold: 0 };

  for (const profile of input.tenants) {
    const tenant = profile.tenantId;
    const currency = profile.currency;
    const totals = money.get(currency) ?? zeroTotals();
    money.set(currency, totals);
    const tenantEvents = events.get(tenant) ?? new Map<string, EventRecord>();
    // Crossing events name the usage that caused them: `<tenant>/<type>/usage:<usage id>`.
    const causeOf = (id: string, type: string) => {
      const prefix = `${tenant}/${type}/usage:`;
      return id.startsWith(prefix) ? id.slice(prefix.length) : undefined;
    };
    const causes = new Set<string>();
    for (const [id, event] of tenantEvents) {
      const usageId = causeOf(id, event.type);
      if (usageId) causes.add(usageId);
    }

    // The ledger's idempotency records: one per applied usage id.
    const appliedIds = new Set<string>();
    const causeOutcomes = new Map<string, { charge: bigint }>();
    let appliedCredits = 0n;
    let appliedPostpaid = 0n;
    let drawnFromLots = 0n;
    let intoDebt = 0n;
    for await (const page of input.ledger.reads.appliedUsages(tenant)) {
      for (const { usageId, outcome } of page) {
        appliedIds.add(usageId);
        if (expected.get(usageId) !== tenant) problem(`${tenant}: applied ${usageId}, not an input of it`);
        if (outcome.source === 'credits') appliedCredits += outcome.charge;
        if (outcome.source === 'postpaid') appliedPostpaid += outcome.charge;
        let drawn = 0n;
        for (const draw of outcome.lots) {
          drawn += draw.amount;
          if (draw.lotId === '') intoDebt += draw.amount;
          else drawnFromLots += draw.amount;
        }
        const expectedDraw = outcome.source === 'credits' ? outcome.charge : 0n;
        if (drawn !== expectedDraw)
          problem(`${tenant}: ${usageId} charged ${outcome.charge} but drew ${drawn}`);
        const entry = rated.get(usageId);
        if (entry) {
          const charge = decimalToMinor(entry.charge, currency);
          if (
            charge !== outcome.charge ||
            entry.source !== outcome.source ||
            entry.ratedAt !== outcome.appliedAt.toISOString()
          ) {
            problem(
              `${tenant}: ${usageId} rated ${entry.charge} ${entry.source}, applied ${outcome.charge} ${outcome.source}`,
            );
          }
        }
        if (causes.has(usageId)) causeOutcomes.set(usageId, { charge: outcome.charge });
      }
    }

    let ratedCredits = 0n;
    let ratedPostpaid = 0n;
    let tenantLost = 0;
    for (const id of expectedByTenant.get(tenant) ?? []) {
      const entry = rated.get(id);
      if (!entry || !appliedIds.has(id)) {
        tenantLost += 1;
        if (tenantLost <= 3) problem(`${tenant}: ${id} ${entry ? 'rated but not applied' : 'never rated'}`);
        continue;
      }
      if (entry.source === 'credits') ratedCredits += decimalToMinor(entry.charge, currency);
      if (entry.source === 'postpaid') ratedPostpaid += decimalToMinor(entry.charge, currency);
    }
    lost += tenantLost;

    // Usage totals count every application: more than the records means a usage applied twice.
    let totalCount = 0;
    let totalCredits = 0n;
    let totalPostpaid = 0n;
    for (const bySource of Object.values(await input.ledger.reads.usageTotals(tenant))) {
      for (const [source, total] of Object.entries(bySource)) {
        totalCount += total.count;
        if (source === 'credits') totalCredits += total.charge;
        if (source === 'postpaid') totalPostpaid += total.charge;
      }
    }
    if (totalCount !== appliedIds.size) {
      problem(`${tenant}: ${totalCount} applications for ${appliedIds.size} usage ids`);
      doubleCharged += Math.max(0, totalCount - appliedIds.size);
    }
    if (totalCredits !== appliedCredits || totalPostpaid !== appliedPostpaid) {
      problem(
        `${tenant}: usage totals ${totalCredits}/${totalPostpaid} vs applied ${appliedCredits}/${appliedPostpaid}`,
      );
    }

    const account = await input.ledger.reads.readAccount(tenant);
    if (!account) {
      problem(`${tenant}: no account`);
      continue;
    }
    if ((await input.ledger.outbox.outboxLength(tenant)) !== 0)
      problem(`${tenant}: events left in the outbox`);
    totals.appliedCredits += appliedCredits;
    totals.appliedPostpaid += appliedPostpaid;
    totals.ratedCredits += ratedCredits;
    totals.ratedPostpaid += ratedPostpaid;
    totals.drawnFromLots += drawnFromLots;
    totals.intoDebt += intoDebt;

    const eventsOf = (type: string) => [...tenantEvents.entries()].filter(([, e]) => e.type === type);
    const expectOne = (type: string, wanted: boolean) => {
      const found = eventsOf(type);
      if (found.length !== (wanted ? 1 : 0))
        problem(`${tenant}: ${found.length} ${type} events, expected ${wanted ? 1 : 0}`);
      return found;
    };

    if (profile.mode === 'postpaid') {
      tenantCounts.postpaid += 1;
      const owed = Object.values(account.owed).reduce((sum, v) => sum + v, 0n);
      totals.owed += owed;
      if (owed !== appliedPostpaid || owed !== ratedPostpaid) {
        problem(`${tenant}: owed ${owed}, applied ${appliedPostpaid}, rated ${ratedPostpaid}`);
      }
      if (tenantEvents.size > 0) problem(`${tenant}: postpaid, yet ${tenantEvents.size} balance events`);
      continue;
    }

    tenantCounts.prepaid += 1;
    const debited = input.funds - account.balance;
    const takenFromLots = account.lots.reduce(
      (sum, lot) => sum + lot.amount - lot.remaining - lot.expired,
      0n,
    );
    const lotsLeft = account.lots.reduce((sum, lot) => sum + lot.remaining, 0n);
    totals.funds += input.funds;
    totals.debited += debited;
    totals.takenFromLots += takenFromLots;
    if (
      debited !== appliedCredits ||
      debited !== ratedCredits ||
      debited !== drawnFromLots + intoDebt ||
      takenFromLots !== drawnFromLots ||
      account.debt !== intoDebt ||
      account.balance !== lotsLeft - account.debt
    ) {
      problem(
        `${tenant}: debited ${debited}, applied ${appliedCredits}, rated ${ratedCredits}, drawn ${drawnFromLots}+${intoDebt} ` +
          `(debt ${account.debt}), lots lost ${takenFromLots}, balance ${account.balance}`,
      );
    }

    // Events: the seeded funds (an operator's adjustment: its lot and its audit event), and
    // each crossing once, caused by the usage that crossed.
    const funds = expectOne('credits.funds.added', true);
    if (funds[0] && amountOf(funds[0][1].data, 'amount') !== input.funds)
      problem(`${tenant}: funds event amount`);
    const adjustment = expectOne('credits.adjustment.added', true);
    if (adjustment[0] && amountOf(adjustment[0][1].data, 'amount') !== input.funds)
      problem(`${tenant}: adjustment event amount`);
    const depleted = account.balance <= 0n;
    if (depleted) tenantCounts.depleted += 1;
    const low = input.lowBalanceThreshold > 0n && account.balance < input.lowBalanceThreshold;
    if (low) tenantCounts.belowLowThreshold += 1;
    const crossings: [string, boolean, bigint][] = [
      ['credits.balance.depleted', depleted, 1n],
      ['credits.service.blocked', depleted, 1n],
      ['credits.balance.low', low, input.lowBalanceThreshold],
    ];
    for (const [type, wanted, line] of crossings) {
      for (const [id, event] of expectOne(type, wanted)) {
        const usageId = causeOf(id, type);
        const outcome = usageId ? causeOutcomes.get(usageId) : undefined;
        // Crossed by this usage: the balance the event names is below the line, and was not
        // before this usage's charge.
        const balance = amountOf(event.data, 'balance');
        if (!outcome || balance === undefined || balance >= line || balance + outcome.charge < line) {
          problem(`${tenant}: ${id} does not match the usage that caused it`);
        }
      }
    }
    const known = new Set([
      'credits.funds.added',
      'credits.adjustment.added',
      ...crossings.map(([type]) => type),
    ]);
    for (const [id, event] of tenantEvents)
      if (!known.has(event.type)) problem(`${tenant}: unexpected event ${id}`);
  }

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
