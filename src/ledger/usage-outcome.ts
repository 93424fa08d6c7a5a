import type { ReportFields } from '../credits/usage-details';
import type { LotDraw, UsageKey, UsageOutcome, UsageSource } from '../credits/wallet';
import { unpackReport } from './report-encoding';
import { storedDetails, unpackRated } from './usage-encoding';

/**
 * Applied usages' idempotency records as the scripts keep and reply them
 * (src/ledger/commands/includes/applied.lua): bucketed by the call's UTC start day, packed.
 */

export const DAY_MS = 86_400_000;

/** Where a usage's record lives: its call's UTC start day (days since 1970) and second in it. */
export function startDay(start: Date): { day: number; second: number; month: string } {
  const ms = start.getTime();
  if (!Number.isFinite(ms)) throw new RangeError('the call has no valid start');
  const day = Math.floor(ms / DAY_MS);
  return { day, second: Math.floor((ms - day * DAY_MS) / 1000), month: monthOfDay(day) };
}

/** Months of recent day numbers: most usages of a batch start on a few days. */
const months = new Map<number, string>();

/** The UTC month (`yyyy-mm`) of a day number. */
export function monthOfDay(day: number): string {
  let month = months.get(day);
  if (month === undefined) {
    month = new Date(day * DAY_MS).toISOString().slice(0, 7);
    if (months.size >= 4096) months.clear();
    months.set(day, month);
  }
  return month;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const GUID_UPPER = /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/;
const LOWER = '\u0001';
const UPPER = '\u0002';
const ESCAPED = '\u0003';

/**
 * A usage id as its idempotency record keeps it: a GUID (the usage ids of most telephony
 * platforms) in 23 bytes instead of 36, a marker and its 16 bytes in base64url; any other id
 * as it is, but one that starts with a marker gets one more in front. One to one, so the
 * listing reads the ids back (`usageIdOf`).
 */
export function storedUsageId(id: string): string {
  if (GUID.test(id)) return LOWER + Buffer.from(id.replace(/-/g, ''), 'hex').toString('base64url');
  if (GUID_UPPER.test(id)) return UPPER + Buffer.from(id.replace(/-/g, ''), 'hex').toString('base64url');
  return id[0] === LOWER || id[0] === UPPER || id[0] === ESCAPED ? ESCAPED + id : id;
}

/** The usage id a stored one stands for. */
export function usageIdOf(stored: string): string {
  const marker = stored[0];
  if (marker === ESCAPED) return stored.slice(1);
  if (marker !== LOWER && marker !== UPPER) return stored;
  const hex = Buffer.from(stored.slice(1), 'base64url').toString('hex');
  const guid = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  return marker === UPPER ? guid.toUpperCase() : guid;
}

/** The stored id when it differs from the id ('' when the same), as the scripts take it. */
export const storedIfOther = (id: string) => {
  const stored = storedUsageId(id);
  return stored === id ? '' : stored;
};

/** The records of `keys` as the lookup script takes them: `[id, stored id, day, month]`. */
export const lookupArgs = (keys: UsageKey[]) =>
  JSON.stringify(
    keys.map(({ id, start }) => {
      const { day, month } = startDay(start);
      return [id, storedIfOther(id), day, month];
    }),
  );

const SOURCES: Record<string, UsageSource> = { c: 'credits', p: 'postpaid', b: 'bundle', f: 'free' };

/** A record stored before records were packed: JSON in the legacy hash. */
interface LegacyOutcome {
  src: UsageSource;
  charge: string;
  pool: string;
  poolSec: string;
  period: string;
  lots: [string, string][] | Record<string, never>;
  at: string;
  rv: string;
  r?: string;
}

/** A legacy JSON record; `start` is the call's, which it does not keep. */
export function parseLegacyOutcome(json: string, start: Date): UsageOutcome {
  const raw = JSON.parse(json) as LegacyOutcome;
  // Lua's cjson encodes an empty list as {}.
  const lots = Array.isArray(raw.lots) ? raw.lots : [];
  // Packed whole then: the eight fields as one.
  const details = raw.r ? unpackRated(raw.r) : undefined;
  return {
    source: raw.src,
    charge: BigInt(raw.charge),
    pool: raw.pool,
    poolSeconds: Number(raw.poolSec),
    period: raw.period,
    lots: lots.map(([lotId, amount]) => ({ lotId, amount: BigInt(amount) })),
    start,
    appliedAt: new Date(Number(raw.at)),
    revision: raw.rv,
    ...(details ? { details } : {}),
    report: {},
  };
}

/**
 * A record as a script replies it: `[format, value, shared, lots]`, with `shared` the interned
 * `<pool>|<details shared>` resolved and `lots` flat (lot id, amount, ...). `day` is the call's
 * start day; for a legacy record, `start` is the call's start.
 */
export function parseRecord(reply: unknown, day: number, start?: Date): UsageOutcome {
  const [format, value, shared, lots] = reply as [string, string, string, string[]];
  if (format === 'v1') return parseLegacyOutcome(value, start ?? new Date(day * DAY_MS));
  const parts = value.split('|');
  const bar = shared.indexOf('|');
  const started = day * DAY_MS + Number(parts[4]) * 1000;
  const draws: LotDraw[] = [];
  for (let i = 0; i < lots.length; i += 2) draws.push({ lotId: lots[i]!, amount: BigInt(lots[i + 1]!) });
  const own = parts.slice(7, 10).join('|');
  const details = own === '||' ? undefined : storedDetails(own, bar < 0 ? '' : shared.slice(bar + 1));
  // After the revision and previous charge ('' until re-rated); none in a record stored before.
  const packedReport = parts[12] ?? '';
  let report: ReportFields | undefined;
  return {
    source: SOURCES[parts[0]!]!,
    charge: BigInt(parts[1]!),
    pool: bar < 0 ? '' : shared.slice(0, bar),
    poolSeconds: Number(parts[2]),
    period: monthOfDay(day),
    lots: draws,
    start: new Date(started),
    appliedAt: new Date(started + Number(parts[5])),
    revision: parts[10] ?? '',
    ...(parts[10] ? { previousCharge: BigInt(parts[11] || '0') } : {}),
    ...(details ? { details } : {}),
    // Unpacked when read: settling a repeat needs only the details.
    get report() {
      return (report ??= unpackReport(packedReport));
    },
  };
}
