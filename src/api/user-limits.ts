import { decimalToMinor } from '../credits/money';
import {
  burstGuardProblem,
  effectiveLimit,
  isUserKey,
  limitLeft,
  userKeyProblem,
  type BurstGuard,
  type ConcurrentCalls,
  type UserLimit,
  type UserLimitsView,
} from '../credits/user-limits';

const caps = (asked: UserLimitsRequest['concurrentCalls']): ConcurrentCalls | null =>
  asked
    ? {
        ...(typeof asked.perTenant === 'number' ? { perTenant: asked.perTenant } : {}),
        ...(typeof asked.perUser === 'number' ? { perUser: asked.perUser } : {}),
      }
    : null;
import type { MinorUnits } from '../credits/wallet';
import { tooPrecise } from './money';

/**
 * The per-user spend limits as the admin API and the console both take and show them: one
 * conversion of a requested change into the ledger's, and one listing of the users.
 */

/** A change as asked for: decimal strings of the tenant's currency, `none`, or null (removed). */
export interface UserLimitsRequest {
  default?: string | null;
  users?: Record<string, string | null>;
  /** The burst guard: null turns it off; a threshold null or absent is not checked. */
  burstGuard?: {
    windowMinutes: number;
    maxInternationalCalls?: number | null;
    maxSpend?: string | null;
  } | null;
  /** The caps on live credit-paid call sessions: null removes them, a cap null or absent is none. */
  concurrentCalls?: { perTenant?: number | null; perUser?: number | null } | null;
}

/** The change the ledger's setUserLimits takes: minor units of the currency. */
export interface UserLimitsChange {
  currency: string;
  default?: MinorUnits | null;
  users: Record<string, UserLimit | null>;
  burstGuard?: BurstGuard | null;
  concurrentCalls?: ConcurrentCalls | null;
}

/** How the asker names its fields in a refusal (`body/default`, or a form's `default`). */
export interface UserLimitsFields {
  default: string;
  /** The users as a whole (a user key the ledger cannot keep). */
  users: string;
  user: (user: string) => string;
  /** The burst guard's fields are named `<burstGuard>/<field>`. */
  burstGuard: string;
}

/**
 * The request as the ledger's change, or the first problem naming its field: a user key the
 * ledger cannot keep, an amount finer than the currency, or a burst guard out of bounds. The amounts' form (digits, a point)
 * is the caller's schema's to check.
 */
export function userLimitsChange(
  currency: string,
  request: UserLimitsRequest,
  fields: UserLimitsFields,
): { change: UserLimitsChange } | { problem: string } {
  const users = Object.entries(request.users ?? {});
  const bad = users.find(([user]) => !isUserKey(user));
  if (bad) {
    // The key as a JSON string (a lone surrogate shown escaped), its start only when long.
    const shown = bad[0].length > 40 ? `${JSON.stringify(bad[0].slice(0, 40))}...` : JSON.stringify(bad[0]);
    return { problem: `${fields.users}: the user key ${shown} ${userKeyProblem(bad[0])}` };
  }
  const amounts: Record<string, string | undefined> = { [fields.default]: request.default ?? undefined };
  for (const [user, value] of users)
    if (value !== null && value !== 'none') amounts[fields.user(user)] = value;
  const g = request.burstGuard;
  if (g?.maxSpend) amounts[`${fields.burstGuard}/maxSpend`] = g.maxSpend;
  const imprecise = tooPrecise(currency, amounts);
  if (imprecise) return { problem: imprecise };
  const burstGuard: BurstGuard | null | undefined =
    g &&
    ({
      windowMinutes: g.windowMinutes,
      ...(typeof g.maxInternationalCalls === 'number'
        ? { maxInternationalCalls: g.maxInternationalCalls }
        : {}),
      ...(g.maxSpend ? { maxSpend: decimalToMinor(g.maxSpend, currency) } : {}),
    } satisfies BurstGuard);
  const problem = burstGuard && burstGuardProblem(burstGuard, fields.burstGuard);
  if (problem) return { problem };
  const limit = (value: string | null): UserLimit | null =>
    value === null || value === 'none' ? value : decimalToMinor(value, currency);
  return {
    change: {
      currency,
      ...(request.default !== undefined
        ? { default: request.default === null ? null : decimalToMinor(request.default, currency) }
        : {}),
      users: Object.fromEntries(users.map(([user, value]) => [user, limit(value)])),
      ...(burstGuard !== undefined ? { burstGuard } : {}),
      ...(request.concurrentCalls !== undefined ? { concurrentCalls: caps(request.concurrentCalls) } : {}),
    },
  };
}

/** One user's line: the limit that applies and where it comes from, the spend, what is left. */
export interface UserLimitRow {
  user: string;
  limit?: MinorUnits;
  limitFrom: 'user' | 'default' | 'none';
  spent: MinorUnits;
  left?: MinorUnits;
  reached: boolean;
}

/** Every user the ledger lists (a limit of their own or a spend this month), by user key. */
export function userLimitRows(limits: UserLimitsView): UserLimitRow[] {
  return [...limits.users.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([user, u]) => {
      const limit = effectiveLimit(u.own, limits.default);
      const left = limitLeft(limit, u.spent);
      return {
        user,
        ...(limit !== undefined ? { limit } : {}),
        limitFrom:
          u.own !== undefined
            ? u.own === 'none'
              ? 'none'
              : 'user'
            : limit !== undefined
              ? 'default'
              : 'none',
        spent: u.spent,
        ...(left !== undefined ? { left } : {}),
        reached: u.reached,
      };
    });
}
