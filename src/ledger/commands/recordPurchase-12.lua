--[[
  Records the payment gateway's answer to a pending purchase, once: a successful payment
  creates the lot (and pays the debt first, like every lot); a failed one creates nothing and
  publishes credits.purchase.failed with the gateway's reason. A purchase settled before
  returns its stored outcome, so two requests racing with the same purchase id (both charged
  with the same idempotency key, so one payment) create one lot. Settling takes the purchase
  out of the index of pending payments.

  A success always wins: the gateway confirming (its webhook, or the reconciler asking it) that
  a purchase recorded as failed was paid after all creates the lot then, once (the stored
  purchase keeps the earlier failure's reason as failedReason). A failure after a success
  changes nothing.

  KEYS[1] account  KEYS[2] lots  KEYS[3] lot expiry  KEYS[4] payments  KEYS[5] outbox
  KEYS[6] index: tenants with events  KEYS[7] index: lot expiry  KEYS[8] index: gauges
  KEYS[9] index: blocked  KEYS[10] index: low balance  KEYS[11] index: recharge failed
  KEYS[12] index: pending payments
  ARGV[1] tenant id  ARGV[2] now (ms)  ARGV[3] now ISO  ARGV[4] now's month
  ARGV[5] purchase id  ARGV[6] succeeded | failed  ARGV[7] purchased at (ms)
  ARGV[8] expires at (ms)  ARGV[9] gateway reference  ARGV[10] failure reason (decline code)
  ARGV[11] failure message

  Output: {0, purchase} or {1, stored purchase} when settled before, or {code, detail}.
  purchase: JSON {status, amount, currency, paymentMethodRef, startedAt, settledAt, lotId,
  gatewayRef, balance, paidDebt, failedReason (a late success) | reason, message}
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
local id, status, purchasedAt, expiresAt = ARGV[5], ARGV[6], tonumber(ARGV[7]), tonumber(ARGV[8])
local gatewayRef, reason, message = ARGV[9], ARGV[10], ARGV[11]
local field = 'purchase:' .. id

local raw = redis.call('HGET', keys.payments, field)
if not raw then
  return { ERR.BAD_ARGUMENT, 'purchase ' .. id .. ' was never begun' }
end
local p = cjson.decode(raw)
local lateSuccess = p.status == 'failed' and status == 'succeeded'
if p.status ~= 'pending' and not lateSuccess then
  return { DUPLICATE, raw }
end
if status ~= 'succeeded' and status ~= 'failed' then
  return { ERR.BAD_ARGUMENT, 'status must be succeeded or failed' }
end
local a = loadAccount(ctx)
if not a then
  return { ERR.NO_ACCOUNT, ctx.tenant }
end
local amount = tonumber(p.amount)
-- Every check comes before the first write: a script that returns half-way keeps what it wrote.
if status == 'succeeded' then
  local refusal = refuseCharge(a, p.currency, 'credits')
  if refusal then
    return refusal
  end
  if expiresAt <= ctx.now or gatewayRef == '' then
    return { ERR.BAD_ARGUMENT, 'a successful purchase needs a future expiry and a gateway reference' }
  end
  -- beginPurchase refused what would not fit; other funds may have come in since. The purchase
  -- then stays pending (paid, no lot) and nothing changes, for an operator to settle.
  if a.balance + amount > MAX_TOTAL then
    return { ERR.BALANCE_LIMIT, 'the balance would pass ' .. fmt(MAX_TOTAL) .. ' minor units' }
  end
end

p.settledAt = fmt(ctx.now)
if status == 'succeeded' then
  expireDue(ctx, a)
  local lotId = 'p:' .. id
  local debtBefore = a.debt
  addLot(ctx, a, lotId, amount, purchasedAt, expiresAt, 'purchase', gatewayRef) -- fits: checked above
  emit(ctx, 'credits.funds.added', lotId, {
    lotId = lotId, source = 'purchase', paymentRef = id, gatewayRef = gatewayRef, amount = money(a, amount),
    purchasedAt = fmt(purchasedAt), expiresAt = fmt(expiresAt), balance = money(a, a.balance),
  })
  afterBalanceChange(ctx, a, 'funds:' .. lotId, true)
  saveAccount(ctx, a)
  if lateSuccess then
    p.failedReason, p.reason, p.message = p.reason, nil, nil
  end
  p.status, p.lotId, p.gatewayRef = 'succeeded', lotId, gatewayRef
  p.balance, p.paidDebt = fmt(a.balance), fmt(debtBefore - a.debt)
else
  emit(ctx, 'credits.purchase.failed', 'purchase:' .. id, {
    purchaseId = id, amount = money(a, amount), reason = reason, message = message,
    balance = money(a, a.balance),
  })
  p.status, p.reason, p.message = 'failed', reason, message
  syncIndexes(keys, ctx.tenant)
end
local outcome = cjson.encode(p)
redis.call('HSET', keys.payments, field, outcome)
redis.call('ZREM', keys.ixPending, pendingMember('purchase', ctx.tenant, id))
return { OK, outcome }
