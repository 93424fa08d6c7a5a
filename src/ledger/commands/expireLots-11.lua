--[[
  Forfeits what remains of every lot whose expiry (purchase + 12 months) has come by `now`.
  Idempotent: an expired lot leaves the expiry set, so a second run finds nothing.

  KEYS[1] account  KEYS[2] lots  KEYS[3] lot expiry  KEYS[4] outbox
  KEYS[5] index: tenants with events  KEYS[6] index: lot expiry  KEYS[7] index: gauges
  KEYS[8] index: blocked  KEYS[9] index: low balance  KEYS[10] index: recharge failed
  KEYS[11] index: pending payments
  ARGV[1] tenant id  ARGV[2] now (ms)  ARGV[3] now ISO  ARGV[4] now's month

  Output: {0, lots expired, amount forfeited, balance} or {code, detail}.
]]
--- @include "includes/errors"
--- @include "includes/common"
--- @include "includes/account"
--- @include "includes/lots"

local keys = { account = KEYS[1], lots = KEYS[2], lotExpiry = KEYS[3], outbox = KEYS[4],
  ixOutbox = KEYS[5], ixExpiry = KEYS[6], gauges = KEYS[7],
  ixBlocked = KEYS[8], ixLow = KEYS[9], ixRechargeFailed = KEYS[10], ixPending = KEYS[11],
}
local ctx = newContext(keys, ARGV[1], ARGV[2], ARGV[3], ARGV[4])
local a = loadAccount(ctx)
if not a then
  return { ERR.NO_ACCOUNT, ctx.tenant }
end
local count, forfeited = expireDue(ctx, a)
if count > 0 then
  saveAccount(ctx, a)
else
  syncExpiryIndex(keys, ctx.tenant) -- nothing due: an entry older than the lots goes
end
return { OK, count, fmt(forfeited), fmt(a.balance) }
