import { currencyDigits, formatMinor, isCurrency } from '../rating';

/**
 * An amount of one currency: an integer of its minor units (cents for USD, yen for JPY), never
 * a float. The currency is in the type: `Money<'USD'>` and `Money<'EUR'>` do not add
 * (after dinero.js); amounts read from storage are `Money<string>` and checked at run time.
 */
export interface Money<C extends string = string> {
  readonly minor: bigint;
  readonly currency: C;
}

export class CurrencyMismatchError extends Error {
  override readonly name = 'CurrencyMismatchError';
  constructor(a: string, b: string) {
    super(`cannot combine ${a} with ${b}`);
  }
}

/** An amount in minor units of `currency` (an ISO 4217 code with a minor unit). */
export function money<C extends string>(minor: bigint, currency: C): Money<C> {
  if (!isCurrency(currency)) throw new RangeError(`not an ISO 4217 currency with a minor unit: ${currency}`);
  return { minor, currency };
}

const same = (a: Money, b: Money) => {
  if (a.currency !== b.currency) throw new CurrencyMismatchError(a.currency, b.currency);
};

export function add<C extends string>(a: Money<C>, b: Money<NoInfer<C>>): Money<C> {
  same(a, b);
  return { minor: a.minor + b.minor, currency: a.currency };
}

export function subtract<C extends string>(a: Money<C>, b: Money<NoInfer<C>>): Money<C> {
  same(a, b);
  return { minor: a.minor - b.minor, currency: a.currency };
}

/** -1, 0 or 1 as `a` is less than, equal to or more than `b`. */
export function compare<C extends string>(a: Money<C>, b: Money<NoInfer<C>>): -1 | 0 | 1 {
  same(a, b);
  return a.minor < b.minor ? -1 : a.minor > b.minor ? 1 : 0;
}

export const isZero = (a: Money): boolean => a.minor === 0n;

/** The exact decimal of an amount: 1234 USD -> '12.34', 5 JPY -> '5', -1 KWD -> '-0.001'. */
export const formatMoney = (amount: Money): string => formatMinor(amount.minor, amount.currency);

/**
 * An exact decimal in `currency`, with no more decimals than its minor unit has ('12.3' USD ->
 * 1230); anything else throws (no rounding happens here).
 */
export function parseMoney<C extends string>(amount: string, currency: C): Money<C> {
  return money(decimalToMinor(amount, currency), currency);
}

/** Integer minor units (a decimal string) as an exact decimal string: ('-1234', 'USD') -> '-12.34'. */
export function minorToDecimal(amountMinor: string, currency: string): string {
  if (!/^-?\d+$/.test(amountMinor)) throw new Error(`not an integer amount: ${amountMinor}`);
  return formatMinor(BigInt(amountMinor), currency);
}

/** An exact decimal string back to integer minor units: ('12.34', 'USD') -> 1234n. */
export function decimalToMinor(amount: string, currency: string): bigint {
  const digits = currencyDigits(currency);
  const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(amount);
  if (!match || (match[3] ?? '').length > digits) {
    throw new Error(`not an amount of ${currency} (${digits} decimals at most): ${amount}`);
  }
  const units = BigInt(match[2]! + (match[3] ?? '').padEnd(digits, '0'));
  return match[1] ? -units : units;
}
