-- save.lua: inserting or updating one row, all or nothing.
--
-- save_main(KEYS, ARGV), the function `save` (may grow memory: refused under
-- OOM before it runs):
--   KEYS  1 the ids sorted set, 2 the auto-increment counter, then (declared
--         for cluster routing) the row key when known, the numeric indexes and
--         the keys of the new index entries
--   ARGV  1 mode ('i' insert, 'u' update of a record, 'p' put: insert or
--         overwrite), 2 member ('' to allocate a key), 3 numeric-ids flag,
--         4 row prefix, 5 hash tag, then four counted lists:
--         checks   (field, '1' present / '0' absent, expected value)
--         writes   (field, 's' set / 'd' delete, value)
--         numeric  (index key, 'a' add / 'r' remove, score)
--         touched slots (slot id, number of values, the values)
--   reply {'ok', member} | {'exists'} | {'gone'} | {'conflict', field}
--         | {'unique', slot id, value} | {'wrongtype', key}
--         | {'badrecord', row}
--
-- Every check (row type, conflicts, key types, unique values, the next free
-- key) runs before the first write.

local function save_main(keys, args)
  K, A = keys, args
  local mode, m = A[1], A[2]
  NUMIDS = A[3] == '1'
  local rowp = A[4]
  TAG = A[5]
  local pos = 6
  local checks, writes, nums, touched = {}, {}, {}, {}
  local n = tonumber(A[pos]); pos = pos + 1
  for i = 1, n do checks[i] = {A[pos], A[pos + 1], A[pos + 2]}; pos = pos + 3 end
  n = tonumber(A[pos]); pos = pos + 1
  for i = 1, n do writes[i] = {A[pos], A[pos + 1], A[pos + 2]}; pos = pos + 3 end
  n = tonumber(A[pos]); pos = pos + 1
  for i = 1, n do nums[i] = {A[pos], A[pos + 1], A[pos + 2]}; pos = pos + 3 end
  n = tonumber(A[pos]); pos = pos + 1
  for _ = 1, n do
    local slot, k = A[pos], tonumber(A[pos + 1]); pos = pos + 2
    local vals = {}
    for j = 1, k do vals[j] = A[pos]; pos = pos + 1 end
    touched[#touched + 1] = {slot, vals}
  end

  local row, exists = nil, false
  if m ~= '' then
    row = rowp .. m
    local t = rowtype(row)
    if t ~= 'none' and t ~= 'hash' then return {'wrongtype', row} end
    exists = t == 'hash'
  end
  if mode == 'i' and exists then return {'exists'} end
  if mode == 'u' and not exists then return {'gone'} end
  for _, c in ipairs(checks) do
    local cur = redis.call('HGET', row, c[1])
    if c[2] == '1' then
      if cur ~= c[3] then return {'conflict', c[1]} end
    elseif cur then
      return {'conflict', c[1]}
    end
  end
  local rec = {}
  -- the record matters only when a keyed index changes
  if exists and #touched > 0 then
    rec = parse_rec(redis.call('HGET', row, '#i'))
    if not rec then return {'badrecord', row} end
  end
  -- every key this call will write must be absent or of its type
  if not typeok(K[1], 'zset') then return {'wrongtype', K[1]} end
  if m == '' and not typeok(K[2], 'string') then return {'wrongtype', K[2]} end
  for _, z in ipairs(nums) do
    if not typeok(z[1], 'zset') then return {'wrongtype', z[1]} end
  end
  local is_touched = {}
  for _, t in ipairs(touched) do
    is_touched[t[1]] = true
    local kind = slotkind(t[1])
    for _, v in ipairs(t[2]) do
      if not typeok(slotkey(t[1], v), WANT[kind]) then return {'wrongtype', slotkey(t[1], v)} end
    end
  end
  for _, e in ipairs(rec) do
    local kind = slotkind(e[1])
    if is_touched[e[1]] and kind and not typeok(slotkey(e[1], e[2]), WANT[kind]) then
      return {'wrongtype', slotkey(e[1], e[2])}
    end
  end
  for _, t in ipairs(touched) do
    if slotkind(t[1]) == 'u' then
      for _, v in ipairs(t[2]) do
        local owner = redis.call('HGET', slotkey(t[1], v), v)
        -- a value whose owner row is gone (removed by another program, or
        -- evicted) is free: the stale entry is overwritten below
        if owner and owner ~= m and pread('EXISTS', rowp .. owner) == 1 then
          return {'unique', t[1], v}
        end
      end
    end
  end
  -- allocate a key: the counter's next value that names no row, found by
  -- reading only, so that nothing is written before every check has passed
  local seq
  if m == '' then
    local cur = redis.call('GET', K[2])
    seq = tonumber(cur or '0')
    if not seq or seq < 0 or seq ~= math.floor(seq) then return {'wrongtype', K[2]} end
    repeat
      seq = seq + 1
      m = string.format('%d', seq)
      row = rowp .. m
    until pread('EXISTS', row) == 0
    redis.call('SET', K[2], m)
  end
  local hset, hdel = {row}, {row}
  for _, w in ipairs(writes) do
    if w[2] == 's' then hset[#hset + 1] = w[1]; hset[#hset + 1] = w[3]
    else hdel[#hdel + 1] = w[1] end
  end
  if #touched > 0 then
    -- move the touched slots' entries, and write the new record with the row
    local kept = {}
    for _, e in ipairs(rec) do
      if is_touched[e[1]] then unindex(e[1], e[2], m) else kept[#kept + 1] = e end
    end
    for _, t in ipairs(touched) do
      for _, v in ipairs(t[2]) do
        index(t[1], v, m)
        kept[#kept + 1] = {t[1], v}
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
  if not exists then redis.call('ZADD', K[1], NUMIDS and m or 0, m) end
  for _, z in ipairs(nums) do
    if z[2] == 'a' then redis.call('ZADD', z[1], z[3], m) else redis.call('ZREM', z[1], m) end
  end
  return {'ok', m}
end
