--[[
  Renews a live call session (includes/sessions.lua): the seconds used so far, and the
  reservation for them and the next grant, as the caller priced them from a snapshot in which
  the session held `expected`. Growing the reservation follows the start's rule (checked here
  against the state as it is now): what the tenant's sessions hold stays within the balance
  (at `now`) plus the overdraft, the user's spend plus holds within the user's limit, the
  pool's use plus holds within its capacity; when it no longer fits, or the session moved
  since the snapshot, nothing is written and the caller prices it again.

  KEYS[1] account  KEYS[2] lots  KEYS[3] lot expiry  KEYS[4] pools  KEYS[5] sessions
  KEYS[6] sessions by expiry  KEYS[7] index: sessions  KEYS[8] user spend limits
  KEYS[9] the base of the users' monthly spend keys  KEYS[10] index: gauges
  ARGV[1] tenant id  ARGV[2] now (ms)  ARGV[3] the call's month (yyyy-mm)  ARGV[4] usage id
  ARGV[5] used seconds  ARGV[6] money the session held in the snapshot  ARGV[7] pool seconds it
  held  ARGV[8] money it holds now  ARGV[9] pool seconds it holds now  ARGV[10] valid until (ms)
  ARGV[11] when it expires unless updated (ms)  ARGV[12] what the used seconds cost
  ARGV[13] the answer to keep for a repeat (JSON)

  Output: {0, ''}; {1, answer JSON} the same update before; {SESSION_UNKNOWN, id};
  {SESSION_CONFLICT, session_ended | session_expired | session_settled | used_seconds_decreased};
  {SESSION_RETRY, session | balance | user_limit | pool}; {NO_ACCOUNT, tenant}.
]]
--- @include "includes/errors"
--- @include "includes/common"
--- @include "includes/user-limits"
--- @include "includes/sessions"

local keys = {
  account = KEYS[1], lots = KEYS[2], lotExpiry = KEYS[3], pools = KEYS[4], sessions = KEYS[5],
  byExpiry = KEYS[6], ixSessions = KEYS[7], userLimits = KEYS[8], userSpend = KEYS[9], gauges = KEYS[10],
}
local tenant, now, month, id = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local used = tonumber(ARGV[5])
local s = readSession(keys.sessions, id)
if not s then
  return { ERR.SESSION_UNKNOWN, id }
end
if s.ea then
  return { ERR.SESSION_CONFLICT, 'session_ended' }
end
if s.st ~= 'live' then
  return { ERR.SESSION_CONFLICT, 'session_' .. s.st }
end
if used < s.used then
  return { ERR.SESSION_CONFLICT, 'used_seconds_decreased' }
end
if used == s.lu then
  return { DUPLICATE, s.la }
end
if s.r ~= tonumber(ARGV[6]) or s.p ~= tonumber(ARGV[7]) then
  return { ERR.SESSION_RETRY, 'session' }
end
local h = readHash(keys.account)
if h.mode == nil then
  return { ERR.NO_ACCOUNT, tenant }
end
local amount, poolSec = tonumber(ARGV[8]), tonumber(ARGV[9])
local delta, poolDelta = amount - s.r, poolSec - s.p
if delta > 0 then
  local balance = liveBalance(keys.lots, keys.lotExpiry, num(h.balance), now)
  if num(h.sessHold) + delta > balance + num(h.sessionOverdraft) then
    return { ERR.SESSION_RETRY, 'balance' }
  end
  local limit = userLimit(keys.userLimits, h.currency, s.u, {})
  if limit then
    local spent = num(redis.call('HGET', userSpendKey(keys.userSpend, month), 's:' .. s.u))
    if spent + num(redis.call('HGET', keys.sessions, 'm:' .. s.u)) + delta > limit then
      return { ERR.SESSION_RETRY, 'user_limit' }
    end
  end
end
if poolDelta > 0 then
  if s.pk == '' then
    return { ERR.BAD_ARGUMENT, 'pool seconds for a session without a pool' }
  end
  local p = redis.call('HMGET', keys.pools, 'cap:' .. string.match(s.pk, '^(.*):[^:]+$'), 'used:' .. s.pk,
    'held:' .. s.pk)
  if num(p[2]) + num(p[3]) + poolDelta > num(p[1]) then
    return { ERR.SESSION_RETRY, 'pool' }
  end
end
countSessionsIn(keys.gauges, h.currency)
addHold(keys.account, keys.sessions, s.u, delta)
s.r = amount
addPoolHeld(keys.pools, s.pk, poolDelta)
s.p = poolSec
s.used = used
s.hu = tonumber(ARGV[12])
s.vu = tonumber(ARGV[10])
s.lu = used
s.la = ARGV[13]
writeSession(keys.sessions, id, s)
redis.call('ZADD', keys.byExpiry, ARGV[11], id)
redis.call('ZADD', keys.ixSessions, 'LT', ARGV[11], tenant)
return { OK, '' }
