--[[
  Begins a tenant's purchase of credits, once per purchase id, before the card is charged:
  records it as pending with its amount, currency and payment method, so that every later
  attempt of the same purchase charges the same card for the same amount with the same
  idempotency key. Creates no money: only recordPurchase does, after a successful payment.
  The pending purchase joins the index of pending payments (scored by when it began) until
  recordPurchase settles it, so that the reconciler finds it when its client never retries.

  KEYS[1] account  KEYS[2] payments  KEYS[3] index: pending payments (the tenant's shard)
  ARGV[1] tenant id  ARGV[2] now (ms)  ARGV[3] purchase id  ARGV[4] amount (minor units)
  ARGV[5] currency

  Output:
    {0, purchase}  pending (new, or begun before and not settled): charge it now
    {1, purchase}  settled before (succeeded or failed): its stored outcome, charge nothing
    {code, detail} a refusal: PAYMENT_REF_CONFLICT (the id was used with another amount or
                   currency; detail: JSON {amount, currency} of the first use), NO_ACCOUNT,
                   MODE_MISMATCH (postpaid tenants cannot buy credits), CURRENCY_MISMATCH,
                   NO_PAYMENT_METHOD, BALANCE_LIMIT (the balance would pass MAX_TOTAL), BAD_ARGUMENT
  purchase: JSON {status, amount, currency, paymentMethodRef, startedAt, ...outcome}
]]
--- @include "includes/errors"
--- @include "includes/common"
--- @include "includes/account"

local keys = { account = KEYS[1], payments = KEYS[2], ixPending = KEYS[3] }
local ctx = newContext(keys, ARGV[1], ARGV[2], '', '')
local id, amountArg, currency = ARGV[3], ARGV[4], ARGV[5]
local amount = tonumber(amountArg)
if not amount or amount <= 0 or amount % 1 ~= 0 then
  return { ERR.BAD_ARGUMENT, 'amount must be a positive whole number of minor units' }
end
local field = 'purchase:' .. id

local previous = redis.call('HGET', keys.payments, field)
if previous then
  local p = cjson.decode(previous)
  if p.amount ~= fmt(amount) or p.currency ~= currency then
    return { ERR.PAYMENT_REF_CONFLICT, cjson.encode({ amount = p.amount, currency = p.currency }) }
  end
  if p.status == 'pending' then
    return { OK, previous }
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
if a.paymentMethodRef == '' then
  return { ERR.NO_PAYMENT_METHOD, 'the tenant has no payment method: set one first' }
end
-- Refused before the card is charged: a lot past the bound could not be created afterwards.
if amount > MAX_TOTAL or a.balance + amount > MAX_TOTAL then
  return { ERR.BALANCE_LIMIT, 'the balance would pass ' .. fmt(MAX_TOTAL) .. ' minor units' }
end
local purchase = cjson.encode({
  status = 'pending', amount = fmt(amount), currency = currency,
  paymentMethodRef = a.paymentMethodRef, startedAt = fmt(ctx.now),
})
redis.call('HSET', keys.payments, field, purchase)
redis.call('ZADD', keys.ixPending, ctx.now, pendingMember('purchase', ctx.tenant, id))
return { OK, purchase }
