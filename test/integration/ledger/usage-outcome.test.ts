import { LedgerError } from '../../../src/ledger/result-codes';
import type { RatedDetails } from '../../../src/credits/usage-details';
import type { LedgerUsage } from '../../../src/credits/wallet';
import {
  applyPaid,
  keysIn,
  ledgerFixture,
  LedgerFixture,
  paid,
  prepaid,
  startIn,
} from '../../support/ledger';

describe('ledger: what an applied usage keeps for its rated record', () => {
  let f: LedgerFixture;
  beforeEach(async () => {
    f = ledgerFixture();
    await f.ledger.writes.upsertAccount('acme', prepaid());
    await f.ledger.writes.addFunds('acme', {
      paymentRef: 'p1',
      amount: 1000n,
      currency: 'USD',
      purchasedAt: f.clock.now,
    });
  });
  afterEach(() => f.close());

  const rated: RatedDetails = {
    fingerprint: 'Qk3x9aB2cD1e',
    billedSeconds: 180,
    connectionCharge: 5n,
    currency: 'USD',
    destinationName: 'Flat|land 100%',
    rate: { deck: 'flat', version: '1', prefix: '+' },
  };
  const details = { details: rated };

  it('keeps the details given with the outcome, returns them on a repeat and keeps them through a re-rate', async () => {
    const first = await applyPaid(f, 'acme', [{ ...paid('u1', 35n), ...details }]);
    expect(first.applied[0]!.outcome).toMatchObject(details);
    // A repeat with other details changes nothing: the first outcome comes back.
    const again = await applyPaid(f, 'acme', [
      { ...paid('u1', 99n), details: { ...rated, fingerprint: 'other', rate: null } },
    ]);
    expect(again.applied[0]).toMatchObject({ duplicate: true, outcome: { charge: 35n, ...details } });
    const state = await f.ledger.writes.readUsageState('acme', keysIn('2026-11', 'u1'), []);
    expect('applied' in state && state.applied.get('u1')).toMatchObject(details);

    await f.ledger.writes.rerate('acme', {
      usageId: 'u1',
      start: startIn('2026-11'),
      revision: 'r1',
      currency: 'USD',
      source: 'credits',
      charge: 20n,
      poolSeconds: 0,
      poolUse: {},
    });
    const [listed] = await f.ledger.reads.listUsage('acme', {
      from: new Date(0),
      to: new Date('2100-01-01T00:00:00Z'),
      offset: 0,
      limit: 10,
    });
    expect(listed!.outcome).toMatchObject({ charge: 20n, revision: 'r1', ...details });
    // Stored without: none, also when read back.
    const bare = await applyPaid(f, 'acme', [paid('u2', 10n)]);
    expect(bare.applied[0]!.outcome.details).toBeUndefined();
    const stored = await f.ledger.writes.readUsageState('acme', keysIn('2026-11', 'u2'), []);
    expect('applied' in stored && stored.applied.get('u2')!.details).toBeUndefined();
  });

  it('refuses shared details longer than 256 bytes packed, before any write', async () => {
    const refused = async (usage: Partial<LedgerUsage>) => {
      await expect(applyPaid(f, 'acme', [paid('ok', 10n), { ...paid('u3', 10n), ...usage }])).rejects.toThrow(
        LedgerError,
      );
      expect((await f.ledger.reads.readAccount('acme'))!.balance).toBe(1000n);
    };
    // `USD|flat|1|+|` and the name: 13 bytes and the name's.
    await refused({ details: { ...rated, destinationName: 'x'.repeat(244) } });
    await applyPaid(f, 'acme', [
      { ...paid('u4', 10n), details: { ...rated, destinationName: 'x'.repeat(243) } },
    ]);
    expect((await f.ledger.reads.readAccount('acme'))!.balance).toBe(990n);
  });
});

describe('ledger: a day that outgrows its buckets', () => {
  it('starts larger generations, and finds every record again, once', async () => {
    const f = ledgerFixture();
    try {
      await f.ledger.writes.upsertAccount('acme', prepaid());
      await f.ledger.writes.addFunds('acme', { paymentRef: 'p1', amount: 100_000n, currency: 'USD' });
      const ids = Array.from({ length: 300 }, (_, i) => `u${i}`);
      for (let i = 0; i < ids.length; i += 100)
        await applyPaid(
          f,
          'acme',
          ids.slice(i, i + 100).map((id) => paid(id, 1n)),
        );
      const meta = await f.redis.hgetall(`${f.ledger.keys('acme').applied}:meta`);
      // 300 records: 48 in the first generation's one bucket, then 4 buckets, then 16.
      expect(Object.values(meta)).toEqual(['300,1,4,16']);
      const again = await applyPaid(f, 'acme', ids.map((id) => paid(id, 1n)).slice(0, 1000));
      expect(again.applied.every((a) => a.duplicate)).toBe(true);
      expect(again.balance).toBe(100_000n - 300n);
      const listed = await f.ledger.reads.listUsage('acme', {
        from: new Date('2026-11-01T00:00:00Z'),
        to: new Date('2026-11-02T00:00:00Z'),
        offset: 0,
        limit: 1000,
      });
      expect(listed.map((r) => r.usageId).sort()).toEqual([...ids].sort());
    } finally {
      f.close();
    }
  });
});
