-- plain.lua: the common saves, without save.lua's tables.
--
-- PS.save(KEYS, ARGV), the function `save`: the arguments of save.lua (the
-- contract SaveArgs, rom-dsl/src/wire/save.rs) and its replies. Most saves
-- are plain: a row of a model with no expiry, no structures and no
-- references, either new (an insert, or a put that finds no row) or updated
-- without moving a keyed index entry (its columns, numeric indexes and
-- checks only). Those (PS.shape) are done here, reading the arguments in
-- place; every other save, and a put that finds its row, goes to save_main.
-- The result is the same either way: the same checks in the same order, the
-- same keys, records and replies. Only the work differs: save.lua decodes
-- every argument into tables first, which costs more than the row's commands
-- (see the book's performance chapter). tests/plain_saves.rs runs the same
-- random saves both ways and compares replies and keyspaces.
--
-- Every name here is a field of one table, PS (the library's chunk has a
-- bounded number of locals).

local PS = {}

-- The positions of a plain save's parts in ARGV: the checks, the writes, the
-- numeric ops and the touched slots (the start of each and its count), or
-- nil when the save is not plain (parents, an expiring model, a structure; an
-- insert or put with checks, an update that moves keyed index entries).
function PS.shape(argv)
  local mode = argv[1]
  local nc = tonumber(argv[6])
  if mode == 'u' then
    if argv[2] == '' then return nil end
  elseif (mode ~= 'i' and mode ~= 'p') or nc ~= 0 then
    return nil
  end
  local cp = 7
  local p = cp + 3 * nc
  local nw = tonumber(argv[p])
  local wp = p + 1
  p = wp + 3 * nw
  local nn = tonumber(argv[p])
  local np = p + 1
  p = np + 3 * nn
  local nt = tonumber(argv[p])
  if mode == 'u' and nt ~= 0 then return nil end
  local tp = p + 1
  p = tp
  for _ = 1, nt do p = p + 3 + tonumber(argv[p + 2]) end
  -- parents, the expiry set, then (after the deadline and the reclaim keys)
  -- the structures
  if argv[p] ~= '0' or argv[p + 1] ~= '' or argv[p + 5 + tonumber(argv[p + 4])] ~= '0' then
    return nil
  end
  return cp, nc, wp, nw, np, nn, tp, nt
end

-- the numeric index changes (add with a score, or remove) of row m, read
-- from their place in ARGV
function PS.numeric(argv, np, nn, m)
  for i = np, np + 3 * nn - 3, 3 do
    if argv[i + 1] == 'a' then redis.call('ZADD', argv[i], argv[i + 2], m)
    else redis.call('ZREM', argv[i], m) end
  end
end

-- A plain insert (PS.shape's positions): the phases of save.lua for a new
-- row. The reply, or nil when a put finds its row (save_main updates it).
function PS.insert(keys, argv, wp, nw, np, nn, tp, nt)
  local ids, seqk = keys[1], keys[2]
  local m, rowp = argv[2], argv[4]
  NUMIDS, TAG = argv[3] == '1', argv[5]
  -- save_find, save_expect
  local row = nil
  if m ~= '' then
    row = rowp .. m
    local t = rowtype(row)
    if t == 'hash' then
      if argv[1] == 'i' then return {'exists'} end
      return nil
    end
    if t ~= 'none' then return {'wrongtype', row} end
  end
  -- save_prepare: the type of every key it writes, the user's rights
  if not typeok(ids, 'zset') then return {'wrongtype', ids} end
  local need = {HSET = true, ZADD = true}
  for i = np, np + 3 * nn - 3, 3 do
    if not typeok(argv[i], 'zset') then return {'wrongtype', argv[i]} end
    if argv[i + 1] ~= 'a' then need.ZREM = true end
  end
  local q = tp
  for _ = 1, nt do
    local id, kind, n = argv[q], argv[q + 1], tonumber(argv[q + 2])
    if kind ~= 'u' then
      for j = q + 3, q + 2 + n do
        local key = slotkey(kind, id, argv[j])
        if not typeok(key, WANT[kind]) then return {'wrongtype', key} end
      end
    end
    for _, c in ipairs(KIND_WRITES[kind]) do need[c] = true end
    q = q + 3 + n
  end
  if m == '' then need.SET = true end
  for i = wp + 1, wp + 3 * nw - 2, 3 do
    if argv[i] ~= 's' then need.HDEL = true end
  end
  may_write(row or rowp, need)
  -- save_allocate
  local allocated = m == ''
  if allocated then
    m, row = next_key(seqk, rowp)
    if not row then return m end
  end
  -- save_claims
  q = tp
  for _ = 1, nt do
    local id, kind, n = argv[q], argv[q + 1], tonumber(argv[q + 2])
    if kind == 'u' then
      local key = slotkey(kind, id, '')
      for j = q + 3, q + 2 + n do
        local held = unique_held(key, argv[j], m, rowp, '', nil)
        if held == true then return {'unique', id, argv[j]} end
        if held then return held end
      end
    end
    q = q + 3 + n
  end
  -- save_apply: the counter, the index entries and the record, the row, its
  -- listing, its numeric entries
  if allocated then redis.call('SET', seqk, m) end
  local hset, rec = {row}, {}
  for i = wp, wp + 3 * nw - 3, 3 do
    if argv[i + 1] == 's' then hset[#hset + 1] = argv[i]; hset[#hset + 1] = argv[i + 2] end
  end
  q = tp
  for _ = 1, nt do
    local id, kind, n = argv[q], argv[q + 1], tonumber(argv[q + 2])
    for j = q + 3, q + 2 + n do
      index(kind, id, argv[j], m)
      rec[#rec + 1] = rec_entry(id, argv[j])
    end
    q = q + 3 + n
  end
  hset[#hset + 1] = '#i'
  hset[#hset + 1] = table.concat(rec)
  redis.call('HSET', unpack(hset))
  redis.call('ZADD', ids, NUMIDS and m or 0, m)
  PS.numeric(argv, np, nn, m)
  return {'ok', m}
end

-- A plain update (PS.shape's positions, no touched slots): the phases of
-- save.lua for an existing row whose record does not change.
function PS.update(argv, cp, nc, wp, nw, np, nn)
  local m, rowp = argv[2], argv[4]
  NUMIDS, TAG = argv[3] == '1', argv[5]
  -- save_find, save_expect
  local row = rowp .. m
  local t = rowtype(row)
  if t ~= 'none' and t ~= 'hash' then return {'wrongtype', row} end
  if t == 'none' then return {'gone'} end
  for i = cp, cp + 3 * nc - 3, 3 do
    if not field_holds(row, argv[i], argv[i + 1] == '1', argv[i + 2]) then
      return {'conflict', argv[i]}
    end
  end
  -- save_prepare
  local need = {HSET = true}
  for i = np, np + 3 * nn - 3, 3 do
    if not typeok(argv[i], 'zset') then return {'wrongtype', argv[i]} end
    need[argv[i + 1] == 'a' and 'ZADD' or 'ZREM'] = true
  end
  local hset, hdel = {row}, {row}
  for i = wp, wp + 3 * nw - 3, 3 do
    if argv[i + 1] == 's' then hset[#hset + 1] = argv[i]; hset[#hset + 1] = argv[i + 2]
    else hdel[#hdel + 1] = argv[i] end
  end
  if #hdel > 1 then need.HDEL, need.HSETNX = true, true end
  may_write(row, need)
  -- save_apply: the columns (the record stays, and keeps the row when its
  -- last column became null), the numeric entries
  if #hdel > 1 then redis.call('HDEL', unpack(hdel)) end
  if #hset > 1 then redis.call('HSET', unpack(hset)) end
  if #hdel > 1 then redis.call('HSETNX', row, '#i', '') end
  PS.numeric(argv, np, nn, m)
  return {'ok', m}
end

function PS.save(keys, argv)
  local cp, nc, wp, nw, np, nn, tp, nt = PS.shape(argv)
  if cp then
    local reply
    if argv[1] == 'u' then
      reply = PS.update(argv, cp, nc, wp, nw, np, nn)
    else
      reply = PS.insert(keys, argv, wp, nw, np, nn, tp, nt)
    end
    if reply then return reply end
  end
  return save_main(keys, argv)
end
