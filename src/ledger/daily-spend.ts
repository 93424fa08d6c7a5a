import type { MinorUnits } from '../credits/wallet';
import { DAY_MS } from './usage-outcome';

/**
 * A tenant's daily spend as the scripts keep it (includes/totals.lua): in its usage totals
 * hash, one field per slot and source, `daily:<day mod 64>:<source>` = `<day>|<minor units>`,
 * day the UTC day (days since 1970) the usages were applied on the ledger's clock.
 */
export const DAILY_SLOTS = 64;
/** The days a read may ask for: 64 slots hold 62 whole days back from today, and today. */
export const MAX_SPEND_DAYS = 62;
export const SPEND_SOURCES = ['credits', 'postpaid'] as const;
export type SpendSource = (typeof SPEND_SOURCES)[number];

import type { DailySpend } from '../credits/forecast';

export type { DailySpend };

/** The field of a day's slot for a source. */
export const dailyField = (day: number, source: SpendSource) =>
  `daily:${((day % DAILY_SLOTS) + DAILY_SLOTS) % DAILY_SLOTS}:${source}`;

/** Whether a totals field is a daily slot (not a period's total). */
export const isDailyField = (field: string) => field.startsWith('daily:');

/** What a slot holds for `day`: its amount when it holds that day, 0 when empty or another day's. */
export function slotAmount(raw: string | null | undefined, day: number): MinorUnits {
  if (!raw) return 0n;
  const bar = raw.indexOf('|');
  return bar > 0 && Number(raw.slice(0, bar)) === day ? BigInt(raw.slice(bar + 1)) : 0n;
}

/** The day numbers of the `days` days ending with `now`'s UTC day, oldest first. */
export function spendDays(now: Date, days: number): number[] {
  if (!Number.isInteger(days) || days < 1 || days > MAX_SPEND_DAYS)
    throw new RangeError(`days must be a whole number from 1 to ${MAX_SPEND_DAYS}, got ${days}`);
  const ms = now.getTime();
  if (!Number.isFinite(ms)) throw new RangeError('now is not a valid date');
  const today = Math.floor(ms / DAY_MS);
  return Array.from({ length: days }, (_, i) => today - days + 1 + i);
}

/** `yyyy-mm-dd` of a day number. */
export const dayText = (day: number) => new Date(day * DAY_MS).toISOString().slice(0, 10);

/** The fields to read for `days` (credits and postpaid of each, in that order). */
export const spendFields = (days: number[]) =>
  days.flatMap((day) => SPEND_SOURCES.map((source) => dailyField(day, source)));

/** The series from the values of `spendFields(days)`, in the same order. */
export function spendSeries(days: number[], values: (string | null)[]): DailySpend[] {
  return days.map((day, i) => ({
    day: dayText(day),
    credits: slotAmount(values[2 * i], day),
    postpaid: slotAmount(values[2 * i + 1], day),
  }));
}
