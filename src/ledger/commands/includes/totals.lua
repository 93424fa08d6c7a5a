--[[
  Usage totals per period (yyyy-mm) and source, kept for good (the idempotency records that
  list single usages expire): `<period>:<source>:count`, `:charge` (minor units), `:poolSeconds`.
]]
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
