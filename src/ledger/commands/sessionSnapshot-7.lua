#!lua flags=no-writes
--[[
  Read-only snapshot for a call session's grant (src/settlement/call-sessions.ts): the balance
  at `now` (lots whose expiry has come count as gone), what the tenant's sessions hold, the
  overdraft, the pool's capacity, use and seconds held, the user's spend limit with the month's
  spend and what the user's sessions hold, the burst guard's block, and the session itself.
  The caller prices the grant from this and proposes it to the session scripts, which check
  it again against the state they find.

  KEYS[1] account  KEYS[2] lots  KEYS[3] lot expiry  KEYS[4] pools  KEYS[5] user spend limits
  KEYS[6] the base of the users' monthly spend keys  KEYS[7] sessions
  ARGV[1] now (ms)  ARGV[2] pool ('' for none)  ARGV[3] month of the call (yyyy-mm)
  ARGV[4] the user key ('' for none)  ARGV[5] usage id

  Output: {0, mode, currency, balance, held by sessions, overdraft, poolCap, poolUsed, poolHeld,
  userLimit ('' for none), userSpent, held by the user's sessions, userBlocked (reason or ''),
  the session's JSON ('' for none)} or {NO_ACCOUNT, ''}.
]]
--- @include "includes/errors"
--- @include "includes/common"
--- @include "includes/user-limits"
--- @include "includes/sessions"

local h = readHash(KEYS[1])
if h.mode == nil then
  return { ERR.NO_ACCOUNT, '' }
end
local now = tonumber(ARGV[1])
local balance = liveBalance(KEYS[2], KEYS[3], num(h.balance), now)
local poolCap, poolUsed, poolHeld = 0, 0, 0
if ARGV[2] ~= '' then
  local p = redis.call('HMGET', KEYS[4], 'cap:' .. ARGV[2], 'used:' .. ARGV[2] .. ':' .. ARGV[3],
    'held:' .. ARGV[2] .. ':' .. ARGV[3])
  poolCap, poolUsed, poolHeld = num(p[1]), num(p[2]), num(p[3])
end
local user = ARGV[4]
local limits = {}
local limit = userLimit(KEYS[5], h.currency, user, limits)
local block = userBlock(KEYS[5], user, limits)
local userSpent, userHold = 0, 0
if limit then
  userSpent = num(redis.call('HGET', userSpendKey(KEYS[6], ARGV[3]), 's:' .. user))
end
if user ~= '' then
  userHold = num(redis.call('HGET', KEYS[7], 'm:' .. user))
end
local session = redis.call('HGET', KEYS[7], sessionField(ARGV[5])) or ''
return { OK, h.mode, h.currency, fmt(balance), fmt(num(h.sessHold)), fmt(num(h.sessionOverdraft)),
  fmt(poolCap), fmt(poolUsed), fmt(poolHeld), limit and fmt(limit) or '', fmt(userSpent), fmt(userHold),
  block and string.match(block, '|(.*)$') or '', session }
