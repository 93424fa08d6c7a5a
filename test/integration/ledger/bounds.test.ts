import { MAX_TOTAL_MINOR } from '../../../src/credits/wallet';
import {
  applyPaid,
  eventTypes,
  ledgerFixture,
  LedgerFixture,
  paid,
  prepaid,
  startIn,
} from '../../support/ledger';

const MAX = MAX_TOTAL_MINOR;
const LIMIT = { refused: 'balance_limit', detail: 'the balance would pass 1000000000000000 minor units' };

/**
 * No total passes MAX_TOTAL_MINOR (10^15 minor units), so every sum a script makes stays an
 * exact integer in Lua's doubles (2^53 is about 9.007 * 10^15): at the bound exactly a change
 * is made, one minor unit past it is refused and changes nothing.
 */
describe('ledger: totals stay within the exact range', () => {
  let f: LedgerFixture;
  beforeEach(() => {
    f = ledgerFixture();
  });
  afterEach(() => f.close());

  const fund = (tenant: string, ref: string, amount: bigint, currency = 'USD') =>
    f.ledger.writes.addFunds(tenant, { paymentRef: ref, amount, currency, purchasedAt: f.clock.now });
  /** Every key of the tenant but the outbox, as stored. */
  const snapshot = async (tenant: string) => {
    const k = f.ledger.keys(tenant);
    return Promise.all([
      f.redis.hgetall(k.account),
      f.redis.hgetall(k.lots),
      f.redis.zrange(k.lotExpiry, 0, -1, 'WITHSCORES'),
      f.redis.hgetall(k.payments),
      f.redis.hgetall(k.applied),
      f.redis.hgetall(k.totals),
      f.redis.xlen(k.outbox),
    ]);
  };

  it('refuses a purchase that would pass the bound before the card is charged, and one that no longer fits when it is recorded', async () => {
    await f.ledger.writes.upsertAccount('buyer', prepaid({ paymentMethodRef: 'cus_1/pm_card_visa' }));
    expect(await fund('buyer', 'p0', MAX - 100n)).toMatchObject({ balance: MAX - 100n });
    const before = await snapshot('buyer');
    // 101 does not fit: refused before anything is recorded (nothing pending, nothing to charge).
    expect(
      await f.ledger.writes.beginPurchase('buyer', { purchaseId: 'big', amount: 101n, currency: 'USD' }),
    ).toEqual(LIMIT);
    expect(await snapshot('buyer')).toEqual(before);
    // 100 fits at the start; other funds arrive while the card is charged; recording refuses
    // and the purchase stays pending, the balance exactly at the bound.
    const begun = await f.ledger.writes.beginPurchase('buyer', {
      purchaseId: 'fits',
      amount: 100n,
      currency: 'USD',
    });
    expect(begun).toMatchObject({ settled: false, purchase: { status: 'pending', amount: 100n } });
    expect(await fund('buyer', 'p1', 100n)).toMatchObject({ balance: MAX });
    expect(
      await f.ledger.writes.recordPurchase('buyer', {
        purchaseId: 'fits',
        status: 'succeeded',
        gatewayRef: 'pi_1',
      }),
    ).toEqual(LIMIT);
    expect((await f.ledger.reads.readAccount('buyer'))!.balance).toBe(MAX);
    expect(
      await f.ledger.writes.beginPurchase('buyer', { purchaseId: 'fits', amount: 100n, currency: 'USD' }),
    ).toMatchObject({
      settled: false,
    });
  });

  it('adds funds up to the bound exactly, to the minor unit, and refuses one more', async () => {
    await f.ledger.writes.upsertAccount('gulf', prepaid({ currency: 'BHD' }));
    // Odd amounts of fils: the sum is exact to the last one.
    for (const [ref, amount] of [
      ['p1', 333_333_333_333_333n],
      ['p2', 333_333_333_333_333n],
      ['p3', 333_333_333_333_333n],
    ] as const)
      expect(await fund('gulf', ref, amount, 'BHD')).toMatchObject({ duplicate: false });
    expect(await fund('gulf', 'p4', 1n, 'BHD')).toMatchObject({ balance: MAX });
    const before = await snapshot('gulf');
    expect(await fund('gulf', 'p5', 1n, 'BHD')).toEqual(LIMIT);
    expect(await snapshot('gulf')).toEqual(before);

    const account = (await f.ledger.reads.readAccount('gulf'))!;
    expect(account.balance).toBe(MAX);
    expect(account.lots.reduce((sum, lot) => sum + lot.remaining, 0n)).toBe(MAX);

    // The refused payment reference was not recorded: once there is room, it is a purchase.
    await applyPaid(f, 'gulf', [paid('u1', 10n)], 'BHD');
    expect(await fund('gulf', 'p5', 1n, 'BHD')).toMatchObject({ duplicate: false, balance: MAX - 9n });
  });

  it('refuses a single lot larger than the bound, even on an empty account', async () => {
    await f.ledger.writes.upsertAccount('acme', prepaid());
    expect(await fund('acme', 'huge', MAX + 1n)).toEqual(LIMIT);
    expect(await fund('acme', 'max', MAX)).toMatchObject({ balance: MAX });
  });

  it('records usage into debt up to the bound exactly, and refuses the batch that would pass it', async () => {
    await f.ledger.writes.upsertAccount('acme', prepaid());
    await applyPaid(f, 'acme', [paid('u1', MAX - 1n, '2026-10'), paid('u2', 1n, '2026-11')]);
    let account = (await f.ledger.reads.readAccount('acme'))!;
    expect([account.balance, account.debt]).toEqual([-MAX, MAX]);

    const before = await snapshot('acme');
    // Another period's totals have room: it is the debt that would pass the bound.
    expect(
      await f.ledger.writes.applyUsage('acme', {
        currency: 'USD',
        poolUse: {},
        usages: [paid('u3', 0n, '2026-12'), paid('u4', 1n, '2026-12')],
      }),
    ).toEqual({
      refused: 'balance_limit',
      detail: 'usage u4: a total would pass 1000000000000000 minor units',
    });
    expect(await snapshot('acme')).toEqual(before);

    // A purchase pays the debt first; then there is room again.
    await fund('acme', 'p1', 5n);
    await applyPaid(f, 'acme', [paid('u4', 5n, '2026-12')]);
    account = (await f.ledger.reads.readAccount('acme'))!;
    expect([account.balance, account.debt]).toEqual([-MAX, MAX]);
  });

  it("bounds a period's usage charges and a postpaid period's amount owed", async () => {
    await f.ledger.writes.upsertAccount('acme', prepaid());
    await fund('acme', 'p1', MAX);
    await applyPaid(f, 'acme', [paid('u1', MAX, '2026-11')]);
    await fund('acme', 'p2', 100n);
    // The debt is nil and the balance has room: the November credits total is at the bound.
    expect(
      await f.ledger.writes.applyUsage('acme', {
        currency: 'USD',
        poolUse: {},
        usages: [paid('u2', 1n, '2026-11')],
      }),
    ).toEqual({
      refused: 'balance_limit',
      detail: 'usage u2: a total would pass 1000000000000000 minor units',
    });
    await applyPaid(f, 'acme', [paid('u2', 1n, '2026-12')]);
    expect(await f.ledger.reads.usageTotals('acme')).toEqual({
      '2026-11': { credits: { count: 1, charge: MAX, poolSeconds: 0 } },
      '2026-12': { credits: { count: 1, charge: 1n, poolSeconds: 0 } },
    });

    await f.ledger.writes.upsertAccount('post', prepaid({ mode: 'postpaid' }));
    const owed = (id: string, charge: bigint, period: string) => ({
      ...paid(id, charge, period),
      source: 'postpaid' as const,
    });
    await applyPaid(f, 'post', [owed('o1', MAX - 1n, '2026-11'), owed('o2', 1n, '2026-11')]);
    const before = await snapshot('post');
    expect(
      await f.ledger.writes.applyUsage('post', {
        currency: 'USD',
        poolUse: {},
        usages: [owed('o3', 1n, '2026-11')],
      }),
    ).toMatchObject({ refused: 'balance_limit', detail: expect.stringContaining('usage o3') });
    expect(await snapshot('post')).toEqual(before);
    await applyPaid(f, 'post', [owed('o3', 1n, '2026-12')]);
    expect((await f.ledger.reads.readAccount('post'))!.owed).toEqual({ '2026-11': MAX, '2026-12': 1n });
  });

  it('asks for no recharge that could not be credited, and refuses a recharge result past the bound', async () => {
    await f.ledger.writes.upsertAccount(
      'acme',
      prepaid({
        autoRecharge: { enabled: true, trigger: MAX, amount: 100n, monthlyCap: 0, maxConsecutiveFailures: 3 },
      }),
    );
    const requests = async () =>
      (await eventTypes(f, 'acme')).filter(([type]) => type === 'credits.recharge.requested');
    // Below the trigger, but 100 more would pass the bound: no request.
    await fund('acme', 'p1', MAX - 99n);
    expect(await requests()).toEqual([]);
    // 100 more fit exactly: a request.
    await applyPaid(f, 'acme', [paid('u1', 1n)]);
    expect(await requests()).toEqual([
      ['credits.recharge.requested', 'acme/credits.recharge.requested/acme:recharge:1'],
    ]);
    await fund('acme', 'p2', 1n); // a purchase while the recharge is on its way: 100 no longer fit
    const before = await snapshot('acme');
    const success = {
      requestId: 'acme:recharge:1',
      status: 'succeeded' as const,
      amount: 100n,
      currency: 'USD',
      gatewayRef: 'ch_1',
    };
    expect(await f.ledger.writes.recordRechargeResult('acme', success)).toEqual(LIMIT);
    expect(await snapshot('acme')).toEqual(before);
    await applyPaid(f, 'acme', [paid('u2', 1n)]);
    expect(await f.ledger.writes.recordRechargeResult('acme', success)).toMatchObject({ balance: MAX });
  });

  it('refuses a re-rate whose refund would take the balance past the bound', async () => {
    const rerate = (tenant: string) =>
      f.ledger.writes.rerate(tenant, {
        usageId: 'u1',
        start: startIn('2026-11'),
        revision: 'r1',
        currency: 'USD',
        source: 'credits',
        charge: 0n,
        poolSeconds: 0,
        poolUse: {},
      });
    for (const tenant of ['fits', 'over']) {
      await f.ledger.writes.upsertAccount(tenant, prepaid());
      await fund(tenant, 'p1', 1000n);
      await applyPaid(f, tenant, [paid('u1', 1000n)]);
    }
    await fund('fits', 'p2', MAX - 1000n);
    await fund('over', 'p2', MAX - 999n);
    expect(await rerate('fits')).toMatchObject({ balance: MAX });
    const before = await snapshot('over');
    expect(await rerate('over')).toEqual({
      refused: 'balance_limit',
      detail: 'a total would pass 1000000000000000 minor units',
    });
    expect(await snapshot('over')).toEqual(before);
  });
});
