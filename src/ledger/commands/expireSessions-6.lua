--[[
  The tenant's session entries that are due (includes/sessions.lua), at most `limit` a call:
  a live session not renewed before its grant ended plus the grace expires (its reservation
  is released but for what its reported used seconds cost, held until its CDR, and it leaves
  the live counts); an ended, expired or settled one past the retention is dropped (what it
  still holds is released: its CDR, should it come, is charged as any other). Then the
  tenant's entry in the shard index follows its earliest entry left.

  KEYS[1] account  KEYS[2] pools  KEYS[3] sessions  KEYS[4] sessions by expiry
  KEYS[5] index: sessions  KEYS[6] index: gauges
  ARGV[1] tenant id  ARGV[2] now (ms)  ARGV[3] retention of sessions without a CDR (ms)
  ARGV[4] limit

  Output: {0, expired, dropped, more (1 when entries due were left for the next call)}.
]]
--- @include "includes/errors"
--- @include "includes/common"
--- @include "includes/sessions"

local keys = { account = KEYS[1], pools = KEYS[2], sessions = KEYS[3], byExpiry = KEYS[4], ixSessions = KEYS[5],
  gauges = KEYS[6] }
local tenant, now, retention, limit = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local due = redis.call('ZRANGEBYSCORE', keys.byExpiry, '-inf', now, 'LIMIT', 0, limit + 1)
local more = 0
if #due > limit then
  more = 1
  due[#due] = nil
end
local expired, dropped = 0, 0
if #due > 0 then
  countSessionsIn(keys.gauges, redis.call('HGET', keys.account, 'currency') or '')
end
for _, id in ipairs(due) do
  local s = readSession(keys.sessions, id)
  if not s then
    redis.call('ZREM', keys.byExpiry, id)
  elseif s.st == 'live' then
    leaveLive(keys, s, math.min(s.hu, s.r), 0)
    s.st = 'expired'
    s.at = now
    writeSession(keys.sessions, id, s)
    redis.call('ZADD', keys.byExpiry, fmt(now + retention), id)
    expired = expired + 1
  elseif s.at + retention <= now then
    if s.st ~= 'settled' then
      addHold(keys.account, keys.sessions, s.u, -s.r)
      addPoolHeld(keys.pools, s.pk, -s.p)
      redis.call('HINCRBY', keys.account, 'sessOpen', -1)
    end
    redis.call('HDEL', keys.sessions, sessionField(id))
    redis.call('ZREM', keys.byExpiry, id)
    dropped = dropped + 1
  else
    redis.call('ZADD', keys.byExpiry, fmt(s.at + retention), id)
  end
end
syncSessionIndex(keys.byExpiry, keys.ixSessions, tenant)
return { OK, expired, dropped, more }
