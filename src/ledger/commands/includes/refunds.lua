--[[
  Refunds of a re-rate: only the difference moves. A refund goes back the way the call took
  its money, in reverse: first the parts that went into debt, then its lots, last drawn
  first, each getting back at most what the call took from it. Needs includes/lots (addLot)
  and includes/account (money).
]]

-- Gives back `amount` that went into debt (or whose origin is no longer known): it reduces
-- the debt owed now; what a purchase has paid of it since becomes a refund lot `lotId`.
-- The caller checked that the balance plus `amount` fits.
local function refundToBalance(ctx, a, amount, lotId, expiresAt, ref)
  local toDebt = math.min(a.debt, amount)
  a.debt = a.debt - toDebt
  a.balance = a.balance + toDebt
  if amount > toDebt then
    addLot(ctx, a, lotId, amount - toDebt, ctx.now, expiresAt, 'refund', ref)
  end
end

-- Gives back `amount` the call took from lot `lotId`. A live lot's share pays the debt owed
-- now first, as a purchase would, and the rest is spendable again; an expired lot's share is
-- forfeited (credits.funds.expired for that share): the balance does not move.
-- Returns false when the lot is not kept any more.
local function refundToLot(ctx, a, lotId, amount, cause)
  local lot = getLot(ctx, lotId)
  if not lot then
    return false
  end
  local expiresAt = num(lot.expiresAt)
  if expiresAt <= ctx.now then
    lot.expired = fmt(num(lot.expired) + amount)
    putLot(ctx, lotId, lot)
    emit(ctx, 'credits.funds.expired', lotId .. ':' .. cause, {
      lotId = lotId, amount = money(a, amount), purchasedAt = lot.purchasedAt, expiresAt = lot.expiresAt,
      balance = money(a, a.balance),
    })
    return true
  end
  local toDebt = math.min(a.debt, amount)
  a.debt = a.debt - toDebt
  a.balance = a.balance + amount
  local remaining = num(lot.remaining) + amount - toDebt
  lot.remaining = fmt(remaining)
  if toDebt > 0 then
    lot.paidDebt = fmt(num(lot.paidDebt) + toDebt)
  end
  putLot(ctx, lotId, lot)
  if remaining > 0 then
    redis.call('ZADD', ctx.keys.lotExpiry, expiresAt, lotId)
    ctx.lotQueue = nil
    ctx.lotsTouched = true
  end
  return true
end

-- Takes up to `due` from the draws matching `isDebt`, last first; adds each lot's share to
-- `shares` (in the order taken, one entry per lot). Returns what is still due.
local function takeBack(draws, due, isDebt, shares)
  for i = #draws, 1, -1 do
    if due == 0 then
      break
    end
    local d = draws[i]
    if (d[1] == '') == isDebt and d[2] > 0 then
      local take = math.min(d[2], due)
      d[2] = d[2] - take
      due = due - take
      local entry = shares.byLot[d[1]]
      if not entry then
        entry = { d[1], 0 }
        shares.byLot[d[1]] = entry
        shares[#shares + 1] = entry
      end
      entry[2] = entry[2] + take
    end
  end
  return due
end

--[[
  Refunds `amount` of a call's credit-paid charge whose draws are `lots` ({lotId, amount}
  pairs, lotId '' for the part that went into debt, in the order taken). A part of `amount`
  the draws do not account for (a record kept without them) is refunded like a debt part.
  `r`: cause (the events' cause), lotId and expiresAt of a refund lot should one be needed,
  ref (the usage id). Returns the draws left, in order, without empty ones.
]]
local function refundDraws(ctx, a, lots, amount, r)
  local draws = {}
  for i, d in ipairs(lots) do
    draws[i] = { d[1], num(d[2]) }
  end
  local debtShares = { byLot = {} }
  local due = takeBack(draws, amount, true, debtShares)
  local lotShares = { byLot = {} }
  due = takeBack(draws, due, false, lotShares)
  -- The debt part first: it reduces the debt before any lot's share pays what is left of it.
  local toBalance = due + (debtShares[1] and debtShares[1][2] or 0)
  if toBalance > 0 then
    refundToBalance(ctx, a, toBalance, r.lotId, r.expiresAt, r.ref)
  end
  local lost = 0
  for _, share in ipairs(lotShares) do
    if not refundToLot(ctx, a, share[1], share[2], r.cause) then
      lost = lost + share[2]
    end
  end
  if lost > 0 then
    refundToBalance(ctx, a, lost, r.lotId .. ':lots', r.expiresAt, r.ref)
  end
  local kept = {}
  for _, d in ipairs(draws) do
    if d[2] > 0 then
      kept[#kept + 1] = { d[1], fmt(d[2]) }
    end
  end
  return kept
end

-- The draws of a call after a further debit: `more` appended to `lots` (a draw on the same
-- lot as the last one is merged into it), amounts as canonical texts.
local function appendDraws(lots, more)
  local all = {}
  for i, d in ipairs(lots) do
    all[i] = { d[1], fmt(num(d[2])) }
  end
  for _, d in ipairs(more) do
    local last = all[#all]
    if last and last[1] == d[1] then
      last[2] = fmt(num(last[2]) + num(d[2]))
    else
      all[#all + 1] = { d[1], d[2] }
    end
  end
  return all
end
