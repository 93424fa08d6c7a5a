import type { CallType } from '../rating';

/**
 * What a usage's rated record says beyond the ledger's outcome, and the usage report's fields
 * of its call: kept by the ledger with the usage's outcome (in its own storage encoding,
 * src/ledger/usage-encoding.ts), read back as these values.
 */

/** What the rated record says beyond the ledger's outcome (CONTRACTS.md section 2). */
export interface RatedDetails {
  /** The rating-relevant content of the record (src/settlement/fingerprint.ts). */
  fingerprint: string;
  billedSeconds: number;
  connectionCharge: bigint;
  currency: string;
  destinationName: string;
  rate: { deck: string; version: string; prefix: string } | null;
}

export type NumberType = 'subscriber' | 'service' | 'tollFree';
export type DestinationContext = 'Domestic' | 'International';

/**
 * The usage report's fields of a usage (the Teams PSTN usage report's columns that the ledger's
 * outcome does not already hold), kept with its idempotency record: the tenant admin's report
 * lists and filters usages by them. Absent fields are undefined.
 */
export interface ReportFields {
  callId?: string;
  conferenceId?: string;
  userId?: string;
  userPrincipalName?: string;
  userDisplayName?: string;
  callerNumber?: string;
  calleeNumber?: string;
  callType?: CallType;
  numberType?: NumberType;
  /** As the record gave it, or as the rater derived it. */
  destinationContext?: DestinationContext;
  endDateTime?: string;
  /** Connected seconds. */
  duration?: number;
  licenseCapability?: string;
  /** The user's usage country (ISO 3166-1 alpha-2): the report's "User Location". */
  usageCountryCode?: string;
}

/**
 * Where a usage's report fields are read from: the usage record itself (its carried fields are
 * not typed, and it is not copied), or the fields. What is not a valid value is left out.
 */
export type ReportSource = { readonly [K in keyof ReportFields]?: unknown };
