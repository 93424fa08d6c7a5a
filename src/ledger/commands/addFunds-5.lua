--[[
  Adds funds bought by an administrator: a new lot, idempotent by payment reference.

  KEYS[1] account  KEYS[2] lots  KEYS[3] lot expiry  KEYS[4] payments  KEYS[5] outbox
  ARGV[1] tenant id  ARGV[2] now (ms)  ARGV[3] now ISO  ARGV[4] now's month
  ARGV[5] payment reference  ARGV[6] amount (minor units)  ARGV[7] currency
  ARGV[8] purchased at (ms)  ARGV[9] expires at (ms)

  Output: {0, outcome} or {1, stored outcome} for a reference seen before, or {code, detail}
  (BALANCE_LIMIT when the balance would pass MAX_TOTAL).
  outcome: JSON {lotId, amount, balance, paidDebt}
]]
--- @include "includes/errors"
--- @include "includes/common"
--- @include "includes/account"
--- @include "includes/lots"

local keys = { account = KEYS[1], lots = KEYS[2], lotExpiry = KEYS[3], payments = KEYS[4], outbox = KEYS[5] }
local ctx = newContext(keys, ARGV[1], ARGV[2], ARGV[3], ARGV[4])
local ref, amount, currency = ARGV[5], tonumber(ARGV[6]), ARGV[7]
local purchasedAt, expiresAt = tonumber(ARGV[8]), tonumber(ARGV[9])

local previous = redis.call('HGET', keys.payments, 'funds:' .. ref)
if previous then
  return { DUPLICATE, previous }
end
local a = loadAccount(ctx)
if not a then
  return { ERR.NO_ACCOUNT, ctx.tenant }
end
local refusal = refuseCharge(a, currency, 'credits')
if refusal then
  return refusal
end
if not amount or amount <= 0 or amount % 1 ~= 0 then
  return { ERR.BAD_ARGUMENT, 'amount must be a positive whole number of minor units' }
end
if expiresAt <= ctx.now then
  return { ERR.LOT_ALREADY_EXPIRED, fmt(expiresAt) }
end

expireDue(ctx, a)
local lotId = 'm:' .. ref
local debtBefore = a.debt
local limit = addLot(ctx, a, lotId, amount, purchasedAt, expiresAt, 'manual', ref)
if limit then
  saveAccount(ctx, a) -- what expired above stays expired, consistently
  return limit
end
emit(ctx, 'credits.funds.added', lotId, {
  lotId = lotId, source = 'manual', paymentRef = ref, amount = money(a, amount),
  purchasedAt = fmt(purchasedAt), expiresAt = fmt(expiresAt), balance = money(a, a.balance),
})
afterBalanceChange(ctx, a, 'funds:' .. lotId, true)
saveAccount(ctx, a)
local outcome = cjson.encode({
  lotId = lotId, amount = fmt(amount), balance = fmt(a.balance), paidDebt = fmt(debtBefore - a.debt),
})
redis.call('HSET', keys.payments, 'funds:' .. ref, outcome)
return { OK, outcome }
