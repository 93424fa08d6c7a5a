import { hash } from 'node:crypto';
import type { UsageOutcome } from '../credits/wallet';
import { formatMinor, isoString, parseInstant, type UsageRecord } from '../rating';
import { jsonString, jsonValue } from './json-text';
import type { PricedUsage } from './ports';

/** The fields the rater adds to a usage record (CONTRACTS.md section 2). */
const RATED_FIELDS = new Set([
  'charge',
  'connectionCharge',
  'currency',
  'billedSeconds',
  'poolSeconds',
  'source',
  'destinationName',
  'rate',
  'ratedAt',
]);

/**
 * The input record as JSON, without the fields the rated record sets: made before the debit,
 * so that a record that cannot be serialised is never charged. Throws what JSON.stringify throws.
 *
 * A plain record without any of those fields (the usual case) is stringified as it is, which
 * gives the same text as a copy without them would, without the copy. The text the record was
 * decoded from is not used in its place: zod orders the contract's fields, turns nulls into
 * absent fields and drops `__proto__`, and the text may spell numbers (1E2, -0, 1e400) or
 * strings differently, so that it would parse to other values or another size.
 */
export function serialiseRecord(record: UsageRecord): string {
  if (Object.getPrototypeOf(record) === Object.prototype && !carriesRatedField(record))
    return JSON.stringify(record);
  const kept = Object.fromEntries(Object.entries(record).filter(([name]) => !RATED_FIELDS.has(name)));
  return JSON.stringify(kept);
}

const RATED_FIELD_NAMES = [...RATED_FIELDS];
const carriesRatedField = (record: UsageRecord) =>
  RATED_FIELD_NAMES.some((name) => Object.prototype.propertyIsEnumerable.call(record, name));

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

/** What the rated record says beyond the ledger's outcome: kept with the outcome, packed. */
export interface RatedDetails {
  fingerprint: string;
  billedSeconds: number;
  connectionCharge: bigint;
  currency: string;
  destinationName: string;
  rate: { deck: string; version: string; prefix: string } | null;
}

// Most fields have nothing to escape: the replaces run only when there is.
const escape = (text: string) =>
  text.includes('%') || text.includes('|') ? text.replace(/%/g, '%25').replace(/\|/g, '%7C') : text;
const unescape = (text: string) =>
  text.includes('%') ? text.replace(/%7C/g, '|').replace(/%25/g, '%') : text;

/**
 * `fingerprint|billedSeconds|connectionCharge|currency|deck|version|prefix|destinationName`:
 * a few dozen bytes per usage id in the ledger's idempotency record, not a JSON object.
 */
export function packRated(details: RatedDetails): string {
  const rate = details.rate ?? { deck: '', version: '', prefix: '' };
  return [
    details.fingerprint,
    String(details.billedSeconds),
    details.connectionCharge.toString(),
    details.currency,
    rate.deck,
    rate.version,
    rate.prefix,
    details.destinationName,
  ]
    .map(escape)
    .join('|');
}

/** The details packed by `packRated`, or undefined for an outcome stored without them. */
export function unpackRated(packed: string): RatedDetails | undefined {
  const parts = packed.split('|').map(unescape);
  if (parts.length !== 8) return undefined;
  const [fp, billed, connection, currency, deck, version, prefix, destinationName] = parts as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  return {
    fingerprint: fp,
    billedSeconds: Number(billed),
    connectionCharge: BigInt(connection),
    currency,
    destinationName,
    rate: deck === '' ? null : { deck, version, prefix },
  };
}

/**
 * The packed details as the ledger keeps them: `own`, the three fields particular to a usage
 * (fingerprint, billed seconds, connection charge), and `shared`, the rest, which many usages
 * have alike and the ledger stores once a month.
 */
export function splitRated(packed: string): { own: string; shared: string } {
  let at = -1;
  for (let n = 0; n < 3; n++) {
    at = packed.indexOf('|', at + 1);
    if (at < 0) return { own: packed, shared: '' };
  }
  return { own: packed.slice(0, at), shared: packed.slice(at + 1) };
}

/** The details stored with an outcome (as `splitRated` gave them), or undefined without. */
export const storedDetails = (outcome: Pick<UsageOutcome, 'rated' | 'ratedShared'>) =>
  unpackRated(outcome.ratedShared ? `${outcome.rated}|${outcome.ratedShared}` : outcome.rated);

export const detailsOf = (fp: string, priced: PricedUsage): RatedDetails => ({
  fingerprint: fp,
  billedSeconds: priced.billedSeconds,
  connectionCharge: priced.connectionCharge,
  currency: priced.currency,
  destinationName: priced.destinationName,
  rate: priced.rate,
});

/**
 * The rated record's value: the serialised input with the rating fields appended. Everything
 * appended is a short string or number, so this does not throw once `body` exists.
 */
export function ratedValue(
  body: string,
  details: RatedDetails,
  outcome: Pick<UsageOutcome, 'charge' | 'poolSeconds' | 'source' | 'appliedAt'>,
): string {
  const { currency, billedSeconds, destinationName, rate } = details;
  const { poolSeconds, source } = outcome;
  const charge = formatMinor(outcome.charge, currency);
  const connectionCharge = formatMinor(details.connectionCharge, currency);
  const ratedAt = isoString(outcome.appliedAt);
  if (
    typeof currency === 'string' &&
    typeof source === 'string' &&
    typeof destinationName === 'string' &&
    Number.isFinite(billedSeconds) &&
    Number.isFinite(poolSeconds) &&
    typeof rate === 'object'
  ) {
    // What JSON.stringify of the fields below writes, written directly: the amounts and the
    // time hold nothing to escape, the numbers are finite, the rate is null or an object.
    const fields =
      `"charge":"${charge}","connectionCharge":"${connectionCharge}","currency":${jsonString(currency)},` +
      `"billedSeconds":${billedSeconds},"poolSeconds":${poolSeconds},"source":${jsonString(source)},` +
      `"destinationName":${jsonString(destinationName)},"rate":${JSON.stringify(rate)},"ratedAt":"${ratedAt}"}`;
    return body === '{}' ? `{${fields}` : `${body.slice(0, -1)},${fields}`;
  }
  const rated = JSON.stringify({
    charge,
    connectionCharge,
    currency,
    billedSeconds,
    poolSeconds,
    source,
    destinationName,
    rate,
    ratedAt,
  });
  return body === '{}' ? rated : `${body.slice(0, -1)},${rated.slice(1)}`;
}

/** The characters of the rated fields' JSON beyond their values (keys, quotes, separators), and more. */
const RATED_FIELDS_FIXED_CHARS = 256;
/** The longest JSON.stringify makes of a number (-1.7976931348623157e+308). */
const NUMBER_CHARS = 24;

/**
 * An upper bound of the UTF-8 bytes of `ratedValue(body, details, outcome)`, without building
 * it: a UTF-16 unit is at most 3 bytes of UTF-8, and at most 6 characters once JSON-escaped
 * (\u0000). Throws what `ratedValue` throws (an amount the currency cannot format, a date
 * that is not one).
 */
export function ratedValueBound(
  body: string,
  details: RatedDetails,
  outcome: Pick<UsageOutcome, 'charge' | 'poolSeconds' | 'source' | 'appliedAt'>,
): number {
  const { currency, rate } = details;
  const charge = formatMinor(outcome.charge, currency);
  const connectionCharge = formatMinor(details.connectionCharge, currency);
  const ratedAt = isoString(outcome.appliedAt);
  const strings =
    currency.length +
    outcome.source.length +
    details.destinationName.length +
    (rate === null ? 0 : rate.deck.length + rate.version.length + rate.prefix.length);
  return (
    3 * body.length +
    RATED_FIELDS_FIXED_CHARS +
    charge.length +
    connectionCharge.length +
    ratedAt.length +
    2 * NUMBER_CHARS +
    6 * strings
  );
}
