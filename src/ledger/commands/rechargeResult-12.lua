--[[
  Records the payment gateway's answer to an auto-recharge request, once per request id.
  Success adds a lot; failure clears the pending request, counts consecutive failures and
  turns auto-recharge off after the account's maximum. The account keeps the last failure's
  time and reason until a recharge succeeds (arLastFailureAt, arLastFailureReason), and the
  tenant's shard indexes it by that time meanwhile (includes/indexes.lua). Settling takes the
  request out of the index of pending payments (the account's arPending, includes/indexes.lua).

  A success always wins: the gateway confirming (its webhook, or the reconciler asking it) that
  a request recorded as failed was paid after all adds its lot then, once, with
  credits.recharge.succeeded and credits.funds.added; the failure counters and a request made
  since stay as they are. A failure after a success changes nothing.

  KEYS[1] account  KEYS[2] lots  KEYS[3] lot expiry  KEYS[4] payments  KEYS[5] outbox
  KEYS[6] index: tenants with events  KEYS[7] index: lot expiry  KEYS[8] index: gauges
  KEYS[9] index: blocked  KEYS[10] index: low balance  KEYS[11] index: recharge failed
  KEYS[12] index: pending payments
  ARGV[1] tenant id  ARGV[2] now (ms)  ARGV[3] now ISO  ARGV[4] now's month
  ARGV[5] request id  ARGV[6] succeeded | failed  ARGV[7] amount charged (minor units)
  ARGV[8] currency  ARGV[9] purchased at (ms)  ARGV[10] expires at (ms)
  ARGV[11] gateway reference  ARGV[12] failure reason

  Output: {0, outcome} or {1, stored outcome}, or {code, detail} (BALANCE_LIMIT, changing
  nothing, when a recharge would take the balance past MAX_TOTAL).
  outcome: JSON {status, lotId, balance, failures, autoRechargeDisabled, lateSuccess (a success
  recorded after a failure)}
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
local requestId, status, amount, currency = ARGV[5], ARGV[6], tonumber(ARGV[7]), ARGV[8]
local purchasedAt, expiresAt, gatewayRef, reason = tonumber(ARGV[9]), tonumber(ARGV[10]), ARGV[11], ARGV[12]

local previous = redis.call('HGET', keys.payments, 'recharge:' .. requestId)
local lateSuccess = previous ~= false and status == 'succeeded' and cjson.decode(previous).status == 'failed'
if previous and not lateSuccess then
  return { DUPLICATE, previous }
end
local a = loadAccount(ctx)
if not a then
  return { ERR.NO_ACCOUNT, ctx.tenant }
end
if a.arPending ~= requestId and not lateSuccess then
  return { ERR.UNKNOWN_RECHARGE, a.arPending }
end
if status ~= 'succeeded' and status ~= 'failed' then
  return { ERR.BAD_ARGUMENT, 'status must be succeeded or failed' }
end
-- Every check comes before the first write: a script that returns half-way keeps what it wrote.
if status == 'succeeded' then
  local refusal = refuseCharge(a, currency, 'credits')
  if refusal then
    return refusal
  end
  if not amount or amount <= 0 or amount % 1 ~= 0 or expiresAt <= ctx.now then
    return { ERR.BAD_ARGUMENT, 'a successful recharge needs a positive amount and a future expiry' }
  end
  -- Before any write (addLot would refuse after the pending request is cleared): the request
  -- stays pending and nothing changes. A request is only made when the amount fits.
  if amount > MAX_TOTAL or a.balance + amount > MAX_TOTAL then
    return { ERR.BALANCE_LIMIT, 'the balance would pass ' .. fmt(MAX_TOTAL) .. ' minor units' }
  end
end

expireDue(ctx, a)
local outcome
if lateSuccess then
  local lotId = 'r:' .. requestId
  addLot(ctx, a, lotId, amount, purchasedAt, expiresAt, 'recharge', gatewayRef) -- fits: checked above
  emit(ctx, 'credits.recharge.succeeded', requestId, {
    requestId = requestId, amount = money(a, amount), gatewayRef = gatewayRef, balance = money(a, a.balance),
  })
  emit(ctx, 'credits.funds.added', lotId, {
    lotId = lotId, source = 'recharge', paymentRef = gatewayRef, amount = money(a, amount),
    purchasedAt = fmt(purchasedAt), expiresAt = fmt(expiresAt), balance = money(a, a.balance),
  })
  afterBalanceChange(ctx, a, 'recharge:' .. requestId, false)
  saveAccount(ctx, a)
  outcome = cjson.encode({ status = status, lotId = lotId, balance = fmt(a.balance), failures = fmt(a.arFailures),
    autoRechargeDisabled = a.arEnabled == 0, lateSuccess = true })
  redis.call('HSET', keys.payments, 'recharge:' .. requestId, outcome)
  return { OK, outcome }
end
a.arPending = ''
a.arPendingSince = ''
redis.call('HSET', keys.account, 'arPendingAmount', '', 'arPendingMethod', '')
if status == 'succeeded' then
  local lotId = 'r:' .. requestId
  a.arFailures = 0
  addLot(ctx, a, lotId, amount, purchasedAt, expiresAt, 'recharge', gatewayRef) -- fits: checked above
  emit(ctx, 'credits.recharge.succeeded', requestId, {
    requestId = requestId, amount = money(a, amount), gatewayRef = gatewayRef, balance = money(a, a.balance),
  })
  emit(ctx, 'credits.funds.added', lotId, {
    lotId = lotId, source = 'recharge', paymentRef = gatewayRef, amount = money(a, amount),
    purchasedAt = fmt(purchasedAt), expiresAt = fmt(expiresAt), balance = money(a, a.balance),
  })
  -- No new request from here: a recharge too small to lift the balance above the trigger
  -- must not chain into another charge at once; the next usage may ask again.
  afterBalanceChange(ctx, a, 'recharge:' .. requestId, false)
  redis.call('HSET', keys.account, 'arLastFailureAt', '', 'arLastFailureReason', '')
  outcome = { status = status, lotId = lotId, balance = fmt(a.balance), failures = '0', autoRechargeDisabled = false }
else
  a.arFailures = a.arFailures + 1
  local disabled = a.arMaxFailures > 0 and a.arFailures >= a.arMaxFailures
  if disabled then
    a.arEnabled = 0
  end
  emit(ctx, 'credits.recharge.failed', requestId, {
    requestId = requestId, amount = money(a, a.arAmount), reason = reason, consecutiveFailures = fmt(a.arFailures),
    autoRechargeDisabled = disabled, balance = money(a, a.balance),
  })
  redis.call('HSET', keys.account, 'arLastFailureAt', fmt(ctx.now), 'arLastFailureReason', reason)
  outcome = { status = status, lotId = '', balance = fmt(a.balance), failures = fmt(a.arFailures), autoRechargeDisabled = disabled }
end
saveAccount(ctx, a)
outcome = cjson.encode(outcome)
redis.call('HSET', keys.payments, 'recharge:' .. requestId, outcome)
return { OK, outcome }
