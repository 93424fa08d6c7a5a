import type { DecodedUsageRecord } from '../consumers/cdr-decoder';
import type { UsagePricer } from '../consumers/pricing-port';
import type { CreditLedger } from '../ledger/ledger';

/** The longest call an authorization ever promises (a switch asks again for longer calls). */
export const MAX_AUTHORIZED_SECONDS = 24 * 3600;

export type AuthorizationReason =
  | 'emergency'
  | 'free'
  | 'postpaid'
  | 'covered'
  | 'unknown_tenant'
  | 'unrated_destination'
  | 'balance_depleted';

/** What a switch knows of a call before it connects it. */
export type CallToAuthorize = Pick<DecodedUsageRecord, 'tenantId' | 'callType' | 'startDateTime'> &
  Partial<
    Pick<
      DecodedUsageRecord,
      | 'calleeNumber'
      | 'callerNumber'
      | 'numberType'
      | 'licenseCapability'
      | 'usageCountryCode'
      | 'tenantCountryCode'
      | 'destinationContext'
    >
  >;

export interface Authorization {
  allowed: boolean;
  reason: AuthorizationReason;
  /** Most connected seconds the pool and balance pay for; null when not limited by money. */
  maxSeconds: number | null;
  balance?: { amountMinor: bigint; currency: string };
  poolSecondsLeft?: number;
}

/**
 * May this call start, and for how long? The balance (as of now, expired lots excluded) and
 * the pool come from the ledger's read-only snapshot; the seconds come from pricing the call
 * itself: the longest duration whose charge the balance covers, found by bisection over a
 * charge that never falls as the duration grows. Increments, connection fees, minimum
 * charges and pool minutes are therefore counted exactly as applying the usage would.
 */
export async function authorizeCall(
  ledger: CreditLedger,
  pricer: UsagePricer,
  call: CallToAuthorize,
  now = new Date(),
): Promise<Authorization> {
  if (call.callType === 'emergency') return { allowed: true, reason: 'emergency', maxSeconds: null };
  const probe = (duration: number): DecodedUsageRecord => ({
    ...call,
    id: 'authorization',
    duration,
  });
  const pool = pricer.poolFor(probe(0));
  const snapshot = await ledger.authorizationSnapshot(call.tenantId, pool?.pool ?? '', now);
  if ('refused' in snapshot) return { allowed: false, reason: 'unknown_tenant', maxSeconds: 0 };
  const { currency, balance, mode, poolSecondsLeft } = snapshot;
  const known = { balance: { amountMinor: balance, currency }, poolSecondsLeft };

  const chargeFor = (duration: number) => {
    const price = pricer.price(probe(duration), currency, poolSecondsLeft);
    return price.kind === 'unrated' ? undefined : price;
  };
  const longest = chargeFor(MAX_AUTHORIZED_SECONDS);
  if (!longest) return { allowed: false, reason: 'unrated_destination', maxSeconds: 0, ...known };
  if (longest.payment === 'free') return { allowed: true, reason: 'free', maxSeconds: null, ...known };
  if (mode === 'postpaid') return { allowed: true, reason: 'postpaid', maxSeconds: null, ...known };

  const affordable = (duration: number) => {
    const price = chargeFor(duration)!;
    return price.payment !== 'paid' || price.charge <= balance;
  };
  if (affordable(MAX_AUTHORIZED_SECONDS))
    return { allowed: true, reason: 'covered', maxSeconds: MAX_AUTHORIZED_SECONDS, ...known };
  if (!affordable(1)) return { allowed: false, reason: 'balance_depleted', maxSeconds: 0, ...known };
  let low = 1; // affordable
  let high = MAX_AUTHORIZED_SECONDS; // not affordable
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (affordable(middle)) low = middle;
    else high = middle;
  }
  return { allowed: true, reason: 'covered', maxSeconds: low, ...known };
}
