import { hash } from 'node:crypto';
import type { RatedDetails } from '../credits/usage-details';
import { parseInstant, type UsageRecord } from '../rating';
import { jsonValue } from './json-text';
import type { PricedUsage } from './ports';

/** The rating-relevant content of a record: a second delivery of its id must repeat it. */
const FINGERPRINTED = [
  'tenantId',
  'callType',
  'duration',
  'calleeNumber',
  'callerNumber',
  'numberType',
  'licenseCapability',
  'usageCountryCode',
  'tenantCountryCode',
  'destinationContext',
] as const;

/**
 * 12 characters (72 bits) of the SHA-256 of what rating reads from the record; the start is
 * taken as an instant, so `Z` and `+00:00` are the same call.
 */
export function fingerprint(record: UsageRecord): string {
  // The text hashed is byte for byte what it has always been (stored fingerprints must still
  // match): each field as JSON (null when absent), then the start in epoch milliseconds, one a
  // line; concatenated, and hashed in one call.
  let text = '';
  for (const name of FINGERPRINTED) text += `${jsonValue(record[name])}\n`;
  text += String(parseInstant(record.startDateTime));
  return hash('sha256', text, 'base64url').slice(0, 12);
}

/** What the rated record of a priced usage says beyond the ledger's outcome. */
export const detailsOf = (fp: string, priced: PricedUsage): RatedDetails => ({
  fingerprint: fp,
  billedSeconds: priced.billedSeconds,
  connectionCharge: priced.connectionCharge,
  currency: priced.currency,
  destinationName: priced.destinationName,
  rate: priced.rate,
});
