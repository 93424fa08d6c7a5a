import type { DecodedUsageRecord } from '../kafka/cdr-decoder';

/**
 * What the usage consumer needs from rating, in the ledger's terms (integer minor units).
 * Implemented over src/rating by `rating-pricer.ts`.
 */
export interface PricedUsage {
  kind: 'priced';
  /** credits-or-postpaid when money is charged, bundle when a pool covers all, free when nothing is due. */
  payment: 'paid' | 'bundle' | 'free';
  charge: bigint;
  connectionCharge: bigint;
  currency: string;
  billedSeconds: number;
  poolSeconds: number;
  destinationName: string;
  rate: { deck: string; version: string; prefix: string } | null;
}

export interface Unrated {
  kind: 'unrated';
  reason: string;
}

export interface UsagePricer {
  /** The minute pool a usage may draw on (`<kind>:<country>`) and its month, or none. */
  poolFor(record: DecodedUsageRecord): { pool: string; period: string } | undefined;
  /** The month of the call (`yyyy-mm`, UTC): its pool month and postpaid period. */
  periodOf(record: DecodedUsageRecord): string;
  /** Prices a usage in the tenant's currency, given the seconds its pool has left. */
  price(record: DecodedUsageRecord, currency: string, poolSecondsLeft: number): PricedUsage | Unrated;
}
