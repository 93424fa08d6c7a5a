--[[
  Applies a batch of rated usages of one tenant, atomically and once per usage id.

  KEYS[1] account  KEYS[2] lots  KEYS[3] lot expiry  KEYS[4] pools
  KEYS[5] applied  KEYS[6] applied index  KEYS[7] outbox  KEYS[8] usage totals
  KEYS[9] index: tenants with events  KEYS[10] index: lot expiry  KEYS[11] index: gauges
  ARGV[1] tenant id
  ARGV[2] now (epoch ms)  ARGV[3] now (ISO 8601)  ARGV[4] now's month (yyyy-mm, UTC)
  ARGV[5] idempotency retention (ms)
  ARGV[6] currency of the charges
  ARGV[7] pool use the batch was rated against: JSON {"<pool>:<yyyy-mm>": seconds used}
  ARGV[8] usages (at most 1000): JSON [{"id","src","charge","pool","poolSec","period","r"}], where src is
          credits | postpaid | bundle | free, charge integer minor units (string),
          pool '' or the pool drawn on, period the yyyy-mm of the call, r an opaque string kept
          with the outcome (the rater's details of the rated record; '' for none).

  Output: {0, balance, n, id1, duplicate1, outcome1, ...} in input order; a usage applied
  before is skipped (duplicate 1) and its stored outcome returned. Or {code, detail}:
  BALANCE_LIMIT, with nothing applied, when the debt, an amount owed or a period's usage
  charges would pass MAX_TOTAL.
]]
--- @include "includes/errors"
--- @include "includes/common"
--- @include "includes/account"
--- @include "includes/lots"
--- @include "includes/pools"
--- @include "includes/totals"

local keys = {
  account = KEYS[1], lots = KEYS[2], lotExpiry = KEYS[3], pools = KEYS[4],
  applied = KEYS[5], appliedIndex = KEYS[6], outbox = KEYS[7], totals = KEYS[8],
  ixOutbox = KEYS[9], ixExpiry = KEYS[10], gauges = KEYS[11],
}
local ctx = newContext(keys, ARGV[1], ARGV[2], ARGV[3], ARGV[4])
local retention = tonumber(ARGV[5])
local a = loadAccount(ctx)
if not a then
  return { ERR.NO_ACCOUNT, ctx.tenant }
end
local expected = cjson.decode(ARGV[7])
local usages = cjson.decode(ARGV[8])

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
local ids = {}
for i, u in ipairs(usages) do
  ids[i] = u.id
end
local previousOutcomes = {}
if #ids > 0 then
  previousOutcomes = redis.call('HMGET', keys.applied, unpack(ids))
end
for i, u in ipairs(usages) do
  local previous = previousOutcomes[i]
  if previous then
    stored[i] = previous
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
    if u.r ~= nil and (type(u.r) ~= 'string' or #u.r > 256) then
      return { ERR.BAD_ARGUMENT, 'usage ' .. u.id .. ': r is not a string of at most 256 bytes' }
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
  local duplicate = 1
  if not outcome then
    duplicate = 0
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
    outcome = cjson.encode({
      src = u.src, charge = fmt(charge), pool = u.pool, poolSec = fmt(poolSec), period = u.period,
      lots = lots, balance = fmt(a.balance), at = fmt(ctx.now), rv = '', r = u.r or '',
    })
    addToTotals(keys.totals, u.period, u.src, 1, charge, poolSec)
    written[i] = outcome
    redis.call('HSET', keys.applied, u.id, outcome)
    redis.call('ZADD', keys.appliedIndex, ctx.now, u.id)
    if u.src == 'credits' and charge > 0 then
      afterBalanceChange(ctx, a, 'usage:' .. u.id, true)
    end
  end
  reply[#reply + 1] = u.id
  reply[#reply + 1] = duplicate
  reply[#reply + 1] = outcome
end
saveAccount(ctx, a)
reply[2] = fmt(a.balance)

-- Idempotency records past retention go, a bounded number per call.
local old = redis.call('ZRANGEBYSCORE', keys.appliedIndex, '-inf', '(' .. fmt(ctx.now - retention), 'LIMIT', 0, 200)
if #old > 0 then
  redis.call('HDEL', keys.applied, unpack(old))
  redis.call('ZREM', keys.appliedIndex, unpack(old))
end
return reply
