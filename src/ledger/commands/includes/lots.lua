--[[
  Lots: each purchase with its remaining amount and expiry. The sorted set holds the lots
  that still have money, scored by expiry, so spending draws on the lot that expires first.
  A lot is live while now < expiresAt.
]]
-- Forfeits what is left of every lot whose expiry has come (expiresAt <= now).
local function expireDue(ctx, a)
  local due = redis.call('ZRANGEBYSCORE', ctx.keys.lotExpiry, '-inf', ctx.now)
  local forfeited = 0
  for _, lotId in ipairs(due) do
    local lot = getLot(ctx, lotId)
    local left = num(lot.remaining)
    lot.remaining = '0'
    lot.expired = fmt(num(lot.expired) + left)
    lot.expiredAt = fmt(ctx.now)
    putLot(ctx, lotId, lot)
    redis.call('ZREM', ctx.keys.lotExpiry, lotId)
    ctx.lotQueue = nil
    ctx.lotsTouched = true
    if left > 0 then
      a.balance = a.balance - left
      forfeited = forfeited + left
      emit(ctx, 'credits.funds.expired', lotId, {
        lotId = lotId, amount = money(a, left), purchasedAt = lot.purchasedAt, expiresAt = lot.expiresAt,
        balance = money(a, a.balance),
      })
      afterBalanceChange(ctx, a, 'expired:' .. lotId, true)
    end
  end
  return #due, forfeited
end

-- A new lot pays the debt (the negative tail) first; the rest is spendable until expiry.
-- Returns nil, or BALANCE_LIMIT (before any write) when the balance would pass MAX_TOTAL.
local function addLot(ctx, a, lotId, amount, purchasedAt, expiresAt, source, ref)
  if amount > MAX_TOTAL or a.balance + amount > MAX_TOTAL then
    return { ERR.BALANCE_LIMIT, 'the balance would pass ' .. fmt(MAX_TOTAL) .. ' minor units' }
  end
  local toDebt = math.min(a.debt, amount)
  a.debt = a.debt - toDebt
  local remaining = amount - toDebt
  putLot(ctx, lotId, {
    amount = fmt(amount), remaining = fmt(remaining), paidDebt = fmt(toDebt),
    purchasedAt = fmt(purchasedAt), expiresAt = fmt(expiresAt), source = source, ref = ref,
  })
  if remaining > 0 then
    redis.call('ZADD', ctx.keys.lotExpiry, expiresAt, lotId)
    ctx.lotQueue = nil
    ctx.lotsTouched = true
  end
  a.balance = a.balance + amount
  return nil
end

--[[
  Debits `amount` from live lots, earliest expiry first; what no lot covers becomes debt, so
  usage that already happened is always recorded. Returns the draws: {lotId, amount} pairs,
  lotId '' for the part that went into debt. `amountText`: `amount` in decimal, when the
  caller has it (a draw of the whole amount reuses it).
]]
local function debitLots(ctx, a, amount, amountText)
  amountText = amountText or fmt(amount)
  local draws = {}
  local left = amount
  while left > 0 do
    -- The live lots, earliest expiry first, read once per script (up to 16 at a time): each
    -- lot emptied here leaves the set and the queue together. A script that adds a lot to the
    -- set drops the queue (ctx.lotQueue = nil).
    local queue = ctx.lotQueue
    if not queue or queue.at > #queue.ids then
      queue = { ids = redis.call('ZRANGE', ctx.keys.lotExpiry, 0, 15), at = 1 }
      ctx.lotQueue = queue
      if #queue.ids == 0 then
        break
      end
    end
    local lotId = queue.ids[queue.at]
    local lot = getLot(ctx, lotId)
    local remaining = num(lot.remaining)
    local take = math.min(remaining, left)
    remaining = remaining - take
    left = left - take
    -- Kept as a number until flushLots writes the lot: one text per lot and call, not per usage.
    lot.remaining = remaining
    putLot(ctx, lotId, lot)
    if remaining == 0 then
      redis.call('ZREM', ctx.keys.lotExpiry, lotId)
      queue.at = queue.at + 1
      ctx.lotsTouched = true
    end
    draws[#draws + 1] = { lotId, take == amount and amountText or fmt(take) }
  end
  if left > 0 then
    a.debt = a.debt + left
    draws[#draws + 1] = { '', fmt(left) }
  end
  a.balance = a.balance - amount
  return draws
end
