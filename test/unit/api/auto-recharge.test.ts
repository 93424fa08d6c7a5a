import { autoRechargeChange } from '../../../src/api/auto-recharge';

describe("auto-recharge's change, as the API and the console ask for it", () => {
  const fields = { triggerAmount: 'body/triggerAmount', rechargeAmount: 'body/rechargeAmount' };

  it('converts the amounts to minor units and keeps out what was not asked for', () => {
    expect(
      autoRechargeChange(
        'USD',
        { enabled: true, triggerAmount: '10', rechargeAmount: '25.50', monthlyCap: 4 },
        fields,
      ),
    ).toEqual({ change: { enabled: true, trigger: 1000n, amount: 2550n, monthlyCap: 4 } });
    expect(autoRechargeChange('JPY', { rechargeAmount: '500' }, fields)).toEqual({
      change: { amount: 500n },
    });
    expect(autoRechargeChange('USD', { maxConsecutiveFailures: 0 }, fields)).toEqual({
      change: { maxConsecutiveFailures: 0 },
    });
  });

  it('names the field of an amount finer than the currency, and of nothing to add when turned on', () => {
    expect(autoRechargeChange('USD', { triggerAmount: '1.001' }, fields)).toEqual({
      problem: 'body/triggerAmount 1.001: USD has 2 decimals at most',
    });
    expect(
      autoRechargeChange('JPY', { rechargeAmount: '1.5' }, { ...fields, rechargeAmount: 'rechargeAmount' }),
    ).toEqual({
      problem: 'rechargeAmount 1.5: JPY has 0 decimals at most',
    });
    expect(autoRechargeChange('USD', { enabled: true, rechargeAmount: '0.00' }, fields)).toEqual({
      problem: 'body/rechargeAmount must be more than zero to enable auto-recharge',
    });
    // Off with nothing to add is a setting like any other.
    expect(autoRechargeChange('USD', { enabled: false, rechargeAmount: '0' }, fields)).toEqual({
      change: { enabled: false, amount: 0n },
    });
  });
});
