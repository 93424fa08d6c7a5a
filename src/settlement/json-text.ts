/**
 * JSON texts of single values, as JSON.stringify writes them, without its general walk where
 * the value is plain: the rated record and the fingerprint write a dozen short strings and
 * numbers per usage.
 */

/** Characters JSON.stringify writes as they are: a string of them is its JSON between quotes. */
const PLAIN = /^[\w+.:@ -]*$/;

/** `JSON.stringify(text)`. */
export const jsonString = (text: string): string => (PLAIN.test(text) ? `"${text}"` : JSON.stringify(text));

/**
 * `JSON.stringify(value ?? null)` for any value: a plain string or a finite number written
 * directly, anything else through JSON.stringify.
 */
export function jsonValue(value: unknown): string {
  if (typeof value === 'string') return jsonString(value);
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return JSON.stringify(value ?? null);
}
