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
