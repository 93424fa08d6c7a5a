--[[ Result codes; src/ledger/result-codes.ts turns them into typed errors. ]]
local ERR = {
  NO_ACCOUNT = -1,
  POOL_CONFLICT = -2,
  POOL_OVERDRAWN = -3,
  MODE_MISMATCH = -4,
  CURRENCY_MISMATCH = -5,
  BAD_ARGUMENT = -6,
  UNKNOWN_RECHARGE = -7,
  LOT_ALREADY_EXPIRED = -8,
  NOT_APPLIED = -9,
  ACCOUNT_LOCKED = -10,
  PAYMENT_REF_CONFLICT = -11,
  NO_PAYMENT_METHOD = -12,
  -- From -20: codes of the settings and bounds work, apart from the others' new ones.
  VERSION_MISMATCH = -20,
  SETTINGS_CONFLICT = -21,
  BALANCE_LIMIT = -22,
  -- The batch was rated without reading which usages were applied, and that mattered.
  STALE_READ = -23,
  -- From -30: call sessions. Other content under the session's usage id, a request its state
  -- does not allow, or used seconds going back (detail: the conflict).
  SESSION_CONFLICT = -30,
  SESSION_UNKNOWN = -31,
  -- The grant proposed no longer fits (detail: balance, user_limit or pool): price it again.
  SESSION_RETRY = -32,
  -- A start refused by a limit checked in the script (detail: the reason).
  SESSION_REFUSED = -33,
}
local OK = 0
local DUPLICATE = 1
