import Decimal from 'decimal.js';

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

/** Micro-units as a decimal string with 6 places: 21900n -> '0.021900'. */
export const formatMicro = (micro: bigint): string =>
  new Decimal(micro.toString()).dividedBy(1_000_000).toFixed(6);

/** Minor units as a decimal string: (7n, 'USD') -> '0.07'. */
export function formatMinor(minor: bigint, currency: string): string {
  const digits = currencyDigits(currency);
  return new Decimal(minor.toString()).dividedBy(new Decimal(10).pow(digits)).toFixed(digits);
}

/** numerator / denominator rounded half to even (both non-negative, denominator > 0). */
export function divideHalfEven(numerator: bigint, denominator: bigint): bigint {
  const quotient = numerator / denominator;
  const twice = (numerator % denominator) * 2n;
  if (twice > denominator || (twice === denominator && quotient % 2n === 1n)) return quotient + 1n;
  return quotient;
}
