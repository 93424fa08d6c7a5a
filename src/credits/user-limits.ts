import type { MinorUnits } from './wallet';

/**
 * Per-user monthly spend limits: what one user may spend of the tenant's credits in a calendar
 * month (UTC, by the call's start), credit-paid usage only. Pure: the ledger counts the spend,
 * the use cases decide with these.
 */

/** The longest user key the ledger keeps, in UTF-8 bytes (a longer id names no user to limit). */
export const MAX_USER_KEY_LENGTH = 256;

const utf8 = new TextEncoder();

/** A user key the ledger takes: not empty, at most MAX_USER_KEY_LENGTH bytes of UTF-8. */
export const isUserKey = (value: string) =>
  value.length > 0 && value.length <= MAX_USER_KEY_LENGTH && utf8.encode(value).length <= MAX_USER_KEY_LENGTH;

/** A user's limit: minor units, or `none` (no limit, whatever the tenant's default). */
export type UserLimit = MinorUnits | 'none';

const userKey = (value: unknown): string | undefined =>
  typeof value === 'string' && isUserKey(value) ? value : undefined;

/** The user a usage record is counted for: its `userId`, else its `userPrincipalName`, else none (''). */
export function userKeyOf(record: object): string {
  const r = record as { userId?: unknown; userPrincipalName?: unknown };
  return userKey(r.userId) ?? userKey(r.userPrincipalName) ?? '';
}

/** The limit that applies to a user: its own, else the default; undefined when none does. */
export function effectiveLimit(
  own: UserLimit | undefined,
  fallback: MinorUnits | undefined,
): MinorUnits | undefined {
  if (own === 'none') return undefined;
  return own ?? fallback;
}

/** What is left of a limit after the month's spend (never below zero); undefined without a limit. */
export function limitLeft(limit: MinorUnits | undefined, spent: MinorUnits): MinorUnits | undefined {
  if (limit === undefined) return undefined;
  return limit > spent ? limit - spent : 0n;
}

/**
 * The users whose month's spend is at or past the limit that applies to them, by name, at most
 * `max` of them (and how many more there are).
 */
export function usersAtLimit(
  users: ReadonlyMap<string, { own?: UserLimit; spent: MinorUnits }>,
  fallback: MinorUnits | undefined,
  max: number,
): { users: string[]; more: number } {
  const at: string[] = [];
  for (const [user, u] of users) {
    const limit = effectiveLimit(u.own, fallback);
    if (limit !== undefined && u.spent >= limit) at.push(user);
  }
  at.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { users: at.slice(0, max), more: Math.max(0, at.length - max) };
}
