/** Calendar arithmetic the ledger needs, in UTC. */

/** `yyyy-mm` of an instant, in UTC: the key of pool months and postpaid periods. */
export const utcMonth = (at: Date): string => at.toISOString().slice(0, 7);

/**
 * The same wall-clock instant `months` later, clamped to the month's last day: a lot bought
 * on 29 February expires on 28 February of the next year, never in March.
 */
export function addUtcMonths(at: Date, months: number): Date {
  const year = at.getUTCFullYear();
  const month = at.getUTCMonth() + months;
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  return new Date(
    Date.UTC(
      year,
      month,
      Math.min(at.getUTCDate(), lastDay),
      at.getUTCHours(),
      at.getUTCMinutes(),
      at.getUTCSeconds(),
      at.getUTCMilliseconds(),
    ),
  );
}

/** Funds expire when not used within 12 months of purchase (DOMAIN.md). */
export const FUNDS_LIFETIME_MONTHS = 12;
export const lotExpiry = (purchasedAt: Date): Date => addUtcMonths(purchasedAt, FUNDS_LIFETIME_MONTHS);
