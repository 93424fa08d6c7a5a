--[[
  Creates a tenant account or updates its settings, leaving its money and state alone.
  The currency, and prepaid or postpaid, can change only while no money is held or owed.

  KEYS[1] account  KEYS[2] pools
  ARGV[1] tenant id  ARGV[2] now (ms)  ARGV[3] now ISO  ARGV[4] now's month
  ARGV[5] settings: JSON of string fields (mode, currency, lowThreshold, arEnabled,
          arTrigger, arAmount, arMonthlyCap, arMaxFailures, paymentMethodRef, contacts)
  ARGV[6] pool capacities: JSON {"<pool>": seconds a month}; replaces all of them

  Output: {0, 'created' | 'updated'} or {code, detail}.
]]
--- @include "includes/errors"
--- @include "includes/common"

local keys = { account = KEYS[1], pools = KEYS[2] }
local settings = cjson.decode(ARGV[5])
local caps = cjson.decode(ARGV[6])
local existing = readHash(keys.account)
local created = existing.mode == nil

if not created and (settings.currency ~= existing.currency or settings.mode ~= existing.mode) then
  local holds = num(existing.balance) ~= 0 or num(existing.debt) ~= 0
  for field, value in pairs(existing) do
    if string.sub(field, 1, 5) == 'owed:' and num(value) ~= 0 then
      holds = true
    end
  end
  if holds then
    return { ERR.ACCOUNT_LOCKED, 'currency and billing mode cannot change while money is held or owed' }
  end
end

local fields = {}
for field, value in pairs(settings) do
  fields[#fields + 1] = field
  fields[#fields + 1] = value
end
fields[#fields + 1] = 'updatedAt'
fields[#fields + 1] = ARGV[3]
if created then
  for _, f in ipairs({ 'balance', '0', 'debt', '0', 'lowNotified', '0', 'blocked', '0', 'arFailures', '0',
    'arPending', '', 'arPendingSince', '', 'arSeq', '0', 'arMonth', '', 'arMonthCount', '0', 'createdAt', ARGV[3] }) do
    fields[#fields + 1] = f
  end
end
redis.call('HSET', keys.account, unpack(fields))

-- Settings that change a threshold take effect on the next balance change; a switch away
-- from prepaid lifts a block (postpaid tenants are never blocked for balance).
if settings.mode ~= 'prepaid' and num(existing.blocked) == 1 then
  redis.call('HSET', keys.account, 'blocked', '0')
end
-- Re-enabling auto-recharge starts a fresh count of consecutive failures.
if settings.arEnabled == '1' and existing.arEnabled ~= '1' then
  redis.call('HSET', keys.account, 'arFailures', '0')
end

for _, field in ipairs(redis.call('HKEYS', keys.pools)) do
  if string.sub(field, 1, 4) == 'cap:' and caps[string.sub(field, 5)] == nil then
    redis.call('HDEL', keys.pools, field)
  end
end
for pool, seconds in pairs(caps) do
  redis.call('HSET', keys.pools, 'cap:' .. pool, seconds)
end
if created then
  return { OK, 'created' }
end
return { OK, 'updated' }
