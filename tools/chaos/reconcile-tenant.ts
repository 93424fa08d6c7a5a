/** The chaos audit of one tenant: its ledger records, rated records, balance and events agree. */
import { decimalToMinor } from '../../src/credits/money';
import type { AccountView, MinorUnits } from '../../src/credits/wallet';
import type { Ledger } from '../../src/ledger/open-ledger';
import type { TenantProfile } from '../loadgen/cdr-stream';
import type { EventRecord, RatedEntry } from './reconcile-topics';

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

export type Totals = { [K in keyof CurrencyTotals]: bigint };

export const zeroTotals = (): Totals => ({
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

/** What the audit has read, and what it adds up as it goes from tenant to tenant. */
export interface Audit {
  ledger: Ledger;
  /** The one purchase of each prepaid tenant, and the low-balance line, in minor units. */
  funds: MinorUnits;
  lowBalanceThreshold: MinorUnits;
  problem: (text: string) => void;
  expected: Map<string, string>;
  expectedByTenant: Map<string, string[]>;
  rated: Map<string, RatedEntry>;
  events: Map<string, Map<string, EventRecord>>;
  money: Map<string, Totals>;
  tenantCounts: { prepaid: number; postpaid: number; depleted: number; belowLowThreshold: number };
  lost: number;
  doubleCharged: number;
}

/** Crossing events name the usage that caused them: `<tenant>/<type>/usage:<usage id>`. */
const causeOf = (tenant: string, id: string, type: string) => {
  const prefix = `${tenant}/${type}/usage:`;
  return id.startsWith(prefix) ? id.slice(prefix.length) : undefined;
};

/** The ledger's idempotency records: one per applied usage id, each as rated, its draws adding up. */
async function appliedUsages(audit: Audit, tenant: string, currency: string, causes: Set<string>) {
  const { expected, problem, rated } = audit;
  const appliedIds = new Set<string>();
  const causeOutcomes = new Map<string, { charge: bigint }>();
  let appliedCredits = 0n;
  let appliedPostpaid = 0n;
  let drawnFromLots = 0n;
  let intoDebt = 0n;
  for await (const page of audit.ledger.reads.appliedUsages(tenant)) {
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
  return { appliedIds, causeOutcomes, appliedCredits, appliedPostpaid, drawnFromLots, intoDebt };
}

/** The rated charges of the tenant's valid ids; an id never rated or never applied is lost. */
function ratedTotals(audit: Audit, tenant: string, currency: string, appliedIds: Set<string>) {
  const { problem, rated, expectedByTenant } = audit;
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
  audit.lost += tenantLost;
  return { ratedCredits, ratedPostpaid };
}

/** Usage totals count every application: more than the records means a usage applied twice. */
async function checkUsageTotals(
  audit: Audit,
  tenant: string,
  applied: { appliedIds: Set<string>; appliedCredits: bigint; appliedPostpaid: bigint },
) {
  const { problem } = audit;
  const { appliedIds, appliedCredits, appliedPostpaid } = applied;
  let totalCount = 0;
  let totalCredits = 0n;
  let totalPostpaid = 0n;
  for (const bySource of Object.values(await audit.ledger.reads.usageTotals(tenant))) {
    for (const [source, total] of Object.entries(bySource)) {
      totalCount += total.count;
      if (source === 'credits') totalCredits += total.charge;
      if (source === 'postpaid') totalPostpaid += total.charge;
    }
  }
  if (totalCount !== appliedIds.size) {
    problem(`${tenant}: ${totalCount} applications for ${appliedIds.size} usage ids`);
    audit.doubleCharged += Math.max(0, totalCount - appliedIds.size);
  }
  if (totalCredits !== appliedCredits || totalPostpaid !== appliedPostpaid) {
    problem(
      `${tenant}: usage totals ${totalCredits}/${totalPostpaid} vs applied ${appliedCredits}/${appliedPostpaid}`,
    );
  }
}

/** A prepaid tenant: debits = rated = applied = lot draws (+ debt) = what the lots lost. */
function checkPrepaidMoney(
  audit: Audit,
  tenant: string,
  account: AccountView,
  totals: Totals,
  sums: { appliedCredits: bigint; ratedCredits: bigint; drawnFromLots: bigint; intoDebt: bigint },
) {
  const { problem, tenantCounts } = audit;
  const { appliedCredits, ratedCredits, drawnFromLots, intoDebt } = sums;
  tenantCounts.prepaid += 1;
  const debited = audit.funds - account.balance;
  const takenFromLots = account.lots.reduce((sum, lot) => sum + lot.amount - lot.remaining - lot.expired, 0n);
  const lotsLeft = account.lots.reduce((sum, lot) => sum + lot.remaining, 0n);
  totals.funds += audit.funds;
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
}

/**
 * A prepaid tenant's events: the seeded funds (an operator's adjustment: its lot and its audit
 * event), and each crossing once, caused by the usage that crossed; nothing else.
 */
function checkPrepaidEvents(
  audit: Audit,
  tenant: string,
  account: AccountView,
  tenantEvents: Map<string, EventRecord>,
  causeOutcomes: Map<string, { charge: bigint }>,
) {
  const { problem, tenantCounts } = audit;
  const eventsOf = (type: string) => [...tenantEvents.entries()].filter(([, e]) => e.type === type);
  const expectOne = (type: string, wanted: boolean) => {
    const found = eventsOf(type);
    if (found.length !== (wanted ? 1 : 0))
      problem(`${tenant}: ${found.length} ${type} events, expected ${wanted ? 1 : 0}`);
    return found;
  };
  const funds = expectOne('credits.funds.added', true);
  if (funds[0] && amountOf(funds[0][1].data, 'amount') !== audit.funds)
    problem(`${tenant}: funds event amount`);
  const adjustment = expectOne('credits.adjustment.added', true);
  if (adjustment[0] && amountOf(adjustment[0][1].data, 'amount') !== audit.funds)
    problem(`${tenant}: adjustment event amount`);
  const depleted = account.balance <= 0n;
  if (depleted) tenantCounts.depleted += 1;
  const low = audit.lowBalanceThreshold > 0n && account.balance < audit.lowBalanceThreshold;
  if (low) tenantCounts.belowLowThreshold += 1;
  const crossings: [string, boolean, bigint][] = [
    ['credits.balance.depleted', depleted, 1n],
    ['credits.service.blocked', depleted, 1n],
    ['credits.balance.low', low, audit.lowBalanceThreshold],
  ];
  for (const [type, wanted, line] of crossings) {
    for (const [id, event] of expectOne(type, wanted)) {
      const usageId = causeOf(tenant, id, type);
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

/** One tenant's audit, its money added to its currency's totals. */
export async function auditTenant(audit: Audit, profile: TenantProfile): Promise<void> {
  const { problem, tenantCounts } = audit;
  const tenant = profile.tenantId;
  const currency = profile.currency;
  const totals = audit.money.get(currency) ?? zeroTotals();
  audit.money.set(currency, totals);
  const tenantEvents = audit.events.get(tenant) ?? new Map<string, EventRecord>();
  const causes = new Set<string>();
  for (const [id, event] of tenantEvents) {
    const usageId = causeOf(tenant, id, event.type);
    if (usageId) causes.add(usageId);
  }
  const applied = await appliedUsages(audit, tenant, currency, causes);
  const { appliedCredits, appliedPostpaid, drawnFromLots, intoDebt } = applied;
  const { ratedCredits, ratedPostpaid } = ratedTotals(audit, tenant, currency, applied.appliedIds);
  await checkUsageTotals(audit, tenant, applied);

  const account = await audit.ledger.reads.readAccount(tenant);
  if (!account) {
    problem(`${tenant}: no account`);
    return;
  }
  if ((await audit.ledger.outbox.outboxLength(tenant)) !== 0) problem(`${tenant}: events left in the outbox`);
  totals.appliedCredits += appliedCredits;
  totals.appliedPostpaid += appliedPostpaid;
  totals.ratedCredits += ratedCredits;
  totals.ratedPostpaid += ratedPostpaid;
  totals.drawnFromLots += drawnFromLots;
  totals.intoDebt += intoDebt;

  if (profile.mode === 'postpaid') {
    tenantCounts.postpaid += 1;
    const owed = Object.values(account.owed).reduce((sum, v) => sum + v, 0n);
    totals.owed += owed;
    if (owed !== appliedPostpaid || owed !== ratedPostpaid) {
      problem(`${tenant}: owed ${owed}, applied ${appliedPostpaid}, rated ${ratedPostpaid}`);
    }
    if (tenantEvents.size > 0) problem(`${tenant}: postpaid, yet ${tenantEvents.size} balance events`);
    return;
  }

  checkPrepaidMoney(audit, tenant, account, totals, {
    appliedCredits,
    ratedCredits,
    drawnFromLots,
    intoDebt,
  });
  checkPrepaidEvents(audit, tenant, account, tenantEvents, applied.causeOutcomes);
}
