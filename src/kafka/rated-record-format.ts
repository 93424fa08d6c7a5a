import { minorToDecimal } from '../credits/money';
import type { RatedDetails } from '../credits/usage-details';
import type { UsageOutcome } from '../credits/wallet';
import { formatMinor, isoString, type UsageRecord } from '../rating';
import { jsonString } from '../settlement/json-text';
import type { RerateRecord } from '../settlement/ports';

/**
 * The rated record's wire format (CONTRACTS.md section 2): the input record as JSON with the
 * rating fields appended, and a bound of its size that is cheap to compute.
 */

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

/**
 * A re-rated call's record: its rated record as `ratedValue` writes it (from the record as the
 * ledger kept it), with the revision and the charge it replaced appended.
 */
export function rerateValue({ record, details, applied, revision, previousCharge }: RerateRecord): string {
  const value = ratedValue(JSON.stringify(record), details, applied);
  const extra = JSON.stringify({
    revision,
    previousCharge: minorToDecimal(previousCharge.toString(), details.currency),
  });
  return `${value.slice(0, -1)},${extra.slice(1)}`;
}
