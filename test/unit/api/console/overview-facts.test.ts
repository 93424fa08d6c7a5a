import {
  belowZero,
  capReason,
  poolName,
  poolUse,
  rechargeFailure,
} from '../../../../src/api/console/overview-facts';
import { accountSettings } from '../../../../src/credits/wallet';

const settings = (poolCapacities: Record<string, number>) => ({
  ...accountSettings('prepaid', 'USD'),
  poolCapacities,
});

describe('the console overview: facts at a glance', () => {
  it("shows each pool's use this month in whole minutes: used rounded up, capacity and what is left rounded down", () => {
    const account = {
      settings: settings({ 'MCOPSTN5:US': 240 * 60, 'MCOPSTN1:CA': 6000 * 60 }),
      poolUsed: {
        'MCOPSTN5:US:2026-12': 171 * 60 - 30,
        'MCOPSTN5:US:2026-11': 240 * 60,
        // A licence removed since: drawn on this month, no capacity now.
        'MCOPSTN2:GB:2026-12': 61,
      },
    };
    expect(poolUse(account, '2026-12')).toEqual([
      {
        pool: 'MCOPSTN1:CA',
        usedSeconds: 0,
        capacitySeconds: 360_000,
        used: '0 of 6000 min used',
        left: '6000 min left',
      },
      {
        pool: 'MCOPSTN2:GB',
        usedSeconds: 61,
        capacitySeconds: 0,
        used: '2 of 0 min used',
        left: '2 min over',
      },
      {
        pool: 'MCOPSTN5:US',
        usedSeconds: 10_230,
        capacitySeconds: 14_400,
        used: '171 of 240 min used',
        left: '69 min left',
      },
    ]);
    expect(poolUse({ settings: settings({}), poolUsed: { 'MCOPSTN5:US:2026-11': 60 } }, '2026-12')).toEqual(
      [],
    );
    expect(poolName('MCOPSTN5:US')).toBe('MCOPSTN5, US');
  });

  it('says since when a balance is below zero, and never a runway for it', () => {
    const since = new Date('2026-12-06T21:04:30.000Z');
    expect(belowZero({ balance: -200n, blockedSince: since })).toBe('Below zero since 2026-12-06 21:04 UTC');
    expect(belowZero({ balance: 0n, blockedSince: since })).toBe('At zero since 2026-12-06 21:04 UTC');
    expect(belowZero({ balance: -1n })).toBe('Below zero now');
    expect(belowZero({ balance: 1n, blockedSince: since })).toBeNull();
  });

  it('shows the last failed recharge: when, why, how many in a row', () => {
    const at = new Date('2026-12-07T06:00:00.000Z');
    const ar = { pendingRequestId: '', month: '2026-12', rechargesThisMonth: 1 };
    expect(
      rechargeFailure({
        autoRecharge: { ...ar, consecutiveFailures: 2, lastFailure: { at, reason: 'expired_card' } },
      }),
    ).toBe('The last recharge failed 2026-12-07 06:00 UTC: expired card (2 failures in a row)');
    expect(
      rechargeFailure({ autoRecharge: { ...ar, consecutiveFailures: 1, lastFailure: { at, reason: '' } } }),
    ).toBe('The last recharge failed 2026-12-07 06:00 UTC: no reason given (1 failure in a row)');
    expect(
      rechargeFailure({ autoRecharge: { ...ar, consecutiveFailures: 0, lastFailure: null } }),
    ).toBeNull();
  });

  it('names the month whose used-up recharge cap brings the zero', () => {
    expect(capReason('2026-12', 1)).toBe(
      "Auto-recharge's monthly cap (1 recharge) is used up for 2026-12: no recharge before the month ends.",
    );
    expect(capReason('2027-01', 3)).toContain('(3 recharges)');
    expect(capReason(null, 3)).toBeNull();
  });
});
