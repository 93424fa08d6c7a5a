--[[
  Applies a batch of rated usages of one tenant, atomically and once per usage id.

  KEYS[1] account  KEYS[2] lots  KEYS[3] lot expiry  KEYS[4] pools
  KEYS[5] applied (the base of the idempotency records' keys: includes/applied.lua)
  KEYS[6] legacy applied hash  KEYS[7] its applied-time index  KEYS[8] outbox  KEYS[9] usage totals
  KEYS[10] index: tenants with events  KEYS[11] index: lot expiry  KEYS[12] index: gauges
  KEYS[13] index: blocked  KEYS[14] index: low balance  KEYS[15] index: recharge failed
  KEYS[16] user spend limits  KEYS[17] the base of the users' monthly spend keys
          (includes/user-limits.lua: `<base>:<yyyy-mm>`)
  KEYS[18] the base of the users' burst windows (includes/user-limits.lua)
  KEYS[19] index: pending payments
  KEYS[20] call sessions (includes/sessions.lua)
  ARGV[1] tenant id
  ARGV[2] now (epoch ms)  ARGV[3] now (ISO 8601)  ARGV[4] now's month (yyyy-mm, UTC)
  ARGV[5] idempotency retention (ms)
  ARGV[6] currency of the charges
  ARGV[7] pool use the batch was rated against: JSON {"<pool>:<yyyy-mm>": seconds used}
  ARGV[8] the pools' capacities it was rated against: JSON {"<pool>": seconds}, or '' (not
          checked)
  ARGV[9] '1' when the batch was rated without reading which of its usages were applied: then
          a batch that declares pool use and has a usage applied before is refused whole
          (STALE_READ; the caller reads and rates again, so that a repeat never held back
          pool minutes from the usages after it), else '0'
  ARGV[10..] the usages (at most 1000), 14 fields each: id, id as stored ('' for the id
          itself; a GUID is stored shorter), src (credits | postpaid | bundle | free), charge
          (integer minor units), pool ('' or the pool drawn on), pool seconds, period (the
          yyyy-mm of the call), day and second of day of the call's UTC start (days since
          1970), own (the three |-separated fields of the rated record's details particular
          to the usage, '' for none), shared (the rest of them, shared by many usages and
          kept once a month) and report (the usage report's fields of the input record,
          packed: no '|', at most MAX_REPORT bytes, kept in the record as given; '' for none),
          user (the user key the spend limits count by, at most 256 bytes; '' for none),
          international ('1' when the call's destination context is International, else '0').

  Output: {0, balance, n, status1, payload1, ...} in input order; status 0 applied now
  (payload: its draws on lots, flat: lot id, amount, ...; '' for the part that went into
  debt), 1 applied before (skipped; payload: its stored record, includes/applied.lua
  replyRecord), 2 too late: the call's day is past the retention, so whether it was applied
  is no longer known (nothing applied, payload empty).
  Or {code, detail}: BALANCE_LIMIT, with nothing applied, when the debt, an amount owed or a
  period's usage charges would pass MAX_TOTAL; POOL_CONFLICT {code, used JSON, capacities
  JSON} when the pool use or capacities moved; {STALE_READ, detail, id1, record1, ...} with the
  records of the usages applied before; CURRENCY_MISMATCH, MODE_MISMATCH.

  Writes, besides the money, lots, pools and records: the period totals and today's spend
  (includes/totals.lua: the batch's credits and postpaid charges added to today's `daily:`
  field of each, once per batch, when not zero); each user's spend of the call's month, by
  the credit-paid charges of the usages applied now, and credits.user.limit_reached once per
  user and month when that spend reaches the user's limit, naming the spend at the call that
  reached it, whatever the batch (a limit never refuses a usage: the call happened). With the tenant's burst guard on, each credit-paid usage with a user
  applied now enters the user's window by its call's start (a call started before the window
  up to the latest start seen is not counted); when the window holds more international calls
  or more spend than the guard allows, the user is blocked (`b:<user>`) and
  credits.user.blocked goes out once per block (the usage is still applied). A blocked user's
  usages are not counted until the block is cleared (clearUserBlock-3.lua).

  Call sessions (includes/sessions.lua): while the account has some not settled (`sessOpen`),
  the session of each usage (applied now or before) is settled once: what it holds is released;
  its burst window entry from the start is replaced by the usage's charge (counted once).
]]
--- @include "includes/errors"
--- @include "includes/common"
--- @include "includes/account"
--- @include "includes/lots"
--- @include "includes/pools"
--- @include "includes/totals"
--- @include "includes/applied"
--- @include "includes/user-limits"
--- @include "includes/sessions"

local FIELDS = 14
local keys = {
  account = KEYS[1], lots = KEYS[2], lotExpiry = KEYS[3], pools = KEYS[4],
  applied = KEYS[5], legacy = KEYS[6], legacyIndex = KEYS[7], outbox = KEYS[8], totals = KEYS[9],
  ixOutbox = KEYS[10], ixExpiry = KEYS[11], gauges = KEYS[12],
  ixBlocked = KEYS[13], ixLow = KEYS[14], ixRechargeFailed = KEYS[15],
  userLimits = KEYS[16], userSpend = KEYS[17], burst = KEYS[18], ixPending = KEYS[19],
  sessions = KEYS[20],
}
local ctx = newContext(keys, ARGV[1], ARGV[2], ARGV[3], ARGV[4])
local retention = tonumber(ARGV[5])
local a = loadAccount(ctx)
if not a then
  return { ERR.NO_ACCOUNT, ctx.tenant }
end
local currency = ARGV[6]
local expected = cjson.decode(ARGV[7])
local capacities = ARGV[8] ~= '' and cjson.decode(ARGV[8]) or nil
local unread = ARGV[9] == '1'
local count = (#ARGV - 9) / FIELDS
if count % 1 ~= 0 then
  return { ERR.BAD_ARGUMENT, 'the usages are not ' .. FIELDS .. ' fields each' }
end
local A = newApplied(keys.applied, keys.legacy, retention, ctx.now)

-- What the batch adds to each bounded total (debt, owed:<period>, <period>:<src>:charge),
-- on top of its stored value (read once, from `key`'s field): true when it would pass MAX_TOTAL.
local grown = { debt = a.debt }
local function pastLimit(key, field, charge)
  local total = grown[field]
  if total == nil then
    total = num(redis.call('HGET', key, field))
  end
  total = total + charge
  grown[field] = total
  return total > MAX_TOTAL
end
local totalsFields = {}

-- The usages, read from ARGV once. Whole numbers are taken in decimal digits only, so that
-- the text given is the text kept (a key's day, a record's fields).
local function whole(text)
  return text == '0' or string.find(text, '^[1-9]%d*$') ~= nil
end
local usages = {}
for i = 1, count do
  local at = 9 + (i - 1) * FIELDS
  local id, stored = ARGV[at + 1], ARGV[at + 2]
  local day, sod = ARGV[at + 8], ARGV[at + 9]
  if not (whole(day) or string.find(day, '^%-[1-9]%d*$')) or not whole(sod) or tonumber(sod) >= 86400 then
    return { ERR.BAD_ARGUMENT, 'usage ' .. id .. ': bad start day or second' }
  end
  usages[i] = {
    id = id, key = stored ~= '' and stored or id, src = ARGV[at + 3], charge = ARGV[at + 4],
    pool = ARGV[at + 5], poolSec = ARGV[at + 6], period = ARGV[at + 7], day = day, sod = sod,
    r = ARGV[at + 10], d = ARGV[at + 11], report = ARGV[at + 12], user = ARGV[at + 13],
    intl = ARGV[at + 14],
    -- Set by the first pass (the charge and pool seconds as numbers); named here so that the
    -- table is made at its full size (16 fields) once.
    chargeN = 0, poolSecN = 0,
  }
  if usages[i].intl ~= '0' and usages[i].intl ~= '1' then
    return { ERR.BAD_ARGUMENT, 'usage ' .. id .. ': international is not 0 or 1' }
  end
  if #usages[i].user > 256 then
    return { ERR.BAD_ARGUMENT, 'usage ' .. id .. ': user longer than 256 bytes' }
  end
end

-- First pass, no writes: duplicates, argument checks, pool use, bounds.
local stored = {}
local firstInBatch = {}
local repeatOf = {}
local draws = {}
local late = {}
local previousOutcomes = lookupApplied(A, usages)
for i, u in ipairs(usages) do
  local previous = previousOutcomes[i]
  if previous then
    stored[i] = previous
  elseif tooLate(A, u.day) then
    late[i] = true
  elseif firstInBatch[u.id] then
    -- The same usage twice in one batch: the later one is a duplicate of the first.
    repeatOf[i] = firstInBatch[u.id]
  else
    firstInBatch[u.id] = i
    if not whole(u.charge) or not whole(u.poolSec) then
      return { ERR.BAD_ARGUMENT, 'usage ' .. u.id .. ': bad charge or pool seconds' }
    end
    local charge = tonumber(u.charge)
    local poolSec = tonumber(u.poolSec)
    u.chargeN = charge
    u.poolSecN = poolSec
    local refusal = refuseCharge(a, currency, u.src)
    if refusal then
      return refusal
    end
    if u.r == '' then
      u.r = '||'
    end
    if #u.r > 128 or not string.find(u.r, '^[^|]*|[^|]*|[^|]*$') or #u.d > 256 then
      return { ERR.BAD_ARGUMENT, 'usage ' .. u.id .. ': own is not three |-separated fields, or shared too long' }
    end
    if #u.report > MAX_REPORT or string.find(u.report, '|', 1, true) then
      return { ERR.BAD_ARGUMENT, 'usage ' .. u.id .. ': report longer than ' .. MAX_REPORT .. ' bytes or holding |' }
    end
    if string.find(u.pool, '|', 1, true) then
      return { ERR.BAD_ARGUMENT, 'usage ' .. u.id .. ': bad pool' }
    end
    if u.src ~= 'credits' and u.src ~= 'postpaid' and u.src ~= 'bundle' and u.src ~= 'free' then
      return { ERR.BAD_ARGUMENT, 'usage ' .. u.id .. ': unknown source ' .. tostring(u.src) }
    end
    if (u.src == 'bundle' or u.src == 'free') and charge ~= 0 then
      return { ERR.BAD_ARGUMENT, 'usage ' .. u.id .. ': ' .. u.src .. ' usage has a charge' }
    end
    if poolSec > 0 then
      local key = u.pool .. ':' .. u.period
      draws[key] = (draws[key] or 0) + poolSec
    end
    -- Usage already happened, but a total past the bound would no longer be exact: the batch
    -- is refused whole (the consumer dead-letters it as balance_limit). Debt grows by at most
    -- the charge (less where lots cover it).
    if charge > 0 then
      local byPeriod = totalsFields[u.period]
      if not byPeriod then
        byPeriod = {}
        totalsFields[u.period] = byPeriod
      end
      local totalsField = byPeriod[u.src]
      if not totalsField then
        totalsField = u.period .. ':' .. u.src .. ':charge'
        byPeriod[u.src] = totalsField
      end
      if u.src == 'credits' and pastLimit(keys.account, 'debt', charge)
          or u.src == 'postpaid' and pastLimit(keys.account, 'owed:' .. u.period, charge)
          or pastLimit(keys.totals, totalsField, charge) then
        return { ERR.BALANCE_LIMIT, 'usage ' .. u.id .. ': a total would pass ' .. fmt(MAX_TOTAL) .. ' minor units' }
      end
    end
  end
end
if unread and next(stored) ~= nil and next(expected) ~= nil then
  -- The records a read would have given: the caller rates again without those usages.
  local r = { ERR.STALE_READ, 'a usage of the batch was applied before' }
  for i, u in ipairs(usages) do
    if stored[i] then
      r[#r + 1] = u.id
      r[#r + 1] = replyRecord(A, u.period, stored[i])
    end
  end
  return r
end
local refused = checkPools(ctx, expected, draws, capacities)
if refused then
  return refused
end
if num(a.loaded.sessOpen) > 0 then lookupSessions(keys.sessions, usages, late) end

-- Second pass: apply. Sums (pool use, amounts owed, totals) are written once each at the end.
expireDue(ctx, a)
local reply = { OK, '', count }
local NO_LOTS = {}
local n = 3
local written = {}
local owed = {}
local totals = {}
-- Today's spend by source (credits, postpaid), written once for the batch.
local spent = {}
-- Each user's credit-paid spend by the call's month, written once for the batch: {sum, the
-- charges in order...} (the event names the spend at the call that reached the limit).
local userSpent = {}
-- The credit-paid usages with a user applied now, in order, for the burst guard.
local userPaid = {}
local now = ctx.now
for i, u in ipairs(usages) do
  local status, payload
  if late[i] then
    status, payload = 2, {}
  elseif stored[i] then
    status, payload = 1, replyRecord(A, u.period, stored[i])
  elseif repeatOf[i] then
    status, payload = 1, replyRecord(A, u.period, { 'v2', written[repeatOf[i]] })
  else
    status = 0
    local charge = u.chargeN
    local lots = NO_LOTS
    payload = NO_LOTS
    if u.src == 'credits' and charge > 0 then
      lots = debitLots(ctx, a, charge, u.charge)
      if #lots == 1 then
        payload = { lots[1][1], lots[1][2] }
      else
        payload = {}
        for j, draw in ipairs(lots) do
          payload[2 * j - 1] = draw[1]
          payload[2 * j] = draw[2]
        end
      end
    elseif u.src == 'postpaid' and charge > 0 then
      owed[u.period] = (owed[u.period] or 0) + charge
    end
    if u.src == 'credits' and charge > 0 and u.user ~= '' then
      local byUser = child(userSpent, u.period)
      local mine = byUser[u.user]
      if not mine then
        mine = { 0 }
        byUser[u.user] = mine
      end
      mine[1] = mine[1] + charge
      mine[#mine + 1] = charge
    end
    if u.src == 'credits' and u.user ~= '' then
      userPaid[#userPaid + 1] = u
    end
    if charge > 0 then
      spent[u.src] = (spent[u.src] or 0) + charge
    end
    local packed = packUsage(A, u.period, u.src, u.charge, charge, u.poolSec, u.pool, u.d, u.sod,
      fmt(now - (tonumber(u.day) * DAY_MS + tonumber(u.sod) * 1000)), lots, u.r, u.report)
    addToBatchTotals(totals, u.period, u.src, 1, charge, u.poolSecN)
    written[i] = packed
    storeApplied(A, u.day, u.period, u.key, packed)
    if u.src == 'credits' and charge > 0 and balanceMayCross(a) then
      afterBalanceChange(ctx, a, 'usage:' .. u.id, true)
    end
  end
  if u.session and not repeatOf[i] then
    settleUsageSession(keys, u, status == 0, a.currency, now)
  end
  reply[n + 1] = status
  reply[n + 2] = payload
  n = n + 2
end
for key, seconds in pairs(draws) do
  redis.call('HINCRBY', keys.pools, 'used:' .. key, seconds)
end
for period, amount in pairs(owed) do
  redis.call('HINCRBY', keys.account, 'owed:' .. period, amount)
end
flushBatchTotals(keys.totals, totals)
for _, src in ipairs({ 'credits', 'postpaid' }) do
  if spent[src] then
    addToDaily(keys.totals, dailyDay(now), src, spent[src])
  end
end
local limits = {}
for period, byUser in pairs(userSpent) do
  local key = userSpendKey(keys.userSpend, period)
  for user, mine in pairs(byUser) do
    local total = redis.call('HINCRBY', key, 's:' .. user, mine[1])
    local limit = userLimit(keys.userLimits, a.currency, user, limits)
    if limit and total >= limit and redis.call('HSETNX', key, 'r:' .. user, '1') == 1 then
      emit(ctx, 'credits.user.limit_reached', 'user:' .. user .. ':' .. period, {
        tenantId = ctx.tenant, user = user, period = period,
        limit = money(a, limit), spent = money(a, spentAtLimit(total - mine[1], mine, limit)),
      })
    end
  end
  redis.call('PEXPIRE', key, USER_SPEND_TTL_MS)
end
if #userPaid > 0 then
  readLimits(keys.userLimits, limits, userPaid[1].user)
  local guard = limits.currency == a.currency and limits.burst or nil
  if guard then
    local W = guard.window
    local state = {}
    local order = {}
    for _, u in ipairs(userPaid) do
      local user = u.user
      local st = state[user]
      if st == nil then
        if userBlock(keys.userLimits, user, limits) then
          st = false
        else
          local sums = redis.call('HMGET', burstSumsKey(keys.burst, user), 'n', 's', 'l')
          st = { n = num(sums[1]), s = num(sums[2]), l = sums[3] and tonumber(sums[3]) or nil,
            window = burstWindowKey(keys.burst, user), sums = burstSumsKey(keys.burst, user) }
          order[#order + 1] = st
        end
        state[user] = st
      end
      if st and u.sessionMember then
        dropSessionMember(st, u.sessionMember)
      end
      local t = tonumber(u.day) * 86400 + tonumber(u.sod)
      if st and (st.l == nil or t > st.l - W) then
        local intl = u.intl == '1' and 1 or 0
        redis.call('ZADD', st.window, t, u.charge .. '|' .. intl .. '|' .. u.id)
        st.n = st.n + intl
        st.s = st.s + u.chargeN
        if st.l == nil or t > st.l then
          st.l = t
          -- What started W or more before the latest start leaves the window, each usage once.
          local gone = redis.call('ZRANGEBYSCORE', st.window, '-inf', t - W)
          if #gone > 0 then
            for _, member in ipairs(gone) do
              local charge, wasIntl = string.match(member, '^(%d+)|([01])|')
              st.s = st.s - tonumber(charge)
              st.n = st.n - tonumber(wasIntl)
            end
            redis.call('ZREMRANGEBYSCORE', st.window, '-inf', t - W)
          end
        end
        st.dirty = true
        local reason = guard.calls and st.n > guard.calls and 'international_calls'
          or guard.spend and st.s > guard.spend and 'spend' or nil
        if reason then
          redis.call('HSET', keys.userLimits, 'b:' .. user, fmt(ctx.now) .. '|' .. reason)
          emit(ctx, 'credits.user.blocked', 'burst:' .. user .. ':' .. u.id, {
            tenantId = ctx.tenant, user = user, reason = reason, windowMinutes = W / 60,
            internationalCalls = st.n, spend = money(a, st.s),
            maxInternationalCalls = guard.calls or cjson.null,
            maxSpend = guard.spend and money(a, guard.spend) or cjson.null,
          })
          limits.blocks[user] = fmt(ctx.now) .. '|' .. reason
          state[user] = false
        end
      end
    end
    -- The windows live about as long as a window: nothing is kept for an idle user.
    for _, st in ipairs(order) do
      if st.dirty then
        redis.call('HSET', st.sums, 'n', fmt(st.n), 's', fmt(st.s), 'l', fmt(st.l))
        redis.call('PEXPIRE', st.sums, W * 1000 + BURST_TTL_SLACK_MS)
        redis.call('PEXPIRE', st.window, W * 1000 + BURST_TTL_SLACK_MS)
      end
    end
  end
end
saveAccount(ctx, a)
finishApplied(A)
reply[2] = fmt(a.balance)

-- Records in the legacy format past retention (by applied time) go, a bounded number per call.
-- (The legacy hash and its index exist together; the lookup asked whether they do.)
if A.legacyExists then
  local old = redis.call('ZRANGEBYSCORE', keys.legacyIndex, '-inf', '(' .. fmt(ctx.now - retention), 'LIMIT', 0, 200)
  if #old > 0 then
    redis.call('HDEL', keys.legacy, unpack(old))
    redis.call('ZREM', keys.legacyIndex, unpack(old))
  end
end
return reply
