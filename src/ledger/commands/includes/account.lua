--[[ The tenant account: settings and the state the scripts keep. ]]
--- @include "includes/indexes"

local function loadAccount(ctx)
  local h = readHash(ctx.keys.account)
  if h.mode == nil then
    return nil
  end
  return {
    loaded = h,
    mode = h.mode,
    currency = h.currency,
    balance = num(h.balance),
    debt = num(h.debt),
    lowThreshold = num(h.lowThreshold),
    lowNotified = num(h.lowNotified),
    blocked = num(h.blocked),
    blockedSince = h.blockedSince or '',
    arEnabled = num(h.arEnabled),
    arTrigger = num(h.arTrigger),
    arAmount = num(h.arAmount),
    arMonthlyCap = num(h.arMonthlyCap),
    arMaxFailures = num(h.arMaxFailures),
    arFailures = num(h.arFailures),
    arPending = h.arPending or '',
    arPendingSince = h.arPendingSince or '',
    arSeq = num(h.arSeq),
    arMonth = h.arMonth or '',
    arMonthCount = num(h.arMonthCount),
    paymentMethodRef = h.paymentMethodRef or '',
  }
end

-- The account fields a script keeps in `a` (numbers, then texts), written back by saveAccount.
local SAVED_NUMBERS = { 'balance', 'debt', 'lowNotified', 'blocked', 'arEnabled', 'arFailures', 'arSeq', 'arMonthCount' }
local SAVED_TEXTS = { 'blockedSince', 'arPending', 'arPendingSince', 'arMonth' }

-- Writes the fields whose text differs from the hash as loaded (or as last saved): one HSET
-- of what changed (usually the balance), not of every field.
local function writeChanged(ctx, a, h)
  local args = {}
  for _, field in ipairs(SAVED_NUMBERS) do
    local text = fmt(a[field])
    if not h or h[field] ~= text then
      args[#args + 1] = field
      args[#args + 1] = text
    end
  end
  for _, field in ipairs(SAVED_TEXTS) do
    local text = a[field]
    if not h or h[field] ~= text then
      args[#args + 1] = field
      args[#args + 1] = text
    end
  end
  if #args > 0 then
    redis.call('HSET', ctx.keys.account, unpack(args))
  end
  if h then
    for i = 1, #args, 2 do
      h[args[i]] = args[i + 1]
    end
  end
end

local function saveAccount(ctx, a)
  flushLots(ctx)
  -- The index entries follow the outbox, the live lots, whether the tenant is depleted and
  -- whether it is below its low-balance threshold: a script that changed none of them (no
  -- event, no lot emptied or added, the same block, on the same side of the threshold) on an
  -- account already counted under this gauges key leaves them as they are.
  local h = a.loaded
  local indexesAsThey = h and not ctx.emitted and not ctx.lotsTouched and fmt(a.blocked) == (h.blocked or '0')
      and fmt(isLowBalance(a.mode, a.balance, a.lowThreshold)) == (h.ixLow or '0')
      and h.ixGauges == ctx.keys.gauges and h.ixCounted == '1'
  writeChanged(ctx, a, h)
  if indexesAsThey then
    return
  end
  syncIndexes(ctx.keys, ctx.tenant)
end

-- The refusal of a charge (source credits or postpaid) in `currency` on this account, or nil:
-- the currency must be the account's, credits are for prepaid and accruals for postpaid.
local function refuseCharge(a, currency, src)
  if a.currency ~= currency then
    return { ERR.CURRENCY_MISMATCH, a.currency }
  end
  if src == 'credits' and a.mode ~= 'prepaid' or src == 'postpaid' and a.mode ~= 'postpaid' then
    return { ERR.MODE_MISMATCH, a.mode }
  end
  return nil
end

-- Whether afterBalanceChange could change or emit anything at this balance (a threshold
-- crossed either way, a block or its end, a recharge to request): a cheap test first, for a
-- script that debits many usages.
local function balanceMayCross(a)
  if a.mode ~= 'prepaid' then
    return false
  end
  local b = a.balance
  if a.lowThreshold > 0 and (b < a.lowThreshold and a.lowNotified == 0 or b >= a.lowThreshold and a.lowNotified == 1) then
    return true
  end
  if b <= 0 and a.blocked == 0 or b > 0 and a.blocked == 1 then
    return true
  end
  return a.arEnabled == 1 and a.arPending == '' and b < a.arTrigger and a.arAmount > 0
end

local function money(a, amount)
  return { amountMinor = fmt(amount), currency = a.currency }
end

--[[
  Called after every change of a prepaid balance. Emits each crossing once: below the
  low-balance threshold; at or below zero (depleted, credit-paid calls blocked; the moment is
  kept in blockedSince); back above zero (restored); below the auto-recharge trigger (one request, none while one is pending,
  at most arMonthlyCap a calendar month). `cause` names what changed the balance.
]]
local function afterBalanceChange(ctx, a, cause, allowRecharge)
  if a.mode ~= 'prepaid' then
    return
  end
  local b = a.balance
  if a.lowThreshold > 0 then
    if b < a.lowThreshold and a.lowNotified == 0 then
      a.lowNotified = 1
      emit(ctx, 'credits.balance.low', cause,
        { balance = money(a, b), threshold = money(a, a.lowThreshold) })
    elseif b >= a.lowThreshold and a.lowNotified == 1 then
      a.lowNotified = 0
    end
  end
  if b <= 0 and a.blocked == 0 then
    a.blocked = 1
    a.blockedSince = fmt(ctx.now)
    emit(ctx, 'credits.balance.depleted', cause, { balance = money(a, b) })
    emit(ctx, 'credits.service.blocked', cause, { balance = money(a, b), reason = 'balance_depleted' })
  elseif b > 0 and a.blocked == 1 then
    a.blocked = 0
    a.blockedSince = ''
    emit(ctx, 'credits.service.restored', cause, { balance = money(a, b) })
  end
  if allowRecharge and a.arEnabled == 1 and a.arPending == '' and b < a.arTrigger and a.arAmount > 0
    and b + a.arAmount <= MAX_TOTAL then
    if a.arMonth ~= ctx.nowMonth then
      a.arMonth = ctx.nowMonth
      a.arMonthCount = 0
    end
    if a.arMonthlyCap == 0 or a.arMonthCount < a.arMonthlyCap then
      a.arSeq = a.arSeq + 1
      a.arMonthCount = a.arMonthCount + 1
      a.arPending = ctx.tenant .. ':recharge:' .. fmt(a.arSeq)
      a.arPendingSince = fmt(ctx.now)
      -- What the request charges, for the reconciler: the settings may change before it settles.
      redis.call('HSET', ctx.keys.account, 'arPendingAmount', fmt(a.arAmount), 'arPendingMethod', a.paymentMethodRef)
      emit(ctx, 'credits.recharge.requested', a.arPending, {
        requestId = a.arPending,
        amount = money(a, a.arAmount),
        trigger = money(a, a.arTrigger),
        balance = money(a, b),
        paymentMethodRef = a.paymentMethodRef,
      })
    end
  end
end
