import { userLimitRows, userLimitsChange } from '../../../src/api/user-limits';
import { isUserKey, userKeyProblem } from '../../../src/credits/user-limits';

const API = {
  default: 'body/default',
  users: 'body/users',
  user: (user: string) => `body/users/${user}`,
  burstGuard: 'body/burstGuard',
};

describe('userLimitsChange: the one conversion the admin API and the console make', () => {
  it('converts amounts to minor units and keeps none and removals as they are', () => {
    expect(
      userLimitsChange('USD', { default: '30.5', users: { ana: '12.34', bo: 'none', cy: null } }, API),
    ).toEqual({ change: { currency: 'USD', default: 3050n, users: { ana: 1234n, bo: 'none', cy: null } } });
    expect(userLimitsChange('JPY', { default: null }, API)).toEqual({
      change: { currency: 'JPY', default: null, users: {} },
    });
    // Only what is named changes: no default in the change when the request has none.
    expect(userLimitsChange('USD', { users: { ana: '1' } }, API)).toEqual({
      change: { currency: 'USD', users: { ana: 100n } },
    });
  });

  it('names the field of an amount finer than the currency, as the asker names it', () => {
    expect(userLimitsChange('USD', { users: { ana: '1.001' } }, API)).toEqual({
      problem: 'body/users/ana 1.001: USD has 2 decimals at most',
    });
    const form = { default: 'default', users: 'user', user: () => 'limit', burstGuard: 'burstGuard' };
    expect(userLimitsChange('USD', { users: { ana: '1.001' } }, form)).toEqual({
      problem: 'limit 1.001: USD has 2 decimals at most',
    });
    expect(userLimitsChange('JPY', { default: '5.5' }, form)).toEqual({
      problem: 'default 5.5: JPY has 0 decimals at most',
    });
  });

  it('converts the burst guard, names its field when out of bounds, and takes null for off', () => {
    expect(
      userLimitsChange(
        'USD',
        { burstGuard: { windowMinutes: 60, maxInternationalCalls: 5, maxSpend: '20' } },
        API,
      ),
    ).toEqual({
      change: {
        currency: 'USD',
        users: {},
        burstGuard: { windowMinutes: 60, maxInternationalCalls: 5, maxSpend: 2000n },
      },
    });
    expect(
      userLimitsChange('USD', { burstGuard: { windowMinutes: 10, maxInternationalCalls: null } }, API),
    ).toEqual({
      change: { currency: 'USD', users: {}, burstGuard: { windowMinutes: 10 } },
    });
    expect(userLimitsChange('USD', { burstGuard: null }, API)).toEqual({
      change: { currency: 'USD', users: {}, burstGuard: null },
    });
    expect(userLimitsChange('USD', { burstGuard: { windowMinutes: 10, maxSpend: '0.001' } }, API)).toEqual({
      problem: 'body/burstGuard/maxSpend 0.001: USD has 2 decimals at most',
    });
    expect(
      userLimitsChange('USD', { burstGuard: { windowMinutes: 1441, maxInternationalCalls: 2 } }, API),
    ).toEqual({
      problem: 'body/burstGuard/windowMinutes must be an integer from 1 to 1440',
    });
  });

  it('refuses a user key the ledger cannot keep', () => {
    const long = 'é'.repeat(129);
    expect(userLimitsChange('USD', { users: { [long]: '1' } }, API)).toEqual({
      problem: `body/users: the user key "${long.slice(0, 40)}"... is over 256 bytes`,
    });
    expect(userLimitsChange('USD', { users: { a: '1', '\ud800': '1' } }, API)).toEqual({
      problem: 'body/users: the user key "\\ud800" is not well-formed Unicode (a lone UTF-16 surrogate)',
    });
    expect(userLimitsChange('USD', { users: { '': '1' } }, API)).toEqual({
      problem: 'body/users: the user key "" is empty',
    });
  });

  it('takes any well-formed Unicode key up to 256 bytes of UTF-8', () => {
    for (const user of ['ana@acme.example', '😀', 'é'.repeat(128)])
      expect(userKeyProblem(user)).toBeUndefined();
    for (const user of ['\ud800', 'a\udc00', '\udc00\ud800', 'x\ud83d']) expect(isUserKey(user)).toBe(false);
  });
});

describe('userLimitRows', () => {
  it('lists users by key with the limit that applies, where it comes from, and what is left', () => {
    const rows = userLimitRows({
      month: '2026-12',
      default: 1000n,
      users: new Map([
        ['cy', { spent: 1500n, reached: true }],
        ['ana', { own: 500n, spent: 200n, reached: false }],
        ['bo', { own: 'none', spent: 50n, reached: false }],
      ]),
      blocked: new Map(),
    });
    expect(rows).toEqual([
      { user: 'ana', limit: 500n, limitFrom: 'user', spent: 200n, left: 300n, reached: false },
      { user: 'bo', limitFrom: 'none', spent: 50n, reached: false },
      { user: 'cy', limit: 1000n, limitFrom: 'default', spent: 1500n, left: 0n, reached: true },
    ]);
  });
});
