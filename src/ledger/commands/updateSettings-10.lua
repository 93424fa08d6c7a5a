--[[
  Changes the account settings a request names, and only those, in one step: what it does not
  name keeps its stored value, whatever another request changed meanwhile. Creates the
  account when asked to. Money and the state the other scripts keep are left alone.

  Every rule that depends on the stored settings is checked here, against the stored state,
  so a concurrent change cannot slip between the check and the write:
  - the currency and the billing mode change only while no money is held or owed;
  - auto-recharge is for prepaid tenants only and is enabled only with a recharge amount
    above zero (a switch to postpaid turns it off; so does a change of currency, which resets
    the amounts it does not name: they were minor units of the old currency);
  - the caller's preconditions still hold: the currency its amounts were converted in, and
    the settings version it read (every change here increments it).

  KEYS[1] account  KEYS[2] pools  KEYS[3] lot expiry  KEYS[4] outbox
  KEYS[5] index: tenants with events  KEYS[6] index: lot expiry  KEYS[7] index: gauges
  KEYS[8] index: blocked  KEYS[9] index: low balance  KEYS[10] index: recharge failed
  ARGV[1] tenant id  ARGV[2] now (ms)  ARGV[3] now ISO  ARGV[4] now's month
  ARGV[5] 'create': create the account when there is none (mode and currency are named), or
          'update': NO_ACCOUNT when there is none
  ARGV[6] changes: JSON of the named fields only, string values: mode, currency, lowThreshold,
          arEnabled ('0' | '1'), arTrigger, arAmount, arMonthlyCap, arMaxFailures,
          paymentMethodRef, contacts (a JSON list), sessionOverdraft (minor units: how far
          what call sessions hold may pass the balance); and caps: {"<pool>": seconds a month},
          which replaces every pool capacity when named
  ARGV[7] preconditions: JSON {currency?, version?}

  Output: {0, 'created' | 'updated', version} or {code, detail}; SETTINGS_CONFLICT's detail
  is '<field>: <why>'.
]]
--- @include "includes/errors"
--- @include "includes/common"
--- @include "includes/indexes"

local keys = {
  account = KEYS[1], pools = KEYS[2], lotExpiry = KEYS[3], outbox = KEYS[4], ixOutbox = KEYS[5], ixExpiry = KEYS[6], gauges = KEYS[7],
  ixBlocked = KEYS[8], ixLow = KEYS[9], ixRechargeFailed = KEYS[10],
}
local create = ARGV[5] == 'create'
local changes = cjson.decode(ARGV[6])
local expect = cjson.decode(ARGV[7])
local existing = readHash(keys.account)
local created = existing.mode == nil

if created and not create then
  return { ERR.NO_ACCOUNT, ARGV[1] }
end
if created and (changes.mode == nil or changes.currency == nil) then
  return { ERR.BAD_ARGUMENT, 'a new account needs its mode and currency' }
end
local version = num(existing.settingsVersion)
if expect.version ~= nil and (created or fmt(version) ~= expect.version) then
  return { ERR.VERSION_MISMATCH, fmt(version) }
end
if expect.currency ~= nil and not created and existing.currency ~= expect.currency then
  return { ERR.CURRENCY_MISMATCH, existing.currency }
end

local SETTINGS = { 'mode', 'currency', 'lowThreshold', 'arEnabled', 'arTrigger', 'arAmount', 'arMonthlyCap',
  'arMaxFailures', 'paymentMethodRef', 'contacts', 'sessionOverdraft' }
-- A new account's settings where the request names none (the API's defaults).
local DEFAULTS = { lowThreshold = '0', arEnabled = '0', arTrigger = '0', arAmount = '0', arMonthlyCap = '5',
  arMaxFailures = '3', paymentMethodRef = '', contacts = '[]', sessionOverdraft = '0' }
local known = { caps = true }
for _, field in ipairs(SETTINGS) do
  known[field] = true
end
for field in pairs(changes) do
  if not known[field] then
    return { ERR.BAD_ARGUMENT, 'unknown setting ' .. field }
  end
end
-- The settings as they will be: the named fields over the stored ones (or the defaults).
local after = {}
for _, field in ipairs(SETTINGS) do
  after[field] = changes[field] or existing[field] or DEFAULTS[field]
end

if not created and (after.currency ~= existing.currency or after.mode ~= existing.mode) then
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
-- Amounts not named were minor units of the old currency: they do not carry over.
if not created and after.currency ~= existing.currency then
  for _, field in ipairs({ 'lowThreshold', 'arTrigger', 'arAmount', 'sessionOverdraft' }) do
    if changes[field] == nil then
      after[field] = '0'
    end
  end
end
if after.arEnabled == '1' then
  local why
  if after.mode ~= 'prepaid' then
    why = 'arEnabled: auto-recharge is for prepaid tenants only'
  elseif num(after.arAmount) <= 0 then
    why = 'arAmount: the recharge amount must be more than zero to enable auto-recharge'
  end
  if why and changes.arEnabled == '1' then
    return { ERR.SETTINGS_CONFLICT, why }
  elseif why then
    -- Not asked for now: a switch to postpaid, or of currency, turns auto-recharge off.
    after.arEnabled = '0'
  end
end

version = version + 1
local fields = { 'settingsVersion', fmt(version), 'updatedAt', ARGV[3] }
for _, field in ipairs(SETTINGS) do
  if created or after[field] ~= existing[field] then
    fields[#fields + 1] = field
    fields[#fields + 1] = after[field]
  end
end
if created then
  for _, f in ipairs({ 'balance', '0', 'debt', '0', 'lowNotified', '0', 'blocked', '0', 'arFailures', '0',
    'arPending', '', 'arPendingSince', '', 'arSeq', '0', 'arMonth', '', 'arMonthCount', '0', 'createdAt', ARGV[3] }) do
    fields[#fields + 1] = f
  end
end
-- Settings that change a threshold take effect on the next balance change; a switch away
-- from prepaid lifts a block (postpaid tenants are never blocked for balance).
if after.mode ~= 'prepaid' and num(existing.blocked) == 1 then
  fields[#fields + 1] = 'blocked'
  fields[#fields + 1] = '0'
end
-- Re-enabling auto-recharge starts a fresh count of consecutive failures.
if not created and after.arEnabled == '1' and existing.arEnabled ~= '1' then
  fields[#fields + 1] = 'arFailures'
  fields[#fields + 1] = '0'
end
redis.call('HSET', keys.account, unpack(fields))

if changes.caps ~= nil then
  for _, field in ipairs(redis.call('HKEYS', keys.pools)) do
    if string.sub(field, 1, 4) == 'cap:' and changes.caps[string.sub(field, 5)] == nil then
      redis.call('HDEL', keys.pools, field)
    end
  end
  for pool, seconds in pairs(changes.caps) do
    redis.call('HSET', keys.pools, 'cap:' .. pool, seconds)
  end
end
-- Counted among the tenants when created; a switch away from prepaid may lift a block.
syncIndexes(keys, ARGV[1])
if created then
  return { OK, 'created', fmt(version) }
end
return { OK, 'updated', fmt(version) }
