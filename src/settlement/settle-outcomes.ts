import type { Rejection } from '../credits/codes';
import { formatMoney } from '../credits/money';
import type { RatedDetails } from '../credits/usage-details';
import type { MinorUnits, UsageOutcome, UsageSource } from '../credits/wallet';
import type { UsageRecord } from '../rating';
import type { LedgerRefusal, Unrated } from './ports';

/** What the rated record of a usage says about its money, from the ledger's stored outcome. */
export type AppliedCharge = Pick<UsageOutcome, 'charge' | 'poolSeconds' | 'source' | 'appliedAt'>;

/** A usage settled: charged now or before (then `duplicate`), with what its rated record says. */
export interface SettledUsage {
  kind: 'rated';
  record: UsageRecord;
  details: RatedDetails;
  applied: AppliedCharge;
  duplicate: boolean;
}

/** The first charge of a usage id that came again with other rating-relevant content. */
export interface ConflictingCharge {
  /** The fingerprint the id was charged with first, and this record's. */
  firstFingerprint: string;
  fingerprint: string;
  firstCharge: MinorUnits;
  firstCurrency: string;
  firstSource: UsageSource;
  firstAppliedAt: Date;
}

/** A usage that is not charged (or was charged for other content): set aside with its reason. */
export interface RefusedUsage {
  kind: 'rejected';
  rejection: Rejection;
  stage: 'rating' | 'ledger';
  /** The usage was applied in the ledger before it was refused (its debit stands). */
  charged: boolean;
  /** For a conflicting duplicate: what the first charge of the id was. */
  conflict?: ConflictingCharge;
}

export type Settlement = SettledUsage | RefusedUsage;

/** How a refusal of the whole batch by the ledger reads on each usage's dead letter. */
export function refusalRejection(tenant: string, refusal: LedgerRefusal): Rejection {
  if (refusal.refused === 'no_account')
    return { code: 'unknown_tenant', message: `no account for tenant ${tenant}` };
  if (refusal.refused === 'balance_limit')
    return { code: 'balance_limit', message: `the ledger refused the batch: ${refusal.detail}` };
  return {
    code: 'invalid_field',
    message: `the ledger refused the usage: ${refusal.refused} ${refusal.detail}`,
  };
}

/** A usage whose call started before the days whose usage ids the ledger remembers. */
export const tooLate = (record: UsageRecord): RefusedUsage => ({
  kind: 'rejected',
  rejection: {
    code: 'too_late',
    message: `the call started ${record.startDateTime}, before the days whose usage ids the ledger remembers`,
  },
  stage: 'ledger',
  charged: false,
});

/** A usage not applied because it was not priced (or its rated record could not go out). */
export function notPriced(
  price: Unrated | { kind: 'priced' } | undefined,
  refusal?: Rejection,
): RefusedUsage {
  const rejection: Rejection =
    refusal ??
    (price?.kind === 'unrated'
      ? { code: price.code, message: price.reason }
      : { code: 'unrated_destination', message: 'not priced' });
  return { kind: 'rejected', rejection, stage: 'rating', charged: false };
}

/**
 * The details of an outcome stored without them (before the ledger kept a rated record's
 * details with its outcome): what the outcome itself says, nothing priced again. The
 * fingerprint cannot be checked then, and the rate reference is unknown (null).
 */
export function storedOnly(fingerprint: string, currency: string): RatedDetails {
  return { fingerprint, billedSeconds: 0, connectionCharge: 0n, currency, destinationName: '', rate: null };
}

/** Charged before for other rating-relevant content: the first charge stands, this one waits for a person. */
export function conflicting(
  record: UsageRecord,
  fingerprint: string,
  first: RatedDetails,
  stored: UsageOutcome,
): RefusedUsage {
  const charge = formatMoney({ minor: stored.charge, currency: first.currency });
  const appliedAt = stored.appliedAt.toISOString();
  return {
    kind: 'rejected',
    rejection: {
      code: 'conflicting_duplicate',
      message:
        `usage ${record.id} was charged ${charge} ${first.currency} at ${appliedAt} ` +
        `for other content (fingerprint ${first.fingerprint}, this one ${fingerprint})`,
    },
    stage: 'ledger',
    charged: false,
    conflict: {
      firstFingerprint: first.fingerprint,
      fingerprint,
      firstCharge: stored.charge,
      firstCurrency: first.currency,
      firstSource: stored.source,
      firstAppliedAt: stored.appliedAt,
    },
  };
}
