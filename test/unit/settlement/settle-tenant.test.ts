import type { RatedBatch } from '../../../src/credits/wallet';
import type { UsageRecord } from '../../../src/rating';
import type { PricedUsage, Unrated } from '../../../src/settlement/ports';
import { fingerprint } from '../../../src/settlement/rated-details';
import { isTransient } from '../../../src/settlement/retry';
import {
  PoolContentionError,
  readRateApply,
  Settlement,
  TenantSettlement,
  UsageToSettle,
} from '../../../src/settlement/settle-tenant';
import { TenantMemory } from '../../../src/settlement/tenant-memory';
import { ChangedPricer, FlatPricer } from '../../support/flat-pricer';
import { MemoryLedger } from '../../support/memory-ledger';

const call = (id: string, extra: Partial<UsageRecord> = {}): UsageToSettle => {
  const record: UsageRecord = {
    id,
    tenantId: 'acme',
    callType: 'user_out',
    startDateTime: '2026-11-24T09:00:00Z',
    endDateTime: '2026-11-24T09:02:00Z',
    duration: 90,
    calleeNumber: '+442071234567',
    licenseCapability: 'MCOPSTNPP',
    ...extra,
  };
  return { record, fingerprint: fingerprint(record) };
};
const pooled = (id: string, duration: number) =>
  call(id, { duration, licenseCapability: 'MCOPSTN1', usageCountryCode: 'US' });

/** Counts its calls: the rated record of a usage applied before must not price it again. */
class CountingPricer extends FlatPricer {
  priced = 0;
  override price(record: UsageRecord, currency: string, poolSecondsLeft: number): PricedUsage | Unrated {
    this.priced += 1;
    return super.price(record, currency, poolSecondsLeft);
  }
}

const settlementOf = (ledger: MemoryLedger, pricer = new FlatPricer()) =>
  new TenantSettlement({ ledger, pricer, maxUsagesPerApply: 1000 });

const direct = <T>(step: () => Promise<T>) => step();
const charged = (results: Settlement[]) =>
  results.map((r) =>
    r.kind === 'rated' ? [r.applied.source, r.applied.charge, r.applied.poolSeconds] : r.rejection.code,
  );

describe('settling a tenant batch', () => {
  it('charges a prepaid tenant from credits and accrues a postpaid one, with pools and free calls', async () => {
    const prepaid = new MemoryLedger('acme', 'prepaid', 'USD', { 'MCOPSTN1:US': 120 });
    prepaid.balance = 1000n;
    const results = await settlementOf(prepaid).settle('acme', [
      call('paid'),
      pooled('bundle', 60),
      pooled('partly', 120),
      call('inbound', { callType: 'user_in' }),
    ]);
    // 2 started minutes: 2 x 10 + 5; the pool pays 60 s of the second pooled call, 60 s are paid.
    expect(charged(results)).toEqual([
      ['credits', 25n, 0],
      ['bundle', 0n, 60],
      ['credits', 15n, 60],
      ['free', 0n, 0],
    ]);
    expect(prepaid.balance).toBe(1000n - 40n);
    expect(prepaid.poolUsed).toEqual({ 'MCOPSTN1:US:2026-11': 120 });

    const postpaid = new MemoryLedger('acme', 'postpaid', 'USD');
    expect(charged(await settlementOf(postpaid).settle('acme', [call('p1')]))).toEqual([
      ['postpaid', 25n, 0],
    ]);
    expect(postpaid.balance).toBe(0n);
  });

  it("keeps the usage report's fields of each record with its outcome, the context as the rater derived it", async () => {
    const ledger = new MemoryLedger('acme', 'prepaid', 'USD');
    const withReport = call('r1', {
      callId: 'call-1',
      userPrincipalName: 'ann@contoso.com',
      userDisplayName: 'Ann | Sales',
      callerNumber: '+14255550100',
    });
    const derived = new (class extends FlatPricer {
      override price(record: UsageRecord, currency: string, poolSecondsLeft: number) {
        const price = super.price(record, currency, poolSecondsLeft);
        return price.kind === 'priced' ? { ...price, destinationContext: 'International' as const } : price;
      }
    })();
    const [result] = await settlementOf(ledger, derived).settle('acme', [withReport]);
    expect(result).toMatchObject({ kind: 'rated', duplicate: false });
    expect(ledger.applied.get('r1')!.report).toEqual({
      callId: 'call-1',
      userPrincipalName: 'ann@contoso.com',
      userDisplayName: 'Ann | Sales',
      callerNumber: '+14255550100',
      calleeNumber: '+442071234567',
      callType: 'user_out',
      destinationContext: 'International',
      endDateTime: '2026-11-24T09:02:00Z',
      duration: 90,
      licenseCapability: 'MCOPSTNPP',
    });
  });

  it('marks a usage international by its record, else as the rater derived it, for the burst guard', async () => {
    const ledger = new MemoryLedger('acme', 'prepaid', 'USD');
    ledger.balance = 1000n;
    const sent: Record<string, boolean | undefined> = {};
    ledger.beforeApply = (batch) => {
      for (const u of batch.usages) sent[u.id] = u.international;
    };
    const derived = new (class extends FlatPricer {
      override price(record: UsageRecord, currency: string, poolSecondsLeft: number) {
        const price = super.price(record, currency, poolSecondsLeft);
        const context = record.calleeNumber?.startsWith('+44') ? 'International' : 'Domestic';
        return price.kind === 'priced' ? { ...price, destinationContext: context as 'International' } : price;
      }
    })();
    await settlementOf(ledger, derived).settle('acme', [
      call('derived'),
      call('domestic', { calleeNumber: '+14255550100' }),
      call('given', { calleeNumber: '+14255550100', destinationContext: 'International' }),
      call('givenDomestic', { destinationContext: 'Domestic' }),
    ]);
    expect(sent).toEqual({ derived: true, domestic: false, given: true, givenDomestic: false });
  });

  it('sets aside as too_late a call whose start day is past the retention, charging nothing, and charges the rest', async () => {
    // The ledger's clock is 2026-11-24T10:00Z: with a retention of 2 days after the end of
    // the start day, calls that started before 2026-11-22 are no longer remembered.
    const ledger = new MemoryLedger('acme', 'prepaid', 'USD');
    ledger.retentionMs = 2 * 86_400_000;
    ledger.balance = 1000n;
    const old = call('old', { startDateTime: '2026-11-21T23:59:59Z', endDateTime: '2026-11-22T00:01:29Z' });
    const edge = call('edge', { startDateTime: '2026-11-22T00:00:00Z', endDateTime: '2026-11-22T00:01:30Z' });
    const results = await settlementOf(ledger).settle('acme', [old, edge, call('now')]);
    expect(charged(results)).toEqual(['too_late', ['credits', 25n, 0], ['credits', 25n, 0]]);
    expect(results[0]).toMatchObject({ kind: 'rejected', stage: 'ledger', charged: false });
    expect(ledger.balance).toBe(1000n - 50n);
    expect(ledger.applied.has('old')).toBe(false);
  });

  it('builds the rated record of a redelivered usage from the stored outcome, even after the decks changed', async () => {
    const ledger = new MemoryLedger('acme', 'prepaid', 'USD');
    ledger.balance = 1000n;
    const usages = [call('u1'), call('u2', { duration: 200 })];
    const first = await settlementOf(ledger).settle('acme', usages);
    const changed = new CountingPricer();
    const again = await settlementOf(ledger, changed).settle('acme', usages);
    const redelivered = await settlementOf(ledger, new ChangedPricer()).settle('acme', usages);

    expect(first.map((r) => r.kind === 'rated' && r.duplicate)).toEqual([false, false]);
    for (const repeat of [again, redelivered]) {
      expect(repeat.map((r) => r.kind === 'rated' && r.duplicate)).toEqual([true, true]);
      expect(repeat.map((r) => r.kind === 'rated' && { ...r, duplicate: false })).toEqual(
        first.map((r) => r.kind === 'rated' && { ...r, duplicate: false }),
      );
    }
    expect(first[0]).toMatchObject({
      details: {
        billedSeconds: 120,
        connectionCharge: 5n,
        destinationName: 'Flatland',
        rate: { version: '1' },
      },
      applied: { charge: 25n, source: 'credits' },
    });
    expect(changed.priced).toBe(0);
    expect(ledger.balance).toBe(1000n - 25n - 45n);
  });

  it('does not price an outcome stored without its details again: the money is the stored one', async () => {
    const ledger = new MemoryLedger('acme', 'prepaid', 'USD');
    await settlementOf(ledger).settle('acme', [call('old')]);
    const { details: _, ...stored } = ledger.applied.get('old')!;
    ledger.applied.set('old', stored);
    const pricer = new CountingPricer();
    const [result] = await settlementOf(ledger, pricer).settle('acme', [call('old')]);
    expect(pricer.priced).toBe(0);
    expect(result).toMatchObject({
      kind: 'rated',
      duplicate: true,
      applied: { charge: 25n, source: 'credits' },
      details: { rate: null, billedSeconds: 0, currency: 'USD' },
    });
  });

  it('draws one pool month in order within a batch, and rates again when the pool moved meanwhile', async () => {
    const ledger = new MemoryLedger('acme', 'prepaid', 'USD', { 'MCOPSTN1:US': 600 });
    let moved = false;
    ledger.beforeApply = () => {
      if (moved) return;
      moved = true; // another instance drew 540 s after this one read the pool
      ledger.poolUsed['MCOPSTN1:US:2026-11'] = 540;
    };
    const results = await settlementOf(ledger).settle('acme', [pooled('a', 60), pooled('b', 60)]);
    expect(ledger.calls).toEqual({ read: 2, apply: 2 });
    expect(charged(results)).toEqual([
      ['bundle', 0n, 60],
      ['credits', 15n, 0],
    ]);
  });

  it('gives up on a pool that keeps moving with a transient error', async () => {
    const ledger = new MemoryLedger('acme', 'prepaid', 'USD', { 'MCOPSTN1:US': 600 });
    ledger.beforeApply = () =>
      (ledger.poolUsed['MCOPSTN1:US:2026-11'] = (ledger.poolUsed['MCOPSTN1:US:2026-11'] ?? 0) + 1);
    const settling = settlementOf(ledger).settle('acme', [pooled('a', 60)]);
    await expect(settling).rejects.toThrow(PoolContentionError);
    await expect(settling).rejects.toMatchObject({ retriable: true });
    expect(isTransient(await settling.catch((e: unknown) => e))).toBe(true);
    expect(ledger.calls.apply).toBe(5);
  });

  it("turns refusals and unrated calls into each usage's reason, and charges nothing for them", async () => {
    const ledger = new MemoryLedger('acme', 'prepaid', 'USD');
    expect(
      charged(await settlementOf(ledger).settle('nobody', [call('n1', { tenantId: 'nobody' })])),
    ).toEqual(['unknown_tenant']);
    const results = await settlementOf(ledger).settle('acme', [
      call('x', { calleeNumber: '+99912345' }),
      call('ok'),
    ]);
    expect(results[0]).toEqual({
      kind: 'rejected',
      rejection: { code: 'unrated_destination', message: 'no rate for +99912345' },
      stage: 'rating',
      charged: false,
    });
    expect(charged(results)).toEqual(['unrated_destination', ['credits', 25n, 0]]);
    expect(ledger.applied.has('x')).toBe(false);
  });

  it('refuses, before its debit, a usage whose rated record could not go out', async () => {
    const ledger = new MemoryLedger('acme', 'prepaid', 'USD');
    const results = await settlementOf(ledger).settle(
      'acme',
      [call('big'), call('small')],
      (usage, details, applied) =>
        usage.record.id === 'big' && details.billedSeconds === 120 && applied.charge === 25n
          ? { code: 'too_large', message: 'the rated record would be too large' }
          : undefined,
    );
    expect(charged(results)).toEqual(['too_large', ['credits', 25n, 0]]);
    expect([...ledger.applied.keys()]).toEqual(['small']);
    expect(ledger.balance).toBe(-25n);
  });

  it('keeps the first charge of a usage id sent again with other content, and says so', async () => {
    const ledger = new MemoryLedger('acme', 'prepaid', 'USD');
    await settlementOf(ledger).settle('acme', [call('u1')]);
    const [other] = await settlementOf(ledger).settle('acme', [call('u1', { duration: 900 })]);
    expect(other).toMatchObject({
      kind: 'rejected',
      stage: 'ledger',
      charged: false,
      rejection: { code: 'conflicting_duplicate' },
      conflict: {
        firstCharge: 25n,
        firstCurrency: 'USD',
        firstSource: 'credits',
        fingerprint: fingerprint(call('u1', { duration: 900 }).record),
      },
    });
    expect(ledger.balance).toBe(-25n);
  });

  it('sets aside alone, with internal_error, a usage that makes settling fail (a bug), and charges the rest', async () => {
    const ledger = new MemoryLedger('acme', 'prepaid', 'USD');
    ledger.balance = 100n;
    ledger.beforeApply = (batch: RatedBatch) => {
      if (batch.usages.some((u) => u.id === 'poison'))
        throw new TypeError('cannot read properties of undefined');
    };
    const failures: string[][] = [];
    const attempts: number[] = [];
    const results = await settlementOf(ledger).settleIsolating(
      'acme',
      [call('a'), call('poison'), call('b')],
      (step) => {
        attempts.push(1);
        return step();
      },
      undefined,
      (_error, ids) => failures.push(ids),
    );
    expect(charged(results)).toEqual([['credits', 25n, 0], 'internal_error', ['credits', 25n, 0]]);
    expect(results[1]).toMatchObject({
      stage: 'ledger',
      charged: false,
      rejection: { message: expect.stringContaining('TypeError: cannot read properties of undefined') },
    });
    expect(failures).toEqual([['a', 'poison', 'b'], ['poison']]);
    expect(ledger.balance).toBe(50n);
    // The batch once, then each usage alone, and a read of whether the poison was applied.
    expect(attempts).toHaveLength(5);
  });

  it("passes a transient failure up to the caller's retrier, and dead-letters nothing for it", async () => {
    const ledger = new MemoryLedger('acme', 'prepaid', 'USD');
    const outage = Object.assign(new Error('Connection is closed.'), { retriable: true });
    ledger.beforeApply = () => {
      throw outage;
    };
    await expect(settlementOf(ledger).settleIsolating('acme', [call('a'), call('b')], direct)).rejects.toBe(
      outage,
    );
    expect(ledger.calls.apply).toBe(1);
  });

  it('sets nothing aside when the wait was given up (the consumer stopping, its session lost)', async () => {
    const ledger = new MemoryLedger('acme', 'prepaid', 'USD');
    const sessionLost = Object.assign(new Error('The coordinator is not aware of this member'), {
      type: 'UNKNOWN_MEMBER_ID',
      retriable: false,
    });
    // The caller's retrier gave up on an outage and threw why it stopped waiting.
    const givenUp = <T>(): Promise<T> => Promise.reject(sessionLost);
    const settling = settlementOf(ledger).settleIsolating(
      'acme',
      [call('a'), call('b')],
      givenUp,
      undefined,
      undefined,
      (error) => error !== sessionLost,
    );
    await expect(settling).rejects.toBe(sessionLost);
    expect(ledger.calls).toEqual({ read: 0, apply: 0 });
  });

  it('throws, setting nothing aside, when whether the failed usage was applied cannot be read for an outage', async () => {
    const ledger = new MemoryLedger('acme', 'prepaid', 'USD');
    ledger.beforeApply = () => {
      throw new TypeError('a bug');
    };
    const outage = Object.assign(new Error('Command timed out'), { retriable: true });
    const read = ledger.readUsageState.bind(ledger);
    let reads = 0;
    ledger.readUsageState = async (...args) => {
      reads += 1;
      if (reads > 1) throw outage; // the read back after the failure
      return read(...args);
    };
    await expect(settlementOf(ledger).settleIsolating('acme', [call('a')], direct)).rejects.toBe(outage);
    expect(reads).toBe(2);
  });

  it('reads, rates and applies again on a pool conflict (readRateApply), at most the attempts given', async () => {
    const ledger = new MemoryLedger('acme', 'prepaid', 'USD');
    let rated = 0;
    const result = await readRateApply(ledger, 'acme', [], [], (state) => {
      rated += 1;
      return { currency: state.currency, poolUse: {}, usages: [] };
    });
    expect(result).toEqual({ applied: [], tooLate: [], balance: 0n });
    expect(rated).toBe(1);
  });
});

describe('settling a remembered tenant (one ledger call a batch)', () => {
  const remembering = (ledger: MemoryLedger, pricer = new FlatPricer()) =>
    new TenantSettlement({ ledger, pricer, maxUsagesPerApply: 1000, memory: new TenantMemory(10) });

  it('reads a tenant once, then rates its next batches from memory and applies each in one call', async () => {
    const ledger = new MemoryLedger('acme', 'prepaid', 'USD', { 'MCOPSTN1:US': 120 });
    ledger.balance = 1000n;
    const settlement = remembering(ledger);
    expect(charged(await settlement.settle('acme', [pooled('a', 60)]))).toEqual([['bundle', 0n, 60]]);
    expect(ledger.calls).toEqual({ read: 1, apply: 1 });
    // From memory: 60 s of the pool left, then paid; no read.
    expect(charged(await settlement.settle('acme', [pooled('b', 120), call('c')]))).toEqual([
      ['credits', 15n, 60],
      ['credits', 25n, 0],
    ]);
    expect(ledger.calls).toEqual({ read: 1, apply: 2 });
    expect(ledger.balance).toBe(1000n - 40n);
    expect(ledger.poolUsed).toEqual({ 'MCOPSTN1:US:2026-11': 120 });
  });

  it('reads again and rates afresh when the pool use or its capacity moved since it was remembered', async () => {
    const ledger = new MemoryLedger('acme', 'prepaid', 'USD', { 'MCOPSTN1:US': 180 });
    const settlement = remembering(ledger);
    await settlement.settle('acme', [pooled('a', 60)]);
    ledger.poolUsed['MCOPSTN1:US:2026-11'] = 120; // another writer drew 60 s
    expect(charged(await settlement.settle('acme', [pooled('b', 120)]))).toEqual([['credits', 15n, 60]]);
    expect(ledger.calls).toEqual({ read: 2, apply: 3 });
    ledger.poolCapacity['MCOPSTN1:US'] = 600; // the tenant bought licences
    expect(charged(await settlement.settle('acme', [pooled('c', 120)]))).toEqual([['bundle', 0n, 120]]);
    expect(ledger.calls).toEqual({ read: 3, apply: 5 });
    expect(ledger.poolUsed).toEqual({ 'MCOPSTN1:US:2026-11': 300 });
  });

  it('reads again when a usage of a pooled batch was applied before, so the repeat holds back no pool minutes', async () => {
    const ledger = new MemoryLedger('acme', 'prepaid', 'USD', { 'MCOPSTN1:US': 120 });
    const settlement = remembering(ledger);
    await settlement.settle('acme', [pooled('a', 60)]);
    // The repeat of a (60 s) comes first: rated from memory it would take the 60 s left.
    const results = await settlement.settle('acme', [pooled('a', 60), pooled('b', 60)]);
    expect(charged(results)).toEqual([
      ['bundle', 0n, 60],
      ['bundle', 0n, 60],
    ]);
    expect(results.map((r) => r.kind === 'rated' && r.duplicate)).toEqual([true, false]);
    // Refused with the repeat's record, then rated again without it: no read.
    expect(ledger.calls).toEqual({ read: 1, apply: 3 });
  });

  it('repeats the stored outcome of a usage applied before in a batch without pools, in that one call', async () => {
    const ledger = new MemoryLedger('acme', 'prepaid', 'USD');
    ledger.balance = 100n;
    const settlement = remembering(ledger);
    await settlement.settle('acme', [call('a')]);
    const results = await settlement.settle('acme', [call('a'), call('b')]);
    expect(charged(results)).toEqual([
      ['credits', 25n, 0],
      ['credits', 25n, 0],
    ]);
    expect(results.map((r) => r.kind === 'rated' && r.duplicate)).toEqual([true, false]);
    expect(ledger.balance).toBe(50n);
    expect(ledger.calls).toEqual({ read: 1, apply: 2 });
  });

  it('reads again when the currency or the billing mode changed, and charges in the new ones', async () => {
    const ledger = new MemoryLedger('acme', 'prepaid', 'USD');
    const settlement = remembering(ledger);
    await settlement.settle('acme', [call('a')]);
    ledger.mode = 'postpaid';
    expect(charged(await settlement.settle('acme', [call('b')]))).toEqual([['postpaid', 25n, 0]]);
    expect(ledger.calls).toEqual({ read: 2, apply: 3 });
    ledger.currency = 'EUR';
    const results = await settlement.settle('acme', [call('c')]);
    expect(results[0]!.kind === 'rated' && results[0]!.details.currency).toBe('EUR');
    expect(ledger.calls).toEqual({ read: 3, apply: 5 });
  });
});
