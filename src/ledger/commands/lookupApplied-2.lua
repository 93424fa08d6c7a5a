#!lua flags=no-writes
--[[
  Reads the idempotency records of usage ids (read-only): which were applied, and how.

  KEYS[1] applied (the base of the idempotency records' keys: includes/applied.lua)
  KEYS[2] legacy applied hash
  ARGV[1] now (epoch ms)  ARGV[2] idempotency retention (ms)
  ARGV[3] JSON [[id, stored id, day, month], ...]: each usage id, as stored (a GUID is stored
          shorter; '' for the id itself), its call's UTC start day (days since 1970) and month

  Output: {0, record1, ...} in input order, each a record as applyUsage replies it, or an
  empty list for an id not applied (or no longer remembered).
]]
--- @include "includes/errors"
--- @include "includes/common"
--- @include "includes/applied"

local A = newApplied(KEYS[1], KEYS[2], tonumber(ARGV[2]), tonumber(ARGV[1]))
local asked = cjson.decode(ARGV[3])
local items = {}
for i, item in ipairs(asked) do
  items[i] = { id = item[1], key = item[2] ~= '' and item[2] or item[1], day = fmt(item[3]) }
end
local found = lookupApplied(A, items)
local reply = { OK }
for i, item in ipairs(asked) do
  reply[#reply + 1] = found[i] and replyRecord(A, item[4], found[i]) or {}
end
return reply
