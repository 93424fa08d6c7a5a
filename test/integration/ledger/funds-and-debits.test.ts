import Redis from 'ioredis';
import { openLedger } from '../../../src/ledger/open-ledger';
import { applyPaid, eventTypes, ledgerFixture, LedgerFixture, paid, prepaid } from '../../support/ledger';
import { testStack } from '../../support/stack';

describe('ledger: funds, lots and debits', () => {
  let f: LedgerFixture;
  beforeEach(() => {
    f = ledgerFixture();
  });
  afterEach(() => f.close());

  it('creates an account once and updates its settings without touching its money', async () => {
    expect(await f.ledger.writes.upsertAccount('acme', prepaid())).toBe('created');
    await f.ledger.writes.addFunds('acme', {
      paymentRef: 'p1',
      amount: 5000n,
      currency: 'USD',
      purchasedAt: f.clock.now,
    });
    expect(await f.ledger.writes.upsertAccount('acme', prepaid({ lowBalanceThreshold: 1000n }))).toBe(
      'updated',
    );

    const account = await f.ledger.reads.readAccount('acme');
    expect(account?.balance).toBe(5000n);
    expect(account?.settings.lowBalanceThreshold).toBe(1000n);
    expect(account?.settings.adminContacts).toEqual(['admin@acme.example']);
  });

  it('refuses to change currency or billing mode while money is held', async () => {
    await f.ledger.writes.upsertAccount('acme', prepaid());
    expect(await f.ledger.writes.upsertAccount('acme', prepaid({ currency: 'EUR' }))).toBe('updated');
    await f.ledger.writes.addFunds('acme', {
      paymentRef: 'p1',
      amount: 100n,
      currency: 'EUR',
      purchasedAt: f.clock.now,
    });

    expect(await f.ledger.writes.upsertAccount('acme', prepaid({ currency: 'USD' }))).toEqual({
      refused: 'account_locked',
      detail: 'currency and billing mode cannot change while money is held or owed',
    });
    expect(
      await f.ledger.writes.upsertAccount('acme', prepaid({ currency: 'EUR', mode: 'postpaid' })),
    ).toMatchObject({
      refused: 'account_locked',
    });
  });

  it('adds funds once per payment reference, as a lot expiring 12 months after purchase', async () => {
    await f.ledger.writes.upsertAccount('acme', prepaid());
    const purchasedAt = new Date('2026-10-15T12:00:00.000Z');
    const first = await f.ledger.writes.addFunds('acme', {
      paymentRef: 'inv-7',
      amount: 2500n,
      currency: 'USD',
      purchasedAt,
    });
    const again = await f.ledger.writes.addFunds('acme', {
      paymentRef: 'inv-7',
      amount: 2500n,
      currency: 'USD',
      purchasedAt,
    });

    expect(first).toEqual({ duplicate: false, lotId: 'm:inv-7', balance: 2500n, paidDebt: 0n });
    expect(again).toEqual({ duplicate: true, lotId: 'm:inv-7', balance: 2500n, paidDebt: 0n });
    const account = await f.ledger.reads.readAccount('acme');
    expect(account?.balance).toBe(2500n);
    expect(account?.lots).toEqual([
      {
        lotId: 'm:inv-7',
        source: 'manual',
        ref: 'inv-7',
        amount: 2500n,
        remaining: 2500n,
        expired: 0n,
        purchasedAt,
        expiresAt: new Date('2027-10-15T12:00:00.000Z'),
        status: 'active',
      },
    ]);
    const events = await f.ledger.outbox.readOutbox('acme');
    expect(events.map((e) => [e.type, e.id])).toEqual([
      ['credits.adjustment.added', 'acme/credits.adjustment.added/m:inv-7'],
      ['credits.funds.added', 'acme/credits.funds.added/m:inv-7'],
    ]);
    expect(events[0]!.data).toEqual({
      adjustmentId: 'inv-7',
      lotId: 'm:inv-7',
      kind: 'credit',
      reason: 'provisioning',
      madeBy: 'system',
      amount: { amountMinor: '2500', currency: 'USD' },
      purchasedAt: String(purchasedAt.getTime()),
      expiresAt: expect.any(String),
      backdated: expect.any(Boolean),
      balance: { amountMinor: '2500', currency: 'USD' },
    });
    expect(events[1]!.data).toEqual({
      lotId: 'm:inv-7',
      source: 'manual',
      paymentRef: 'inv-7',
      amount: { amountMinor: '2500', currency: 'USD' },
      purchasedAt: String(purchasedAt.getTime()),
      expiresAt: String(new Date('2027-10-15T12:00:00.000Z').getTime()),
      balance: { amountMinor: '2500', currency: 'USD' },
    });
  });

  it('refuses funds in another currency, for a postpaid tenant, for an unknown tenant, or already expired', async () => {
    await f.ledger.writes.upsertAccount('acme', prepaid());
    await f.ledger.writes.upsertAccount('post', prepaid({ mode: 'postpaid' }));
    const funds = { paymentRef: 'p', amount: 100n, currency: 'USD', purchasedAt: f.clock.now };

    expect(await f.ledger.writes.addFunds('acme', { ...funds, currency: 'EUR' })).toEqual({
      refused: 'currency_mismatch',
      detail: 'USD',
    });
    expect(await f.ledger.writes.addFunds('post', funds)).toEqual({
      refused: 'mode_mismatch',
      detail: 'postpaid',
    });
    expect(await f.ledger.writes.addFunds('nobody', funds)).toEqual({
      refused: 'no_account',
      detail: 'nobody',
    });
    expect(
      await f.ledger.writes.addFunds('acme', { ...funds, purchasedAt: new Date('2025-10-31T23:59:59.999Z') }),
    ).toMatchObject({ refused: 'lot_already_expired' });
  });

  it('draws on the lot that expires first, across lots, and records which lots paid', async () => {
    await f.ledger.writes.upsertAccount('acme', prepaid());
    // Bought later but expiring earlier is impossible with one lifetime; buy in reverse order.
    await f.ledger.writes.addFunds('acme', {
      paymentRef: 'new',
      amount: 1000n,
      currency: 'USD',
      purchasedAt: new Date('2026-10-01T00:00:00Z'),
    });
    await f.ledger.writes.addFunds('acme', {
      paymentRef: 'old',
      amount: 300n,
      currency: 'USD',
      purchasedAt: new Date('2026-02-01T00:00:00Z'),
    });

    const { applied, balance } = await applyPaid(f, 'acme', [paid('u1', 250n), paid('u2', 100n)]);

    expect(balance).toBe(950n);
    expect(applied.map((a) => [a.usageId, a.duplicate, a.outcome.lots])).toEqual([
      ['u1', false, [{ lotId: 'm:old', amount: 250n }]],
      [
        'u2',
        false,
        [
          { lotId: 'm:old', amount: 50n },
          { lotId: 'm:new', amount: 50n },
        ],
      ],
    ]);
    const lots = (await f.ledger.reads.readAccount('acme'))!.lots;
    expect(lots.map((l) => [l.lotId, l.remaining, l.status])).toEqual([
      ['m:old', 0n, 'spent'],
      ['m:new', 950n, 'active'],
    ]);
  });

  it('lets usage that already happened take the balance below zero, and new funds pay that debt first', async () => {
    await f.ledger.writes.upsertAccount('acme', prepaid());
    await f.ledger.writes.addFunds('acme', {
      paymentRef: 'p1',
      amount: 100n,
      currency: 'USD',
      purchasedAt: f.clock.now,
    });

    const { applied, balance } = await applyPaid(f, 'acme', [paid('u1', 130n)]);
    expect(balance).toBe(-30n);
    expect(applied[0]!.outcome.lots).toEqual([
      { lotId: 'm:p1', amount: 100n },
      { lotId: '', amount: 30n },
    ]);
    expect((await f.ledger.reads.readAccount('acme'))!.debt).toBe(30n);

    const topUp = await f.ledger.writes.addFunds('acme', {
      paymentRef: 'p2',
      amount: 500n,
      currency: 'USD',
      purchasedAt: f.clock.now,
    });
    expect(topUp).toEqual({ duplicate: false, lotId: 'm:p2', balance: 470n, paidDebt: 30n });
    const account = (await f.ledger.reads.readAccount('acme'))!;
    expect(account.debt).toBe(0n);
    expect(account.lots.find((l) => l.lotId === 'm:p2')!.remaining).toBe(470n);
  });

  it('applies a usage id once: a replayed batch changes nothing and returns the same outcomes', async () => {
    await f.ledger.writes.upsertAccount('acme', prepaid());
    await f.ledger.writes.addFunds('acme', {
      paymentRef: 'p1',
      amount: 1000n,
      currency: 'USD',
      purchasedAt: f.clock.now,
    });
    const batch = [paid('u1', 120n), paid('u2', 80n), paid('u1', 120n)];

    const first = await applyPaid(f, 'acme', batch);
    const eventsAfterFirst = await eventTypes(f, 'acme');
    f.clock.advance(60_000);
    const replay = await applyPaid(f, 'acme', batch);

    expect(first.balance).toBe(800n);
    expect(first.applied.map((a) => [a.usageId, a.duplicate])).toEqual([
      ['u1', false],
      ['u2', false],
      ['u1', true],
    ]);
    expect(replay.balance).toBe(800n);
    expect(replay.applied.map((a) => a.duplicate)).toEqual([true, true, true]);
    expect(replay.applied.map((a) => a.outcome)).toEqual(first.applied.map((a) => a.outcome));
    expect(await eventTypes(f, 'acme')).toEqual(eventsAfterFirst);
  });

  it('keeps the balance exact under many concurrent writers on one tenant', async () => {
    await f.ledger.writes.upsertAccount('acme', prepaid());
    await f.ledger.writes.addFunds('acme', {
      paymentRef: 'p1',
      amount: 1_000_000n,
      currency: 'USD',
      purchasedAt: f.clock.now,
    });
    const writers = 16;
    const perWriter = 40;
    let expected = 1_000_000n;
    const batches = Array.from({ length: writers }, (_, w) =>
      Array.from({ length: perWriter }, (_, i) => {
        const charge = BigInt(((w * 7919 + i * 104729) % 997) + 1);
        expected -= charge;
        return paid(`w${w}-u${i}`, charge);
      }),
    );
    // Each writer has its own connection, and also replays its neighbour's batch:
    // interleaved duplicates must not count twice.
    const connections = batches.map(() => new Redis(testStack().redis.url));
    try {
      await Promise.all(
        batches.map(async (batch, w) => {
          const ledger = openLedger(connections[w]!, { prefix: f.prefix, clock: () => f.clock.now });
          const neighbour = batches[(w + 1) % writers]!;
          for (let i = 0; i < perWriter; i += 5) {
            for (const slice of [batch.slice(i, i + 5), neighbour.slice(i, i + 5)]) {
              const result = await ledger.writes.applyUsage('acme', {
                currency: 'USD',
                usages: slice,
                poolUse: {},
              });
              if (!('applied' in result)) throw new Error(JSON.stringify(result));
            }
          }
        }),
      );
    } finally {
      connections.forEach((c) => c.disconnect());
    }

    const account = (await f.ledger.reads.readAccount('acme'))!;
    expect(account.balance).toBe(expected);
    expect(account.lots[0]!.remaining).toBe(expected);
    let records = 0;
    for await (const page of f.ledger.reads.appliedUsages('acme')) records += page.length;
    expect(records).toBe(writers * perWriter);
  });
});
