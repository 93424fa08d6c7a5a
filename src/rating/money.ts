import DecimalBase from 'decimal.js';
import { ISO_4217 } from './iso4217';

/** Enough significant digits that no amount a deck can hold is ever rounded while parsed. */
const Decimal = DecimalBase.clone({ precision: 64 });

/**
 * Money in the rating core. Rates and fees are parsed exactly (decimal.js) into integers at a
 * fixed scale of 10^-6 (micro-units of the currency); arithmetic on them is exact bigint; an
 * amount is rounded to the currency's minor unit once, at the end of pricing a call, with
 * ROUNDING_MODE. Nothing here is ever a binary float.
 */
export const MICRO = 1_000_000n;

/** Banker's rounding: half to even, so rounding errors do not drift one way over many calls. */
export const ROUNDING_MODE = 'half-even';

/**
 * ISO 4217 codes with a minor unit (the repository's table, src/rating/iso4217.ts, not the
 * runtime's Intl data); anything else, and the codes the list gives no minor unit (XAU,
 * XDR, XXX, ...), is refused.
 */
export function isCurrency(code: string): boolean {
  return (ISO_4217.get(code)?.minorUnits ?? null) !== null;
}

/** Minor-unit digits of a currency by ISO 4217 (USD 2, JPY 0, KWD 3, HUF 2, CLF 4). */
export function currencyDigits(currency: string): number {
  const digits = ISO_4217.get(currency)?.minorUnits;
  if (digits === undefined || digits === null)
    throw new RangeError(`${currency} is not an ISO 4217 currency with a minor unit`);
  return digits;
}

/** A non-negative decimal string with at most 6 decimals, as micro-units; undefined if not. */
export function parseMicro(text: string): bigint | undefined {
  if (!/^\d+(\.\d+)?$/.test(text.trim())) return undefined;
  const value = new Decimal(text.trim());
  const micro = value.times(1_000_000);
  if (!micro.isInteger()) return undefined;
  return BigInt(micro.toFixed(0));
}

/** An integer scaled by 10^-digits as an exact decimal string (no precision limit). */
function scaled(value: bigint, digits: number): string {
  const negative = value < 0n;
  const units = (negative ? -value : value).toString().padStart(digits + 1, '0');
  const whole = units.slice(0, units.length - digits);
  const fraction = digits > 0 ? `.${units.slice(units.length - digits)}` : '';
  return `${negative ? '-' : ''}${whole}${fraction}`;
}

/** Micro-units as a decimal string with 6 places: 21900n -> '0.021900'. */
export const formatMicro = (micro: bigint): string => scaled(micro, 6);

/** Minor units as a decimal string: (7n, 'USD') -> '0.07'. */
export const formatMinor = (minor: bigint, currency: string): string =>
  scaled(minor, currencyDigits(currency));

/** numerator / denominator rounded half to even (both non-negative, denominator > 0). */
export function divideHalfEven(numerator: bigint, denominator: bigint): bigint {
  const quotient = numerator / denominator;
  const twice = (numerator % denominator) * 2n;
  if (twice > denominator || (twice === denominator && quotient % 2n === 1n)) return quotient + 1n;
  return quotient;
}
