import type { MinorUnits } from './wallet';

/**
 * Per-user monthly spend limits: what one user may spend of the tenant's credits in a calendar
 * month (UTC, by the call's start), credit-paid usage only. Pure: the ledger counts the spend,
 * the use cases decide with these.
 */

/** The longest user key the ledger keeps, in UTF-8 bytes (a longer id names no user to limit). */
export const MAX_USER_KEY_LENGTH = 256;

const utf8 = new TextEncoder();

/** A lone UTF-16 surrogate: text that is not well-formed Unicode (UTF-8 cannot hold it as it is). */
const LONE_SURROGATE = /\p{Cs}/u;

/** Whether `value` holds a lone UTF-16 surrogate (is not well-formed Unicode). */
export const hasLoneSurrogate = (value: string) => LONE_SURROGATE.test(value);

/**
 * Why the ledger cannot take `value` as a user key, or undefined when it can: it must not be
 * empty, must be well-formed Unicode (a lone surrogate would be kept as U+FFFD, the same key
 * as others) and at most MAX_USER_KEY_LENGTH bytes of UTF-8.
 */
export function userKeyProblem(value: string): string | undefined {
  if (value.length === 0) return 'is empty';
  if (hasLoneSurrogate(value)) return 'is not well-formed Unicode (a lone UTF-16 surrogate)';
  // A UTF-16 unit is at most 3 bytes of UTF-8: a short key needs no counting.
  if (value.length * 3 <= MAX_USER_KEY_LENGTH) return undefined;
  if (value.length > MAX_USER_KEY_LENGTH || utf8.encode(value).length > MAX_USER_KEY_LENGTH)
    return `is over ${MAX_USER_KEY_LENGTH} bytes`;
  return undefined;
}

/** A user key the ledger takes (userKeyProblem finds nothing). */
export const isUserKey = (value: string) => userKeyProblem(value) === undefined;

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

/**
 * The burst guard (toll-fraud guard): a user whose credit-paid calls of the last
 * `windowMinutes` (by the calls' start) hold more than `maxInternationalCalls` international
 * calls or more than `maxSpend` is blocked until an admin clears it. A threshold absent is not
 * checked; with neither, the guard is off.
 */
export interface BurstGuard {
  windowMinutes: number;
  maxInternationalCalls?: number;
  maxSpend?: MinorUnits;
}

export const MAX_BURST_WINDOW_MINUTES = 1440;

/**
 * The most live credit-paid call sessions the tenant and each of its users may have at once
 * (a call past either is refused `concurrent_calls` at its start); absent: no cap.
 */
export interface ConcurrentCalls {
  perTenant?: number;
  perUser?: number;
}
export const MAX_CONCURRENT_CALLS = 1_000_000;

/** As the user limits hash keeps it (`calls`): `<per tenant>|<per user>`, '' for no cap. */
export const packConcurrentCalls = (caps: ConcurrentCalls) => `${caps.perTenant ?? ''}|${caps.perUser ?? ''}`;

export function unpackConcurrentCalls(value: string | undefined): ConcurrentCalls | undefined {
  const match = /^(\d*)\|(\d*)$/.exec(value ?? '');
  if (!match || (!Number(match[1]) && !Number(match[2]))) return undefined;
  return {
    ...(Number(match[1]) ? { perTenant: Number(match[1]) } : {}),
    ...(Number(match[2]) ? { perUser: Number(match[2]) } : {}),
  };
}
/** The most international calls a guard may allow (the ledger keeps it in 9 digits). */
export const MAX_BURST_CALLS = 999_999_999;

/** Why the guard blocked a user. */
export type BlockReason = 'international_calls' | 'spend';

export interface UserBlock {
  at: Date;
  reason: BlockReason;
}

/** What is wrong with a guard's figures, naming the field (`<prefix>/<field>`), or undefined. */
export function burstGuardProblem(guard: BurstGuard, prefix = 'burstGuard'): string | undefined {
  const { windowMinutes, maxInternationalCalls: calls, maxSpend } = guard;
  if (!Number.isInteger(windowMinutes) || windowMinutes < 1 || windowMinutes > MAX_BURST_WINDOW_MINUTES)
    return `${prefix}/windowMinutes must be an integer from 1 to ${MAX_BURST_WINDOW_MINUTES}`;
  if (calls !== undefined && (!Number.isInteger(calls) || calls < 1 || calls > MAX_BURST_CALLS))
    return `${prefix}/maxInternationalCalls must be an integer from 1 to ${MAX_BURST_CALLS}`;
  if (maxSpend !== undefined && maxSpend < 0n) return `${prefix}/maxSpend must not be negative`;
  return undefined;
}

/** A guard with neither threshold is off. */
export const isBurstGuardOn = (guard: BurstGuard | null | undefined): guard is BurstGuard =>
  !!guard && (guard.maxInternationalCalls !== undefined || guard.maxSpend !== undefined);

/** The guard as the ledger stores it: `<window minutes>|<max calls>|<max spend, minor units>`. */
export const packBurstGuard = (guard: BurstGuard) =>
  `${guard.windowMinutes}|${guard.maxInternationalCalls ?? ''}|${guard.maxSpend?.toString() ?? ''}`;

/** The stored guard, or undefined when off or not one. */
export function unpackBurstGuard(stored: string | undefined): BurstGuard | undefined {
  const match = /^(\d+)\|(\d*)\|(\d*)$/.exec(stored ?? '');
  if (!match || (match[2] === '' && match[3] === '')) return undefined;
  return {
    windowMinutes: Number(match[1]),
    ...(match[2] ? { maxInternationalCalls: Number(match[2]) } : {}),
    ...(match[3] ? { maxSpend: BigInt(match[3]) } : {}),
  };
}

/** A stored block (`<epoch ms>|<reason>`), or undefined when not one. */
export function unpackUserBlock(stored: string | undefined): UserBlock | undefined {
  const match = /^(\d+)\|(international_calls|spend)$/.exec(stored ?? '');
  return match ? { at: new Date(Number(match[1])), reason: match[2] as BlockReason } : undefined;
}

/** A user's limit of their own (none: the default applies) and spend in a month. */
export interface UserSpendView {
  own?: UserLimit;
  spent: MinorUnits;
  /** The limit was reached this month (credits.user.limit_reached went out). */
  reached: boolean;
}

export interface UserLimitsView {
  month: string;
  default?: MinorUnits;
  users: Map<string, UserSpendView>;
  /** The burst guard, when on. */
  burstGuard?: BurstGuard;
  /** The users the burst guard blocked, until an admin clears them. */
  blocked: Map<string, UserBlock>;
  /** The caps on live credit-paid call sessions, when set. */
  concurrentCalls?: ConcurrentCalls;
}
