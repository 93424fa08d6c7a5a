import { limitLeft, userKeyOf } from '../credits/user-limits';
import type { UsageRecord } from '../rating';
import type { AuthorizationLedger, PricedUsage, UsagePricer } from './ports';

/** The longest call an authorization ever promises (a switch asks again for longer calls). */
export const MAX_AUTHORIZED_SECONDS = 24 * 3600;

export type AuthorizationReason =
  | 'emergency'
  | 'free'
  | 'postpaid'
  | 'covered'
  | 'unknown_tenant'
  | 'unrated_destination'
  | 'balance_depleted'
  | 'user_blocked'
  | 'user_spend_limit';

/** What a switch knows of a call before it connects it. */
export type CallToAuthorize = Pick<UsageRecord, 'tenantId' | 'callType' | 'startDateTime'> &
  Partial<
    Pick<
      UsageRecord,
      | 'calleeNumber'
      | 'callerNumber'
      | 'numberType'
      | 'licenseCapability'
      | 'usageCountryCode'
      | 'tenantCountryCode'
      | 'destinationContext'
    >
  > & { userId?: unknown; userPrincipalName?: unknown };

export interface Authorization {
  allowed: boolean;
  reason: AuthorizationReason;
  /** Most connected seconds the pool and balance pay for; null when not limited by money. */
  maxSeconds: number | null;
  balance?: { amountMinor: bigint; currency: string };
  poolSecondsLeft?: number;
  /** What is left of the user's monthly spend limit, when the user has one. */
  userLimitLeft?: bigint;
}

/** What the search needs of a price. */
export type Quote = Pick<PricedUsage, 'payment' | 'charge' | 'billedSeconds'>;

/**
 * May this call start, and for how long? The balance (as of now, expired lots excluded) and
 * the pool come from the ledger's read-only snapshot; the seconds come from pricing the call
 * itself (`longestAffordable`), so increments, connection fees, minimum charges and pool
 * minutes are counted exactly as applying the usage would. A credit-paid call is paid from
 * the lesser of the balance and what is left of the user's monthly spend limit: refused with
 * `user_spend_limit` when the limit leaves less than the shortest call, capped by it otherwise.
 * A user the burst guard blocked has no credits to spend (`user_blocked`, before the limit):
 * free, postpaid and pool-covered seconds are still allowed.
 */
export async function authorizeCall(
  ledger: AuthorizationLedger,
  pricer: UsagePricer,
  call: CallToAuthorize,
  now = new Date(),
): Promise<Authorization> {
  if (call.callType === 'emergency') return { allowed: true, reason: 'emergency', maxSeconds: null };
  const probe = (duration: number): UsageRecord => ({ ...call, id: 'authorization', duration });
  const pool = pricer.poolFor(probe(0));
  const snapshot = await ledger.authorizationSnapshot(call.tenantId, pool?.pool ?? '', now, userKeyOf(call));
  if ('refused' in snapshot) return { allowed: false, reason: 'unknown_tenant', maxSeconds: 0 };
  const { currency, balance, mode, poolSecondsLeft } = snapshot;
  const left = limitLeft(snapshot.userLimit?.limit, snapshot.userLimit?.spent ?? 0n);
  const known = {
    balance: { amountMinor: balance, currency },
    poolSecondsLeft,
    ...(left !== undefined ? { userLimitLeft: left } : {}),
  };
  // What a credit-paid call may spend: the balance, or less when the user's limit leaves less.
  const blocked = snapshot.userBlocked !== undefined;
  const budget = blocked ? 0n : left !== undefined && left < balance ? left : balance;
  const limitedBy = blocked ? 'user_blocked' : budget < balance ? 'user_spend_limit' : 'balance_depleted';

  const longest = pricer.price(probe(MAX_AUTHORIZED_SECONDS), currency, poolSecondsLeft);
  if (longest.kind === 'unrated')
    return { allowed: false, reason: 'unrated_destination', maxSeconds: 0, ...known };
  if (longest.payment === 'free') return { allowed: true, reason: 'free', maxSeconds: null, ...known };
  if (mode === 'postpaid') return { allowed: true, reason: 'postpaid', maxSeconds: null, ...known };
  if (affordable(longest, budget))
    return { allowed: true, reason: 'covered', maxSeconds: MAX_AUTHORIZED_SECONDS, ...known };
  const quote = (duration: number): Quote => {
    const price = pricer.price(probe(duration), currency, poolSecondsLeft);
    // A destination rated for the longest call is rated for every duration.
    if (price.kind === 'unrated') throw new Error(`unrated at ${duration} s: ${price.reason}`);
    return price;
  };
  const shortest = quote(1);
  if (!affordable(shortest, budget)) return { allowed: false, reason: limitedBy, maxSeconds: 0, ...known };
  const maxSeconds = longestAffordable(quote, budget, shortest, longest, MAX_AUTHORIZED_SECONDS);
  return { allowed: true, reason: 'covered', maxSeconds, ...known };
}

/** Interpolated guesses before the search falls back to bisection. */
const MAX_GUESSES = 3;

const affordable = (quote: Quote, balance: bigint) => quote.payment !== 'paid' || quote.charge <= balance;
const cost = (quote: Quote) => (quote.payment === 'paid' ? quote.charge : 0n);

/**
 * The longest duration the balance pays for, given that 1 second is affordable (`shortest`)
 * and `max` seconds are not (`longest`), and that the charge never falls as the duration
 * grows. Exact, as bisection over the seconds would be: the answer was quoted affordable and
 * the second after it unaffordable, both by the pricer. But it takes 3 to 5 quotes for most
 * calls instead of bisection's 17 (pricing made half the garbage of the authorization load):
 *   - a duration costs what its billed seconds cost (a call is billed in whole increments),
 *     so an affordable quote raises the lower bound to the end of its billed block;
 *   - the charge grows about linearly with the seconds paid, so the next duration is
 *     interpolated where the bounds' charges (bigint) reach the balance, one block early so
 *     that it lands in the last affordable block; the second after the new lower bound is
 *     quoted next, and when that is unaffordable the search is over;
 *   - after MAX_GUESSES guesses (pools and minimum charges bend the line) it bisects;
 *   - a lower bound raised to a block's end is quoted at the end, and should the pricer have
 *     charged more within the block, the quoted bounds are bisected instead.
 */
export function longestAffordable(
  quote: (duration: number) => Quote,
  balance: bigint,
  shortest: Quote,
  longest: Quote,
  max: number,
): number {
  let low = 1;
  let lowCost = cost(shortest);
  let lowQuoted = 1; // the longest duration quoted affordable
  let high = max;
  let highCost = cost(longest);
  const block = Math.max(1, Math.min(shortest.billedSeconds, max - 1));
  const raise = (duration: number, q: Quote) => {
    lowQuoted = duration;
    low = q.billedSeconds > duration && q.billedSeconds < high ? q.billedSeconds : duration;
    lowCost = cost(q);
  };
  raise(1, shortest);
  let guesses = MAX_GUESSES; // then bisection only
  let check = false; // quote the second after the lower bound next
  while (high - low > 1) {
    const width = high - low;
    let duration: number;
    const guess: boolean = !check && guesses > 0 && lowCost <= balance && lowCost < highCost;
    if (check) duration = low + 1;
    else if (guess) {
      const crossing = Number(((balance - lowCost) * BigInt(width)) / (highCost - lowCost));
      duration = low + crossing - block + 1;
    } else duration = low + Math.floor(width / 2);
    duration = Math.min(high - 1, Math.max(low + 1, duration));
    const next = duration === low + 1;
    const q = quote(duration);
    check = false;
    if (affordable(q, balance)) {
      raise(duration, q);
      check = guess && !next;
    } else {
      high = duration;
      highCost = cost(q);
    }
    if (guess) guesses -= 1;
  }
  if (low !== lowQuoted && !affordable(quote(low), balance)) {
    // The pricer charged more within one billed block: bisect the quoted bounds instead.
    high = low;
    low = lowQuoted;
    while (high - low > 1) {
      const middle = low + Math.floor((high - low) / 2);
      if (affordable(quote(middle), balance)) low = middle;
      else high = middle;
    }
  }
  return low;
}
