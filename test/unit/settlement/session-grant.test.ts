import type { SessionSnapshot } from '../../../src/credits/call-session';
import { priceGrant } from '../../../src/settlement/session-grant';
import { FlatPricer } from '../../support/flat-pricer';

/** Flat pricing: 10 a started minute plus a fee of 5; 300 s cost 55. */
const pricer = new FlatPricer();
const call = {
  tenantId: 'acme',
  callType: 'user_out' as const,
  startDateTime: '2026-11-01T10:00:00Z',
  calleeNumber: '+442071234567',
  licenseCapability: 'MCOPSTNPP',
  usageCountryCode: 'US',
};
const snapshot = (over: Partial<SessionSnapshot> = {}): SessionSnapshot => ({
  mode: 'prepaid',
  currency: 'USD',
  balance: 100n,
  held: 0n,
  overdraft: 0n,
  pool: { capacity: 0, used: 0, held: 0 },
  userHeld: 0n,
  ...over,
});
const none = { held: 0n, poolSeconds: 0 };

describe('a call session grant', () => {
  it('reserves what the chunk costs, or the longest the budget pays for', () => {
    expect(priceGrant(pricer, call, snapshot(), 0, none, 300)).toMatchObject({
      allowed: true,
      reason: 'covered',
      grantedSeconds: 300,
      amount: 55n,
      creditPaid: true,
    });
    // 45 left after other sessions' 55: 4 minutes and the fee.
    expect(priceGrant(pricer, call, snapshot({ held: 55n }), 0, none, 300)).toMatchObject({
      grantedSeconds: 240,
      amount: 45n,
    });
    expect(priceGrant(pricer, call, snapshot({ held: 90n }), 0, none, 300)).toMatchObject({
      allowed: false,
      reason: 'balance_depleted',
      grantedSeconds: 0,
    });
  });

  it('prices a renewal with the call so far as one call, its own hold counted back into the budget', () => {
    // 290 s used + 300: 10 minutes cost 105; the budget (100, the session's own 55 included) pays 9.
    const renewal = priceGrant(
      pricer,
      call,
      snapshot({ held: 55n }),
      290,
      { held: 55n, poolSeconds: 0 },
      300,
    );
    expect(renewal).toMatchObject({ allowed: true, grantedSeconds: 250, amount: 95n, usedCost: 55n });
  });

  it("is limited by the user's spend limit, less what the user's sessions hold", () => {
    const limited = snapshot({ userLimit: { limit: 100n, spent: 30n }, userHeld: 50n });
    expect(priceGrant(pricer, call, limited, 0, none, 300)).toMatchObject({
      allowed: true,
      grantedSeconds: 60,
      amount: 15n,
    });
    expect(
      priceGrant(pricer, call, { ...limited, userLimit: { limit: 90n, spent: 30n } }, 0, none, 300),
    ).toMatchObject({ allowed: false, reason: 'user_spend_limit' });
    expect(priceGrant(pricer, call, snapshot({ userBlocked: 'spend' }), 0, none, 300)).toMatchObject({
      allowed: false,
      reason: 'user_blocked',
    });
  });

  it('holds no money for postpaid, free and pool-covered calls; the pool seconds are reserved', () => {
    expect(priceGrant(pricer, call, snapshot({ mode: 'postpaid' }), 0, none, 300)).toMatchObject({
      allowed: true,
      reason: 'postpaid',
      amount: 0n,
      creditPaid: false,
    });
    expect(priceGrant(pricer, { ...call, callType: 'user_in' }, snapshot(), 0, none, 300)).toMatchObject({
      reason: 'free',
      amount: 0n,
    });
    const pooled = { ...call, licenseCapability: 'MCOPSTN1' };
    const pool = { capacity: 600, used: 0, held: 0 };
    expect(priceGrant(pricer, pooled, snapshot({ pool }), 0, none, 300)).toMatchObject({
      reason: 'covered',
      amount: 0n,
      poolSeconds: 300,
      creditPaid: false,
    });
    // Other sessions hold 480 of the 600: 120 from the pool, 3 minutes paid.
    expect(
      priceGrant(pricer, pooled, snapshot({ pool: { ...pool, held: 480 } }), 0, none, 300),
    ).toMatchObject({
      amount: 35n,
      poolSeconds: 120,
      creditPaid: true,
    });
    expect(
      priceGrant(pricer, { ...call, calleeNumber: '+99912345' }, snapshot(), 0, none, 300),
    ).toMatchObject({
      allowed: false,
      reason: 'unrated_destination',
    });
  });
});
