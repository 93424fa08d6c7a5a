import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { periodRerate } from '../../../src/app';
import { toCloudEvent } from '../../../src/kafka/cloudevents';
import type { RateBook, UsageRecord } from '../../../src/rating';
import { rerateValue } from '../../../src/kafka/rated-record-format';
import type { RatedRecordSink, RerateCheckpointStore, RerateRecord } from '../../../src/settlement/ports';
import { fingerprint } from '../../../src/settlement/rated-details';
import { RatingPricer } from '../../../src/settlement/rating-pricer';
import type { RerateOptions, RerateReport } from '../../../src/settlement/rerate-period';
import { TenantSettlement } from '../../../src/settlement/settle-tenant';
import { projectRoot } from '../../../tools/stack/toolchain';
import { ledgerFixture, LedgerFixture, prepaid } from '../../support/ledger';
import { correctBook, perSecondBook, wrongBook, wrongUsBook } from '../../support/rate-books';

const call = (tenantId: string, id: string, extra: Partial<UsageRecord> = {}): UsageRecord => ({
  id,
  tenantId,
  callType: 'user_out',
  startDateTime: '2026-03-10T09:00:00Z',
  endDateTime: '2026-03-10T09:01:30Z',
  duration: 90,
  calleeNumber: '+442071234567',
  callerNumber: '+12125550100',
  licenseCapability: 'MCOPSTNPP',
  usageCountryCode: 'US',
  userPrincipalName: 'ada@acme.example',
  ...extra,
});

/** Published re-rated records, parsed. */
class RecordingSink implements RatedRecordSink {
  records: Record<string, unknown>[] = [];
  async publish(records: RerateRecord[]) {
    for (const r of records) this.records.push({ key: r.tenantId, ...JSON.parse(rerateValue(r)) });
  }
}

const MARCH = { from: new Date('2026-03-01T00:00:00Z'), to: new Date('2026-04-01T00:00:00Z') };

describe('re-rating a past period', () => {
  let f: LedgerFixture;
  beforeEach(async () => {
    f = ledgerFixture({ start: '2026-03-25T00:00:00.000Z' });
  });
  afterEach(() => f.close());

  /** A prepaid tenant with 10.00 USD, whose calls were charged with `book`. */
  async function tenantWithCalls(tenantId: string, book: RateBook, calls: UsageRecord[], poolSeconds = 0) {
    await f.ledger.writes.upsertAccount(
      tenantId,
      prepaid(poolSeconds ? { poolCapacities: { 'MCOPSTN1:US': poolSeconds } } : {}),
    );
    await f.ledger.writes.addFunds(tenantId, {
      paymentRef: 'p1',
      amount: 1000n,
      currency: 'USD',
      purchasedAt: new Date('2026-03-01T00:00:00Z'),
    });
    const settlement = new TenantSettlement({
      ledger: f.ledger.writes,
      pricer: new RatingPricer(book),
      maxUsagesPerApply: 100,
      clock: () => f.clock.now,
    });
    for (const record of calls) {
      const [settled] = await settlement.settle(tenantId, [{ record, fingerprint: fingerprint(record) }]);
      expect(settled).toMatchObject({ kind: 'rated' });
    }
  }

  const rerate = (book: RateBook, sink?: RatedRecordSink, options: Partial<RerateOptions> = {}) =>
    periodRerate(f.ledger, new RatingPricer(book), book, sink, { clock: () => f.clock.now, ...options });

  const ukCalls = (tenantId: string, n: number) =>
    Array.from({ length: n }, (_, i) =>
      call(tenantId, `${tenantId}-u${i + 1}`, { startDateTime: `2026-03-1${i % 10}T09:00:00Z` }),
    );

  const balance = async (tenantId: string) => (await f.ledger.reads.readAccount(tenantId))!.balance;
  const events = (tenantId: string) => f.ledger.outbox.readOutbox(tenantId);
  const reratedEvents = async (tenantId: string) =>
    (await events(tenantId)).filter((e) => e.type === 'credits.usage.rerated');

  it('reports per tenant in a dry run what the decks now in force change, and changes nothing', async () => {
    await tenantWithCalls('acme', wrongBook(), [
      ...ukCalls('acme', 2),
      // A call of another period, and one to France (its rate did not change).
      call('acme', 'april', { startDateTime: '2026-04-02T09:00:00Z' }),
      call('acme', 'fr', { calleeNumber: '+33123456789' }),
    ]);
    await tenantWithCalls('globex', wrongBook(), ukCalls('globex', 1));
    const before = await Promise.all(['acme', 'globex'].map(balance));
    expect(before).toEqual([1000n - 200n - 200n - 200n - 7n, 1000n - 200n]);
    const eventsBefore = (await events('acme')).length;
    const sink = new RecordingSink();

    const report = await rerate(correctBook(), sink).run({ ...MARCH, dryRun: true });

    expect(report).toMatchObject({ dryRun: true, complete: true });
    expect(report.revision).toMatch(/^rr-[0-9a-f]{20}$/);
    expect(report.tenants.map((t) => [t.tenantId, t.examined, t.calls, t.before, t.after])).toEqual([
      // 2 minutes at 1.00 each, now at 0.0349: 0.0698, 7 cents.
      ['acme', 3, 2, 400n, 14n],
      ['globex', 1, 1, 200n, 7n],
    ]);
    expect(await Promise.all(['acme', 'globex'].map(balance))).toEqual(before);
    expect(await events('acme')).toHaveLength(eventsBefore);
    expect(sink.records).toEqual([]);
    expect(await f.redis.keys(`${f.prefix}rerate:*`)).toEqual([]);
  });

  it('refunds each changed call once, publishes its re-rated record, and tells the tenant once', async () => {
    await tenantWithCalls('acme', wrongBook(), ukCalls('acme', 3));
    expect(await balance('acme')).toBe(400n);
    const sink = new RecordingSink();

    const first = await rerate(correctBook(), sink).run({ ...MARCH, tenantId: 'acme', dryRun: false });
    const again = await rerate(correctBook(), sink).run({ ...MARCH, tenantId: 'acme', dryRun: false });

    expect(first.tenants).toEqual([expect.objectContaining({ calls: 3, before: 600n, after: 21n })]);
    expect(again.revision).toBe(first.revision);
    expect(await balance('acme')).toBe(1000n - 21n);
    const account = (await f.ledger.reads.readAccount('acme'))!;
    expect(account.lots.map((l) => [l.lotId, l.remaining])).toEqual([['m:p1', 979n]]);
    expect((await f.ledger.reads.usageTotals('acme'))['2026-03']).toEqual({
      credits: { count: 3, charge: 21n, poolSeconds: 0 },
    });
    const listed = await f.ledger.reads.listUsage('acme', { ...MARCH, offset: 0, limit: 10 });
    expect(
      listed.map((u) => [u.usageId, u.outcome.charge, u.outcome.revision, u.outcome.previousCharge]),
    ).toEqual([
      ['acme-u1', 7n, first.revision, 200n],
      ['acme-u2', 7n, first.revision, 200n],
      ['acme-u3', 7n, first.revision, 200n],
    ]);

    // Each record published with its revision and the charge it replaced (the second run
    // found them re-rated by this revision and published them again: same content).
    const published = sink.records.filter((r) => r.id === 'acme-u1');
    expect(published.length).toBeGreaterThanOrEqual(1);
    for (const record of published)
      expect(record).toMatchObject({
        key: 'acme',
        id: 'acme-u1',
        tenantId: 'acme',
        callType: 'user_out',
        calleeNumber: '+442071234567',
        startDateTime: '2026-03-10T09:00:00.000Z',
        charge: '0.07',
        currency: 'USD',
        source: 'credits',
        billedSeconds: 120,
        rate: { deck: 'outbound-usd', version: '2026-01', prefix: '+44' },
        revision: first.revision,
        previousCharge: '2.00',
      });

    const rerated = await reratedEvents('acme');
    expect(rerated.map((e) => e.id)).toEqual([`acme/credits.usage.rerated/${first.revision}`]);
    const data = toCloudEvent(rerated[0]!, 'rater').data;
    expect(data).toEqual({
      tenantId: 'acme',
      revision: first.revision,
      from: '2026-03-01T00:00:00.000Z',
      to: '2026-04-01T00:00:00.000Z',
      calls: 3,
      previousTotal: { amount: '6.00', currency: 'USD' },
      newTotal: { amount: '0.21', currency: 'USD' },
      difference: { amount: '-5.79', currency: 'USD' },
      refund: { amount: '5.79', currency: 'USD' },
      extraCharge: { amount: '0.00', currency: 'USD' },
      mode: 'prepaid',
      balance: { amount: '9.79', currency: 'USD' },
    });
    const ajv = new Ajv2020({ allErrors: true });
    addFormats(ajv);
    const validate = ajv.compile(
      JSON.parse(readFileSync(join(projectRoot, 'schemas/events/credits.usage.rerated.schema.json'), 'utf8')),
    );
    expect(validate(data) ? [] : validate.errors).toEqual([]);
  });

  it('charges the difference when the correction raises the rate', async () => {
    await tenantWithCalls('acme', correctBook(), ukCalls('acme', 1));
    expect(await balance('acme')).toBe(993n);

    const report = await rerate(wrongBook()).run({ ...MARCH, dryRun: false });

    expect(report.tenants).toEqual([expect.objectContaining({ calls: 1, before: 7n, after: 200n })]);
    expect(await balance('acme')).toBe(800n);
    expect(toCloudEvent((await reratedEvents('acme'))[0]!, 'rater').data).toMatchObject({
      refund: { amount: '0.00' },
      extraCharge: { amount: '1.93' },
    });
  });

  it('resumes a run stopped part way from its checkpoint: the same end state as one run, no refund twice', async () => {
    // Two tenants alike: one re-rated in one run, the other stopped twice and resumed.
    await tenantWithCalls('clean', wrongBook(), ukCalls('clean', 7));
    await tenantWithCalls('acme', wrongBook(), ukCalls('acme', 7));
    const book = correctBook();
    const clean = await rerate(book).run({ ...MARCH, tenantId: 'clean', dryRun: false });

    const partial = await rerate(book, undefined, { stopAfter: 3, pageSize: 2 }).run({
      ...MARCH,
      tenantId: 'acme',
      dryRun: false,
    });
    expect(partial.complete).toBe(false);
    expect(await balance('acme')).toBe(1000n - 7n * 200n + 3n * 193n);
    expect(await reratedEvents('acme')).toEqual([]);

    // Killed after a usage was re-rated in the ledger but before its checkpoint was kept.
    const checkpoints = f.ledger.rerates;
    let saves = 0;
    const dying: RerateCheckpointStore = {
      read: (revision, tenant) => checkpoints.read(revision, tenant),
      save: async (revision, tenant, checkpoint) => {
        if (++saves === 2) throw new Error('killed');
        await checkpoints.save(revision, tenant, checkpoint);
      },
    };
    await expect(
      periodRerate(f.ledger, new RatingPricer(book), book, undefined, {
        checkpoints: dying,
        pageSize: 2,
      }).run({ ...MARCH, tenantId: 'acme', dryRun: false }),
    ).rejects.toThrow('killed');
    expect(await balance('acme')).toBe(1000n - 7n * 200n + 5n * 193n);

    const resumed = await rerate(book, undefined, { pageSize: 2 }).run({
      ...MARCH,
      tenantId: 'acme',
      dryRun: false,
    });

    expect(resumed.complete).toBe(true);
    // Examined: only what came after the checkpoint (the usage whose checkpoint was lost, again).
    expect(resumed.tenants[0]).toMatchObject({ calls: 7, before: 1400n, after: 49n, examined: 3 });
    expect(clean.tenants[0]).toMatchObject({ calls: 7, before: 1400n, after: 49n, examined: 7 });
    expect(await balance('acme')).toBe(1000n - 49n);
    expect(await balance('acme')).toBe(await balance('clean'));
    expect(await f.ledger.reads.usageTotals('acme')).toEqual(await f.ledger.reads.usageTotals('clean'));
    const told = (tenant: string) =>
      reratedEvents(tenant).then((list) => list.map((e) => toCloudEvent(e, 'rater').data));
    const withoutTenant = (list: Record<string, unknown>[]) =>
      list.map((data) => ({ ...data, tenantId: '', revision: '' }));
    expect(withoutTenant(await told('acme'))).toEqual(withoutTenant(await told('clean')));
    expect(await told('acme')).toHaveLength(1);
  });

  it('gives back or draws pool minutes of the call own month', async () => {
    // 240 pool seconds; two domestic calls of 150 s billed per minute: the first drew 180,
    // the second the 60 left and paid 120 s. Billed by the second: 150 for the first, which
    // gives 30 back, and the second draws 60 + 30 of its own month's pool and pays 60 s.
    const domestic = (id: string, day: string) =>
      call('acme', id, {
        calleeNumber: '+13125550100',
        licenseCapability: 'MCOPSTN1',
        duration: 150,
        startDateTime: `2026-03-${day}T09:00:00Z`,
      });
    await tenantWithCalls('acme', correctBook(), [domestic('d1', '10'), domestic('d2', '11')], 240);
    const listed = async () =>
      (await f.ledger.reads.listUsage('acme', { ...MARCH, offset: 0, limit: 10 })).map((u) => [
        u.usageId,
        u.outcome.pool,
        u.outcome.poolSeconds,
        u.outcome.charge,
      ]);
    expect(await listed()).toEqual([
      ['d1', 'MCOPSTN1:US', 180, 0n],
      ['d2', 'MCOPSTN1:US', 60, 4n], // 2 minutes at 0.0219
    ]);

    const report: RerateReport = await rerate(perSecondBook()).run({ ...MARCH, dryRun: false });

    expect(report.tenants[0]).toMatchObject({ calls: 2, before: 4n, after: 2n });
    expect(await listed()).toEqual([
      ['d1', 'MCOPSTN1:US', 150, 0n],
      ['d2', 'MCOPSTN1:US', 90, 2n], // 60 s at 0.0219
    ]);
    expect((await f.ledger.reads.readAccount('acme'))!.poolUsed).toEqual({ 'MCOPSTN1:US:2026-03': 240 });
    expect(await balance('acme')).toBe(998n);
  });

  it('keeps the pool draw of a call paid partly from a pool and re-prices only its credit-paid part', async () => {
    // 60 pool seconds; a domestic call of 150 s: 60 s from the pool, 90 s paid (billed 120 s)
    // at the wrong 1.00 a minute, then at 0.0219.
    const domestic = call('acme', 'd1', {
      calleeNumber: '+13125550100',
      licenseCapability: 'MCOPSTN1',
      duration: 150,
    });
    await tenantWithCalls('acme', wrongUsBook(), [domestic], 60);
    expect(await balance('acme')).toBe(800n);

    const report = await rerate(correctBook()).run({ ...MARCH, dryRun: false });

    expect(report.tenants[0]).toMatchObject({ calls: 1, before: 200n, after: 4n });
    const [usage] = await f.ledger.reads.listUsage('acme', { ...MARCH, offset: 0, limit: 10 });
    expect(usage!.outcome).toMatchObject({
      pool: 'MCOPSTN1:US',
      poolSeconds: 60,
      charge: 4n,
      source: 'credits',
    });
    expect((await f.ledger.reads.readAccount('acme'))!.poolUsed).toEqual({ 'MCOPSTN1:US:2026-03': 60 });
    expect(await balance('acme')).toBe(996n);
  });
});
