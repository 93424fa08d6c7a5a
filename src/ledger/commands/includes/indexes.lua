--[[
  The tenant's entries in its index shard (src/ledger/index-shards.ts: keys in the tenant's
  own slot), so that sweeps and scrapes cost work only where something happened:
  ixOutbox (set: tenants with events waiting), ixExpiry (sorted set: tenant -> earliest expiry
  of its lots with money left), gauges (hash: tenants, depleted, backlog); for the operator's
  console: ixBlocked (prepaid tenants whose credit-paid calls are blocked) and ixLow (prepaid
  tenants below their low-balance threshold), sorted sets scored 0 so that they read in name
  order, and ixRechargeFailed (tenant -> when its last auto-recharge failed, ms, while no
  recharge has succeeded since); ixPending (sorted set: the payments begun and not settled,
  purchases and the auto-recharge request, scored by when they began, for the reconciler).

  What the tenant adds to the gauges is kept on its account: ixGauges (the gauges key that
  counts it), ixCounted, ixDepleted and ixBacklog. Each sync sets the gauges by the difference
  between that and the state, so it is exact and idempotent; an account counted under another
  gauges key (written before the indexes, or copied from another Redis deployment) is
  counted afresh here. ixLow on the account says whether the tenant is in ixLow, so that a
  script whose change leaves it as it was can skip the sync (saveAccount).
]]
-- The channel a relay listens on: `<prefix>outbox:pending`, the prefix taken from the index key.
local function outboxPendingChannel(ixOutbox)
  return string.match(ixOutbox, '^(.*){[^{}]*}:ix:outbox$') .. 'outbox:pending'
end

-- ixExpiry: the lowest expiry in the tenant's lot-expiry set, or no entry without a live lot.
local function syncExpiryIndex(keys, tenant)
  local first = redis.call('ZRANGE', keys.lotExpiry, 0, 0, 'WITHSCORES')
  if #first == 0 then
    redis.call('ZREM', keys.ixExpiry, tenant)
  else
    redis.call('ZADD', keys.ixExpiry, first[2], tenant)
  end
end

-- ixOutbox holds the tenant while its outbox has events; joining it publishes the hint.
local function syncOutboxIndex(keys, tenant, length)
  if length > 0 then
    if redis.call('SADD', keys.ixOutbox, tenant) == 1 then
      redis.call('PUBLISH', outboxPendingChannel(keys.ixOutbox), tenant)
    end
  else
    redis.call('SREM', keys.ixOutbox, tenant)
  end
end

-- Below the low-balance threshold: prepaid, a threshold set (0 is none), the balance under it.
local function isLowBalance(mode, balance, threshold)
  if mode == 'prepaid' and threshold > 0 and balance < threshold then
    return 1
  end
  return 0
end

-- A sorted set scored 0 (read in name order) that holds the tenant while `member` is 1.
local function syncMembership(key, tenant, member)
  if member == 1 then
    redis.call('ZADD', key, 0, tenant)
  else
    redis.call('ZREM', key, tenant)
  end
end

-- ixRechargeFailed holds the tenant, scored by the time of its last failure, until a success.
local function syncRechargeFailedIndex(keys, tenant, failedAt)
  if failedAt and failedAt ~= '' then
    redis.call('ZADD', keys.ixRechargeFailed, failedAt, tenant)
  else
    redis.call('ZREM', keys.ixRechargeFailed, tenant)
  end
end

-- The member of ixPending for a payment: JSON [kind, tenant, id] (kind purchase or recharge).
local function pendingMember(kind, tenant, id)
  return cjson.encode({ kind, tenant, id })
end

--[[
  ixPending holds the tenant's pending auto-recharge request, scored by when it was made. The
  account keeps the request it indexed (ixPendingRecharge), so that a settled or replaced
  request leaves the index. Skipped by the scripts that are not given the key: they never
  request or settle a recharge.
]]
local function syncPendingRecharge(keys, tenant, pending, since, indexed)
  if not keys.ixPending or pending == indexed then
    return
  end
  if indexed ~= '' then
    redis.call('ZREM', keys.ixPending, pendingMember('recharge', tenant, indexed))
  end
  if pending ~= '' then
    redis.call('ZADD', keys.ixPending, num(since), pendingMember('recharge', tenant, pending))
  end
  redis.call('HSET', keys.account, 'ixPendingRecharge', pending)
end

--[[
  Brings every index entry of the tenant in line with its stored state (called at the end of
  each script that changes it, after the account is written). Returns what it changed in the
  gauges: {tenants, depleted, backlog}.
]]
local function syncIndexes(keys, tenant)
  local h = redis.call('HMGET', keys.account, 'mode', 'blocked', 'ixGauges', 'ixCounted', 'ixDepleted', 'ixBacklog',
    'balance', 'lowThreshold', 'ixLow', 'arLastFailureAt', 'arPending', 'arPendingSince', 'ixPendingRecharge')
  if not h[1] then
    return { 0, 0, 0 }
  end
  local here = h[3] == keys.gauges
  local counted, depleted, backlog = 0, 0, 0
  if here then
    counted, depleted, backlog = num(h[4]), num(h[5]), num(h[6])
  end
  local isDepleted = 0
  if h[1] == 'prepaid' and num(h[2]) == 1 then
    isDepleted = 1
  end
  local isLow = isLowBalance(h[1], num(h[7]), num(h[8]))
  local length = redis.call('XLEN', keys.outbox)
  local delta = { 1 - counted, isDepleted - depleted, length - backlog }
  local names = { 'tenants', 'depleted', 'backlog' }
  for i = 1, 3 do
    if delta[i] ~= 0 then
      redis.call('HINCRBY', keys.gauges, names[i], delta[i])
    end
  end
  if not here or delta[1] ~= 0 or delta[2] ~= 0 or delta[3] ~= 0 or fmt(isLow) ~= (h[9] or '0') then
    redis.call('HSET', keys.account, 'ixGauges', keys.gauges, 'ixCounted', '1', 'ixDepleted', fmt(isDepleted),
      'ixBacklog', fmt(length), 'ixLow', fmt(isLow))
  end
  syncOutboxIndex(keys, tenant, length)
  syncExpiryIndex(keys, tenant)
  syncMembership(keys.ixBlocked, tenant, isDepleted)
  syncMembership(keys.ixLow, tenant, isLow)
  syncRechargeFailedIndex(keys, tenant, h[10])
  syncPendingRecharge(keys, tenant, h[11] or '', h[12], h[13] or '')
  return delta
end
