--[[
  Applies a batch of rated usages of one tenant, atomically and once per usage id.

  KEYS[1] account  KEYS[2] lots  KEYS[3] lot expiry  KEYS[4] pools
  KEYS[5] applied (the base of the idempotency records' keys: includes/applied.lua)
  KEYS[6] legacy applied hash  KEYS[7] its applied-time index  KEYS[8] outbox  KEYS[9] usage totals
  KEYS[10] index: tenants with events  KEYS[11] index: lot expiry  KEYS[12] index: gauges
  ARGV[1] tenant id
  ARGV[2] now (epoch ms)  ARGV[3] now (ISO 8601)  ARGV[4] now's month (yyyy-mm, UTC)
  ARGV[5] idempotency retention (ms)
  ARGV[6] currency of the charges
  ARGV[7] pool use the batch was rated against: JSON {"<pool>:<yyyy-mm>": seconds used}
  ARGV[8] usages (at most 1000): JSON [{"id","f","src","charge","pool","poolSec","period","day",
          "sod","r","d"}], where src is credits | postpaid | bundle | free, charge integer
          minor units (string), f the id as stored (absent: the id itself; a GUID is
          stored shorter), pool '' or the pool drawn on, period the yyyy-mm of the call,
          day and sod the call's UTC start day (days since 1970) and second of that day,
          r the three |-separated fields of the rated record's details particular to the
          usage ('' for none), d the rest of them, shared by many usages (kept once a month).

  Output: {0, balance, n, id1, status1, record1, ...} in input order; status 0 applied now,
  1 applied before (skipped, its stored record returned), 2 too late: the call's day is
  past the retention, so whether it was applied is no longer known (nothing applied, record
  empty). A record is {format, value, shared, lots} (includes/applied.lua replyRecord).
  Or {code, detail}: BALANCE_LIMIT, with nothing applied, when the debt, an amount owed or a
  period's usage charges would pass MAX_TOTAL.
]]
--- @include "includes/errors"
--- @include "includes/common"
--- @include "includes/account"
--- @include "includes/lots"
--- @include "includes/pools"
--- @include "includes/totals"
--- @include "includes/applied"

local keys = {
  account = KEYS[1], lots = KEYS[2], lotExpiry = KEYS[3], pools = KEYS[4],
  applied = KEYS[5], legacy = KEYS[6], legacyIndex = KEYS[7], outbox = KEYS[8], totals = KEYS[9],
  ixOutbox = KEYS[10], ixExpiry = KEYS[11], gauges = KEYS[12],
}
local ctx = newContext(keys, ARGV[1], ARGV[2], ARGV[3], ARGV[4])
local retention = tonumber(ARGV[5])
local a = loadAccount(ctx)
if not a then
  return { ERR.NO_ACCOUNT, ctx.tenant }
end
local expected = cjson.decode(ARGV[7])
local usages = cjson.decode(ARGV[8])
local A = newApplied(keys.applied, keys.legacy, retention, ctx.now)

-- What the batch adds to each bounded total (debt, owed:<period>, <period>:<src>:charge),
-- on top of its stored value: true when it would pass MAX_TOTAL.
local grown = {}
local function pastLimit(total, stored, charge)
  if grown[total] == nil then
    grown[total] = stored()
  end
  grown[total] = grown[total] + charge
  return grown[total] > MAX_TOTAL
end

-- First pass, no writes: duplicates, argument checks, pool use, bounds.
local stored = {}
local firstInBatch = {}
local repeatOf = {}
local draws = {}
local late = {}
local items = {}
for i, u in ipairs(usages) do
  local day = tonumber(u.day)
  local sod = tonumber(u.sod)
  if not day or day % 1 ~= 0 or not sod or sod % 1 ~= 0 or sod < 0 or sod >= 86400 then
    return { ERR.BAD_ARGUMENT, 'usage ' .. tostring(u.id) .. ': bad start day or second' }
  end
  u.day = fmt(day)
  u.f = u.f or u.id
  items[i] = { id = u.id, key = u.f, day = u.day }
end
local previousOutcomes = lookupApplied(A, items)
for i, u in ipairs(usages) do
  local previous = previousOutcomes[i]
  if previous then
    stored[i] = previous
  elseif tooLate(A, u.day) then
    late[i] = true
  elseif firstInBatch[u.id] then
    -- The same usage twice in one batch: the later one is a duplicate of the first.
    repeatOf[i] = firstInBatch[u.id]
  else
    firstInBatch[u.id] = i
    local charge = tonumber(u.charge)
    local poolSec = tonumber(u.poolSec)
    if not charge or charge < 0 or charge % 1 ~= 0 or not poolSec or poolSec < 0 then
      return { ERR.BAD_ARGUMENT, 'usage ' .. u.id .. ': bad charge or pool seconds' }
    end
    local refusal = refuseCharge(a, ARGV[6], u.src)
    if refusal then
      return refusal
    end
    if u.r == nil or u.r == '' then
      u.r = '||'
    end
    u.d = u.d or ''
    if type(u.r) ~= 'string' or #u.r > 128 or #splitOn(u.r, '|') ~= 3
        or type(u.d) ~= 'string' or #u.d > 256 then
      return { ERR.BAD_ARGUMENT, 'usage ' .. u.id .. ': r is not three |-separated fields, or d too long' }
    end
    if type(u.pool) ~= 'string' or string.find(u.pool, '|', 1, true) then
      return { ERR.BAD_ARGUMENT, 'usage ' .. u.id .. ': bad pool' }
    end
    if u.src ~= 'credits' and u.src ~= 'postpaid' and u.src ~= 'bundle' and u.src ~= 'free' then
      return { ERR.BAD_ARGUMENT, 'usage ' .. u.id .. ': unknown source ' .. tostring(u.src) }
    end
    if (u.src == 'bundle' or u.src == 'free') and charge ~= 0 then
      return { ERR.BAD_ARGUMENT, 'usage ' .. u.id .. ': ' .. u.src .. ' usage has a charge' }
    end
    if poolSec > 0 then
      local key = u.pool .. ':' .. u.period
      draws[key] = (draws[key] or 0) + poolSec
    end
    -- Usage already happened, but a total past the bound would no longer be exact: the batch
    -- is refused whole (the consumer dead-letters it as balance_limit). Debt grows by at most
    -- the charge (less where lots cover it).
    local totalsField = u.period .. ':' .. u.src .. ':charge'
    if charge > 0 and (
        u.src == 'credits' and pastLimit('debt', function() return a.debt end, charge)
        or u.src == 'postpaid' and pastLimit('owed:' .. u.period, function()
          return num(redis.call('HGET', keys.account, 'owed:' .. u.period))
        end, charge)
        or pastLimit(totalsField, function() return num(redis.call('HGET', keys.totals, totalsField)) end, charge)) then
      return { ERR.BALANCE_LIMIT, 'usage ' .. u.id .. ': a total would pass ' .. fmt(MAX_TOTAL) .. ' minor units' }
    end
  end
end
local refused = checkPools(ctx, expected, draws)
if refused then
  return refused
end

-- Second pass: apply.
expireDue(ctx, a)
local reply = { OK, '', #usages }
local written = {}
for i, u in ipairs(usages) do
  local outcome = stored[i] or written[repeatOf[i]]
  local status = 1
  if late[i] then
    status = 2
    outcome = false
  elseif not outcome then
    status = 0
    local charge = tonumber(u.charge)
    local poolSec = tonumber(u.poolSec)
    if poolSec > 0 then
      redis.call('HINCRBY', keys.pools, 'used:' .. u.pool .. ':' .. u.period, poolSec)
    end
    local lots = {}
    if u.src == 'credits' and charge > 0 then
      lots = debitLots(ctx, a, charge)
    elseif u.src == 'postpaid' and charge > 0 then
      redis.call('HINCRBY', keys.account, 'owed:' .. u.period, charge)
    end
    local sod = tonumber(u.sod)
    local packed = packOutcome(A, u.period, {
      src = u.src, charge = charge, poolSec = poolSec, pool = u.pool, shared = u.d, sod = sod,
      at = ctx.now, start = tonumber(u.day) * DAY_MS + sod * 1000, lots = lots, own = u.r,
    })
    outcome = { 'v2', packed }
    addToTotals(keys.totals, u.period, u.src, 1, charge, poolSec)
    written[i] = outcome
    storeApplied(A, u.day, u.period, u.f, packed)
    if u.src == 'credits' and charge > 0 then
      afterBalanceChange(ctx, a, 'usage:' .. u.id, true)
    end
  end
  reply[#reply + 1] = u.id
  reply[#reply + 1] = status
  reply[#reply + 1] = outcome and replyRecord(A, u.period, outcome) or {}
end
saveAccount(ctx, a)
finishApplied(A)
reply[2] = fmt(a.balance)

-- Records in the legacy format past retention (by applied time) go, a bounded number per call.
local old = redis.call('ZRANGEBYSCORE', keys.legacyIndex, '-inf', '(' .. fmt(ctx.now - retention), 'LIMIT', 0, 200)
if #old > 0 then
  redis.call('HDEL', keys.legacy, unpack(old))
  redis.call('ZREM', keys.legacyIndex, unpack(old))
end
return reply
