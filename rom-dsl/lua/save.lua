-- save.lua: inserting or updating one row, all or nothing.
--
-- save_main(KEYS, ARGV), the function `save` (may grow memory: refused under
-- OOM before it runs). Its arguments are the contract SaveArgs
-- (rom-dsl/src/wire/save.rs; the encoding: rom-dsl/src/wire/mod.rs), read by
-- save_args:
--   KEYS  ids, seq (the auto-increment counter), then (declared for cluster
--         routing) the row key when known, the numeric indexes and the keys
--         of the new index entries
--   ARGV  mode ('i' insert, 'u' update of a record, 'p' put: insert or
--         overwrite), member ('' to allocate a key), numeric_ids flag,
--         row_prefix, tag, then four counted lists:
--         checks   (field, '1' present / '0' absent, expected value)
--         writes   (field, 's' set / 'd' delete, value)
--         numeric  (index key, 'a' add / 'r' remove, score)
--         touched  (slot id, kind 'u'/'s'/'l', counted list of the values)
--   reply {'ok', member} | {'exists'} | {'gone'} | {'conflict', field}
--         | {'unique', slot id, value} | {'wrongtype', key}
--         | {'badrecord', row}
--
-- Every check (row type, conflicts, key types, unique values, the next free
-- key) runs before the first write.

-- a write {field, set, value}: field, 's' set / 'd' delete, value
local function take_write()
  local p = WP
  WP = p + 3
  return {field = WA[p], set = WA[p + 1] == 's', value = WA[p + 2]}
end

-- a touched slot {id, kind, values}: slot id, kind letter, counted values
local function take_touched()
  local id, kind = WA[WP], WA[WP + 1]
  WP = WP + 2
  return {id = id, kind = kind, values = take_strings()}
end

local function save_args(keys, argv)
  reader(argv, 6)
  return {
    ids = keys[1], seq = keys[2],
    mode = argv[1], member = argv[2], numeric_ids = argv[3] == '1',
    row_prefix = argv[4], tag = argv[5],
    checks = take_list(take_check),
    writes = take_list(take_write),
    numeric = take_list(take_numop),
    touched = take_list(take_touched),
  }
end

local function save_main(keys, argv)
  local d = save_args(keys, argv)
  local mode, m, rowp = d.mode, d.member, d.row_prefix
  NUMIDS, TAG = d.numeric_ids, d.tag
  local nums, touched = d.numeric, d.touched

  local row, exists = nil, false
  if m ~= '' then
    row = rowp .. m
    local t = rowtype(row)
    if t ~= 'none' and t ~= 'hash' then return {'wrongtype', row} end
    exists = t == 'hash'
  end
  if mode == 'i' and exists then return {'exists'} end
  if mode == 'u' and not exists then return {'gone'} end
  for _, c in ipairs(d.checks) do
    local cur = redis.call('HGET', row, c.field)
    if c.present then
      if cur ~= c.value then return {'conflict', c.field} end
    elseif cur then
      return {'conflict', c.field}
    end
  end
  local rec = {}
  -- the record matters only when a keyed index changes
  if exists and #touched > 0 then
    rec = parse_rec(redis.call('HGET', row, '#i'))
    if not rec then return {'badrecord', row} end
  end
  -- every key this call will write must be absent or of its type
  if not typeok(d.ids, 'zset') then return {'wrongtype', d.ids} end
  if m == '' and not typeok(d.seq, 'string') then return {'wrongtype', d.seq} end
  for _, z in ipairs(nums) do
    if not typeok(z.key, 'zset') then return {'wrongtype', z.key} end
  end
  local is_touched = {}
  for _, t in ipairs(touched) do
    is_touched[t.id] = true
    for _, v in ipairs(t.values) do
      local key = slotkey(t.kind, t.id, v)
      if not typeok(key, WANT[t.kind]) then return {'wrongtype', key} end
    end
  end
  for _, e in ipairs(rec) do
    local kind = e[3]
    if is_touched[e[1]] and kind and not typeok(slotkey(kind, e[1], e[2]), WANT[kind]) then
      return {'wrongtype', slotkey(kind, e[1], e[2])}
    end
  end
  for _, t in ipairs(touched) do
    if t.kind == 'u' then
      for _, v in ipairs(t.values) do
        local owner = redis.call('HGET', slotkey(t.kind, t.id, v), v)
        -- a value whose owner row is gone (removed by another program, or
        -- evicted) is free: the stale entry is overwritten below
        if owner and owner ~= m and pread('EXISTS', rowp .. owner) == 1 then
          return {'unique', t.id, v}
        end
      end
    end
  end
  -- every write command this call will run must be allowed to the user
  local need = {HSET = true}
  if m == '' then need.SET = true end
  if not exists then need.ZADD = true end
  for _, z in ipairs(nums) do need[z.add and 'ZADD' or 'ZREM'] = true end
  for _, w in ipairs(d.writes) do
    if not w.set then need.HDEL = true; if exists then need.HSETNX = true end end
  end
  for _, t in ipairs(touched) do
    for _, c in ipairs(KIND_WRITES[t.kind]) do need[c] = true end
  end
  may_write(row or rowp, need)
  -- allocate a key: the counter's next value that names no row, found by
  -- reading only, so that nothing is written before every check has passed
  local seq
  if m == '' then
    local cur = redis.call('GET', d.seq)
    seq = tonumber(cur or '0')
    if not seq or seq < 0 or seq ~= math.floor(seq) then return {'wrongtype', d.seq} end
    repeat
      seq = seq + 1
      m = string.format('%d', seq)
      row = rowp .. m
    until pread('EXISTS', row) == 0
    redis.call('SET', d.seq, m)
  end
  local hset, hdel = {row}, {row}
  for _, w in ipairs(d.writes) do
    if w.set then hset[#hset + 1] = w.field; hset[#hset + 1] = w.value
    else hdel[#hdel + 1] = w.field end
  end
  if #touched > 0 then
    -- move the touched slots' entries, and write the new record with the row
    local kept = {}
    for _, e in ipairs(rec) do
      if is_touched[e[1]] then unindex(e[3], e[1], e[2], m) else kept[#kept + 1] = e end
    end
    for _, t in ipairs(touched) do
      for _, v in ipairs(t.values) do
        index(t.kind, t.id, v, m)
        kept[#kept + 1] = {t.id, v}
      end
    end
    -- the record is also the row's marker: always present, maybe empty
    hset[#hset + 1] = '#i'; hset[#hset + 1] = show_rec(kept)
  elseif not exists then
    hset[#hset + 1] = '#i'; hset[#hset + 1] = ''
  end
  if #hdel > 1 then redis.call('HDEL', unpack(hdel)) end
  if #hset > 1 then redis.call('HSET', unpack(hset)) end
  -- a row exists apart from its values: when its last column became null, the
  -- marker keeps the hash (rows written before the marker may lack it)
  if exists and #hdel > 1 and #touched == 0 then redis.call('HSETNX', row, '#i', '') end
  -- an existing row is listed already
  if not exists then redis.call('ZADD', d.ids, NUMIDS and m or 0, m) end
  for _, z in ipairs(nums) do
    if z.add then redis.call('ZADD', z.key, z.score, m) else redis.call('ZREM', z.key, m) end
  end
  return {'ok', m}
end
