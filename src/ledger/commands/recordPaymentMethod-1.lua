--[[
  Records a card as the tenant's payment method, after the gateway said it is attached to
  `customer`: only when that customer is the tenant's stored one (or none is stored yet: then
  it is stored too), only for a prepaid tenant, and, when the caller read a settings version,
  only while it is still the stored one. Increments the settings version like every change.

  KEYS[1] account
  ARGV[1] tenant id  ARGV[2] now ISO  ARGV[3] customer id  ARGV[4] payment method reference
  ARGV[5] what to show for the card ('' for nothing)  ARGV[6] the settings version read ('' for any)

  Output: {0, version} or {code, detail}: NO_ACCOUNT, MODE_MISMATCH (postpaid),
  SETTINGS_CONFLICT ('paymentCustomer: ...', the customer is not the tenant's),
  VERSION_MISMATCH (detail: the stored version), BAD_ARGUMENT.
]]
--- @include "includes/errors"
--- @include "includes/common"

local account = KEYS[1]
local customer, ref, label, ifVersion = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
if customer == '' or ref == '' then
  return { ERR.BAD_ARGUMENT, 'a customer and a payment method reference are required' }
end
local existing = readHash(account)
if existing.mode == nil then
  return { ERR.NO_ACCOUNT, ARGV[1] }
end
if existing.mode ~= 'prepaid' then
  return { ERR.MODE_MISMATCH, 'postpaid tenants have no payment method' }
end
local storedCustomer = existing.paymentCustomer or ''
if storedCustomer ~= '' and storedCustomer ~= customer then
  return { ERR.SETTINGS_CONFLICT, 'paymentCustomer: the payment method is not attached to the tenant\'s customer' }
end
local version = num(existing.settingsVersion)
if ifVersion ~= '' and fmt(version) ~= ifVersion then
  return { ERR.VERSION_MISMATCH, fmt(version) }
end
version = version + 1
redis.call('HSET', account, 'paymentCustomer', customer, 'paymentMethodRef', ref,
  'paymentMethodLabel', cjson.encode({ ref = ref, label = label }), 'settingsVersion', fmt(version),
  'updatedAt', ARGV[2])
return { OK, fmt(version) }
