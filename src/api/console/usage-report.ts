import { stringify } from 'csv-stringify/sync';
import { minorToDecimal } from '../../credits/money';
import type { UsageSource } from '../../credits/wallet';
import { sortNatural } from './words';

/** One applied usage as the usage report shows it: the ledger's outcome and the call's fields. */
export interface ReportRow {
  usageId: string;
  callId: string;
  conferenceId: string;
  userLocation: string;
  userId: string;
  userPrincipalName: string;
  userDisplayName: string;
  callerNumber: string;
  calleeNumber: string;
  callType: string;
  numberType: string;
  destinationContext: string;
  destinationName: string;
  startedAt: Date;
  endedAt: string;
  duration: number | undefined;
  billedSeconds: number | undefined;
  poolSeconds: number;
  charge: bigint;
  connectionCharge: bigint;
  currency: string;
  capability: string;
  source: UsageSource;
}

/** What the report is filtered by; empty fields filter nothing. */
export interface ReportFilter {
  user?: string;
  callType?: string;
  destination?: string;
  source?: string;
}

const contains = (text: string, part: string) => text.toLowerCase().includes(part.toLowerCase());

/**
 * The rows a filter keeps: `user` matches the user id, principal name or display name (part of
 * it, any case); `destination` the destination's name or the number called (part of it);
 * `callType` and `source` exactly.
 */
export function filterRows(rows: ReportRow[], filter: ReportFilter): ReportRow[] {
  const user = filter.user?.trim();
  const destination = filter.destination?.trim();
  return rows.filter(
    (row) =>
      (!user ||
        contains(row.userId, user) ||
        contains(row.userPrincipalName, user) ||
        contains(row.userDisplayName, user)) &&
      (!destination ||
        contains(row.destinationName, destination) ||
        row.calleeNumber.includes(destination)) &&
      (!filter.callType || row.callType === filter.callType) &&
      (!filter.source || row.source === filter.source),
  );
}

/** The filtered rows' totals: calls, seconds, and money (charge plus connection fees). */
export function totalsOf(rows: ReportRow[]) {
  let charge = 0n;
  let connection = 0n;
  let seconds = 0;
  let poolSeconds = 0;
  for (const row of rows) {
    charge += row.charge;
    connection += row.connectionCharge;
    seconds += row.duration ?? 0;
    poolSeconds += row.poolSeconds;
  }
  return { calls: rows.length, charge, connection, seconds, poolSeconds };
}

/** The name a report shows for a row's user: the principal name, else the display name, else the id. */
export const userLabel = (row: ReportRow) => row.userPrincipalName || row.userDisplayName || row.userId;

/** The filtered rows' totals for each user, in the natural order of their names (user2 before user10). */
export function totalsByUser(
  rows: ReportRow[],
): { user: string; calls: number; seconds: number; charge: bigint }[] {
  const by = new Map<string, ReportRow[]>();
  for (const row of rows) {
    const user = userLabel(row);
    const list = by.get(user);
    if (list) list.push(row);
    else by.set(user, [row]);
  }
  return sortNatural([...by.keys()], (user) => user).map((user) => {
    const { calls, seconds, charge } = totalsOf(by.get(user)!);
    return { user, calls, seconds, charge };
  });
}

/**
 * The CSV's columns: the Teams PSTN usage report's, in its order and with its headings, then
 * the rater's own (billed seconds, pool seconds, where the money came from).
 */
export const CSV_COLUMNS: [string, (row: ReportRow) => string][] = [
  ['UsageId', (r) => r.usageId],
  ['Call ID', (r) => r.callId],
  ['Conference ID', (r) => r.conferenceId],
  ['User Location', (r) => r.userLocation],
  ['AAD ObjectId', (r) => r.userId],
  ['UPN', (r) => r.userPrincipalName],
  ['User Display Name', (r) => r.userDisplayName],
  ['Caller ID', (r) => r.callerNumber],
  ['Call Type', (r) => r.callType],
  ['Number Type', (r) => r.numberType],
  ['Domestic/International', (r) => r.destinationContext],
  ['Destination Dialed', (r) => r.destinationName],
  ['Destination Number', (r) => r.calleeNumber],
  ['Start time', (r) => r.startedAt.toISOString()],
  ['End time', (r) => r.endedAt],
  ['Duration Seconds', (r) => (r.duration === undefined ? '' : String(r.duration))],
  ['Connection Fee', (r) => minorToDecimal(r.connectionCharge.toString(), r.currency)],
  ['Charge', (r) => minorToDecimal(r.charge.toString(), r.currency)],
  ['Currency', (r) => r.currency],
  ['Capability', (r) => r.capability],
  ['Billed Seconds', (r) => (r.billedSeconds === undefined ? '' : String(r.billedSeconds))],
  ['Pool Seconds', (r) => String(r.poolSeconds)],
  ['Source', (r) => r.source],
];

/**
 * The report as CSV (RFC 4180, csv-stringify): a header line, then one line a usage. A cell
 * holding a comma, a quote, a CR or an LF is quoted (csv-stringify quotes only CRLF, the record
 * delimiter, unless told: a lone CR or LF would otherwise split the row). Every line start a
 * spreadsheet would run as a formula (=, +, -, @, tab, CR first) is prefixed with a quote mark,
 * the cell's start and the start of each line inside it, except a whole cell that is a number
 * or an E.164 number, which is data.
 */
export function reportCsv(rows: ReportRow[], header = true): string {
  const cells = rows.map((row) => CSV_COLUMNS.map(([, cell]) => neutralise(cell(row))));
  return stringify(header ? [CSV_COLUMNS.map(([name]) => name), ...cells] : cells, {
    eof: true,
    record_delimiter: 'windows',
    quoted_match: /[\r\n]/,
  });
}

const NUMERIC = /^[+-]?\d+(\.\d+)?$/;
const FORMULA_START = /^[=+\-@\t\r]/;
/** The cell with a quote mark before its start and each line's start that could start a formula. */
const neutralise = (cell: string) =>
  (FORMULA_START.test(cell) && !NUMERIC.test(cell) ? `'${cell}` : cell).replace(
    /([\r\n])(?=[=+\-@\t])/g,
    "$1'",
  );
