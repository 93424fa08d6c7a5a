--[[
  Per-user monthly spend limits and the burst guard (credit-paid usage only). The limits hash
  holds `currency` (the account's when they were set), `default` (minor units), `u:<user>`
  (minor units, or 'none': no limit for that user whatever the default), `burst` (the burst
  guard: `<window minutes>|<max international calls>|<max spend, minor units>`, '' for a
  threshold not set; absent: off) and `b:<user>` (the user is blocked by the guard:
  `<epoch ms>|<reason>`). A user's spend of a month is in the hash `<spend base>:<yyyy-mm>`:
  `s:<user>` minor units, `r:<user>` once the limit-reached event went out. Limits and a
  guard set in another currency than the account's count as none.

  A user's burst window is a sorted set `<burst base>:w:<user>` of the credit-paid usages whose
  calls started in the window (score: start, epoch seconds; member `<charge>|<0 or 1:
  international>|<usage id>`) and a hash `<burst base>:t:<user>` of what they add up to:
  `n` international calls, `s` spend (minor units), `l` the latest start seen (the window is
  the minutes up to it).
]]
-- How long a month's spend hash lives after its last write: the month and the next one.
local USER_SPEND_TTL_MS = 62 * 86400000
-- A burst window lives a window after its last write, and this much more (late records).
local BURST_TTL_SLACK_MS = 600000

local function userSpendKey(base, period)
  return base .. ':' .. period
end

-- The user's spend at the call that reached `limit`: `before` plus the charges (`charges[2..]`,
-- in the order applied) up to that call, so the event does not depend on how usages were
-- batched. The first call counts when the spend had reached the limit before it.
local function spentAtLimit(before, charges, limit)
  local spent = before
  for k = 2, #charges do
    spent = spent + charges[k]
    if spent >= limit then
      break
    end
  end
  return spent
end

-- The burst guard as stored, or nil when off: { window = seconds, calls = n|nil, spend = n|nil }.
local function parseBurst(value)
  if not value or value == '' then
    return nil
  end
  local minutes, calls, spend = string.match(value, '^(%d+)|(%d*)|(%d*)$')
  if not minutes or (calls == '' and spend == '') then
    return nil
  end
  return {
    window = tonumber(minutes) * 60,
    calls = calls ~= '' and tonumber(calls) or nil,
    spend = spend ~= '' and tonumber(spend) or nil,
  }
end

-- The head of the limits hash, read once a script into `memo` with one HMGET: the currency,
-- the default, the burst guard and, for `user` (the first one asked of), the user's own limit
-- and block.
local function readLimits(limitsKey, memo, user)
  if memo.currency ~= nil then
    return
  end
  local fields = { 'currency', 'default', 'burst' }
  if user ~= '' then
    fields[4] = 'u:' .. user
    fields[5] = 'b:' .. user
  end
  local head = redis.call('HMGET', limitsKey, unpack(fields))
  memo.currency = head[1] or ''
  memo.default = head[2]
  memo.burst = parseBurst(head[3])
  memo.users = {}
  memo.blocks = {}
  if user ~= '' then
    memo.users[user] = head[4] or false
    memo.blocks[user] = head[5] or false
  end
end

-- The user's limit in minor units, or nil for none. `memo` keeps the limits read in a script.
local function userLimit(limitsKey, currency, user, memo)
  if user == '' then
    return nil
  end
  readLimits(limitsKey, memo, user)
  if memo.currency ~= currency then
    return nil
  end
  local own = memo.users[user]
  if own == nil then
    own = redis.call('HGET', limitsKey, 'u:' .. user) or false
    memo.users[user] = own
  end
  local value = own or memo.default
  if not value or value == '' or value == 'none' then
    return nil
  end
  return tonumber(value)
end

-- The user's block (`<epoch ms>|<reason>`), or false. `memo` as for userLimit.
local function userBlock(limitsKey, user, memo)
  if user == '' then
    return false
  end
  readLimits(limitsKey, memo, user)
  local block = memo.blocks[user]
  if block == nil then
    block = redis.call('HGET', limitsKey, 'b:' .. user) or false
    memo.blocks[user] = block
  end
  return block
end

local function burstWindowKey(base, user)
  return base .. ':w:' .. user
end

local function burstSumsKey(base, user)
  return base .. ':t:' .. user
end
