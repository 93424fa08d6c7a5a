--[[
  Sets a tenant's per-user monthly spend limits and burst guard: the default, the guard and the
  users the request names, and only those (a concurrent change of other users is never undone). Limits stored in
  another currency than the account's (minor units of the old currency) are dropped first.

  KEYS[1] account  KEYS[2] user spend limits (includes/user-limits.lua)
  ARGV[1] the currency the amounts were converted in (CURRENCY_MISMATCH when the account's
          is another)
  ARGV[2] the default: minor units, 'none' (no default), or '' (left as it is)
  ARGV[3] the users: JSON {"<user>": minor units | 'none' (no limit, whatever the default) |
          '' (the user's own limit removed: the default applies)}
  ARGV[4] the burst guard: `<window minutes>|<max international calls>|<max spend, minor
          units>` ('' for a threshold not set), 'none' (off), or '' (left as it is)
  ARGV[5] the caps on live credit-paid call sessions (`calls`, read by startSession-17.lua):
          `<per tenant>|<per user>` ('' for no cap), 'none' (no caps), or '' (left as it is);
          they hold no money, so a currency change keeps them

  Output: {0} or {code, detail}.
]]
--- @include "includes/errors"
--- @include "includes/common"

local currency = redis.call('HGET', KEYS[1], 'currency')
if not currency then
  return { ERR.NO_ACCOUNT, '' }
end
if currency ~= ARGV[1] then
  return { ERR.CURRENCY_MISMATCH, 'the account is in ' .. currency }
end
local function valid(value)
  return value == 'none' or value == '' or string.find(value, '^%d+$') ~= nil and #value <= 16
end
local users = cjson.decode(ARGV[3])
if not valid(ARGV[2]) then
  return { ERR.BAD_ARGUMENT, 'bad default' }
end
local burst = ARGV[4]
if burst ~= '' and burst ~= 'none' then
  local minutes, calls, spend = string.match(burst, '^(%d+)|(%d*)|(%d*)$')
  if not minutes or tonumber(minutes) < 1 or tonumber(minutes) > 1440 or #calls > 9 or #spend > 16
      or calls == '0' or (calls == '' and spend == '') then
    return { ERR.BAD_ARGUMENT, 'bad burst guard' }
  end
end
for user, value in pairs(users) do
  if type(value) ~= 'string' or not valid(value) or #user == 0 or #user > 256 then
    return { ERR.BAD_ARGUMENT, 'bad limit for user ' .. tostring(user) }
  end
end
local calls = ARGV[5] or ''
if calls ~= '' and calls ~= 'none' and not string.find(calls, '^%d?%d?%d?%d?%d?%d?%d?|%d?%d?%d?%d?%d?%d?%d?$') then
  return { ERR.BAD_ARGUMENT, 'bad concurrent calls' }
end
if redis.call('HGET', KEYS[2], 'currency') ~= currency then
  local kept = redis.call('HGET', KEYS[2], 'calls')
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[2], 'currency', currency)
  if kept then
    redis.call('HSET', KEYS[2], 'calls', kept)
  end
end
if calls == 'none' then
  redis.call('HDEL', KEYS[2], 'calls')
elseif calls ~= '' then
  redis.call('HSET', KEYS[2], 'calls', calls)
end
if ARGV[2] == 'none' then
  redis.call('HDEL', KEYS[2], 'default')
elseif ARGV[2] ~= '' then
  redis.call('HSET', KEYS[2], 'default', ARGV[2])
end
if burst == 'none' then
  redis.call('HDEL', KEYS[2], 'burst')
elseif burst ~= '' then
  redis.call('HSET', KEYS[2], 'burst', burst)
end
for user, value in pairs(users) do
  if value == '' then
    redis.call('HDEL', KEYS[2], 'u:' .. user)
  else
    redis.call('HSET', KEYS[2], 'u:' .. user, value)
  end
end
return { OK }
