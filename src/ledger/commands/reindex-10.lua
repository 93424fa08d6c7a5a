--[[
  Recomputes the tenant's index entries from its state: events waiting (the relay's set and
  the backlog gauge), lots with money left (the sweeper's set), blocked prepaid (the depleted
  gauge), counted once among the tenants. Idempotent, and safe while traffic flows (the
  scripts that change the tenant keep the same entries the same way). For upgrades from a
  version without indexes and for moves between Redis deployments: `rater ledger reindex`.

  KEYS[1] account  KEYS[2] lot expiry  KEYS[3] outbox
  KEYS[4] index: tenants with events  KEYS[5] index: lot expiry  KEYS[6] index: gauges
  KEYS[7] index: blocked  KEYS[8] index: low balance  KEYS[9] index: recharge failed
  KEYS[10] index: pending payments (the pending recharge; purchases are indexed by beginPurchase)
  ARGV[1] tenant id

  Output: {0, tenants change, depleted change, backlog change} or {NO_ACCOUNT, tenant}.
]]
--- @include "includes/errors"
--- @include "includes/common"
--- @include "includes/indexes"

local keys = {
  account = KEYS[1], lotExpiry = KEYS[2], outbox = KEYS[3], ixOutbox = KEYS[4], ixExpiry = KEYS[5], gauges = KEYS[6],
  ixBlocked = KEYS[7], ixLow = KEYS[8], ixRechargeFailed = KEYS[9], ixPending = KEYS[10],
}
if redis.call('HEXISTS', keys.account, 'mode') == 0 then
  return { ERR.NO_ACCOUNT, ARGV[1] }
end
local delta = syncIndexes(keys, ARGV[1])
return { OK, delta[1], delta[2], delta[3] }
