--[[
  Releases a lease, only when this holder still holds it: a lease that expired and was taken
  by another holder meanwhile stays theirs.

  KEYS[1] lease
  ARGV[1] holder

  Output: {0, 1} when released, {0, 0} when the lease was not this holder's (or had expired).
]]
--- @include "includes/errors"

if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return { OK, 1 }
end
return { OK, 0 }
