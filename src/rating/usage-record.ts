/** The usage record of CONTRACTS.md section 1, as the rating core reads it. */
/** A phone number as usage records carry it: E.164, + and 2 to 15 digits, no leading zero. */
export const E164_NUMBER = /^\+[1-9]\d{1,14}$/;

export const CALL_TYPES = [
  'user_in',
  'user_out',
  'user_out_conf',
  'user_out_transfer',
  'user_out_forwarding',
  'conf_in',
  'conf_out',
  'ucap_in',
  'ucap_out',
  'emergency',
] as const;

export type CallType = (typeof CALL_TYPES)[number];

export interface UsageRecord {
  id: string;
  tenantId: string;
  callType: CallType;
  /** ISO 8601 with offset: selects the rates in force. */
  startDateTime: string;
  /** Connected seconds. */
  duration: number;
  calleeNumber?: string | undefined;
  callerNumber?: string | undefined;
  endDateTime?: string | undefined;
  numberType?: 'subscriber' | 'service' | 'tollFree' | undefined;
  licenseCapability?: string | undefined;
  usageCountryCode?: string | undefined;
  tenantCountryCode?: string | undefined;
  destinationContext?: 'Domestic' | 'International' | undefined;
  [carried: string]: unknown;
}
