--[[
  Call sessions: credit reserved while a call runs (src/ledger/call-sessions.ts).

  The sessions hash `<sessions>` holds, per usage id, `s:<usage id>` -> JSON state:
    st    live | ended | expired | settled
    r     money the session holds (minor units): its reservation while live, then what its
          used seconds cost (ended, expired) until the CDR settles it (then 0)
    p     pool seconds it holds, pk the pool field it holds them in (`<pool>:<yyyy-mm>`, '')
    paid  1 when it is a credit-paid call (counted by the concurrency caps and spend limits)
    u     the user key ('' for none), f the fingerprint of its start request
    used  the seconds last reported connected, hu what they cost (minor units)
    vu    valid until (ms), at when its status last changed (ms)
    sa    the start's answer, la the last update's answer (with lu: its used seconds),
          ea the end's answer (with eu: its used seconds), bm its burst window member
  and per user `u:<user>` (live credit-paid sessions) and `m:<user>` (money the user's
  sessions hold). The account keeps the tenant's totals: `sessHold` (money all sessions
  hold), `sessOpen` (sessions not settled: the CDR path looks sessions up only when it is
  not 0) and `sessLive` (live credit-paid sessions); the pools hash `held:<pool>:<yyyy-mm>`
  the pool seconds sessions hold. The sorted set `<by expiry>` scores each session by when
  the sweeper must look at it (a live one: valid until plus the grace; any other: when it is
  dropped), and the shard index `ixSessions` scores the tenant by its earliest entry.
]]

-- The index shard's gauges (includes/indexes.lua) count live sessions (`sessionsLive`) and
-- the money sessions hold by currency (`sessionsHeld:<currency>`), by the changes the scripts
-- make: a script that changes sessions names the gauges key and the tenant's currency first.
local SESSION_GAUGES = {}
onEachCall(function()
  SESSION_GAUGES.key = nil
  SESSION_GAUGES.currency = nil
end)

local function countSessionsIn(gaugesKey, currency)
  SESSION_GAUGES.key = gaugesKey
  SESSION_GAUGES.currency = currency
end

local function gaugeLive(delta)
  if SESSION_GAUGES.key then
    redis.call('HINCRBY', SESSION_GAUGES.key, 'sessionsLive', delta)
  end
end

local function sessionField(id)
  return 's:' .. id
end

local function readSession(sessionsKey, id)
  local raw = redis.call('HGET', sessionsKey, sessionField(id))
  if not raw then
    return nil
  end
  local s = cjson.decode(raw)
  -- Money is kept as decimal text (cjson would write a large number with 14 digits).
  s.r = num(s.r)
  s.hu = num(s.hu)
  return s
end

local function writeSession(sessionsKey, id, s)
  local r, hu = s.r, s.hu
  s.r = fmt(r)
  s.hu = fmt(hu)
  redis.call('HSET', sessionsKey, sessionField(id), cjson.encode(s))
  s.r = r
  s.hu = hu
end

-- The balance at `now`: lots whose expiry has come count as gone before the sweeper forfeits them.
local function liveBalance(lotsKey, lotExpiryKey, balance, now)
  for _, lotId in ipairs(redis.call('ZRANGEBYSCORE', lotExpiryKey, '-inf', now)) do
    balance = balance - num(cjson.decode(redis.call('HGET', lotsKey, lotId)).remaining)
  end
  return balance
end

-- Moves money and counts of the tenant's session totals (account and per user).
local function addHold(accountKey, sessionsKey, user, amount)
  if amount ~= 0 then
    redis.call('HINCRBY', accountKey, 'sessHold', amount)
    if SESSION_GAUGES.key then
      redis.call('HINCRBY', SESSION_GAUGES.key, 'sessionsHeld:' .. SESSION_GAUGES.currency, amount)
    end
    if user ~= '' and redis.call('HINCRBY', sessionsKey, 'm:' .. user, amount) == 0 then
      redis.call('HDEL', sessionsKey, 'm:' .. user)
    end
  end
end

local function addLive(accountKey, sessionsKey, user, delta)
  redis.call('HINCRBY', accountKey, 'sessLive', delta)
  if user ~= '' and redis.call('HINCRBY', sessionsKey, 'u:' .. user, delta) == 0 then
    redis.call('HDEL', sessionsKey, 'u:' .. user)
  end
end

local function addPoolHeld(poolsKey, poolField, seconds)
  if poolField ~= '' and seconds ~= 0 then
    redis.call('HINCRBY', poolsKey, 'held:' .. poolField, seconds)
  end
end

-- The tenant's entry in the shard index: its earliest session entry, none without one.
local function syncSessionIndex(byExpiryKey, ixKey, tenant)
  local first = redis.call('ZRANGE', byExpiryKey, 0, 0, 'WITHSCORES')
  if #first == 0 then
    redis.call('ZREM', ixKey, tenant)
  else
    redis.call('ZADD', ixKey, first[2], tenant)
  end
end

-- Leaves a live session: its reservation down to `keep` (minor units) and `keepPool` pool
-- seconds, out of the live counts. The caller writes the session.
local function leaveLive(keys, s, keep, keepPool)
  gaugeLive(-1)
  addHold(keys.account, keys.sessions, s.u, keep - s.r)
  s.r = keep
  addPoolHeld(keys.pools, s.pk, keepPool - s.p)
  s.p = keepPool
  if s.paid == 1 then
    addLive(keys.account, keys.sessions, s.u, -1)
  end
end

-- The sessions of a batch's usages (`u.session`, decoded), in one HMGET: not for a usage too late.
local function lookupSessions(sessionsKey, usages, late)
  local fields = {}
  for i, u in ipairs(usages) do
    fields[i] = sessionField(u.id)
  end
  local found = redis.call('HMGET', sessionsKey, unpack(fields))
  for i, u in ipairs(usages) do
    if found[i] and not late[i] then
      u.session = cjson.decode(found[i])
    end
  end
end

-- A burst window's entry of a session's start (`<reservation>|<0 or 1>|<id>`) leaves the
-- window and its sums (`st`: applyUsage's state of the user's window), once: the CDR's
-- charge replaces it.
local function dropSessionMember(st, member)
  if redis.call('ZREM', st.window, member) == 1 then
    local charge, wasIntl = string.match(member, '^(%d+)|([01])|')
    st.s = st.s - tonumber(charge)
    st.n = st.n - tonumber(wasIntl)
    st.dirty = true
  end
end

-- The session is settled by its CDR: whatever it still holds is released, once.
local function settleSession(keys, s, now)
  if s.st == 'settled' then
    return false
  end
  if s.st == 'live' then
    leaveLive(keys, s, 0, 0)
  else
    addHold(keys.account, keys.sessions, s.u, -s.r)
    s.r = 0
    addPoolHeld(keys.pools, s.pk, -s.p)
    s.p = 0
  end
  redis.call('HINCRBY', keys.account, 'sessOpen', -1)
  s.st = 'settled'
  s.at = now
  return true
end

-- Settles the session of usage `u` (looked up by lookupSessions); `appliedNow`: the usage is
-- applied by this call, so the session's burst window entry is replaced by its charge.
local function settleUsageSession(keys, u, appliedNow, currency, now)
  if u.session.st == 'settled' then
    return
  end
  local s = readSession(keys.sessions, u.id)
  countSessionsIn(keys.gauges, currency)
  if settleSession(keys, s, now) then
    writeSession(keys.sessions, u.id, s)
  end
  u.sessionMember = appliedNow and s.bm ~= '' and s.bm or nil
end
