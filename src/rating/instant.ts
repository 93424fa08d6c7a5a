/**
 * Times as usage records spell them, read and written without the general parser: a record's
 * start is read five times on its way (the time window, its fingerprint, its idempotency day,
 * its rates, its debit lag), and `Date.parse` is the costlier part of each.
 */

/** The digit at `at`, or NaN when it is not one (so that every sum with it is NaN). */
function digit(text: string, at: number): number {
  const d = text.charCodeAt(at) - 48;
  return d >= 0 && d <= 9 ? d : NaN;
}
const two = (text: string, at: number) => digit(text, at) * 10 + digit(text, at + 1);

/**
 * The epoch milliseconds of `YYYY-MM-DDTHH:MM:SSZ` or `YYYY-MM-DDTHH:MM:SS.sssZ` with each
 * field in its usual range; undefined for any other text (Date.parse reads those).
 */
function plainUtcMillis(text: string): number | undefined {
  const length = text.length;
  if (length !== 20 && length !== 24) return undefined;
  if (
    text.charCodeAt(4) !== 45 || // -
    text.charCodeAt(7) !== 45 ||
    text.charCodeAt(10) !== 84 || // T
    text.charCodeAt(13) !== 58 || // :
    text.charCodeAt(16) !== 58 ||
    text.charCodeAt(length - 1) !== 90 || // Z
    (length === 24 && text.charCodeAt(19) !== 46) // .
  )
    return undefined;
  const year = two(text, 0) * 100 + two(text, 2);
  const month = two(text, 5);
  const day = two(text, 8);
  const hour = two(text, 11);
  const minute = two(text, 14);
  const second = two(text, 17);
  const millis = length === 24 ? digit(text, 20) * 100 + two(text, 21) : 0;
  // Every comparison with NaN (a character that is not a digit) is false.
  if (
    !(year >= 1000) ||
    !(month >= 1 && month <= 12) ||
    !(day >= 1 && day <= 31) ||
    !(hour <= 23 && minute <= 59 && second <= 59 && millis >= 0)
  )
    return undefined;
  return (
    daysFromCivil(year, month, day) * 86_400_000 + hour * 3_600_000 + minute * 60_000 + second * 1000 + millis
  );
}

/** Days from 1970-01-01 to a date of the proleptic Gregorian calendar (a day past its month's end runs on, as in Date.UTC). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

/**
 * `Date.parse(text)`, the same number for every text (NaN for what is not a time); the plain
 * UTC spelling of usage records (`2026-12-06T16:30:04.192Z`) is read digit by digit.
 */
export function parseInstant(text: string): number {
  return plainUtcMillis(text) ?? Date.parse(text);
}

/** The last two times written, and their texts (a usage's size probe writes one, its message another). */
const times = [NaN, NaN];
const texts = ['', ''];
let next = 0;

/**
 * `date.toISOString()`, remembered for the last two times asked: the rated records of a batch
 * share their debit's time, and each is written twice (its size probe, at a time of its own,
 * and its message). Throws as toISOString does for an invalid date.
 */
export function isoString(date: Date): string {
  const time = date.getTime();
  if (time === times[0]) return texts[0]!;
  if (time === times[1]) return texts[1]!;
  const text = date.toISOString();
  times[next] = time;
  texts[next] = text;
  next = 1 - next;
  return text;
}
