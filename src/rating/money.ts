import DecimalBase from 'decimal.js';

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

const digitsCache = new Map<string, number>();

/** ISO 4217 codes the runtime knows; anything else is refused. */
export function isCurrency(code: string): boolean {
  if (!/^[A-Z]{3}$/.test(code)) return false;
  try {
    return Intl.supportedValuesOf('currency').includes(code);
  } catch {
    return false;
  }
}

/** Minor-unit digits of a currency (USD 2, JPY 0, KWD 3). */
export function currencyDigits(currency: string): number {
  let digits = digitsCache.get(currency);
  if (digits === undefined) {
    digits =
      new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ??
      2;
    digitsCache.set(currency, digits);
  }
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
