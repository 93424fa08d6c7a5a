--[[
  Stores the tenant's customer at the payment gateway, once: when one is stored already (a
  concurrent first use stored it), that one stays and comes back, so a race of two creations
  ends with one stored customer. Postpaid tenants have none.

  KEYS[1] account
  ARGV[1] tenant id  ARGV[2] customer id

  Output: {0, stored customer id} or {code, detail}: NO_ACCOUNT, MODE_MISMATCH (postpaid),
  BAD_ARGUMENT (no customer id).
]]
--- @include "includes/errors"

local account = KEYS[1]
local customer = ARGV[2]
if customer == nil or customer == '' then
  return { ERR.BAD_ARGUMENT, 'a customer id is required' }
end
local stored = redis.call('HMGET', account, 'mode', 'paymentCustomer')
if not stored[1] then
  return { ERR.NO_ACCOUNT, ARGV[1] }
end
if stored[1] ~= 'prepaid' then
  return { ERR.MODE_MISMATCH, 'postpaid tenants have no payment customer' }
end
if stored[2] and stored[2] ~= '' then
  return { OK, stored[2] }
end
redis.call('HSET', account, 'paymentCustomer', customer)
return { OK, customer }
