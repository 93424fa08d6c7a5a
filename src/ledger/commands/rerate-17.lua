--[[
  Replaces the charge of a usage already applied (its rates were corrected), atomically and
  once per (usage id, revision). Only the difference of what credits pay moves money,
  d = new - old (a charge of another source counts 0):
  - d > 0 is debited like any usage (into debt past the last lot); d = 0 moves no money;
  - d < 0 refunds |d| the reverse of the way the call took its money (includes/refunds.lua):
    first the part that went into debt (it reduces the debt; whatever of it a later purchase
    had already paid becomes a refund lot expiring like a new purchase), then its lots, last
    drawn first, each at most what the call took from it. A live lot's share pays the debt
    owed now first; an expired lot's share is forfeited (credits.funds.expired for that share,
    id <lot>:rerate:<usage>:<revision>): the balance does not move for it.
  The record keeps the draws that still pay the call. A postpaid amount owed moves by the
  difference too; the pool draw moves only if the new rating draws other seconds.

  KEYS[1] account  KEYS[2] lots  KEYS[3] lot expiry  KEYS[4] pools
  KEYS[5] applied (the base of the idempotency records' keys: includes/applied.lua)
  KEYS[6] legacy applied hash  KEYS[7] outbox  KEYS[8] usage totals
  KEYS[9] index: tenants with events  KEYS[10] index: lot expiry  KEYS[11] index: gauges
  KEYS[12] index: blocked  KEYS[13] index: low balance  KEYS[14] index: recharge failed
  KEYS[15] user spend limits  KEYS[16] the base of the users' monthly spend keys
          (includes/user-limits.lua)
  KEYS[17] index: pending payments
  ARGV[1] tenant id  ARGV[2] now (ms)  ARGV[3] now ISO  ARGV[4] now's month
  ARGV[5] usage id  ARGV[6] the call's start day (days since 1970, UTC)
  ARGV[7] second of that day it started  ARGV[8] its month (yyyy-mm)
  ARGV[9] revision  ARGV[10] currency
  ARGV[11] new source  ARGV[12] new charge  ARGV[13] new pool seconds
  ARGV[14] pool use read by the caller: JSON {"<pool>:<yyyy-mm>": seconds used}
  ARGV[15] expiry (ms) of a refund lot, should one be needed
  ARGV[16] idempotency retention (ms)  ARGV[17] the usage id as stored ('' for the id itself)
  ARGV[18] the user key the spend limits count by ('' for none)

  The record keeps the usage report it was applied with; the period totals move from the old
  charge to the new, and the re-rate day's spend (includes/totals.lua, `daily:` fields) by
  the difference, new - old, for each of credits and postpaid (it may be negative). The user's
  spend of the call's month moves by the credit-paid difference (while that month's spend is
  kept: the month and the next), and credits.user.limit_reached goes out if it now reaches the
  user's limit for the first time that month.

  Output: {0, record, balance} or {1, stored record, balance} when this revision was applied
  already (a record as applyUsage replies it), or {code, detail} (BALANCE_LIMIT, changing
  nothing, when a total would pass MAX_TOTAL).
]]
--- @include "includes/errors"
--- @include "includes/common"
--- @include "includes/account"
--- @include "includes/lots"
--- @include "includes/pools"
--- @include "includes/totals"
--- @include "includes/applied"
--- @include "includes/user-limits"
--- @include "includes/refunds"

local keys = {
  account = KEYS[1], lots = KEYS[2], lotExpiry = KEYS[3], pools = KEYS[4], applied = KEYS[5], legacy = KEYS[6],
  outbox = KEYS[7], totals = KEYS[8], ixOutbox = KEYS[9], ixExpiry = KEYS[10], gauges = KEYS[11],
  ixBlocked = KEYS[12], ixLow = KEYS[13], ixRechargeFailed = KEYS[14],
  userLimits = KEYS[15], userSpend = KEYS[16], ixPending = KEYS[17],
}
local ctx = newContext(keys, ARGV[1], ARGV[2], ARGV[3], ARGV[4])
local usageId, day, sod, period = ARGV[5], ARGV[6], tonumber(ARGV[7]), ARGV[8]
local revision, currency = ARGV[9], ARGV[10]
local newSrc, newCharge, newPoolSec = ARGV[11], tonumber(ARGV[12]), tonumber(ARGV[13])
local expected = cjson.decode(ARGV[14])
local refundExpiresAt = tonumber(ARGV[15])
local A = newApplied(keys.applied, keys.legacy, tonumber(ARGV[16]), ctx.now)

local field = ARGV[17] ~= '' and ARGV[17] or usageId
local found = lookupApplied(A, { { id = usageId, key = field, day = day } })[1]
if not found then
  return { ERR.NOT_APPLIED, usageId }
end
local o
if found[1] == 'v2' then
  o = unpackOutcome(A, day, period, found[2])
else
  -- A record in the legacy format: moved to its day's bucket by this re-rate.
  local legacy = cjson.decode(found[2])
  local details = splitOn(legacy.r or '', '|')
  local own, shared = '||', ''
  if #details == 8 then
    own = details[1] .. '|' .. details[2] .. '|' .. details[3]
    shared = table.concat(details, '|', 4)
  end
  o = {
    src = legacy.src, charge = num(legacy.charge), poolSec = num(legacy.poolSec), pool = legacy.pool,
    shared = shared, sod = sod, start = tonumber(day) * DAY_MS + sod * 1000, at = num(legacy.at),
    lots = (type(legacy.lots) == 'table' and #legacy.lots > 0) and legacy.lots or {}, own = own,
    rv = legacy.rv or '', previous = num(legacy.previousCharge), report = '',
  }
end
o.period = period
if o.rv == revision then
  return { DUPLICATE, replyRecord(A, period, found), fmt(num(redis.call('HGET', keys.account, 'balance'))) }
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
local oldCharge, oldPoolSec = o.charge, o.poolSec
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
-- What credits pay, before and after: only the difference moves money.
local oldCredit = o.src == 'credits' and oldCharge or 0
local newCredit = newSrc == 'credits' and newCharge or 0
local diff = newCredit - oldCredit
-- Bounds, before any write: a refund adds at most |diff| to the balance, a debit at most diff
-- to the debt; the amount owed or the period's usage charges move to the new charge.
local function stored(key, field)
  return num(redis.call('HGET', key, field))
end
local sameSrc = o.src == newSrc and oldCharge or 0
if diff < 0 and a.balance - diff > MAX_TOTAL
    or diff > 0 and a.debt + diff > MAX_TOTAL
    or newSrc == 'postpaid' and stored(keys.account, 'owed:' .. o.period) - sameSrc + newCharge > MAX_TOTAL
    or stored(keys.totals, o.period .. ':' .. newSrc .. ':charge') - sameSrc + newCharge > MAX_TOTAL then
  return { ERR.BALANCE_LIMIT, 'a total would pass ' .. fmt(MAX_TOTAL) .. ' minor units' }
end

expireDue(ctx, a)
local cause = 'rerate:' .. usageId .. ':' .. revision
for key, delta in pairs(draws) do
  redis.call('HINCRBY', keys.pools, 'used:' .. key, delta)
end

-- Move the difference.
local newLots = o.src == 'credits' and appendDraws(o.lots, {}) or {}
if diff > 0 then
  newLots = appendDraws(newLots, debitLots(ctx, a, diff))
elseif diff < 0 then
  newLots = refundDraws(ctx, a, newLots, -diff, {
    cause = cause, lotId = 'refund:' .. usageId .. ':' .. revision, expiresAt = refundExpiresAt, ref = usageId,
  })
end
if o.src == 'postpaid' then
  redis.call('HINCRBY', keys.account, 'owed:' .. o.period, -oldCharge)
end
if newSrc == 'postpaid' then
  redis.call('HINCRBY', keys.account, 'owed:' .. o.period, newCharge)
end
addToTotals(keys.totals, o.period, o.src, -1, -oldCharge, -oldPoolSec)
addToTotals(keys.totals, o.period, newSrc, 1, newCharge, newPoolSec)
-- The re-rate day's spend changes by the difference, per source (credits, postpaid).
local spentDelta = { credits = 0, postpaid = 0 }
if spentDelta[o.src] then
  spentDelta[o.src] = spentDelta[o.src] - oldCharge
end
if spentDelta[newSrc] then
  spentDelta[newSrc] = spentDelta[newSrc] + newCharge
end
for _, src in ipairs({ 'credits', 'postpaid' }) do
  if spentDelta[src] ~= 0 then
    addToDaily(keys.totals, dailyDay(ctx.now), src, spentDelta[src])
  end
end
-- The user's month moves by the credit-paid difference.
local user = ARGV[18] or ''
local userDelta = diff
if user ~= '' and userDelta ~= 0 then
  local key = userSpendKey(keys.userSpend, o.period)
  if o.period == ctx.nowMonth or redis.call('EXISTS', key) == 1 then
    local total = redis.call('HINCRBY', key, 's:' .. user, userDelta)
    local limit = userLimit(keys.userLimits, a.currency, user, {})
    if userDelta > 0 and limit and total >= limit and redis.call('HSETNX', key, 'r:' .. user, '1') == 1 then
      emit(ctx, 'credits.user.limit_reached', 'user:' .. user .. ':' .. o.period, {
        tenantId = ctx.tenant, user = user, period = o.period,
        limit = money(a, limit), spent = money(a, total),
      })
    end
    redis.call('PEXPIRE', key, USER_SPEND_TTL_MS)
  end
end
afterBalanceChange(ctx, a, cause, true)
saveAccount(ctx, a)
local packed = packOutcome(A, period, {
  src = newSrc, charge = newCharge, poolSec = newPoolSec, pool = o.pool, shared = o.shared, sod = o.sod,
  at = o.at, start = o.start, lots = newLots, own = o.own, rv = revision, previous = oldCharge,
  report = o.report,
})
if found[1] == 'v1' then
  storeApplied(A, day, period, field, packed)
  redis.call('HDEL', keys.legacy, usageId)
else
  replaceApplied(A, day, period, found[3], field, packed)
end
finishApplied(A)
return { OK, replyRecord(A, period, { 'v2', packed }), fmt(a.balance) }
