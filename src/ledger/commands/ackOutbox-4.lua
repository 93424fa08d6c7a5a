--[[
  Removes outbox entries the broker has acknowledged, and keeps the index in line in the same
  step: the backlog gauge drops by what was removed, and the tenant leaves the relay's set only
  when its outbox is then empty (an event written since the relay read stays pending).

  KEYS[1] outbox  KEYS[2] account  KEYS[3] index: tenants with events  KEYS[4] index: gauges
  ARGV[1] tenant id  ARGV[2..] stream ids

  Output: {0, entries removed, entries left}.
]]
--- @include "includes/errors"
--- @include "includes/common"
--- @include "includes/indexes"

local keys = { outbox = KEYS[1], account = KEYS[2], ixOutbox = KEYS[3], gauges = KEYS[4] }
local tenant = ARGV[1]
local removed = 0
for i = 2, #ARGV, 1000 do
  removed = removed + redis.call('XDEL', keys.outbox, unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
local length = redis.call('XLEN', keys.outbox)
-- Only a tenant counted under this gauges key adds its outbox to the backlog here.
local counted = redis.call('HMGET', keys.account, 'ixGauges', 'ixBacklog')
if counted[1] == keys.gauges and num(counted[2]) ~= length then
  redis.call('HINCRBY', keys.gauges, 'backlog', length - num(counted[2]))
  redis.call('HSET', keys.account, 'ixBacklog', fmt(length))
end
if length == 0 then
  redis.call('SREM', keys.ixOutbox, tenant)
end
return { OK, removed, length }
