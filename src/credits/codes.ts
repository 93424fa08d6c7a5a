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

/**
 * The ledger's expected refusals: business outcomes its callers handle, returned as values
 * (the API answers each with its status).
 */
export type Refusal =
  | { refused: 'no_account'; detail: string }
  | { refused: 'mode_mismatch'; detail: string }
  | { refused: 'currency_mismatch'; detail: string }
  | { refused: 'unknown_recharge'; detail: string }
  | { refused: 'lot_already_expired'; detail: string }
  | { refused: 'not_applied'; detail: string }
  | { refused: 'account_locked'; detail: string }
  /** A payment reference (purchase or adjustment id) reused with another amount or currency. */
  | { refused: 'payment_ref_conflict'; detail: string }
  | { refused: 'no_payment_method'; detail: string }
  /** The settings version the caller read is no longer the stored one (detail: the stored one). */
  | { refused: 'version_mismatch'; detail: string }
  /** A settings rule that depends on the stored settings; detail: `<account field>: <why>`. */
  | { refused: 'settings_conflict'; detail: string }
  /** A total (balance, debt, amount owed, usage charge) would pass MAX_TOTAL_MINOR. */
  | { refused: 'balance_limit'; detail: string }
  /** A call session's request its state does not allow (detail: the conflict's name). */
  | { refused: 'session_conflict'; detail: string }
  /** No call session under this usage id. */
  | { refused: 'session_unknown'; detail: string };
