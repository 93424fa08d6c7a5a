--[[
  Idempotency records of applied usages, bucketed by the tenant and the call's UTC start day
  (day = floor(start ms / 86400000)); a redelivered record carries the same start, so it finds
  its bucket. Keys, all under the tenant's hash tag (<base> is KEYS' `applied` key, never
  written itself):

  <base>:meta           hash: <day> -> "<records>,<k1>,<k2>,...", one field per day with
                        records; fields past the retention are pruned when a day is opened.
  <base>:<day>:<k>:<i>  hash: usage id (as stored: a GUID in 23 bytes, see
                        src/ledger/usage-outcome.ts) -> packed outcome, for each generation k of the day's
                        buckets and i in [0, k). A record goes into bucket sha1(id) mod k of
                        the day's newest generation. Buckets hold about 48 records, so each
                        stays a small listpack-encoded hash (Redis keeps hashes of <= 128
                        entries of <= 64 bytes that way): the first generation is sized from
                        the previous day's count, and when the day outgrows its buckets a new
                        generation of four times as many starts (a lookup reads one bucket per
                        generation; usually there is one). Each bucket expires whole at the end
                        of the day plus the retention: no per-record index.
  <base>:d:<yyyy-mm>    hash: strings shared by many records of the start month, interned:
                        "s" .. text -> index, "i" .. index -> text, "n" -> last index. Expires
                        with the month's last bucket.

  Packed outcome: src|charge|poolSec|shared|sod|atDelta|lots|own1|own2|own3[|revision|previous][|report]
    src      c credits, p postpaid, b bundle, f free
    shared   index of "S<pool>|<rated details shared by usages>", '' for none
    sod      the second of the day the call started
    atDelta  when it was applied, in ms after the call's start (start = day + sod seconds)
    lots     the draws on lots, "<ref>:<amount>" joined by ',' (ref: index of "L<lot id>", or
             '-' for the part that went into debt); one draw of the whole charge is "<ref>"
    own      the three fields of the rated details particular to the usage (fingerprint,
             billed seconds, connection charge)
    revision and previous charge: only once re-rated, or both '' before a report of a usage
             never re-rated
    report   the usage report's fields of the input record as the caller packed them
             (src/settlement/usage-report.ts: positional, escaped, never '|', at most MAX_REPORT
             bytes); left out when empty, and absent from records stored before reports were
             kept: both read as ''. A re-rate keeps it.

  Records stored before this format (JSON in the `legacy` hash, indexed by applied time) are
  still found, and dropped after the retention by applied time, a bounded number per call.
]]
local DAY_MS = 86400000
local BUCKET_TARGET = 48
local MAX_BUCKETS = 16384
-- The most bytes of a usage's packed report (MAX_REPORT_BYTES in src/settlement/usage-report.ts).
local MAX_REPORT = 2560
local SRC_CODE = { credits = 'c', postpaid = 'p', bundle = 'b', free = 'f' }
local SRC_NAME = { c = 'credits', p = 'postpaid', b = 'bundle', f = 'free' }

local function newApplied(base, legacy, retention, now)
  return {
    base = base, legacy = legacy, retention = retention, now = now,
    meta = {}, dicts = {}, touched = {}, hashes = {}, writes = {}, sharedRefs = {}, lotRefs = {}, latestOpened = 0,
    bucketKeys = {},
    metaKey = base .. ':meta',
  }
end

local function splitOn(text, sep)
  local parts = {}
  local from = 1
  while true do
    local at = string.find(text, sep, from, true)
    if not at then
      parts[#parts + 1] = string.sub(text, from)
      return parts
    end
    parts[#parts + 1] = string.sub(text, from, at - 1)
    from = at + 1
  end
end

-- The day's record count and bucket generations ({n, ks}), or false when it has no records.
local function dayMeta(A, day)
  local meta = A.meta[day]
  if meta == nil then
    local raw = redis.call('HGET', A.metaKey, day)
    if raw then
      local parts = splitOn(raw, ',')
      local ks = {}
      for i = 2, #parts do
        ks[#ks + 1] = tonumber(parts[i])
      end
      meta = { n = tonumber(parts[1]), ks = ks }
    else
      meta = false
    end
    A.meta[day] = meta
  end
  return meta
end

-- When the records of a day expire: the end of the day plus the retention.
local function keptUntil(A, day)
  return (tonumber(day) + 1) * DAY_MS + A.retention
end

-- Whether a call of this day starts before the window whose usage ids are remembered.
local function tooLate(A, day)
  return keptUntil(A, day) <= A.now
end

-- The bucket of `id` in the generation of `k` buckets (`hash`: the id's, computed once). A
-- bucket's key is made once per call: most ids of a batch share a few buckets.
local function bucketKey(A, day, k, hash)
  local index = hash % k
  local keys = child(child(A.bucketKeys, day), k)
  local key = keys[index]
  if not key then
    key = A.base .. ':' .. day .. ':' .. k .. ':' .. index
    keys[index] = key
  end
  return key
end

-- The hash that places an id in its bucket, computed once per id and script (the lookup and
-- the write of a new record both need it).
local function idHash(A, id)
  local hash = A.hashes[id]
  if not hash then
    hash = tonumber(string.sub(redis.sha1hex(id), 1, 8), 16)
    A.hashes[id] = hash
  end
  return hash
end

-- Opens a day: its first generation sized for the day before's count, past days pruned.
local function openDay(A, day)
  local k = 1
  local before = dayMeta(A, fmt(tonumber(day) - 1))
  if before then
    local wanted = math.ceil(before.n / BUCKET_TARGET)
    while k < wanted and k < MAX_BUCKETS do
      k = k * 2
    end
  end
  local oldest = math.floor((A.now - A.retention) / DAY_MS) - 2
  local fields = redis.call('HKEYS', A.metaKey)
  local stale = {}
  for _, field in ipairs(fields) do
    if tonumber(field) < oldest then
      stale[#stale + 1] = field
    end
  end
  if #stale > 0 then
    redis.call('HDEL', A.metaKey, unpack(stale))
  end
  local meta = { n = 0, ks = { k }, opened = true }
  A.meta[day] = meta
  return meta
end

-- The stored records of `items` ({id, key, day} each: key the id as stored), in order: {format, value} with format
-- 'v2' (packed) or 'v1' (legacy JSON), or false for an id never applied, or of a day past
-- the retention (its record may be gone: the caller refuses such a usage as too late).
local function lookupApplied(A, items)
  local found = {}
  local byKey = {}
  local order = {}
  for i, item in ipairs(items) do
    found[i] = false
    local meta = not tooLate(A, item.day) and dayMeta(A, item.day)
    if meta then
      local hash = idHash(A, item.key)
      for _, k in ipairs(meta.ks) do
        local key = bucketKey(A, item.day, k, hash)
        if not byKey[key] then
          byKey[key] = {}
          order[#order + 1] = key
        end
        local list = byKey[key]
        list[#list + 1] = i
      end
    end
  end
  for _, key in ipairs(order) do
    local list = byKey[key]
    local ids = {}
    for j, i in ipairs(list) do
      ids[j] = items[i].key
    end
    local values = redis.call('HMGET', key, unpack(ids))
    for j, i in ipairs(list) do
      if values[j] then
        found[i] = { 'v2', values[j], key }
      end
    end
  end
  if A.legacyExists == nil then
    A.legacyExists = A.legacy and redis.call('EXISTS', A.legacy) == 1
  end
  if A.legacyExists then
    local missing, ids = {}, {}
    for i, item in ipairs(items) do
      if not found[i] and not tooLate(A, item.day) then
        missing[#missing + 1] = i
        ids[#ids + 1] = item.id
      end
    end
    if #ids > 0 then
      local values = redis.call('HMGET', A.legacy, unpack(ids))
      for j, i in ipairs(missing) do
        if values[j] then
          found[i] = { 'v1', values[j] }
        end
      end
    end
  end
  return found
end

local function dict(A, period)
  local d = A.dicts[period]
  if not d then
    d = { key = A.base .. ':d:' .. period, index = {}, text = {}, until_ = 0 }
    A.dicts[period] = d
  end
  return d
end

local function intern(A, period, text)
  local d = dict(A, period)
  local index = d.index[text]
  if not index then
    index = redis.call('HGET', d.key, 's' .. text)
    if not index then
      index = fmt(redis.call('HINCRBY', d.key, 'n', 1))
      redis.call('HSET', d.key, 's' .. text, index, 'i' .. index, text)
      d.grew = true
    end
    d.index[text] = index
    d.text[index] = text
  end
  return index
end

local function resolve(A, period, index)
  local d = dict(A, period)
  local text = d.text[index]
  if not text then
    text = redis.call('HGET', d.key, 'i' .. index) or ''
    d.text[index] = text
  end
  return text
end

-- The reference a record keeps to a lot: '-' for the part that went into debt, else the lot
-- id's interned index (looked up once per script and lot).
local function lotRef(A, period, lotId)
  if lotId == '' then
    return '-'
  end
  local refs = child(A.lotRefs, period)
  local ref = refs[lotId]
  if not ref then
    ref = intern(A, period, 'L' .. lotId)
    refs[lotId] = ref
  end
  return ref
end

-- Writes a new record into its day's newest generation of buckets (starting one when the
-- day has outgrown its buckets). The write itself waits for finishApplied, which writes each
-- bucket's new records in one HSET.
local function storeApplied(A, day, period, id, packed)
  local meta = dayMeta(A, day) or openDay(A, day)
  local capacity = 0
  for _, k in ipairs(meta.ks) do
    capacity = capacity + k * BUCKET_TARGET
  end
  local newest = meta.ks[#meta.ks]
  if meta.n >= capacity and newest < MAX_BUCKETS then
    newest = math.min(newest * 4, MAX_BUCKETS)
    meta.ks[#meta.ks + 1] = newest
  end
  local key = bucketKey(A, day, newest, idHash(A, id))
  local pending = A.writes[key]
  if not pending then
    pending = {}
    A.writes[key] = pending
    A.touched[key] = keptUntil(A, day)
  end
  -- The month's strings and the day counts must outlive the day's records: their expiry
  -- moves when a day gets its first records (a day seen before was covered then), and the
  -- strings' when one is added (finishApplied).
  local d = dict(A, period)
  if A.touched[key] > d.until_ then
    d.until_ = A.touched[key]
  end
  if meta.opened then
    d.opened = true
    if A.touched[key] > A.latestOpened then
      A.latestOpened = A.touched[key]
    end
  end
  pending[#pending + 1] = id
  pending[#pending + 1] = packed
  meta.n = meta.n + 1
  meta.dirty = true
end

-- Replaces a record where it is (`key`, from lookupApplied's `where`).
local function replaceApplied(A, day, period, key, id, packed)
  redis.call('HSET', key, id, packed)
  A.touched[key] = keptUntil(A, day)
  local d = dict(A, period)
  d.opened = true
  if A.touched[key] > d.until_ then
    d.until_ = A.touched[key]
  end
  if A.touched[key] > A.latestOpened then
    A.latestOpened = A.touched[key]
  end
end

-- Moves a key's expiry later, never earlier (and sets it on a key without one). Relative to
-- the caller's clock, which every rule here follows (Redis's own clock may differ).
local function extendExpiry(A, key, untilMs)
  local ttl = fmt(untilMs - A.now)
  if redis.call('PEXPIRE', key, ttl, 'GT') == 0 then
    redis.call('PEXPIRE', key, ttl, 'NX')
  end
end

-- Writes the new records, the day counts, and sets each touched key's expiry, once per key.
local function finishApplied(A)
  for key, pending in pairs(A.writes) do
    redis.call('HSET', key, unpack(pending))
  end
  A.writes = {}
  for day, meta in pairs(A.meta) do
    if meta and meta.dirty then
      local parts = { fmt(meta.n) }
      for _, k in ipairs(meta.ks) do
        parts[#parts + 1] = fmt(k)
      end
      redis.call('HSET', A.metaKey, day, table.concat(parts, ','))
    end
  end
  for key, untilMs in pairs(A.touched) do
    -- A bucket's expiry is its day's, the same whenever it is set: once is enough.
    redis.call('PEXPIRE', key, fmt(untilMs - A.now), 'NX')
  end
  for _, d in pairs(A.dicts) do
    if d.until_ > 0 and (d.opened or d.grew) then
      extendExpiry(A, d.key, d.until_)
    end
  end
  -- The day counts live while any day does.
  if A.latestOpened > 0 then
    extendExpiry(A, A.metaKey, A.latestOpened)
  end
end

-- The reference a record keeps to its pool and shared details: '' for none, else the
-- interned index of "S<pool>|<shared>" (looked up once per script for each pair).
local function sharedRef(A, period, pool, shared)
  if pool == '' and shared == '' then
    return ''
  end
  local byPool = child(child(A.sharedRefs, period), pool)
  local ref = byPool[shared]
  if not ref then
    ref = intern(A, period, 'S' .. pool .. '|' .. shared)
    byPool[shared] = ref
  end
  return ref
end

-- The draws as a record keeps them (see the format above).
local function packDraws(A, period, lots, charge)
  if #lots == 0 then
    return ''
  end
  if #lots == 1 and num(lots[1][2]) == charge then
    return lotRef(A, period, lots[1][1])
  end
  local draws = {}
  for i, lot in ipairs(lots) do
    draws[i] = lotRef(A, period, lot[1]) .. ':' .. lot[2]
  end
  return table.concat(draws, ',')
end

-- Packs the record of a usage applied now, from the texts of its fields as the caller gave
-- them (whole numbers in canonical decimal): the same as packOutcome, with less work.
local function packUsage(A, period, src, chargeText, charge, poolSecText, pool, shared, sodText, atDeltaText, lots, own, report)
  local packed = SRC_CODE[src] .. '|' .. chargeText .. '|' .. poolSecText .. '|' .. sharedRef(A, period, pool, shared)
    .. '|' .. sodText .. '|' .. atDeltaText .. '|' .. packDraws(A, period, lots, charge) .. '|' .. own
  if report ~= '' then
    -- Never re-rated: empty revision and previous charge before it.
    packed = packed .. '|||' .. report
  end
  return packed
end

-- Packs an outcome. `o`: src, charge, poolSec, pool, shared (rated details shared), sod,
-- at, start, lots ({lotId, amount} pairs), own, rv and previous once re-rated, report ('' for none).
local function packOutcome(A, period, o)
  local shared = sharedRef(A, period, o.pool, o.shared)
  local packed = SRC_CODE[o.src] .. '|' .. fmt(o.charge) .. '|' .. fmt(o.poolSec) .. '|' .. shared .. '|'
    .. fmt(o.sod) .. '|' .. fmt(o.at - o.start) .. '|' .. packDraws(A, period, o.lots, o.charge) .. '|' .. o.own
  local report = o.report or ''
  if o.rv and o.rv ~= '' then
    packed = packed .. '|' .. o.rv .. '|' .. fmt(o.previous)
  elseif report ~= '' then
    packed = packed .. '||'
  end
  if report ~= '' then
    packed = packed .. '|' .. report
  end
  return packed
end

-- The reverse of packOutcome; `day` locates the call's start.
local function unpackOutcome(A, day, period, packed)
  local p = splitOn(packed, '|')
  local sod = tonumber(p[5])
  local start = tonumber(day) * DAY_MS + sod * 1000
  local charge = tonumber(p[2])
  local lots = {}
  if p[7] ~= '' then
    for i, draw in ipairs(splitOn(p[7], ',')) do
      local colon = string.find(draw, ':', 1, true)
      local ref = colon and string.sub(draw, 1, colon - 1) or draw
      local amount = colon and string.sub(draw, colon + 1) or fmt(charge)
      local lotId = ref == '-' and '' or string.sub(resolve(A, period, ref), 2)
      lots[i] = { lotId, amount }
    end
  end
  local pool, shared = '', ''
  if p[4] ~= '' then
    local text = resolve(A, period, p[4])
    local bar = string.find(text, '|', 1, true)
    pool = string.sub(text, 2, bar - 1)
    shared = string.sub(text, bar + 1)
  end
  return {
    src = SRC_NAME[p[1]], charge = charge, poolSec = tonumber(p[3]), pool = pool, shared = shared,
    sod = sod, start = start, at = start + tonumber(p[6]), lots = lots,
    own = p[8] .. '|' .. p[9] .. '|' .. p[10], rv = p[11] or '', previous = num(p[12]), report = p[13] or '',
  }
end

-- A record as scripts reply it: {format, value, shared, lots} (lots flat: id, amount, ...),
-- shared the interned "<pool>|<details>" resolved; for 'v1', value is the legacy JSON.
local function replyRecord(A, period, record)
  if record[1] == 'v1' then
    return { 'v1', record[2], '', {} }
  end
  local p = splitOn(record[2], '|')
  local shared = ''
  if p[4] ~= '' then
    shared = string.sub(resolve(A, period, p[4]), 2)
  end
  local lots = {}
  local charge = p[2]
  if p[7] ~= '' then
    for _, draw in ipairs(splitOn(p[7], ',')) do
      local colon = string.find(draw, ':', 1, true)
      local ref = colon and string.sub(draw, 1, colon - 1) or draw
      lots[#lots + 1] = ref == '-' and '' or string.sub(resolve(A, period, ref), 2)
      lots[#lots + 1] = colon and string.sub(draw, colon + 1) or charge
    end
  end
  return { 'v2', record[2], shared, lots }
end
