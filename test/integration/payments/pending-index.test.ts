import { indexKeys } from '../../../src/ledger/keys';
import { applyPaid, ledgerFixture, LedgerFixture, paid, prepaid } from '../../support/ledger';

/** The index of pending payments, kept by the scripts that begin and settle them. */
describe('the index of pending payments', () => {
  let f: LedgerFixture;

  beforeAll(() => {
    f = ledgerFixture();
  });
  afterAll(() => f.close());

  const pending = () => f.ledger.indexes.pendingPayments(new Date(f.clock.now.getTime() + 1), 10);

  it('holds an auto-recharge request from the script that made it until one settles it, and the next one after', async () => {
    await f.ledger.writes.upsertAccount(
      'ix',
      prepaid({
        paymentMethodRef: 'cus_ix/pm_card_visa',
        autoRecharge: {
          enabled: true,
          trigger: 500n,
          amount: 2000n,
          monthlyCap: 10,
          maxConsecutiveFailures: 3,
        },
      }),
    );
    await f.ledger.writes.addFunds('ix', { paymentRef: 'p1', amount: 1000n, currency: 'USD' });
    expect(await pending()).toEqual([]);
    const requestedAt = f.clock.now;
    await applyPaid(f, 'ix', [paid('u1', 600n)]);
    expect(await pending()).toEqual([
      { kind: 'recharge', tenantId: 'ix', id: 'ix:recharge:1', since: requestedAt },
    ]);
    expect(await f.ledger.payments.readPayment('ix', 'recharge', 'ix:recharge:1')).toMatchObject({
      status: 'pending',
      amount: 2000n,
      currency: 'USD',
      paymentMethodRef: 'cus_ix/pm_card_visa',
      startedAt: requestedAt,
    });
    // The settings change meanwhile: the pending request keeps what it charges.
    await f.ledger.writes.updateSettings('ix', { paymentMethodRef: 'cus_ix/pm_card_mastercard' });
    expect(await f.ledger.payments.readPayment('ix', 'recharge', 'ix:recharge:1')).toMatchObject({
      paymentMethodRef: 'cus_ix/pm_card_visa',
    });

    f.clock.advance(1000);
    expect(
      await f.ledger.writes.recordRechargeResult('ix', {
        requestId: 'ix:recharge:1',
        status: 'failed',
        reason: 'x',
      }),
    ).toMatchObject({ status: 'failed' });
    expect(await pending()).toEqual([]);
    const nextAt = f.clock.now;
    await applyPaid(f, 'ix', [paid('u2', 10n)]);
    expect(await pending()).toEqual([
      { kind: 'recharge', tenantId: 'ix', id: 'ix:recharge:2', since: nextAt },
    ]);

    // Rebuilt by `rater ledger reindex` when the entry is missing (an upgrade, a move).
    const ix = indexKeys(f.ledger.writes.shards.tag(f.ledger.writes.shards.shardOf('ix')), f.prefix);
    await f.redis.del(ix.pendingPayments);
    await f.redis.hset(f.ledger.keys('ix').account, 'ixPendingRecharge', '');
    expect(await pending()).toEqual([]);
    await f.ledger.writes.reindex('ix');
    expect(await pending()).toEqual([
      { kind: 'recharge', tenantId: 'ix', id: 'ix:recharge:2', since: nextAt },
    ]);

    await f.ledger.writes.recordRechargeResult('ix', {
      requestId: 'ix:recharge:2',
      status: 'succeeded',
      amount: 2000n,
      currency: 'USD',
      gatewayRef: 'pi_2',
    });
    expect(await pending()).toEqual([]);
    expect(await f.ledger.indexes.pendingSummary()).toEqual({ count: 0 });
  });
});
