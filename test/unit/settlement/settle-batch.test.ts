import type { RatedBatch, UsageKey } from '../../../src/credits/wallet';
import type { UsageRecord } from '../../../src/rating';
import type { LedgerRefusal } from '../../../src/settlement/ports';
import { fingerprint } from '../../../src/settlement/rated-details';
import { isTransient } from '../../../src/settlement/retry';
import { BatchLedger, BatchOutcome, BatchWaits, SettleBatch } from '../../../src/settlement/settle-batch';
import { FlatPricer } from '../../support/flat-pricer';
import { MemoryLedger } from '../../support/memory-ledger';

/** The batch ledger port in memory: one MemoryLedger a tenant, replicas that may lag. */
class Tenants implements BatchLedger {
  readonly maxUsagesPerApply: number;
  readonly replicaWaits: string[][] = [];
  replicasLag?: Error;

  constructor(
    readonly byTenant: Record<string, MemoryLedger>,
    maxUsagesPerApply = 1000,
  ) {
    this.maxUsagesPerApply = maxUsagesPerApply;
  }

  private of(tenantId: string): MemoryLedger | LedgerRefusal {
    return this.byTenant[tenantId] ?? { refused: 'no_account', detail: tenantId };
  }

  async readUsageState(tenantId: string, usages: UsageKey[], poolMonths: string[]) {
    const ledger = this.of(tenantId);
    return 'refused' in ledger ? ledger : ledger.readUsageState(tenantId, usages, poolMonths);
  }

  async applyUsage(tenantId: string, batch: RatedBatch) {
    const ledger = this.of(tenantId);
    return 'refused' in ledger ? ledger : ledger.applyUsage(tenantId, batch);
  }

  async awaitReplicas(tenantIds: Iterable<string>) {
    this.replicaWaits.push([...tenantIds].sort());
    if (this.replicasLag) throw this.replicasLag;
  }
}

const record = (id: string, tenantId: string, extra: Partial<UsageRecord> = {}): UsageRecord => ({
  id,
  tenantId,
  callType: 'user_out',
  startDateTime: '2026-11-24T09:00:00Z',
  endDateTime: '2026-11-24T09:02:00Z',
  duration: 90,
  calleeNumber: '+442071234567',
  licenseCapability: 'MCOPSTNPP',
  ...extra,
});

const prepaid = (tenantId: string, balance: bigint) => {
  const ledger = new MemoryLedger(tenantId, 'prepaid', 'USD');
  ledger.balance = balance;
  return ledger;
};

/** Waits that run each step once: what fails is the step's own failure (or transient). */
const direct: BatchWaits = {
  until: (step) => step(),
  isPermanent: (error) => !isTransient(error),
};

/** An outcome in short: the money of a rated one, the code and stage of one set aside, or why it waits. */
const summary = (outcome: BatchOutcome) => {
  if (outcome.kind === 'rated')
    return ['rated', outcome.record.id, outcome.applied.source, outcome.applied.charge, outcome.duplicate];
  if (outcome.kind === 'rejected')
    return ['set_aside', outcome.rejection.code, outcome.stage, outcome.charged];
  return ['waiting', (outcome.cause as Error).message];
};

describe('settling a batch (the use case, through its ports)', () => {
  it('answers one outcome per record in order, across tenants: rated with its money, or set aside with its code and stage', async () => {
    const ledger = new Tenants({ acme: prepaid('acme', 1000n), fabrikam: prepaid('fabrikam', 0n) });
    const settle = new SettleBatch({ ledger, pricer: new FlatPricer() });
    const outcomes = await settle.settle(
      [
        { record: record('a1', 'acme') },
        { record: record('f1', 'fabrikam', { duration: 200 }) },
        { record: record('x1', 'nobody') },
        { record: record('a2', 'acme', { calleeNumber: '+9991234' }) },
        { record: record('a3', 'acme', { callType: 'user_in' }) },
      ],
      direct,
    );
    expect(outcomes.map(summary)).toEqual([
      ['rated', 'a1', 'credits', 25n, false],
      // 4 started minutes at 10 plus 5; a prepaid balance may go below zero.
      ['rated', 'f1', 'credits', 45n, false],
      ['set_aside', 'unknown_tenant', 'ledger', false],
      ['set_aside', 'unrated_destination', 'rating', false],
      ['rated', 'a3', 'free', 0n, false],
    ]);
    expect(ledger.byTenant.acme!.balance).toBe(975n);
    expect(ledger.byTenant.fabrikam!.balance).toBe(-45n);
    // The replicas are awaited once, for every tenant the batch named.
    expect(ledger.replicaWaits).toEqual([['acme', 'fabrikam', 'nobody']]);
  });

  it('fills in the fingerprint of each record, and gives the rated details the ledger keeps', async () => {
    const ledger = new Tenants({ acme: prepaid('acme', 100n) });
    const usage: { record: UsageRecord; fingerprint?: string } = { record: record('a1', 'acme') };
    const [outcome] = await new SettleBatch({ ledger, pricer: new FlatPricer() }).settle([usage], direct);
    expect(usage.fingerprint).toBe(fingerprint(usage.record));
    expect(outcome).toEqual({
      kind: 'rated',
      record: usage.record,
      duplicate: false,
      details: {
        fingerprint: fingerprint(usage.record),
        billedSeconds: 120,
        connectionCharge: 5n,
        currency: 'USD',
        destinationName: 'Flatland',
        rate: { deck: 'flat', version: '1', prefix: '+' },
      },
      applied: expect.objectContaining({ source: 'credits', charge: 25n, poolSeconds: 0 }),
    });
    expect(ledger.byTenant.acme!.applied.get('a1')!.details).toEqual(
      outcome?.kind === 'rated' && outcome.details,
    );
  });

  it('repeats the first outcome of a redelivered record, and sets aside the same id with other content as a conflict', async () => {
    const ledger = new Tenants({ acme: prepaid('acme', 100n) });
    const settle = new SettleBatch({ ledger, pricer: new FlatPricer() });
    await settle.settle([{ record: record('a1', 'acme') }], direct);
    const again = await settle.settle(
      [{ record: record('a1', 'acme') }, { record: record('a1', 'acme', { duration: 900 }) }],
      direct,
    );
    expect(again.map(summary)).toEqual([
      ['rated', 'a1', 'credits', 25n, true],
      ['set_aside', 'conflicting_duplicate', 'ledger', false],
    ]);
    expect(again[1]).toMatchObject({
      conflict: {
        firstFingerprint: fingerprint(record('a1', 'acme')),
        fingerprint: fingerprint(record('a1', 'acme', { duration: 900 })),
        firstCharge: 25n,
        firstCurrency: 'USD',
        firstSource: 'credits',
      },
    });
    expect(ledger.byTenant.acme!.balance).toBe(75n);
  });

  it('never charges a record whose rated record would not go out (the adapter says why, before the debit)', async () => {
    const ledger = new Tenants({ acme: prepaid('acme', 100n) });
    const asked: string[] = [];
    const settle = new SettleBatch<{ record: UsageRecord; fingerprint?: string; big?: boolean }>({
      ledger,
      pricer: new FlatPricer(),
      records: {
        check: (usage, details, applied) => {
          asked.push(`${usage.record.id} ${details.billedSeconds} ${applied.charge}`);
          return usage.big
            ? { code: 'too_large', message: 'the rated record would be too large' }
            : undefined;
        },
      },
    });
    const outcomes = await settle.settle(
      [{ record: record('small', 'acme') }, { record: record('big', 'acme'), big: true }],
      direct,
    );
    expect(outcomes.map(summary)).toEqual([
      ['rated', 'small', 'credits', 25n, false],
      ['set_aside', 'too_large', 'rating', false],
    ]);
    expect(asked).toEqual(['small 120 25', 'big 120 25']);
    expect([...ledger.byTenant.acme!.applied.keys()]).toEqual(['small']);
  });

  it("settles a tenant's records in slices of what one apply takes, in order, each against the pool use the previous left", async () => {
    const acme = new MemoryLedger('acme', 'prepaid', 'USD', { 'MCOPSTN1:US': 120 });
    const ledger = new Tenants({ acme }, 2);
    const pooled = (id: string) =>
      record(id, 'acme', { licenseCapability: 'MCOPSTN1', usageCountryCode: 'US', duration: 60 });
    const outcomes = await new SettleBatch({ ledger, pricer: new FlatPricer() }).settle(
      ['p1', 'p2', 'p3'].map((id) => ({ record: pooled(id) })),
      direct,
    );
    expect(outcomes.map(summary)).toEqual([
      ['rated', 'p1', 'bundle', 0n, false],
      ['rated', 'p2', 'bundle', 0n, false],
      ['rated', 'p3', 'credits', 15n, false],
    ]);
    expect(acme.calls.apply).toBe(2);
  });

  it('sets aside alone, with internal_error, a record that makes settling fail, and tells it', async () => {
    const acme = prepaid('acme', 100n);
    acme.beforeApply = (batch) => {
      if (batch.usages.some((u) => u.id === 'bug')) throw new TypeError('a bug');
    };
    const failed: string[][] = [];
    const settle = new SettleBatch({
      ledger: new Tenants({ acme }),
      pricer: new FlatPricer(),
      observer: { failed: (_error, tenantId, usageIds) => failed.push([tenantId, ...usageIds]) },
    });
    const outcomes = await settle.settle(
      [{ record: record('ok', 'acme') }, { record: record('bug', 'acme') }],
      direct,
    );
    expect(outcomes.map(summary)).toEqual([
      ['rated', 'ok', 'credits', 25n, false],
      ['set_aside', 'internal_error', 'ledger', false],
    ]);
    expect(failed).toEqual([
      ['acme', 'ok', 'bug'],
      ['acme', 'bug'],
    ]);
  });

  it('makes every record wait when a transient cause holds a tenant, and settles nothing else', async () => {
    const acme = prepaid('acme', 100n);
    const down = Object.assign(new Error('Redis is away'), { retriable: true });
    acme.beforeApply = () => {
      throw down;
    };
    const fabrikam = prepaid('fabrikam', 100n);
    const ledger = new Tenants({ acme, fabrikam });
    // One tenant at a time: the second is not started once the first waits.
    const settle = new SettleBatch({ ledger, pricer: new FlatPricer(), tenantsInFlight: 1 });
    const outcomes = await settle.settle(
      [{ record: record('a1', 'acme') }, { record: record('f1', 'fabrikam') }],
      direct,
    );
    expect(outcomes.map(summary)).toEqual([
      ['waiting', 'Redis is away'],
      ['waiting', 'Redis is away'],
    ]);
    expect(fabrikam.calls).toEqual({ read: 0, apply: 0 });
    expect(ledger.replicaWaits).toEqual([]);
  });

  it('makes every record wait when the replicas do not hold the writes (the batch is settled again)', async () => {
    const ledger = new Tenants({ acme: prepaid('acme', 100n) });
    ledger.replicasLag = new Error('replicas behind');
    const settle = new SettleBatch({ ledger, pricer: new FlatPricer() });
    const first = await settle.settle([{ record: record('a1', 'acme') }], direct);
    expect(first.map(summary)).toEqual([['waiting', 'replicas behind']]);
    ledger.replicasLag = undefined;
    const again = await settle.settle([{ record: record('a1', 'acme') }], direct);
    // Applied the first time: the repeat gives the stored outcome, charged once.
    expect(again.map(summary)).toEqual([['rated', 'a1', 'credits', 25n, true]]);
    expect(ledger.byTenant.acme!.balance).toBe(75n);
  });
});
