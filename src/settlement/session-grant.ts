import type { SessionSnapshot } from '../credits/call-session';
import type { UsageRecord } from '../rating';
import {
  longestAffordable,
  type AuthorizationReason,
  type CallToAuthorize,
  type Quote,
} from './authorize-call';
import type { UsagePricer } from './ports';

/** Why a session's start or renewal is answered as it is: the authorization's reasons and one more. */
export type SessionReason = AuthorizationReason | 'concurrent_calls';

/** A call session's next grant, priced from a snapshot of the ledger (call-sessions.ts proposes it). */
export interface Grant {
  allowed: boolean;
  reason: SessionReason;
  grantedSeconds: number;
  amount: bigint;
  poolSeconds: number;
  creditPaid: boolean;
  usedCost: bigint;
  usedPoolSeconds: number;
  international: boolean;
}

const affordable = (quote: Quote, budget: bigint) => quote.payment !== 'paid' || quote.charge <= budget;

/**
 * The next grant of a call that has used `used` seconds and holds `own` (its reservation and
 * pool seconds): the whole call so far plus the grant is priced as one call, so increments,
 * connection fee, minimum charge and pool minutes count as the CDR will count them. A
 * credit-paid call reserves the price; where the budget (the balance plus the overdraft less
 * what the other sessions hold, and less when the user's spend limit leaves less) does not
 * pay a whole chunk, the grant is the longest the budget pays for. Postpaid, free and
 * pool-covered calls hold no money (pool seconds only).
 */
export function priceGrant(
  pricer: UsagePricer,
  call: CallToAuthorize,
  snapshot: SessionSnapshot,
  used: number,
  own: { held: bigint; poolSeconds: number },
  chunk: number,
): Grant {
  const probe = (duration: number): UsageRecord => ({ ...call, id: 'session', duration });
  const poolLeft = Math.max(
    0,
    snapshot.pool.capacity - snapshot.pool.used - snapshot.pool.held + own.poolSeconds,
  );
  const price = (duration: number) => pricer.price(probe(duration), snapshot.currency, poolLeft);
  const total = used + chunk;
  const whole = price(total);
  const none = { grantedSeconds: 0, amount: own.held, poolSeconds: own.poolSeconds, creditPaid: false };
  if (whole.kind === 'unrated')
    return {
      ...none,
      allowed: false,
      reason: 'unrated_destination',
      usedCost: 0n,
      usedPoolSeconds: 0,
      international: false,
    };
  const international = (call.destinationContext ?? whole.destinationContext) === 'International';
  const usedPrice = price(used);
  const usedCost =
    usedPrice.kind === 'priced' && usedPrice.payment === 'paid' && snapshot.mode === 'prepaid'
      ? usedPrice.charge
      : 0n;
  const usedPoolSeconds = usedPrice.kind === 'priced' ? usedPrice.poolSeconds : 0;
  const base = { usedCost, usedPoolSeconds, international };
  const free = (reason: SessionReason) => ({
    ...base,
    allowed: true,
    reason,
    grantedSeconds: chunk,
    amount: 0n,
    poolSeconds: whole.poolSeconds,
    creditPaid: false,
  });
  if (whole.payment === 'free') return free('free');
  if (snapshot.mode === 'postpaid') return free('postpaid');
  if (whole.payment === 'bundle') return free('covered');
  const refuse = (reason: SessionReason): Grant => ({
    ...none,
    ...base,
    allowed: false,
    reason,
    creditPaid: true,
  });
  if (snapshot.userBlocked !== undefined) return refuse('user_blocked');
  let budget = snapshot.balance + snapshot.overdraft - (snapshot.held - own.held);
  let limitedBy: SessionReason = 'balance_depleted';
  if (snapshot.userLimit) {
    const left = snapshot.userLimit.limit - snapshot.userLimit.spent - (snapshot.userHeld - own.held);
    if (left < budget) {
      budget = left;
      limitedBy = 'user_spend_limit';
    }
  }
  const grant = (duration: number, quote: Quote & { poolSeconds: number }): Grant => ({
    ...base,
    allowed: true,
    reason: 'covered',
    grantedSeconds: duration - used,
    amount: quote.payment === 'paid' ? quote.charge : 0n,
    poolSeconds: quote.poolSeconds,
    creditPaid: true,
  });
  if (affordable(whole, budget)) return grant(total, whole);
  const quote = (duration: number) => {
    const q = price(duration);
    if (q.kind === 'unrated') throw new Error(`unrated at ${duration} s: ${q.reason}`);
    return q;
  };
  const shortest = quote(1);
  if (!affordable(shortest, budget)) return refuse(limitedBy);
  const longest = longestAffordable(quote, budget, shortest, whole, total);
  if (longest <= used) return refuse(limitedBy);
  return grant(longest, quote(longest));
}

export function emergencyGrant(chunk: number): Grant {
  return {
    allowed: true,
    reason: 'emergency',
    grantedSeconds: chunk,
    amount: 0n,
    poolSeconds: 0,
    creditPaid: false,
    usedCost: 0n,
    usedPoolSeconds: 0,
    international: false,
  };
}
