--[[
  An operator's adjustment: money credited without a payment (a goodwill credit, a migration
  from another system), as a new lot, idempotent by its reference. It names its reason and
  who made it, and is published as credits.adjustment.added besides credits.funds.added
  (source manual). The reference reused with another amount or currency is a conflict.

  KEYS[1] account  KEYS[2] lots  KEYS[3] lot expiry  KEYS[4] payments  KEYS[5] outbox
  KEYS[6] index: tenants with events  KEYS[7] index: lot expiry  KEYS[8] index: gauges
  KEYS[9] index: blocked  KEYS[10] index: low balance  KEYS[11] index: recharge failed
  KEYS[12] index: pending payments
  ARGV[1] tenant id  ARGV[2] now (ms)  ARGV[3] now ISO  ARGV[4] now's month
  ARGV[5] payment reference  ARGV[6] amount (minor units)  ARGV[7] currency
  ARGV[8] purchased at (ms)  ARGV[9] expires at (ms)  ARGV[10] reason  ARGV[11] made by
  ARGV[12] '1' for a migration (the only kind whose purchase time may lie in the past)

  Output: {0, outcome} or {1, stored outcome} for a reference seen before, or {code, detail}
  (BALANCE_LIMIT when the balance would pass MAX_TOTAL; PAYMENT_REF_CONFLICT: detail is JSON
  {amount, currency} of the first use).
  outcome: JSON {lotId, amount, currency, balance, paidDebt}
]]
--- @include "includes/errors"
--- @include "includes/common"
--- @include "includes/account"
--- @include "includes/lots"

local keys = { account = KEYS[1], lots = KEYS[2], lotExpiry = KEYS[3], payments = KEYS[4], outbox = KEYS[5],
  ixOutbox = KEYS[6], ixExpiry = KEYS[7], gauges = KEYS[8],
  ixBlocked = KEYS[9], ixLow = KEYS[10], ixRechargeFailed = KEYS[11], ixPending = KEYS[12],
}
local ctx = newContext(keys, ARGV[1], ARGV[2], ARGV[3], ARGV[4])
local ref, amount, currency = ARGV[5], tonumber(ARGV[6]), ARGV[7]
local purchasedAt, expiresAt = tonumber(ARGV[8]), tonumber(ARGV[9])
local reason, madeBy, migration = ARGV[10], ARGV[11], ARGV[12] == '1'

local previous = redis.call('HGET', keys.payments, 'funds:' .. ref)
if previous then
  local p = cjson.decode(previous)
  -- Outcomes stored before the currency was recorded compare by amount alone.
  if p.amount ~= ARGV[6] or (p.currency ~= nil and p.currency ~= currency) then
    return { ERR.PAYMENT_REF_CONFLICT, cjson.encode({ amount = p.amount, currency = p.currency or '' }) }
  end
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
if reason == '' or madeBy == '' then
  return { ERR.BAD_ARGUMENT, 'an adjustment names its reason and who made it' }
end

expireDue(ctx, a)
local lotId = 'm:' .. ref
local debtBefore = a.debt
local limit = addLot(ctx, a, lotId, amount, purchasedAt, expiresAt, 'manual', ref)
if limit then
  saveAccount(ctx, a) -- what expired above stays expired, consistently
  return limit
end
local backdated = purchasedAt < ctx.now
local lot = ctx.lots[lotId]
lot.reason, lot.madeBy = reason, madeBy
if migration then
  lot.migration = '1'
end
emit(ctx, 'credits.adjustment.added', lotId, {
  adjustmentId = ref, lotId = lotId, kind = migration and 'migration' or 'credit', reason = reason,
  madeBy = madeBy, amount = money(a, amount), purchasedAt = fmt(purchasedAt), expiresAt = fmt(expiresAt),
  backdated = backdated, balance = money(a, a.balance),
})
emit(ctx, 'credits.funds.added', lotId, {
  lotId = lotId, source = 'manual', paymentRef = ref, amount = money(a, amount),
  purchasedAt = fmt(purchasedAt), expiresAt = fmt(expiresAt), balance = money(a, a.balance),
})
afterBalanceChange(ctx, a, 'funds:' .. lotId, true)
saveAccount(ctx, a)
local outcome = cjson.encode({
  lotId = lotId, amount = fmt(amount), currency = currency, balance = fmt(a.balance), paidDebt = fmt(debtBefore - a.debt),
})
redis.call('HSET', keys.payments, 'funds:' .. ref, outcome)
return { OK, outcome }
