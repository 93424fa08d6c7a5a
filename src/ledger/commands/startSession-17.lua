--[[
  Starts a call session (includes/sessions.lua): reserves the grant the caller priced, once
  per usage id. The rule, checked here against the state as it is now: no grant makes what
  the tenant's sessions hold exceed its balance (at `now`) plus its overdraft; the user's
  month's spend plus what the user's sessions hold stays within the user's spend limit; the
  pool's use plus what sessions hold of it stays within its capacity. When the grant no longer
  fits, nothing is written and the caller prices it again from a fresh snapshot. A
  credit-paid call is refused (`concurrent_calls`) when the tenant or the user has as many
  live credit-paid sessions as the caps allow (user limits field `calls`:
  `<tenant max>|<user max>`, '' or 0 for none), and (`user_blocked`) when the user is blocked
  or the call crosses the burst guard (includes/session-burst.lua: the user is blocked now).

  KEYS[1] account  KEYS[2] lots  KEYS[3] lot expiry  KEYS[4] pools  KEYS[5] sessions
  KEYS[6] sessions by expiry  KEYS[7] index: sessions  KEYS[8] user spend limits
  KEYS[9] the base of the users' monthly spend keys  KEYS[10] the base of the burst windows
  KEYS[11] outbox  KEYS[12] index: tenants with events  KEYS[13] index: lot expiry
  KEYS[14] index: gauges  KEYS[15] index: blocked  KEYS[16] index: low balance
  KEYS[17] index: recharge failed
  ARGV[1] tenant id  ARGV[2] now (ms)  ARGV[3] now (ISO 8601)  ARGV[4] the call's month (yyyy-mm)
  ARGV[5] usage id  ARGV[6] fingerprint of the request  ARGV[7] '1' credit-paid, else '0'
  ARGV[8] money to reserve (minor units)  ARGV[9] pool ('' for none)  ARGV[10] pool seconds
  ARGV[11] valid until (ms)  ARGV[12] when it expires unless updated (ms)  ARGV[13] user key
  ARGV[14] the answer to keep for a repeat (JSON)  ARGV[15] '1' international, else '0'
  ARGV[16] the call's start (epoch seconds)  ARGV[17] what the used seconds cost (minor units)

  Output: {0, ''} started; {1, answer JSON} the same start before; {SESSION_CONFLICT,
  'usage_id_reused'}; {SESSION_RETRY, balance | user_limit | pool}; {SESSION_REFUSED,
  concurrent_calls | user_blocked}; {NO_ACCOUNT, tenant}.
]]
--- @include "includes/errors"
--- @include "includes/common"
--- @include "includes/indexes"
--- @include "includes/user-limits"
--- @include "includes/sessions"
--- @include "includes/session-burst"

local keys = {
  account = KEYS[1], lots = KEYS[2], lotExpiry = KEYS[3], pools = KEYS[4], sessions = KEYS[5],
  byExpiry = KEYS[6], ixSessions = KEYS[7], userLimits = KEYS[8], userSpend = KEYS[9], burst = KEYS[10],
  outbox = KEYS[11], ixOutbox = KEYS[12], ixExpiry = KEYS[13], gauges = KEYS[14], ixBlocked = KEYS[15],
  ixLow = KEYS[16], ixRechargeFailed = KEYS[17],
}
local tenant, now, month, id = ARGV[1], tonumber(ARGV[2]), ARGV[4], ARGV[5]
local paid = ARGV[7] == '1' and 1 or 0
local amount, poolName, poolSec = tonumber(ARGV[8]), ARGV[9], tonumber(ARGV[10])
local user = ARGV[13]
local h = readHash(keys.account)
if h.mode == nil then
  return { ERR.NO_ACCOUNT, tenant }
end
local before = readSession(keys.sessions, id)
if before then
  if before.f == ARGV[6] then
    return { DUPLICATE, before.sa }
  end
  return { ERR.SESSION_CONFLICT, 'usage_id_reused' }
end

local limits = {}
if paid == 1 then
  if userBlock(keys.userLimits, user, limits) then
    return { ERR.SESSION_REFUSED, 'user_blocked' }
  end
  local caps = redis.call('HGET', keys.userLimits, 'calls') or ''
  local tenantMax, userMax = string.match(caps, '^(%d*)|(%d*)$')
  tenantMax, userMax = num(tenantMax), num(userMax)
  if tenantMax > 0 and num(h.sessLive) >= tenantMax
      or userMax > 0 and user ~= '' and num(redis.call('HGET', keys.sessions, 'u:' .. user)) >= userMax then
    return { ERR.SESSION_REFUSED, 'concurrent_calls' }
  end
end
if amount > 0 then
  local balance = liveBalance(keys.lots, keys.lotExpiry, num(h.balance), now)
  if num(h.sessHold) + amount > balance + num(h.sessionOverdraft) then
    return { ERR.SESSION_RETRY, 'balance' }
  end
  local limit = userLimit(keys.userLimits, h.currency, user, limits)
  if limit then
    local spent = num(redis.call('HGET', userSpendKey(keys.userSpend, month), 's:' .. user))
    if spent + num(redis.call('HGET', keys.sessions, 'm:' .. user)) + amount > limit then
      return { ERR.SESSION_RETRY, 'user_limit' }
    end
  end
end
if poolName ~= '' and poolSec > 0 then
  local p = redis.call('HMGET', keys.pools, 'cap:' .. poolName, 'used:' .. poolName .. ':' .. month,
    'held:' .. poolName .. ':' .. month)
  if num(p[2]) + num(p[3]) + poolSec > num(p[1]) then
    return { ERR.SESSION_RETRY, 'pool' }
  end
end

local member = nil
if paid == 1 and user ~= '' then
  readLimits(keys.userLimits, limits, user)
  local guard = limits.currency == h.currency and limits.burst or nil
  if guard then
    local added, reason, n, s = burstAtStart(guard, keys.burst, user, tonumber(ARGV[16]), amount,
      ARGV[15] == '1' and 1 or 0, id)
    if added == false then
      redis.call('HSET', keys.userLimits, 'b:' .. user, fmt(now) .. '|' .. reason)
      local ctx = newContext(keys, tenant, ARGV[2], ARGV[3], month)
      local function m(v)
        return { amountMinor = fmt(v), currency = h.currency }
      end
      emit(ctx, 'credits.user.blocked', 'burst:' .. user .. ':' .. id, {
        tenantId = tenant, user = user, reason = reason, windowMinutes = guard.window / 60,
        internationalCalls = n, spend = m(s),
        maxInternationalCalls = guard.calls or cjson.null,
        maxSpend = guard.spend and m(guard.spend) or cjson.null,
      })
      syncIndexes(keys, tenant)
      return { ERR.SESSION_REFUSED, 'user_blocked' }
    end
    member = added
  end
end

countSessionsIn(keys.gauges, h.currency)
gaugeLive(1)
local pk = poolName ~= '' and (poolName .. ':' .. month) or ''
local s = {
  st = 'live', r = 0, p = 0, pk = pk, paid = paid, u = user, f = ARGV[6], used = 0,
  hu = tonumber(ARGV[17]), vu = tonumber(ARGV[11]), at = now, sa = ARGV[14], lu = -1, bm = member or '',
}
addHold(keys.account, keys.sessions, user, amount)
s.r = amount
addPoolHeld(keys.pools, pk, poolSec)
s.p = poolSec
if paid == 1 then
  addLive(keys.account, keys.sessions, user, 1)
end
redis.call('HINCRBY', keys.account, 'sessOpen', 1)
writeSession(keys.sessions, id, s)
redis.call('ZADD', keys.byExpiry, ARGV[12], id)
redis.call('ZADD', keys.ixSessions, 'LT', ARGV[12], tenant)
return { OK, '' }
