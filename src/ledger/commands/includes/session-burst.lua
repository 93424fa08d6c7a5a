--[[
  The burst guard at a session's start (includes/user-limits.lua has the window's layout): a
  credit-paid call enters the user's window when it starts, by its reservation, so the call
  that crosses a threshold is refused and the user is blocked before any CDR arrives. The
  member is kept on the session (`bm`), and its CDR replaces it by the charge
  (applyUsage-19.lua), so a call is counted once.

  Returns the member added (nil when the guard is off or the call starts before the window),
  or false and the reason when the call crosses a threshold (the user is blocked: the caller
  emits credits.user.blocked with the returned sums).
]]
local function burstAtStart(guard, burstBase, user, startSec, amount, intl, id)
  local W = guard.window
  local window, sumsKey = burstWindowKey(burstBase, user), burstSumsKey(burstBase, user)
  local sums = redis.call('HMGET', sumsKey, 'n', 's', 'l')
  local n, s, l = num(sums[1]), num(sums[2]), sums[3] and tonumber(sums[3]) or nil
  if l ~= nil and startSec <= l - W then
    return nil
  end
  local gone = {}
  if l == nil or startSec > l then
    l = startSec
    gone = redis.call('ZRANGEBYSCORE', window, '-inf', startSec - W)
    for _, member in ipairs(gone) do
      local charge, wasIntl = string.match(member, '^(%d+)|([01])|')
      s = s - tonumber(charge)
      n = n - tonumber(wasIntl)
    end
  end
  n = n + intl
  s = s + amount
  local reason = guard.calls and n > guard.calls and 'international_calls'
    or guard.spend and s > guard.spend and 'spend' or nil
  if reason then
    return false, reason, n, s
  end
  if #gone > 0 then
    redis.call('ZREMRANGEBYSCORE', window, '-inf', startSec - W)
  end
  local member = fmt(amount) .. '|' .. intl .. '|' .. id
  redis.call('ZADD', window, startSec, member)
  redis.call('HSET', sumsKey, 'n', fmt(n), 's', fmt(s), 'l', fmt(l))
  redis.call('PEXPIRE', sumsKey, W * 1000 + BURST_TTL_SLACK_MS)
  redis.call('PEXPIRE', window, W * 1000 + BURST_TTL_SLACK_MS)
  return member
end
