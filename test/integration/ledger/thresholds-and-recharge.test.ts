import { AccountSettings } from '../../../src/credits/wallet';
import { tenantKeys } from '../../../src/ledger/keys';
import { applyPaid, eventTypes, ledgerFixture, LedgerFixture, paid, prepaid } from '../../support/ledger';

const withAutoRecharge = (overrides: Partial<AccountSettings['autoRecharge']> = {}) =>
  prepaid({
    lowBalanceThreshold: 500n,
    autoRecharge: {
      enabled: true,
      trigger: 300n,
      amount: 2000n,
      monthlyCap: 5,
      maxConsecutiveFailures: 3,
      ...overrides,
    },
  });

describe('ledger: thresholds, blocking and auto-recharge', () => {
  let f: LedgerFixture;
  beforeEach(() => {
    f = ledgerFixture();
  });
  afterEach(() => f.close());

  const fund = (tenant: string, ref: string, amount: bigint) =>
    f.ledger.writes.addFunds(tenant, { paymentRef: ref, amount, currency: 'USD', purchasedAt: f.clock.now });

  it('emits low balance once per crossing, blocks at zero and restores when funds arrive', async () => {
    await f.ledger.writes.upsertAccount('acme', prepaid({ lowBalanceThreshold: 500n }));
    await fund('acme', 'p1', 1000n);

    await applyPaid(f, 'acme', [paid('u1', 400n)]); // 600: above the threshold
    await applyPaid(f, 'acme', [paid('u2', 200n)]); // 400: crosses below 500
    await applyPaid(f, 'acme', [paid('u3', 100n)]); // 300: still below, no second notice
    await applyPaid(f, 'acme', [paid('u4', 350n)]); // -50: depleted and blocked
    await applyPaid(f, 'acme', [paid('u5', 10n)]); // -60: already blocked
    expect((await f.ledger.reads.readAccount('acme'))!.blocked).toBe(true);
    await fund('acme', 'p2', 1000n); // 940: restored and back above the threshold
    await applyPaid(f, 'acme', [paid('u6', 500n)]); // 440: a new crossing below 500

    expect(await eventTypes(f, 'acme')).toEqual([
      ['credits.adjustment.added', 'acme/credits.adjustment.added/m:p1'],
      ['credits.funds.added', 'acme/credits.funds.added/m:p1'],
      ['credits.balance.low', 'acme/credits.balance.low/usage:u2'],
      ['credits.balance.depleted', 'acme/credits.balance.depleted/usage:u4'],
      ['credits.service.blocked', 'acme/credits.service.blocked/usage:u4'],
      ['credits.adjustment.added', 'acme/credits.adjustment.added/m:p2'],
      ['credits.funds.added', 'acme/credits.funds.added/m:p2'],
      ['credits.service.restored', 'acme/credits.service.restored/funds:m:p2'],
      ['credits.balance.low', 'acme/credits.balance.low/usage:u6'],
    ]);
    const low = (await f.ledger.outbox.readOutbox('acme')).find((e) => e.type === 'credits.balance.low')!;
    expect(low.data).toEqual({
      balance: { amountMinor: '400', currency: 'USD' },
      threshold: { amountMinor: '500', currency: 'USD' },
    });
    expect((await f.ledger.reads.readAccount('acme'))!.blocked).toBe(false);
  });

  it('blocks at exactly zero', async () => {
    await f.ledger.writes.upsertAccount('acme', prepaid());
    await fund('acme', 'p1', 100n);
    await applyPaid(f, 'acme', [paid('u1', 100n)]);
    expect((await f.ledger.reads.readAccount('acme'))!.blocked).toBe(true);
    expect(await f.ledger.writes.authorizationSnapshot('acme', '')).toMatchObject({
      balance: 0n,
      blocked: true,
    });
  });

  it('keeps when the balance fell to zero while blocked, and forgets it when restored', async () => {
    await f.ledger.writes.upsertAccount('acme', prepaid());
    await fund('acme', 'p1', 100n);
    await applyPaid(f, 'acme', [paid('u1', 60n)]); // 40: not blocked
    expect((await f.ledger.reads.readAccount('acme'))!.blockedSince).toBeUndefined();
    f.clock.advance(60_000);
    const crossed = f.clock.now;
    await applyPaid(f, 'acme', [paid('u2', 70n)]); // -30: blocked now
    f.clock.advance(3_600_000);
    await applyPaid(f, 'acme', [paid('u3', 10n)]); // -40: still blocked since the crossing
    expect(await f.ledger.reads.readAccount('acme')).toMatchObject({
      balance: -40n,
      blocked: true,
      blockedSince: crossed,
    });
    await fund('acme', 'p2', 100n); // 60: restored
    expect((await f.ledger.reads.readAccount('acme'))!.blockedSince).toBeUndefined();
    expect(await f.redis.hget(tenantKeys('acme', f.prefix).account, 'blockedSince')).toBe('');
    f.clock.advance(60_000);
    const again = f.clock.now;
    await applyPaid(f, 'acme', [paid('u4', 60n)]); // exactly zero: blocked again, from now
    expect((await f.ledger.reads.readAccount('acme'))!.blockedSince).toEqual(again);
  });

  it('forgets when the balance fell to zero once a switch to postpaid lifts the block', async () => {
    await f.ledger.writes.upsertAccount('acme', prepaid());
    await fund('acme', 'p1', 100n);
    await applyPaid(f, 'acme', [paid('u1', 100n)]); // exactly zero: blocked
    expect((await f.ledger.reads.readAccount('acme'))!.blockedSince).toEqual(f.clock.now);
    expect(await f.ledger.writes.updateSettings('acme', { mode: 'postpaid' })).toMatchObject({
      status: 'updated',
    });
    expect(await f.ledger.reads.readAccount('acme')).toMatchObject({ blocked: false });
    expect(await f.redis.hget(tenantKeys('acme', f.prefix).account, 'blockedSince')).toBe('');
  });

  it('requests one recharge below the trigger, and no second one while it is pending', async () => {
    await f.ledger.writes.upsertAccount('acme', withAutoRecharge());
    await fund('acme', 'p1', 1000n);

    await applyPaid(f, 'acme', [paid('u1', 750n)]); // 250 < 300
    await applyPaid(f, 'acme', [paid('u2', 100n), paid('u3', 100n)]); // 50, still pending

    const requests = (await f.ledger.outbox.readOutbox('acme')).filter(
      (e) => e.type === 'credits.recharge.requested',
    );
    expect(requests.map((e) => [e.id, e.data])).toEqual([
      [
        'acme/credits.recharge.requested/acme:recharge:1',
        {
          requestId: 'acme:recharge:1',
          amount: { amountMinor: '2000', currency: 'USD' },
          trigger: { amountMinor: '300', currency: 'USD' },
          balance: { amountMinor: '250', currency: 'USD' },
          paymentMethodRef: 'pm_card_visa',
        },
      ],
    ]);
    expect((await f.ledger.reads.readAccount('acme'))!.autoRecharge.pendingRequestId).toBe('acme:recharge:1');
  });

  it('adds a lot on a successful recharge, once per request id', async () => {
    await f.ledger.writes.upsertAccount('acme', withAutoRecharge());
    await fund('acme', 'p1', 400n);
    await applyPaid(f, 'acme', [paid('u1', 450n)]); // -50: depleted, blocked, recharge requested

    const success = {
      requestId: 'acme:recharge:1',
      status: 'succeeded' as const,
      amount: 2000n,
      currency: 'USD',
      gatewayRef: 'ch_1',
    };
    const first = await f.ledger.writes.recordRechargeResult('acme', success);
    const again = await f.ledger.writes.recordRechargeResult('acme', success);

    expect(first).toEqual({
      duplicate: false,
      status: 'succeeded',
      lotId: 'r:acme:recharge:1',
      balance: 1950n,
      failures: 0,
      autoRechargeDisabled: false,
    });
    expect(again).toEqual({ ...first, duplicate: true });
    const account = (await f.ledger.reads.readAccount('acme'))!;
    expect(account.balance).toBe(1950n);
    expect(account.blocked).toBe(false);
    expect(account.autoRecharge.pendingRequestId).toBe('');
    expect(await eventTypes(f, 'acme')).toEqual([
      ['credits.adjustment.added', 'acme/credits.adjustment.added/m:p1'],
      ['credits.funds.added', 'acme/credits.funds.added/m:p1'],
      // 400 is already below the 500 threshold when it arrives.
      ['credits.balance.low', 'acme/credits.balance.low/funds:m:p1'],
      ['credits.balance.depleted', 'acme/credits.balance.depleted/usage:u1'],
      ['credits.service.blocked', 'acme/credits.service.blocked/usage:u1'],
      ['credits.recharge.requested', 'acme/credits.recharge.requested/acme:recharge:1'],
      ['credits.recharge.succeeded', 'acme/credits.recharge.succeeded/acme:recharge:1'],
      ['credits.funds.added', 'acme/credits.funds.added/r:acme:recharge:1'],
      ['credits.service.restored', 'acme/credits.service.restored/recharge:acme:recharge:1'],
    ]);
  });

  it('counts consecutive failures, asks again on the next usage, and turns auto-recharge off after the maximum', async () => {
    await f.ledger.writes.upsertAccount('acme', withAutoRecharge({ maxConsecutiveFailures: 2 }));
    await fund('acme', 'p1', 1000n);
    const fail = (requestId: string) =>
      f.ledger.writes.recordRechargeResult('acme', { requestId, status: 'failed', reason: 'card_expired' });

    await applyPaid(f, 'acme', [paid('u1', 800n)]);
    expect(await fail('acme:recharge:1')).toMatchObject({ failures: 1, autoRechargeDisabled: false });
    await applyPaid(f, 'acme', [paid('u2', 10n)]);
    expect(await fail('acme:recharge:2')).toMatchObject({ failures: 2, autoRechargeDisabled: true });
    await applyPaid(f, 'acme', [paid('u3', 10n)]);

    const account = (await f.ledger.reads.readAccount('acme'))!;
    expect(account.settings.autoRecharge.enabled).toBe(false);
    expect(account.autoRecharge).toMatchObject({ pendingRequestId: '', consecutiveFailures: 2 });
    const failures = (await f.ledger.outbox.readOutbox('acme')).filter(
      (e) => e.type === 'credits.recharge.failed',
    );
    expect(failures.map((e) => e.data)).toEqual([
      expect.objectContaining({
        requestId: 'acme:recharge:1',
        reason: 'card_expired',
        consecutiveFailures: '1',
        autoRechargeDisabled: false,
      }),
      expect.objectContaining({
        requestId: 'acme:recharge:2',
        reason: 'card_expired',
        consecutiveFailures: '2',
        autoRechargeDisabled: true,
      }),
    ]);
    expect(
      (await eventTypes(f, 'acme')).filter(([type]) => type === 'credits.recharge.requested'),
    ).toHaveLength(2);
  });

  it('refuses a result for a request that is not pending', async () => {
    await f.ledger.writes.upsertAccount('acme', withAutoRecharge());
    expect(
      await f.ledger.writes.recordRechargeResult('acme', {
        requestId: 'acme:recharge:9',
        status: 'failed',
        reason: 'x',
      }),
    ).toEqual({ refused: 'unknown_recharge', detail: '' });
  });

  it('requests at most the monthly cap of recharges in a calendar month', async () => {
    await f.ledger.writes.upsertAccount('acme', withAutoRecharge({ monthlyCap: 2, amount: 100n }));
    await fund('acme', 'p1', 400n);
    const succeed = (n: number) =>
      f.ledger.writes.recordRechargeResult('acme', {
        requestId: `acme:recharge:${n}`,
        status: 'succeeded',
        amount: 100n,
        currency: 'USD',
        gatewayRef: `ch_${n}`,
      });

    await applyPaid(f, 'acme', [paid('u1', 200n)]); // 200 < 300: request 1
    await succeed(1); // 300
    await applyPaid(f, 'acme', [paid('u2', 50n)]); // 250: request 2
    await succeed(2); // 350
    await applyPaid(f, 'acme', [paid('u3', 100n)]); // 250: cap reached, no request
    f.clock.set('2026-12-01T00:00:00.000Z');
    await applyPaid(f, 'acme', [paid('u4', 10n, '2026-12')]); // a new month: request 3

    const requests = (await f.ledger.outbox.readOutbox('acme')).filter(
      (e) => e.type === 'credits.recharge.requested',
    );
    expect(requests.map((e) => e.data.requestId)).toEqual([
      'acme:recharge:1',
      'acme:recharge:2',
      'acme:recharge:3',
    ]);
  });
});
