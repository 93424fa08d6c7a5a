--[[
  Per-user monthly spend limits (credit-paid usage only). The limits hash holds `currency`
  (the account's when they were set), `default` (minor units) and `u:<user>` (minor units, or
  'none': no limit for that user whatever the default). A user's spend of a month is in the
  hash `<spend base>:<yyyy-mm>`: `s:<user>` minor units, `r:<user>` once the limit-reached
  event went out. Limits set in another currency than the account's count as none.
]]
-- How long a month's spend hash lives after its last write: the month and the next one.
local USER_SPEND_TTL_MS = 62 * 86400000

local function userSpendKey(base, period)
  return base .. ':' .. period
end

-- The user's limit in minor units, or nil for none. `memo` keeps the limits read in a script.
local function userLimit(limitsKey, currency, user, memo)
  if user == '' then
    return nil
  end
  if memo.currency == nil then
    local head = redis.call('HMGET', limitsKey, 'currency', 'default')
    memo.currency = head[1] or ''
    memo.default = head[2]
    memo.users = {}
  end
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
