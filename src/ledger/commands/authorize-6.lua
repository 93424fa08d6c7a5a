#!lua flags=no-writes
--[[
  Read-only snapshot for a call authorization: what is available at `now`: the balance (lots
  whose expiry has come count as gone even before the sweeper forfeits them) less what the
  tenant's call sessions hold (includes/sessions.lua) and what the pool has
  left, the user's spend limit with what the user spent of it in the call's month, and whether
  the burst guard blocked the user. The decision and the affordable seconds are computed by the caller from this.

  KEYS[1] account  KEYS[2] lots  KEYS[3] lot expiry  KEYS[4] pools
  KEYS[5] user spend limits  KEYS[6] the base of the users' monthly spend keys
  ARGV[1] now (ms)  ARGV[2] pool ('' for none)  ARGV[3] month of the call (yyyy-mm)
  ARGV[4] the user key ('' for none)

  Output: {0, mode, currency, balance, blocked, poolCap, poolUsed, userLimit ('' for none),
  userSpent, userBlocked (the block's reason, '' when not blocked)} or {code, detail}.
]]
--- @include "includes/errors"
--- @include "includes/common"
--- @include "includes/user-limits"

local h = readHash(KEYS[1])
if h.mode == nil then
  return { ERR.NO_ACCOUNT, '' }
end
local now = tonumber(ARGV[1])
local balance = num(h.balance) - num(h.sessHold)
for _, lotId in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)) do
  balance = balance - num(cjson.decode(redis.call('HGET', KEYS[2], lotId)).remaining)
end
local blocked = 0
if h.mode == 'prepaid' and balance <= 0 then
  blocked = 1
end
local poolCap, poolUsed = 0, 0
if ARGV[2] ~= '' then
  poolCap = num(redis.call('HGET', KEYS[4], 'cap:' .. ARGV[2]))
  poolUsed = num(redis.call('HGET', KEYS[4], 'used:' .. ARGV[2] .. ':' .. ARGV[3]))
end
local limits = {}
local limit = userLimit(KEYS[5], h.currency, ARGV[4], limits)
local block = userBlock(KEYS[5], ARGV[4], limits)
local userSpent = 0
if limit then
  userSpent = num(redis.call('HGET', userSpendKey(KEYS[6], ARGV[3]), 's:' .. ARGV[4]))
end
return { OK, h.mode, h.currency, fmt(balance), blocked, fmt(poolCap), fmt(poolUsed),
  limit and fmt(limit) or '', fmt(userSpent), block and string.match(block, '|(.*)$') or '' }
