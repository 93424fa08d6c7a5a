import type { RatedDetails, ReportFields } from '../../../src/credits/usage-details';
import { packReport, REPORT_BOUNDS } from '../../../src/ledger/report-encoding';
import {
  applyPaid,
  keysIn,
  ledgerFixture,
  LedgerFixture,
  paid,
  prepaid,
  startIn,
} from '../../support/ledger';

const fields = {
  callId: '9f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b',
  userId: 'AB12CD34-0000-4000-8000-0123456789AB',
  userPrincipalName: 'ann@contoso.com',
  userDisplayName: 'Ann | 100% ~ Sales',
  callerNumber: '+14255550100',
  calleeNumber: '+442071234567',
  callType: 'user_out' as const,
  numberType: 'subscriber' as const,
  destinationContext: 'International' as const,
  endDateTime: '2026-11-01T12:02:05Z',
  duration: 125,
  licenseCapability: 'MCOPSTNPP',
};
const report: ReportFields = fields;
const details: RatedDetails = {
  fingerprint: 'fp',
  billedSeconds: 60,
  connectionCharge: 5n,
  currency: 'USD',
  destinationName: 'Flatland',
  rate: { deck: 'flat', version: '1', prefix: '+' },
};

describe("ledger: the usage report's fields kept with each applied usage", () => {
  let f: LedgerFixture;
  beforeEach(async () => {
    f = ledgerFixture();
    await f.ledger.writes.upsertAccount('acme', prepaid());
    await f.ledger.writes.addFunds('acme', { paymentRef: 'p1', amount: 1000n, currency: 'USD' });
  });
  afterEach(() => f.close());

  const list = () =>
    f.ledger.reads.listUsage('acme', {
      from: new Date(0),
      to: new Date('2100-01-01T00:00:00Z'),
      offset: 0,
      limit: 10,
    });

  it('lists them back exactly; a usage stored without them (as before they were kept) lists with none', async () => {
    const applied = await applyPaid(f, 'acme', [
      { ...paid('with', 35n), details, report },
      paid('without', 10n),
    ]);
    expect(applied.applied.map((a) => a.outcome.report)).toEqual([report, {}]);
    // The one without is stored as every record was before: ten fields.
    const bucket = `${f.ledger.keys('acme').applied}:${Math.floor(startIn('2026-11').getTime() / 86_400_000)}:1:0`;
    expect((await f.redis.hget(bucket, 'without'))!.split('|')).toHaveLength(10);
    // The one with them, in the storage format kept since they were: the details' own fields
    // (the shared ones interned), no revision, and the packed report.
    const stored = (await f.redis.hget(bucket, 'with'))!.split('|');
    expect(stored.slice(7)).toEqual(['fp', '60', '5', '', '', packReport(fields)]);

    const listed = new Map((await list()).map((r) => [r.usageId, r.outcome]));
    expect(listed.get('with')!.report).toEqual(fields);
    expect(listed.get('with')).toMatchObject({ details, revision: '' });
    expect(listed.get('without')!.report).toEqual({});
    const all = [];
    for await (const page of f.ledger.reads.appliedUsages('acme')) all.push(...page);
    expect(new Map(all.map((r) => [r.usageId, r.outcome.report]))).toEqual(
      new Map<string, ReportFields>([
        ['with', report],
        ['without', {}],
      ]),
    );

    // A repeat, the read of the settlement layer and a stale read reply the stored record.
    const again = await applyPaid(f, 'acme', [{ ...paid('with', 35n), report: { callId: 'other' } }]);
    expect(again.applied[0]).toMatchObject({ duplicate: true, outcome: { report } });
    const state = await f.ledger.writes.readUsageState('acme', keysIn('2026-11', 'with', 'without'), []);
    expect('applied' in state && [...state.applied.values()].map((o) => o.report)).toEqual([report, {}]);
    const stale = await f.ledger.writes.applyUsage('acme', {
      currency: 'USD',
      usages: [{ ...paid('with', 35n), pool: 'MCOPSTN1:US', poolSeconds: 60 }],
      poolUse: { 'MCOPSTN1:US:2026-11': 0 },
      unread: true,
    });
    expect('staleRead' in stale && stale.appliedBefore!.get('with')!.report).toEqual(report);
  });

  it('keeps them through a re-rate, and a record without them stays without', async () => {
    await applyPaid(f, 'acme', [{ ...paid('with', 35n), report }, paid('without', 10n)]);
    for (const usageId of ['with', 'without']) {
      const result = await f.ledger.writes.rerate('acme', {
        usageId,
        start: startIn('2026-11'),
        revision: 'r1',
        currency: 'USD',
        source: 'credits',
        charge: 20n,
        poolSeconds: 0,
        poolUse: {},
      });
      expect(result).toMatchObject({ outcome: { revision: 'r1', charge: 20n } });
    }
    const listed = new Map((await list()).map((r) => [r.usageId, r.outcome]));
    expect(listed.get('with')).toMatchObject({ revision: 'r1', charge: 20n, report });
    expect(listed.get('without')).toMatchObject({ revision: 'r1', charge: 20n, report: {} });
    // A second revision keeps it too.
    await f.ledger.writes.rerate('acme', {
      usageId: 'with',
      start: startIn('2026-11'),
      revision: 'r2',
      currency: 'USD',
      source: 'credits',
      charge: 25n,
      poolSeconds: 0,
      poolUse: {},
    });
    expect((await list()).find((r) => r.usageId === 'with')!.outcome).toMatchObject({
      revision: 'r2',
      report,
    });
  });

  it('keeps the widest report the bounds allow exactly, escaped in storage', async () => {
    const widest = Object.fromEntries(
      Object.entries(REPORT_BOUNDS).map(([name, max]) => [name, 'é|~%'.repeat(max / 4)]),
    ) as ReportFields;
    await applyPaid(f, 'acme', [{ ...paid('u4', 10n), report: widest }]);
    expect((await list())[0]!.outcome.report).toEqual(widest);
  });
});
