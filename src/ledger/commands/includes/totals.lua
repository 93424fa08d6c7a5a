--[[
  Usage totals per period (yyyy-mm) and source, kept for good (the idempotency records that
  list single usages expire): `<period>:<source>:count`, `:charge` (minor units), `:poolSeconds`.

  Daily spend, in the same hash, in fields that never grow in number: `daily:<slot>:<source>`
  for source credits and postpaid, slot = day mod 64 (day: days since 1970 of the UTC day the
  usage was applied, on the caller's clock, not the call's start), holding
  `<day>|<minor units>`: the money debited from credits, or accrued postpaid, that day (a
  re-rate adds its difference, which may be negative). A slot holding an older day is reset
  when written; one holding a later day (the caller's clock moved back 64 days) is left as it
  is. 64 slots keep the last 62 days whole (src/ledger/daily-spend.ts reads them). A day's sum
  stays exact: it is at most the charges of the few periods applied that day, each bounded by
  MAX_TOTAL.
]]
local DAILY_SLOTS = 64

-- Adds `amount` (minor units, may be negative) to `src`'s spend of `day`: one HGET and one HSET.
local function addToDaily(key, day, src, amount)
  local field = 'daily:' .. fmt(day % DAILY_SLOTS) .. ':' .. src
  local raw = redis.call('HGET', key, field)
  local total = 0
  if raw then
    local bar = string.find(raw, '|', 1, true)
    local stored = tonumber(string.sub(raw, 1, bar - 1))
    if stored > day then
      return
    end
    if stored == day then
      total = tonumber(string.sub(raw, bar + 1))
    end
  end
  redis.call('HSET', key, field, fmt(day) .. '|' .. fmt(total + amount))
end

-- The day number of the caller's clock.
local function dailyDay(now)
  return math.floor(now / 86400000)
end
local function addToTotals(key, period, src, count, charge, poolSeconds)
  local prefix = period .. ':' .. src .. ':'
  redis.call('HINCRBY', key, prefix .. 'count', count)
  if charge ~= 0 then
    redis.call('HINCRBY', key, prefix .. 'charge', charge)
  end
  if poolSeconds ~= 0 then
    redis.call('HINCRBY', key, prefix .. 'poolSeconds', poolSeconds)
  end
end

-- A batch's additions to the totals, summed by period and source (addToBatchTotals) and
-- written once each (flushBatchTotals): three HINCRBY a period and source, not a usage.
local function addToBatchTotals(T, period, src, count, charge, poolSeconds)
  local t = child(T, period)
  t[src] = t[src] or { 0, 0, 0 }
  t = t[src]
  t[1] = t[1] + count
  t[2] = t[2] + charge
  t[3] = t[3] + poolSeconds
end

local function flushBatchTotals(key, T)
  for period, byPeriod in pairs(T) do
    for src, t in pairs(byPeriod) do
      addToTotals(key, period, src, t[1], t[2], t[3])
    end
  end
end
