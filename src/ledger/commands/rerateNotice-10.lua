--[[
  Tells the tenant what a re-rating run changed, once per revision: the event
  `credits.usage.rerated` with the calls re-priced, the totals before and after, and the
  refund or the extra charge. The usages themselves were re-rated one by one (rerate-17.lua);
  this only writes the notice, with the revision remembered so that a resumed run does not
  tell the tenant twice.

  KEYS[1] account  KEYS[2] lot expiry  KEYS[3] outbox  KEYS[4] re-rate notices
  KEYS[5] index: tenants with events  KEYS[6] index: lot expiry  KEYS[7] index: gauges
  KEYS[8] index: blocked  KEYS[9] index: low balance  KEYS[10] index: recharge failed
  ARGV[1] tenant id  ARGV[2] now (ms)  ARGV[3] now ISO  ARGV[4] now's month  ARGV[5] revision
  ARGV[6] period from (ISO)  ARGV[7] period to (ISO)  ARGV[8] calls re-rated
  ARGV[9] total charged before (minor units)  ARGV[10] total charged now (minor units)

  Output: {0, balance} when the notice was written, {1, balance} when it was written for this
  revision before, or {NO_ACCOUNT, tenant}.
]]
--- @include "includes/errors"
--- @include "includes/common"
--- @include "includes/indexes"

local keys = {
  account = KEYS[1], lotExpiry = KEYS[2], outbox = KEYS[3], notices = KEYS[4], ixOutbox = KEYS[5],
  ixExpiry = KEYS[6], gauges = KEYS[7], ixBlocked = KEYS[8], ixLow = KEYS[9], ixRechargeFailed = KEYS[10],
}
local ctx = newContext(keys, ARGV[1], ARGV[2], ARGV[3], ARGV[4])
local revision = ARGV[5]
local account = redis.call('HMGET', keys.account, 'mode', 'currency', 'balance')
if not account[1] then
  return { ERR.NO_ACCOUNT, ctx.tenant }
end
local calls, before, after = tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10])
if not calls or calls < 0 or not before or before < 0 or before % 1 ~= 0 or not after or after < 0 or after % 1 ~= 0 then
  return { ERR.BAD_ARGUMENT, 'bad calls or totals' }
end
local balance = fmt(num(account[3]))
if redis.call('HSETNX', keys.notices, revision, ARGV[3]) == 0 then
  return { DUPLICATE, balance }
end
local currency = account[2]
local function amount(minor)
  return { amountMinor = fmt(minor), currency = currency }
end
local difference = after - before
emit(ctx, 'credits.usage.rerated', revision, {
  revision = revision, from = ARGV[6], to = ARGV[7], calls = calls,
  previousTotal = amount(before), newTotal = amount(after), difference = amount(difference),
  refund = amount(math.max(0, -difference)), extraCharge = amount(math.max(0, difference)),
  mode = account[1], balance = amount(num(account[3])),
})
syncIndexes(keys, ctx.tenant)
return { OK, balance }
