import { minorToDecimal } from '../../credits/money';

/**
 * Money as the console shows it: the exact decimal (never through a float; Intl formats the
 * decimal string as it is), grouped, with the currency's symbol or code.
 */
export function formatAmount(minor: bigint, currency: string): string {
  const decimal = minorToDecimal(minor.toString(), currency);
  try {
    return new Intl.NumberFormat('en', {
      style: 'currency',
      currency,
      currencyDisplay: 'code',
      minimumFractionDigits: decimal.split('.')[1]?.length ?? 0,
    })
      .format(decimal as unknown as number)
      .replace(/\u00a0/g, ' ');
  } catch {
    return `${decimal} ${currency}`;
  }
}

/** A moment in UTC, to the minute: `2026-12-01 19:05 UTC`. */
export const formatTime = (at: Date | string | number) =>
  `${new Date(at).toISOString().slice(0, 16).replace('T', ' ')} UTC`;

/** A UTC day: `2026-12-01`. */
export const formatDay = (at: Date | string | number) => new Date(at).toISOString().slice(0, 10);
