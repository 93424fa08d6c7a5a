import { authorizeCall, MAX_AUTHORIZED_SECONDS } from '../../../src/settlement/authorize-call';
import type { DecodedUsageRecord } from '../../../src/kafka/cdr-decoder';
import { FlatPricer } from '../../support/flat-pricer';
import { ledgerFixture, LedgerFixture, paid, prepaid } from '../../support/ledger';

const call = (extra: Partial<DecodedUsageRecord> = {}) => ({
  tenantId: 'acme',
  callType: 'user_out' as const,
  startDateTime: '2026-11-01T10:00:00Z',
  calleeNumber: '+442071234567',
  licenseCapability: 'MCOPSTNPP',
  usageCountryCode: 'US',
  ...extra,
});

describe('call authorization', () => {
  let f: LedgerFixture;
  const pricer = new FlatPricer();
  beforeEach(async () => {
    f = ledgerFixture({ start: '2026-11-01T10:00:00.000Z' });
    await f.ledger.writes.upsertAccount('acme', prepaid({ poolCapacities: { 'MCOPSTN1:US': 120 } }));
  });
  afterEach(() => f.close());

  const authorize = (extra: Partial<DecodedUsageRecord> = {}) =>
    authorizeCall(f.ledger.writes, pricer, call(extra), f.clock.now);
  const fund = (amount: bigint) =>
    f.ledger.writes.addFunds('acme', {
      paymentRef: `p${amount}`,
      amount,
      currency: 'USD',
      purchasedAt: f.clock.now,
    });

  it('allows exactly the seconds that applying the usage would then pay for', async () => {
    await fund(47n); // 5 connection + 10 a started minute: 4 minutes cost 45, 5 cost 55
    const decision = await authorize();
    expect(decision).toMatchObject({ allowed: true, reason: 'covered', maxSeconds: 240 });

    const price = (duration: number) => pricer.price({ ...call(), id: 'x', duration }, 'USD', 0);
    expect(price(240)).toMatchObject({ charge: 45n });
    expect(price(241)).toMatchObject({ charge: 55n });
    const applied = await f.ledger.writes.applyUsage('acme', {
      currency: 'USD',
      poolUse: {},
      usages: [{ ...paid('u1', 45n), charge: 45n }],
    });
    expect('applied' in applied && applied.balance).toBe(2n);
  });

  it('counts pool minutes before money', async () => {
    await fund(15n); // the pool's 2 minutes, then one paid minute (15)
    expect(await authorize({ licenseCapability: 'MCOPSTN1' })).toMatchObject({
      allowed: true,
      maxSeconds: 180,
      poolSecondsLeft: 120,
    });
  });

  it('blocks credit-paid calls at zero, but never emergency calls, inbound calls or postpaid tenants', async () => {
    expect(await authorize()).toMatchObject({ allowed: false, reason: 'balance_depleted', maxSeconds: 0 });
    expect(await authorize({ callType: 'emergency', calleeNumber: '+1911' })).toEqual({
      allowed: true,
      reason: 'emergency',
      maxSeconds: null,
    });
    expect(await authorize({ callType: 'user_in' })).toMatchObject({
      allowed: true,
      reason: 'free',
      maxSeconds: null,
    });
    await f.ledger.writes.upsertAccount('acme', prepaid({ mode: 'postpaid' }));
    expect(await authorize()).toMatchObject({ allowed: true, reason: 'postpaid', maxSeconds: null });
  });

  it('refuses unknown tenants and unrated destinations, and caps a long promise', async () => {
    expect(await authorize({ tenantId: 'ghost' })).toEqual({
      allowed: false,
      reason: 'unknown_tenant',
      maxSeconds: 0,
    });
    await fund(1_000_000n);
    expect(await authorize({ calleeNumber: '+99912345' })).toMatchObject({
      allowed: false,
      reason: 'unrated_destination',
    });
    expect(await authorize()).toMatchObject({ allowed: true, maxSeconds: MAX_AUTHORIZED_SECONDS });
  });

  it('does not count a lot that has expired by now, before the sweeper forfeits it', async () => {
    await f.ledger.writes.addFunds('acme', {
      paymentRef: 'old',
      amount: 1000n,
      currency: 'USD',
      purchasedAt: new Date('2025-11-01T10:00:00.001Z'),
    });
    expect(await authorize()).toMatchObject({ allowed: true });
    f.clock.set('2026-11-01T10:00:00.001Z');
    expect(await authorize()).toMatchObject({
      allowed: false,
      reason: 'balance_depleted',
      balance: { amountMinor: 0n },
    });
  });
});
