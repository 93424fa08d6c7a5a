--[[
  Helpers shared by the ledger scripts. Money is integer minor units; Lua numbers are
  doubles, exact for integers up to 2^53, and every amount leaves a script through fmt()
  (never tostring, which switches to exponent notation past 14 digits).
]]
-- No total may pass MAX_TOTAL minor units: a balance, a debt, an amount owed for a period, a
-- period's usage charges. 10^15 is far below 2^53 (about 9.007 * 10^15), so each sum a script
-- makes of a total and an amount (at most 10^13 minor units from the API) is still exact.
local MAX_TOTAL = 1e15

local function fmt(n)
  return string.format('%d', n)
end

local function num(v)
  if v == nil or v == false or v == '' then
    return 0
  end
  return tonumber(v)
end

-- t[key], made an empty table first when there is none (memo tables by two keys).
local function child(t, key)
  local c = t[key]
  if not c then
    c = {}
    t[key] = c
  end
  return c
end

local function readHash(key)
  local flat = redis.call('HGETALL', key)
  local t = {}
  for i = 1, #flat, 2 do
    t[flat[i]] = flat[i + 1]
  end
  return t
end

-- The script's context: keys, tenant and the caller's clock (a script never reads time).
local function newContext(keys, tenant, now, nowIso, nowMonth)
  return {
    keys = keys, tenant = tenant, now = tonumber(now), nowIso = nowIso, nowMonth = nowMonth,
    lots = {}, dirtyLots = {},
  }
end

-- Lots read in a script are decoded once and written back once, at the end (flushLots):
-- a batch of usages drawing on the same lot costs one HGET and one HSET, not one per usage.
local function getLot(ctx, lotId)
  local lot = ctx.lots[lotId]
  if lot == nil then
    local raw = redis.call('HGET', ctx.keys.lots, lotId)
    if not raw then
      return nil
    end
    lot = cjson.decode(raw)
    ctx.lots[lotId] = lot
  end
  return lot
end

local function putLot(ctx, lotId, lot)
  ctx.lots[lotId] = lot
  ctx.dirtyLots[lotId] = true
end

local function flushLots(ctx)
  for lotId in pairs(ctx.dirtyLots) do
    local lot = ctx.lots[lotId]
    if type(lot.remaining) == 'number' then
      lot.remaining = fmt(lot.remaining)
    end
    redis.call('HSET', ctx.keys.lots, lotId, cjson.encode(lot))
  end
  ctx.dirtyLots = {}
end

-- Events go to the tenant's outbox stream in the same script as the change that caused them.
-- The id is derived from the cause, so a consumer can drop a redelivered duplicate.
local function emit(ctx, eventType, cause, data)
  ctx.emitted = true
  local id = ctx.tenant .. '/' .. eventType .. '/' .. cause
  redis.call('XADD', ctx.keys.outbox, '*', 'id', id, 'type', eventType, 'time', ctx.nowIso,
    'tenant', ctx.tenant, 'data', cjson.encode(data))
end
