import { LedgerError } from '../../../src/ledger/result-codes';
import { applyPaid, ledgerFixture, LedgerFixture, paid, prepaid } from '../../support/ledger';

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

  const details = 'Qk3x9aB2cD1e|180|5|USD|flat|1|+|Flatland';

  it('keeps the string given with the outcome, returns it on a repeat and keeps it through a re-rate', async () => {
    const first = await applyPaid(f, 'acme', [{ ...paid('u1', 35n), rated: details }]);
    expect(first.applied[0]!.outcome.rated).toBe(details);
    // A repeat with other details changes nothing: the first outcome comes back.
    const again = await applyPaid(f, 'acme', [{ ...paid('u1', 99n), rated: 'other' }]);
    expect(again.applied[0]).toMatchObject({ duplicate: true, outcome: { charge: 35n, rated: details } });
    const state = await f.ledger.writes.readUsageState('acme', ['u1'], []);
    expect('applied' in state && state.applied.get('u1')!.rated).toBe(details);

    await f.ledger.writes.rerate('acme', {
      usageId: 'u1',
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
    expect(listed!.outcome).toMatchObject({ charge: 20n, revision: 'r1', rated: details });
    // Stored without: ''.
    const bare = await applyPaid(f, 'acme', [paid('u2', 10n)]);
    expect(bare.applied[0]!.outcome.rated).toBe('');
  });

  it('refuses details longer than 256 bytes, before any write', async () => {
    await expect(
      applyPaid(f, 'acme', [paid('ok', 10n), { ...paid('u3', 10n), rated: 'x'.repeat(257) }]),
    ).rejects.toThrow(LedgerError);
    expect((await f.ledger.reads.readAccount('acme'))!.balance).toBe(1000n);
    await applyPaid(f, 'acme', [{ ...paid('u4', 10n), rated: 'x'.repeat(256) }]);
    expect((await f.ledger.reads.readAccount('acme'))!.balance).toBe(990n);
  });
});
