import type { Refusal } from '../credits/codes';

/** Codes the ledger scripts return (src/ledger/commands/includes/errors.lua). */
export const ResultCode = {
  OK: 0,
  DUPLICATE: 1,
  NO_ACCOUNT: -1,
  POOL_CONFLICT: -2,
  POOL_OVERDRAWN: -3,
  MODE_MISMATCH: -4,
  CURRENCY_MISMATCH: -5,
  BAD_ARGUMENT: -6,
  UNKNOWN_RECHARGE: -7,
  LOT_ALREADY_EXPIRED: -8,
  NOT_APPLIED: -9,
  ACCOUNT_LOCKED: -10,
  PAYMENT_REF_CONFLICT: -11,
  NO_PAYMENT_METHOD: -12,
  VERSION_MISMATCH: -20,
  SETTINGS_CONFLICT: -21,
  BALANCE_LIMIT: -22,
  STALE_READ: -23,
  SESSION_CONFLICT: -30,
  SESSION_UNKNOWN: -31,
  SESSION_RETRY: -32,
  SESSION_REFUSED: -33,
} as const;

export type { Refusal };

const REFUSALS: Record<number, Refusal['refused']> = {
  [ResultCode.NO_ACCOUNT]: 'no_account',
  [ResultCode.MODE_MISMATCH]: 'mode_mismatch',
  [ResultCode.CURRENCY_MISMATCH]: 'currency_mismatch',
  [ResultCode.UNKNOWN_RECHARGE]: 'unknown_recharge',
  [ResultCode.LOT_ALREADY_EXPIRED]: 'lot_already_expired',
  [ResultCode.NOT_APPLIED]: 'not_applied',
  [ResultCode.ACCOUNT_LOCKED]: 'account_locked',
  [ResultCode.PAYMENT_REF_CONFLICT]: 'payment_ref_conflict',
  [ResultCode.NO_PAYMENT_METHOD]: 'no_payment_method',
  [ResultCode.VERSION_MISMATCH]: 'version_mismatch',
  [ResultCode.SETTINGS_CONFLICT]: 'settings_conflict',
  [ResultCode.BALANCE_LIMIT]: 'balance_limit',
  [ResultCode.SESSION_CONFLICT]: 'session_conflict',
  [ResultCode.SESSION_UNKNOWN]: 'session_unknown',
};

/** Codes that are neither a refusal nor the unexpected: the caller reads the reply. */
const PASSED_ON = new Set<number>([
  ResultCode.POOL_CONFLICT,
  ResultCode.STALE_READ,
  ResultCode.SESSION_RETRY,
  ResultCode.SESSION_REFUSED,
]);

/** The unexpected: a script refused its arguments or found its state inconsistent. A bug, never retried. */
export class LedgerError extends Error {
  override readonly name = 'LedgerError';
  readonly retriable = false;
  constructor(
    readonly operation: string,
    readonly code: number,
    readonly detail: string,
  ) {
    super(`ledger ${operation} failed with code ${code}: ${detail}`);
  }
}

export const isRefusal = (value: unknown): value is Refusal =>
  typeof value === 'object' && value !== null && 'refused' in value;

/** A reply's code: refusals become values, the unexpected is thrown, the rest passes through. */
export function interpret(operation: string, reply: unknown[]): { code: number; reply: unknown[] } | Refusal {
  const code = Number(reply[0]);
  const refusal = REFUSALS[code];
  if (refusal) return { refused: refusal, detail: String(reply[1] ?? '') };
  if (code < 0 && !PASSED_ON.has(code)) throw new LedgerError(operation, code, String(reply[1] ?? ''));
  return { code, reply };
}

/**
 * Redis could not answer for now (connection closed, refused or reset, a timeout, a server
 * loading, busy, failing over or out of memory): the same call may succeed later. `operation`
 * names the ledger call.
 */
export class LedgerUnavailableError extends Error {
  override readonly name = 'LedgerUnavailableError';
  readonly retriable = true;
  constructor(
    readonly operation: string,
    override readonly cause: unknown,
  ) {
    // The cause's own words: what the readiness check and the logs show (`Command timed out`).
    super(cause instanceof Error ? cause.message : String(cause), { cause });
  }
}

/** Error replies (their first word) that name a passing state of the server or the cluster. */
const TRANSIENT_REPLIES = new Set([
  'LOADING',
  'BUSY',
  'TRYAGAIN',
  'CLUSTERDOWN',
  'READONLY',
  'MASTERDOWN',
  'MOVED',
  'ASK',
  'OOM',
]);
const TRANSIENT_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);
/** What ioredis says when it gives a command up without an answer from the server. */
const TRANSIENT_CLIENT_MESSAGES = [
  /^Connection is closed\.?$/,
  /^Command timed out$/,
  /^Stream isn't writeable and enableOfflineQueue options is false$/,
  /^connect ETIMEDOUT$/,
  /^None of startup nodes is available$/,
  /^Failed to refresh slots cache\.?$/,
  /^Cluster isn't ready and enableOfflineQueue options is false$/,
  /^Too many Cluster redirections\./,
  // A pipelined command (auto-pipelining) sent after one that was answered, when the
  // connection closed: ioredis cannot tell whether it ran, so it gives it up; every ledger
  // call is safe to repeat (each change happens once per id), so it is tried again.
  /^Command aborted due to connection close$/,
];

/** True when `error` is Redis being away or busy for now, false for everything else (a bug). */
export function isTransientRedisError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error instanceof LedgerError || error instanceof LedgerUnavailableError) return error.retriable;
  if (error.name === 'MaxRetriesPerRequestError' || error.name === 'ClusterAllFailedError') return true;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && TRANSIENT_ERRNOS.has(code)) return true;
  const message = error.message;
  // A ledger function missing (a Redis restarted empty, the library flushed): the client
  // loads the library again when it sees this (script-loader.ts), so the call may succeed.
  if (error.name === 'ReplyError' && /^ERR Function not found/.test(message)) return true;
  if (error.name === 'ReplyError') return TRANSIENT_REPLIES.has(message.split(/[\s:]/, 1)[0]!);
  return TRANSIENT_CLIENT_MESSAGES.some((pattern) => pattern.test(message));
}

/** What a ledger method throws for `error`: LedgerUnavailableError when transient, else `error`. */
export function ledgerFailure(operation: string, error: unknown): unknown {
  if (error instanceof LedgerUnavailableError) return error;
  return isTransientRedisError(error) ? new LedgerUnavailableError(operation, error) : error;
}

/** Runs one ledger call, telling a transient Redis failure (retriable) apart from the rest. */
export async function guarded<T>(operation: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw ledgerFailure(operation, error);
  }
}
