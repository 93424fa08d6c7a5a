--[[
  Clears a user's burst-guard block: the block and the user's window go together, else the
  next call would block the user again at once. No event (the contract has none for it).

  KEYS[1] user spend limits  KEYS[2] the user's burst window  KEYS[3] its sums
          (includes/user-limits.lua)
  ARGV[1] the user key

  Output: {0, '1'} cleared, {0, '0'} the user was not blocked (nothing changed).
]]
--- @include "includes/errors"

if redis.call('HDEL', KEYS[1], 'b:' .. ARGV[1]) == 0 then
  return { OK, '0' }
end
redis.call('DEL', KEYS[2], KEYS[3])
return { OK, '1' }
