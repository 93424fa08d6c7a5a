#!lua flags=no-writes
--[[
  Reads the idempotency records of one UTC start day of a tenant (read-only), a range of the
  day's buckets at a time.

  KEYS[1] applied (the base of the idempotency records' keys: includes/applied.lua)
  ARGV[1] the day (days since 1970, UTC)  ARGV[2] its month (yyyy-mm)
  ARGV[3] first bucket  ARGV[4] most buckets to read (buckets counted across the day's
  generations, oldest first)

  Output: {0, buckets, next bucket (or -1 when done), id1, record1, ...}, records as applyUsage
  replies them; {0, 0, -1} for a day without records.
]]
--- @include "includes/errors"
--- @include "includes/common"
--- @include "includes/applied"

local A = newApplied(KEYS[1], false, 0, 0)
local day, month = ARGV[1], ARGV[2]
local first, most = tonumber(ARGV[3]), tonumber(ARGV[4])
local meta = dayMeta(A, day)
if not meta then
  return { OK, 0, -1 }
end
local buckets = {}
for _, k in ipairs(meta.ks) do
  for i = 0, k - 1 do
    buckets[#buckets + 1] = A.base .. ':' .. day .. ':' .. k .. ':' .. i
  end
end
local last = math.min(#buckets, first + most) - 1
local reply = { OK, #buckets, last + 1 < #buckets and last + 1 or -1 }
for b = first, last do
  local flat = redis.call('HGETALL', buckets[b + 1])
  for j = 1, #flat, 2 do
    reply[#reply + 1] = flat[j]
    reply[#reply + 1] = replyRecord(A, month, { 'v2', flat[j + 1] })
  end
end
return reply
