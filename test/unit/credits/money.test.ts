import fc from 'fast-check';
import {
  add,
  compare,
  CurrencyMismatchError,
  formatMoney,
  money,
  Money,
  parseMoney,
  subtract,
} from '../../../src/credits/money';

describe('money with its currency', () => {
  it('adds and subtracts amounts of one currency exactly', () => {
    const a = money(1999n, 'USD');
    const b = money(1n, 'USD');
    expect(add(a, b)).toEqual({ minor: 2000n, currency: 'USD' });
    expect(subtract(b, a)).toEqual({ minor: -1998n, currency: 'USD' });
    expect(compare(a, b)).toBe(1);
    expect(formatMoney(add(a, b))).toBe('20.00');
    expect(formatMoney(money(-1n, 'KWD'))).toBe('-0.001');
    expect(formatMoney(money(5n, 'JPY'))).toBe('5');
  });

  it('does not add USD to EUR: a compile error, and a run-time error for amounts read from storage', () => {
    const usd = money(100n, 'USD');
    const eur = money(100n, 'EUR');
    // @ts-expect-error Money<'EUR'> is not Money<'USD'>: `tsc --noEmit` fails if this compiles.
    expect(() => add(usd, eur)).toThrow(CurrencyMismatchError);
    // @ts-expect-error the same for a subtraction and a comparison
    expect(() => subtract(eur, usd)).toThrow(CurrencyMismatchError);
    // @ts-expect-error a comparison too
    expect(() => compare(usd, eur)).toThrow(CurrencyMismatchError);
    const stored: Money = { minor: 1n, currency: 'EUR' };
    expect(() => add<string>(usd, stored)).toThrow('cannot combine USD with EUR');
  });

  it('refuses a currency without a minor unit', () => {
    expect(() => money(1n, 'XAU')).toThrow(RangeError);
    expect(() => money(1n, 'usd')).toThrow(RangeError);
  });

  it('parses exact decimals with no more digits than the minor unit, and formats them back', () => {
    expect(parseMoney('12.3', 'USD')).toEqual({ minor: 1230n, currency: 'USD' });
    expect(() => parseMoney('12.345', 'USD')).toThrow('2 decimals at most');
    expect(() => parseMoney('1.5', 'JPY')).toThrow('0 decimals at most');
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }),
        fc.constantFrom('USD', 'JPY', 'KWD'),
        (minor, c) => {
          const amount = money(minor, c);
          expect(parseMoney(formatMoney(amount), c)).toEqual(amount);
        },
      ),
    );
  });

  it('adds like integers: associative and commutative, with zero as identity', () => {
    const usd = fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }).map((m) => money(m, 'USD'));
    fc.assert(
      fc.property(usd, usd, usd, (a, b, c) => {
        expect(add(add(a, b), c)).toEqual(add(a, add(b, c)));
        expect(add(a, b)).toEqual(add(b, a));
        expect(add(a, money(0n, 'USD'))).toEqual(a);
        expect(subtract(add(a, b), b)).toEqual(a);
      }),
    );
  });
});
