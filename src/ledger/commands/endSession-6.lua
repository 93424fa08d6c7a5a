--[[
  Ends a call session (includes/sessions.lua): what its used seconds cost (at most what it
  held) stays held until the CDR settles the call, the rest is released. A session that
  expired holds at most that already; one its CDR settled holds nothing (both answered
  0 released and 0 held beyond it). The end is answered once: the same used seconds again get
  the same answer; other used seconds are a conflict.

  KEYS[1] account  KEYS[2] pools  KEYS[3] sessions  KEYS[4] sessions by expiry
  KEYS[5] index: sessions  KEYS[6] index: gauges
  ARGV[1] tenant id  ARGV[2] now (ms)  ARGV[3] usage id  ARGV[4] used seconds
  ARGV[5] what they cost (minor units)  ARGV[6] the pool seconds they draw
  ARGV[7] how long an ended session is kept for its CDR (ms)

  Output: {0, released, held} or {1, released, held} (the same end before), in minor units;
  {SESSION_UNKNOWN, id}; {SESSION_CONFLICT, session_ended | used_seconds_decreased}.
]]
--- @include "includes/errors"
--- @include "includes/common"
--- @include "includes/sessions"

local keys = { account = KEYS[1], pools = KEYS[2], sessions = KEYS[3], byExpiry = KEYS[4], ixSessions = KEYS[5],
  gauges = KEYS[6] }
local tenant, now, id = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local used = tonumber(ARGV[4])
local s = readSession(keys.sessions, id)
if not s then
  return { ERR.SESSION_UNKNOWN, id }
end
if s.ea then
  if s.eu == used then
    local released, held = string.match(s.ea, '^(%d+)|(%d+)$')
    return { DUPLICATE, released, held }
  end
  return { ERR.SESSION_CONFLICT, 'session_ended' }
end
if used < s.used then
  return { ERR.SESSION_CONFLICT, 'used_seconds_decreased' }
end
local released, held = 0, 0
if s.st ~= 'settled' then
  countSessionsIn(keys.gauges, redis.call('HGET', keys.account, 'currency'))
  local keep = math.min(tonumber(ARGV[5]), s.r)
  local keepPool = math.min(tonumber(ARGV[6]), s.p)
  released = s.r - keep
  held = keep
  if s.st == 'live' then
    leaveLive(keys, s, keep, keepPool)
  else
    addHold(keys.account, keys.sessions, s.u, keep - s.r)
    s.r = keep
    addPoolHeld(keys.pools, s.pk, keepPool - s.p)
    s.p = keepPool
  end
  s.st = 'ended'
  s.at = now
  redis.call('ZADD', keys.byExpiry, fmt(now + tonumber(ARGV[7])), id)
  syncSessionIndex(keys.byExpiry, keys.ixSessions, tenant)
end
s.used = used
s.ea = fmt(released) .. '|' .. fmt(held)
s.eu = used
writeSession(keys.sessions, id, s)
return { OK, fmt(released), fmt(held) }
