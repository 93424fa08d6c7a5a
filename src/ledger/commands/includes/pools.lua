--[[
  Minute pools: `cap:<pool>` is the monthly capacity in seconds, `used:<pool>:<yyyy-mm>` what
  has been drawn that month. The caller rates a batch against the use it read and declares
  it; if the use moved meanwhile, the batch is refused whole (POOL_CONFLICT, with the current
  use) and the caller rates again, so a pool is never overdrawn and never double-counted.
]]
-- `capacities` ({pool: seconds}, optional): the capacities the batch was rated against; when
-- given, a capacity that changed is a conflict too, and the reply carries the current ones:
-- {POOL_CONFLICT, used JSON, capacities JSON}.
local function checkPools(ctx, expected, draws, capacities)
  -- The stored values of the declared fields (<prefix><name>), and whether any differs.
  local function compare(prefix, declared)
    local current, moved = {}, false
    for name, value in pairs(declared) do
      local actual = num(redis.call('HGET', ctx.keys.pools, prefix .. name))
      current[name] = fmt(actual)
      moved = moved or actual ~= num(value)
    end
    return current, moved
  end
  local current, conflict = compare('used:', expected)
  local currentCaps = {}
  if capacities then
    local resized
    currentCaps, resized = compare('cap:', capacities)
    conflict = conflict or resized
  end
  if conflict then
    return { ERR.POOL_CONFLICT, cjson.encode(current), cjson.encode(currentCaps) }
  end
  for key, seconds in pairs(draws) do
    if expected[key] == nil then
      return { ERR.BAD_ARGUMENT, 'pool use of ' .. key .. ' was not declared' }
    end
    local pool = string.match(key, '^(.*):[^:]+$')
    local cap = num(redis.call('HGET', ctx.keys.pools, 'cap:' .. pool))
    if num(expected[key]) + seconds > cap or num(expected[key]) + seconds < 0 then
      return { ERR.POOL_OVERDRAWN, key }
    end
  end
  return nil
end
