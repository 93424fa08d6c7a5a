--[[
  Replaces the charge of a usage already applied (its rates were corrected): refunds the old
  charge and debits the new one, atomically and once per (usage id, revision).

  Refunds go back to the lots the old charge drew on (at once forfeited again if that lot
  has expired since); the part that went into debt reduces the debt, and whatever of it a
  later purchase had already paid becomes a refund lot expiring like a new purchase.

  KEYS[1] account  KEYS[2] lots  KEYS[3] lot expiry  KEYS[4] pools  KEYS[5] applied
  KEYS[6] outbox  KEYS[7] usage totals
  KEYS[8] index: tenants with events  KEYS[9] index: lot expiry  KEYS[10] index: gauges
  ARGV[1] tenant id  ARGV[2] now (ms)  ARGV[3] now ISO  ARGV[4] now's month
  ARGV[5] usage id  ARGV[6] revision  ARGV[7] currency
  ARGV[8] new source  ARGV[9] new charge  ARGV[10] new pool seconds
  ARGV[11] pool use read by the caller: JSON {"<pool>:<yyyy-mm>": seconds used}
  ARGV[12] expiry (ms) of a refund lot, should one be needed

  Output: {0, outcome} or {1, stored outcome} when this revision was applied already,
  or {code, detail} (BALANCE_LIMIT, changing nothing, when a total would pass MAX_TOTAL).
]]
--- @include "includes/errors"
--- @include "includes/common"
--- @include "includes/account"
--- @include "includes/lots"
--- @include "includes/pools"
--- @include "includes/totals"

local keys = {
  account = KEYS[1], lots = KEYS[2], lotExpiry = KEYS[3], pools = KEYS[4], applied = KEYS[5], outbox = KEYS[6],
  totals = KEYS[7], ixOutbox = KEYS[8], ixExpiry = KEYS[9], gauges = KEYS[10],
}
local ctx = newContext(keys, ARGV[1], ARGV[2], ARGV[3], ARGV[4])
local usageId, revision, currency = ARGV[5], ARGV[6], ARGV[7]
local newSrc, newCharge, newPoolSec = ARGV[8], tonumber(ARGV[9]), tonumber(ARGV[10])
local expected = cjson.decode(ARGV[11])
local refundExpiresAt = tonumber(ARGV[12])

local stored = redis.call('HGET', keys.applied, usageId)
if not stored then
  return { ERR.NOT_APPLIED, usageId }
end
local o = cjson.decode(stored)
if o.rv == revision then
  return { DUPLICATE, stored }
end
local a = loadAccount(ctx)
if not a then
  return { ERR.NO_ACCOUNT, ctx.tenant }
end
local refusal = refuseCharge(a, currency, newSrc)
if refusal then
  return refusal
end
if not newCharge or newCharge < 0 or newCharge % 1 ~= 0 or not newPoolSec or newPoolSec < 0 then
  return { ERR.BAD_ARGUMENT, 'bad charge or pool seconds' }
end
local oldCharge, oldPoolSec = num(o.charge), num(o.poolSec)
local draws = {}
if o.pool ~= '' and newPoolSec ~= oldPoolSec then
  draws[o.pool .. ':' .. o.period] = newPoolSec - oldPoolSec
elseif o.pool == '' and newPoolSec > 0 then
  return { ERR.BAD_ARGUMENT, 'usage ' .. usageId .. ' drew on no pool' }
end
local refused = checkPools(ctx, expected, draws)
if refused then
  return refused
end
-- Bounds, before any write: the refund adds at most the old charge to the balance, the new
-- charge at most itself to the debt, the amount owed or the period's usage charges.
local function stored(key, field)
  return num(redis.call('HGET', key, field))
end
local sameSrc = o.src == newSrc and oldCharge or 0
if o.src == 'credits' and a.balance + oldCharge > MAX_TOTAL
    or newSrc == 'credits' and a.debt + newCharge > MAX_TOTAL
    or newSrc == 'postpaid' and stored(keys.account, 'owed:' .. o.period) - sameSrc + newCharge > MAX_TOTAL
    or stored(keys.totals, o.period .. ':' .. newSrc .. ':charge') - sameSrc + newCharge > MAX_TOTAL then
  return { ERR.BALANCE_LIMIT, 'a total would pass ' .. fmt(MAX_TOTAL) .. ' minor units' }
end

expireDue(ctx, a)
local cause = 'rerate:' .. usageId .. ':' .. revision
for key, delta in pairs(draws) do
  redis.call('HINCRBY', keys.pools, 'used:' .. key, delta)
end

-- Refund the old charge.
if o.src == 'credits' and oldCharge > 0 then
  local lots = o.lots
  for i = #lots, 1, -1 do
    local lotId, amount = lots[i][1], num(lots[i][2])
    if lotId == '' then
      local toDebt = math.min(a.debt, amount)
      a.debt = a.debt - toDebt
      a.balance = a.balance + toDebt
      if amount > toDebt then
        -- Fits: the balance plus the whole old charge was checked above.
        addLot(ctx, a, 'refund:' .. usageId .. ':' .. revision, amount - toDebt, ctx.now, refundExpiresAt, 'refund', usageId)
      end
    else
      local lot = getLot(ctx, lotId)
      local expiresAt = num(lot.expiresAt)
      a.balance = a.balance + amount
      if expiresAt <= ctx.now then
        lot.expired = fmt(num(lot.expired) + amount)
        putLot(ctx, lotId, lot)
        a.balance = a.balance - amount
        emit(ctx, 'credits.funds.expired', lotId .. ':' .. cause, {
          lotId = lotId, amount = money(a, amount), purchasedAt = lot.purchasedAt, expiresAt = lot.expiresAt,
          balance = money(a, a.balance),
        })
      else
        lot.remaining = fmt(num(lot.remaining) + amount)
        putLot(ctx, lotId, lot)
        redis.call('ZADD', keys.lotExpiry, expiresAt, lotId)
      end
    end
  end
elseif o.src == 'postpaid' then
  redis.call('HINCRBY', keys.account, 'owed:' .. o.period, -oldCharge)
end

-- Debit the new charge.
local newLots = {}
if newSrc == 'credits' and newCharge > 0 then
  newLots = debitLots(ctx, a, newCharge)
elseif newSrc == 'postpaid' then
  redis.call('HINCRBY', keys.account, 'owed:' .. o.period, newCharge)
end
addToTotals(keys.totals, o.period, o.src, -1, -oldCharge, -oldPoolSec)
addToTotals(keys.totals, o.period, newSrc, 1, newCharge, newPoolSec)
afterBalanceChange(ctx, a, cause, true)
saveAccount(ctx, a)
local outcome = cjson.encode({
  src = newSrc, charge = fmt(newCharge), pool = o.pool, poolSec = fmt(newPoolSec), period = o.period,
  lots = newLots, balance = fmt(a.balance), at = o.at, rv = revision, previousCharge = fmt(oldCharge),
  r = o.r or '',
})
redis.call('HSET', keys.applied, usageId, outcome)
return { OK, outcome }
