import {
  burstGuardProblem,
  effectiveLimit,
  isBurstGuardOn,
  limitLeft,
  MAX_USER_KEY_LENGTH,
  packBurstGuard,
  unpackBurstGuard,
  unpackUserBlock,
  userKeyOf,
  usersAtLimit,
} from '../../../src/credits/user-limits';
import { authorizeCall } from '../../../src/settlement/authorize-call';
import type { AuthorizationLedger } from '../../../src/settlement/ports';
import { FlatPricer } from '../../support/flat-pricer';

describe('per-user spend limits', () => {
  it('names the users at or past the limit that applies to them, by name, at most max', () => {
    const users = new Map([
      ['zoe', { spent: 100n }], // the default: at it
      ['bob', { own: 50n, spent: 51n }], // past their own
      ['amy', { own: 'none' as const, spent: 10_000n }], // no limit
      ['cat', { own: 200n, spent: 199n }], // under their own
      ['dan', { spent: 99n }], // under the default
      ['eve', { own: 0n, spent: 0n }], // a zero limit: at it
    ]);
    expect(usersAtLimit(users, 100n, 10)).toEqual({ users: ['bob', 'eve', 'zoe'], more: 0 });
    expect(usersAtLimit(users, 100n, 2)).toEqual({ users: ['bob', 'eve'], more: 1 });
    expect(usersAtLimit(users, undefined, 10)).toEqual({ users: ['bob', 'eve'], more: 0 });
  });

  it('counts a usage for its userId, else its userPrincipalName, else nobody', () => {
    expect(userKeyOf({ userId: 'u-1', userPrincipalName: 'a@x.example' })).toBe('u-1');
    expect(userKeyOf({ userPrincipalName: 'a@x.example' })).toBe('a@x.example');
    expect(userKeyOf({ userId: '', userPrincipalName: 'a@x.example' })).toBe('a@x.example');
    expect(userKeyOf({ userId: 42 })).toBe('');
    expect(userKeyOf({ userId: 'x'.repeat(MAX_USER_KEY_LENGTH + 1) })).toBe('');
    expect(userKeyOf({ userId: 'é'.repeat(MAX_USER_KEY_LENGTH / 2 + 1), userPrincipalName: 'p' })).toBe('p'); // bytes
    expect(userKeyOf({})).toBe('');
  });

  it("takes the user's own limit over the default, and none over both", () => {
    expect(effectiveLimit(50n, 100n)).toBe(50n);
    expect(effectiveLimit(undefined, 100n)).toBe(100n);
    expect(effectiveLimit('none', 100n)).toBeUndefined();
    expect(effectiveLimit(undefined, undefined)).toBeUndefined();
  });

  it('checks a burst guard, naming the field', () => {
    expect(
      burstGuardProblem({ windowMinutes: 60, maxInternationalCalls: 5, maxSpend: 100n }),
    ).toBeUndefined();
    expect(burstGuardProblem({ windowMinutes: 1 })).toBeUndefined();
    expect(burstGuardProblem({ windowMinutes: 1440, maxSpend: 0n })).toBeUndefined();
    expect(burstGuardProblem({ windowMinutes: 0 }, 'body/burstGuard')).toMatch(
      /^body\/burstGuard\/windowMinutes /,
    );
    expect(burstGuardProblem({ windowMinutes: 1441 })).toMatch(/^burstGuard\/windowMinutes /);
    expect(burstGuardProblem({ windowMinutes: 1.5 })).toMatch(/windowMinutes/);
    expect(burstGuardProblem({ windowMinutes: 60, maxInternationalCalls: 0 })).toMatch(
      /maxInternationalCalls/,
    );
    expect(burstGuardProblem({ windowMinutes: 60, maxInternationalCalls: 2.5 })).toMatch(
      /maxInternationalCalls/,
    );
    expect(burstGuardProblem({ windowMinutes: 60, maxSpend: -1n })).toMatch(/maxSpend/);
  });

  it('stores a burst guard in minor units and reads it back; without thresholds it is off', () => {
    const guard = { windowMinutes: 30, maxInternationalCalls: 4, maxSpend: 2500n };
    expect(packBurstGuard(guard)).toBe('30|4|2500');
    expect(unpackBurstGuard('30|4|2500')).toEqual(guard);
    expect(unpackBurstGuard(packBurstGuard({ windowMinutes: 5, maxSpend: 1n }))).toEqual({
      windowMinutes: 5,
      maxSpend: 1n,
    });
    expect(unpackBurstGuard('5|3|')).toEqual({ windowMinutes: 5, maxInternationalCalls: 3 });
    expect(unpackBurstGuard('5||')).toBeUndefined();
    expect(unpackBurstGuard(undefined)).toBeUndefined();
    expect(unpackBurstGuard('junk')).toBeUndefined();
    expect(isBurstGuardOn({ windowMinutes: 5 })).toBe(false);
    expect(isBurstGuardOn(null)).toBe(false);
    expect(isBurstGuardOn({ windowMinutes: 5, maxSpend: 0n })).toBe(true);
    expect(unpackUserBlock('1700000000000|spend')).toEqual({ at: new Date(1700000000000), reason: 'spend' });
    expect(unpackUserBlock('1|other')).toBeUndefined();
  });

  it('leaves what the month did not spend, never less than zero', () => {
    expect(limitLeft(100n, 30n)).toBe(70n);
    expect(limitLeft(100n, 130n)).toBe(0n);
    expect(limitLeft(undefined, 130n)).toBeUndefined();
  });

  describe('at authorization', () => {
    const snapshot = (
      userLimit?: { limit: bigint; spent: bigint },
      balance = 1_000n,
      userBlocked?: 'international_calls' | 'spend',
    ) => {
      const asked: string[] = [];
      const ledger: AuthorizationLedger = {
        authorizationSnapshot: (_tenant, _pool, _at, user) => {
          asked.push(user ?? '');
          return Promise.resolve({
            mode: 'prepaid',
            currency: 'USD',
            balance,
            blocked: false,
            poolSecondsLeft: 0,
            ...(userLimit ? { userLimit } : {}),
            ...(userBlocked ? { userBlocked } : {}),
          });
        },
      };
      return { ledger, asked };
    };
    const call = {
      tenantId: 'acme',
      callType: 'user_out' as const,
      startDateTime: '2026-11-10T10:00:00Z',
      calleeNumber: '+442071234567',
      userPrincipalName: 'alice@acme.example',
    };
    const pricer = new FlatPricer(); // 5 + 10 a started minute

    it("pays a call from the lesser of the balance and the limit's rest", async () => {
      const { ledger, asked } = snapshot({ limit: 100n, spent: 45n });
      expect(await authorizeCall(ledger, pricer, call)).toMatchObject({
        allowed: true,
        reason: 'covered',
        maxSeconds: 300, // 5 minutes cost 55
        userLimitLeft: 55n,
      });
      expect(asked).toEqual(['alice@acme.example']);
      expect(
        await authorizeCall(snapshot({ limit: 100n, spent: 0n }, 30n).ledger, pricer, call),
      ).toMatchObject({
        maxSeconds: 120, // the balance is less
      });
    });

    it('refuses a call the rest of the limit does not pay a first minute of', async () => {
      for (const spent of [86n, 100n, 250n])
        expect(await authorizeCall(snapshot({ limit: 100n, spent }).ledger, pricer, call)).toMatchObject({
          allowed: false,
          reason: 'user_spend_limit',
          maxSeconds: 0,
        });
      expect(
        await authorizeCall(snapshot({ limit: 100n, spent: 100n }, 0n).ledger, pricer, call),
      ).toMatchObject({
        reason: 'balance_depleted',
      });
    });

    it('refuses a credit-paid call of a user the burst guard blocked, before the spend limit', async () => {
      expect(await authorizeCall(snapshot(undefined, 1_000n, 'spend').ledger, pricer, call)).toMatchObject({
        allowed: false,
        reason: 'user_blocked',
        maxSeconds: 0,
      });
      expect(
        await authorizeCall(
          snapshot({ limit: 100n, spent: 100n }, 1_000n, 'international_calls').ledger,
          pricer,
          call,
        ),
      ).toMatchObject({ allowed: false, reason: 'user_blocked' });
      // A free call is not credit-paid.
      expect(
        await authorizeCall(snapshot(undefined, 1_000n, 'spend').ledger, pricer, {
          ...call,
          callType: 'user_in',
        }),
      ).toMatchObject({ allowed: true, reason: 'free' });
    });
  });
});
