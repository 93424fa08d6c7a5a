import type { DestinationContext, NumberType, ReportFields, ReportSource } from '../credits/usage-details';
import { CALL_TYPES, CallType } from '../rating';

/**
 * The storage encoding of a usage's report fields (ReportFields) in its idempotency record:
 * packed by applyUsage, unpacked by the reads. The packed text is the format stored since
 * reports were kept: data written before still reads.
 */

/**
 * The longest text each field keeps, in code points. The display name is free text and is cut
 * to its bound; any other field longer than its bound (an identifier, a number or a time, which
 * cut would name something else) is left out. Neither fails the usage.
 */
export const REPORT_BOUNDS = {
  callId: 64,
  conferenceId: 64,
  userId: 64,
  userPrincipalName: 128,
  userDisplayName: 64,
  callerNumber: 32,
  calleeNumber: 32,
  endDateTime: 40,
  licenseCapability: 64,
  usageCountryCode: 8,
} as const;

/**
 * The most UTF-8 bytes a packed report takes (a code point is at most 4 bytes, an escaped one
 * 3, a marker 1): the ledger refuses a longer text (MAX_REPORT in includes/applied.lua).
 */
export const MAX_REPORT_BYTES = 2560;

type TextField = keyof typeof REPORT_BOUNDS;
const ORDER = [
  'callId',
  'conferenceId',
  'userId',
  'userPrincipalName',
  'userDisplayName',
  'callerNumber',
  'calleeNumber',
  'callType',
  'numberType',
  'destinationContext',
  'endDateTime',
  'duration',
  'licenseCapability',
  'usageCountryCode',
] as const satisfies readonly (keyof ReportFields)[];
/** Identifiers that are usually GUIDs, kept in 23 bytes instead of 36. */
const IDS = new Set<keyof ReportFields>(['callId', 'conferenceId', 'userId']);

const CALL_TYPE_CODE = new Map<unknown, string>(
  CALL_TYPES.map((type, i) => [type, String.fromCharCode(97 + i)]),
);
const CALL_TYPE_OF = new Map<string, CallType>(
  CALL_TYPES.map((type, i) => [String.fromCharCode(97 + i), type]),
);
const NUMBER_TYPE_CODE = new Map<unknown, string>([
  ['subscriber', 's'],
  ['service', 'v'],
  ['tollFree', 't'],
]);
const NUMBER_TYPE_OF = new Map<string, NumberType>(
  [...NUMBER_TYPE_CODE].map(([t, c]) => [c, t as NumberType]),
);
const CONTEXT_CODE = new Map<unknown, string>([
  ['Domestic', 'D'],
  ['International', 'I'],
]);
const CONTEXT_OF = new Map<string, DestinationContext>([
  ['D', 'Domestic'],
  ['I', 'International'],
]);

/** Between the fields: '~', rare in them (the ledger's record is '|'-separated, so not that). */
const SEPARATOR = '~';
const TILDE = 0x7e;
// As packRated escapes, and the separator too: the text never holds '|' (the separator of the
// ledger's record), and no field holds '~'.
const SPECIAL = /[%|~]/;
const escape = (text: string) =>
  SPECIAL.test(text) ? text.replace(/%/g, '%25').replace(/\|/g, '%7C').replace(/~/g, '%7E') : text;
const unescape = (text: string) =>
  text.includes('%') ? text.replace(/%7C/g, '|').replace(/%7E/g, '~').replace(/%25/g, '%') : text;

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const GUID_UPPER = /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/;
const LOWER = '\u0001';
const UPPER = '\u0002';
const MARKED = '\u0003';

/** A GUID as a marker and its 16 bytes in base64url; another text starting with a marker gets one more. */
function compactId(id: string): string {
  if (id.length === 36) {
    if (GUID.test(id)) return LOWER + Buffer.from(id.replace(/-/g, ''), 'hex').toString('base64url');
    if (GUID_UPPER.test(id)) return UPPER + Buffer.from(id.replace(/-/g, ''), 'hex').toString('base64url');
  }
  const first = id[0];
  return first === LOWER || first === UPPER || first === MARKED ? MARKED + id : id;
}

function expandId(text: string): string {
  const marker = text[0];
  if (marker === MARKED) return text.slice(1);
  if (marker !== LOWER && marker !== UPPER) return text;
  const hex = Buffer.from(text.slice(1), 'base64url').toString('hex');
  const guid = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  return marker === UPPER ? guid.toUpperCase() : guid;
}

/** Code points of a text, counted only when its UTF-16 length could pass `max`. */
const codePoints = (text: string, max: number) => (text.length <= max ? text.length : [...text].length);

/** A text field as kept: '' when absent, empty, not a string, or too long (the display name: cut). */
function textOf(field: TextField, value: unknown): string {
  if (typeof value !== 'string' || value === '') return '';
  const max = REPORT_BOUNDS[field];
  if (codePoints(value, max) > max) {
    if (field !== 'userDisplayName') return '';
    value = [...value].slice(0, max).join('');
  }
  return escape(value as string);
}

/** An identifier field as kept: as textOf, a GUID in 23 bytes. */
function idOf(field: TextField, value: unknown): string {
  if (
    typeof value !== 'string' ||
    value === '' ||
    codePoints(value, REPORT_BOUNDS[field]) > REPORT_BOUNDS[field]
  )
    return '';
  return escape(compactId(value));
}

const durationOf = (duration: unknown) =>
  Number.isSafeInteger(duration) && (duration as number) >= 0 ? String(duration) : '';

/**
 * The report fields of `record`, packed: its fields in a fixed order, `~`-separated, without
 * names, trailing empty fields left out ('' when it has none). Enumerations are one letter,
 * GUID identifiers 23 bytes; '%', '|' and '~' in a field are escaped (%25, %7C, %7E), so the
 * text never contains '|', the separator of the ledger's record.
 * `derivedContext` is the destination context the rater derived, for a record without one.
 */
export function packReport(record: ReportSource, derivedContext?: DestinationContext): string {
  // One concatenation in ORDER (the consumer packs every usage: no array, no loop over names).
  const packed =
    idOf('callId', record.callId) +
    SEPARATOR +
    idOf('conferenceId', record.conferenceId) +
    SEPARATOR +
    idOf('userId', record.userId) +
    SEPARATOR +
    textOf('userPrincipalName', record.userPrincipalName) +
    SEPARATOR +
    textOf('userDisplayName', record.userDisplayName) +
    SEPARATOR +
    textOf('callerNumber', record.callerNumber) +
    SEPARATOR +
    textOf('calleeNumber', record.calleeNumber) +
    SEPARATOR +
    (CALL_TYPE_CODE.get(record.callType) ?? '') +
    SEPARATOR +
    (NUMBER_TYPE_CODE.get(record.numberType) ?? '') +
    SEPARATOR +
    (CONTEXT_CODE.get(record.destinationContext ?? derivedContext) ?? '') +
    SEPARATOR +
    textOf('endDateTime', record.endDateTime) +
    SEPARATOR +
    durationOf(record.duration) +
    SEPARATOR +
    textOf('licenseCapability', record.licenseCapability) +
    SEPARATOR +
    textOf('usageCountryCode', record.usageCountryCode);
  // Fields never end in a bare separator (it is escaped): what trails is empty fields.
  let end = packed.length;
  while (end > 0 && packed.charCodeAt(end - 1) === TILDE) end--;
  return end === packed.length ? packed : packed.slice(0, end);
}

/** The fields `packReport` packed; {} for '' (a usage stored before reports were kept). */
export function unpackReport(text: string): ReportFields {
  const report: ReportFields = {};
  if (text === '') return report;
  const parts = text.split(SEPARATOR);
  const n = Math.min(parts.length, ORDER.length);
  for (let i = 0; i < n; i++) {
    const part = parts[i]!;
    if (part === '') continue;
    const name = ORDER[i]!;
    if (name === 'callType') {
      const type = CALL_TYPE_OF.get(part);
      if (type) report.callType = type;
    } else if (name === 'numberType') {
      const type = NUMBER_TYPE_OF.get(part);
      if (type) report.numberType = type;
    } else if (name === 'destinationContext') {
      const context = CONTEXT_OF.get(part);
      if (context) report.destinationContext = context;
    } else if (name === 'duration') report.duration = Number(part);
    else {
      const value = unescape(part);
      report[name] = IDS.has(name) ? expandId(value) : value;
    }
  }
  return report;
}
