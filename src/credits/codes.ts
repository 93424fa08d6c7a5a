/**
 * The names other systems see, in one list each: why a record was set aside (the dead-letter
 * topic's `x-error-code`, the metrics' `reason`) and the balance events' types (CONTRACTS.md
 * section 3, the metrics' `type`). The decoder, the settlement rules, the ledger's callers and
 * the metrics take them from here.
 */

/** Why a record was rejected: the `x-error-code` header on the dead-letter topic. */
export type RejectionCode =
  | 'empty_value'
  | 'malformed_json'
  | 'avro_decode_failed'
  | 'not_an_object'
  | 'missing_field'
  | 'invalid_field'
  | 'key_mismatch'
  | 'record_too_large'
  | 'too_deep'
  | 'future_start'
  | 'too_late'
  | 'unknown_tenant'
  | 'unrated_destination'
  | 'unsupported_currency'
  | 'balance_limit'
  | 'conflicting_duplicate'
  | 'too_large'
  | 'unserializable'
  | 'internal_error';

/** Every rejection code, in the order of docs/pipeline.md's table (metrics create each at zero). */
export const REJECTION_CODES: readonly RejectionCode[] = [
  'empty_value',
  'record_too_large',
  'malformed_json',
  'avro_decode_failed',
  'too_deep',
  'not_an_object',
  'missing_field',
  'invalid_field',
  'key_mismatch',
  'future_start',
  'too_late',
  'unknown_tenant',
  'unrated_destination',
  'unsupported_currency',
  'balance_limit',
  'conflicting_duplicate',
  'too_large',
  'unserializable',
  'internal_error',
];

/** Why a record was set aside, and in words. */
export interface Rejection {
  code: RejectionCode;
  message: string;
}

/** Every balance event type the ledger's scripts write to a tenant's outbox. */
export const EVENT_TYPES = [
  'credits.balance.low',
  'credits.balance.depleted',
  'credits.recharge.requested',
  'credits.recharge.succeeded',
  'credits.recharge.failed',
  'credits.funds.added',
  'credits.funds.expired',
  'credits.purchase.failed',
  'credits.adjustment.added',
  'credits.user.limit_reached',
  'credits.user.blocked',
  'credits.service.blocked',
  'credits.service.restored',
  'credits.usage.rerated',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

/** What became of a consumed record (the metrics' `result`). */
export const RECORD_RESULTS = ['rated', 'duplicate', 'dead_letter'] as const;

/** Why a call authorization was answered as it was. */
export const AUTHORIZATION_REASONS = [
  'emergency',
  'free',
  'postpaid',
  'covered',
  'unknown_tenant',
  'unrated_destination',
  'balance_depleted',
  'user_blocked',
  'user_spend_limit',
] as const;

/** Why a call session's start or renewal was answered as it was (CONTRACTS.md section 7). */
export const SESSION_REASONS = [...AUTHORIZATION_REASONS, 'concurrent_calls'] as const;
