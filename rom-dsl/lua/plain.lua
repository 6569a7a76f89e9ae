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
  local nc = wcount(argv[6])
  if mode == 'u' then
    if argv[2] == '' then return nil end
  elseif (mode ~= 'i' and mode ~= 'p') or nc ~= 0 then
    return nil
  end
  local cp = 7
  local p = cp + 3 * nc
  local nw = wcount(argv[p])
  local wp = p + 1
  p = wp + 3 * nw
  local nn = wcount(argv[p])
  local np = p + 1
  p = np + 3 * nn
  local nt = wcount(argv[p])
  if mode == 'u' and nt ~= 0 then return nil end
  local tp = p + 1
  p = tp
  for _ = 1, nt do p = p + 3 + wcount(argv[p + 2]) end
  -- parents, the expiry set, then (after the deadline and the reclaim keys)
  -- the structures; or nothing (the tail left out: it says nothing)
  if argv[p] == nil then return cp, nc, wp, nw, np, nn, tp, nt end
  if argv[p] ~= '0' or argv[p + 1] ~= '' or argv[p + 5 + wcount(argv[p + 4])] ~= '0' then
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

-- The first index key a new row is added to that holds another type, in
-- save_main's check order (the id list, the numeric indexes, the touched
-- slots' set and lex keys), or nil. Checked by TYPE, as save_main does.
function PS.wrongtype(ids, argv, np, nn, tp, nt)
  if not typeok(ids, 'zset') then return ids end
  for i = np, np + 3 * nn - 3, 3 do
    if not typeok(argv[i], 'zset') then return argv[i] end
  end
  local q = tp
  for _ = 1, nt do
    local id, kind, n = argv[q], argv[q + 1], wcount(argv[q + 2])
    if kind ~= 'u' then
      for j = q + 3, q + 2 + n do
        local key = slotkey(kind, id, argv[j])
        if not typeok(key, WANT[kind]) then return key end
      end
    end
    q = q + 3 + n
  end
  return nil
end

-- reply, unless an index key holds another type: then {'wrongtype', key},
-- the reply save_main gives first (it checks types before the user's
-- rights, the counter and the unique values)
function PS.typed(reply, ids, argv, np, nn, tp, nt)
  local key = PS.wrongtype(ids, argv, np, nn, tp, nt)
  if key then return {'wrongtype', key} end
  return reply
end

-- The user's rights to the write commands a plain insert runs (as
-- save_prepare asks them): one check per command, no table on the way; on
-- a refusal, a key of another type is the reply, else may_write stops the
-- call with save_prepare's NOPERM error. nil when every command is allowed.
function PS.rights(key, ids, argv, wp, nw, np, nn, tp, nt, allocate)
  -- which commands: flags first, so that each is asked once
  local zrem, hdel, sets = false, false, false
  for i = np + 1, np + 3 * nn - 2, 3 do
    if argv[i] ~= 'a' then zrem = true end
  end
  local q = tp
  for _ = 1, nt do
    local kind = argv[q + 1]
    if kind == 'u' then hdel = true elseif kind == 's' then sets = true else zrem = true end
    q = q + 3 + wcount(argv[q + 2])
  end
  for i = wp + 1, wp + 3 * nw - 2, 3 do
    if argv[i] ~= 's' then hdel = true end
  end
  local ok = redis.acl_check_cmd('HSET', key, 'f', 'v')
    and redis.acl_check_cmd('ZADD', key, '0', 'm')
    and (not zrem or redis.acl_check_cmd('ZREM', key, 'm'))
    and (not hdel or redis.acl_check_cmd('HDEL', key, 'f'))
    and (not sets or (redis.acl_check_cmd('SADD', key, 'm') and redis.acl_check_cmd('SREM', key, 'm')))
    and (not allocate or redis.acl_check_cmd('SET', key, 'v'))
  if ok then return nil end
  local wrong = PS.typed(nil, ids, argv, np, nn, tp, nt)
  if wrong then return wrong end
  -- refused: the same error as save_prepare's
  local need = {HSET = true, ZADD = true}
  for i = np + 1, np + 3 * nn - 2, 3 do
    if argv[i] ~= 'a' then need.ZREM = true end
  end
  q = tp
  for _ = 1, nt do
    for _, c in ipairs(KIND_WRITES[argv[q + 1]]) do need[c] = true end
    q = q + 3 + wcount(argv[q + 2])
  end
  if allocate then need.SET = true end
  for i = wp + 1, wp + 3 * nw - 2, 3 do
    if argv[i] ~= 's' then need.HDEL = true end
  end
  may_write(key, need)
  return nil
end

-- Row m's index entries are added in PS.wrongtype's order, and each add is
-- also its key's type check (a key of another type answers WRONGTYPE and is
-- left as it was): that costs one command per key where TYPE first costs
-- two. An entry there already (damage: a row removed from outside) is left
-- as it is by the add (ZADD NX), noted in `pre`, and given its score once
-- every add succeeded. When an add fails, the entries added before it are
-- removed again (PS.undo), so nothing is left. Step numbers count the adds.

-- removes the entries of steps 1..upto that PS.add_entries created (not
-- those in pre), then returns the failure: {'wrongtype', key}, or raises
-- the error (another failure: the call stops, as it would have)
function PS.undo(ids, argv, np, nn, tp, nt, m, upto, pre, err, key)
  local step = 0
  local function undo(cmd, k, member)
    step = step + 1
    if step <= upto and not (pre and pre[step]) then redis.call(cmd, k, member) end
  end
  undo('ZREM', ids, m)
  for i = np, np + 3 * nn - 3, 3 do
    if argv[i + 1] == 'a' then undo('ZREM', argv[i], m) end
  end
  local q = tp
  for _ = 1, nt do
    local id, kind, n = argv[q], argv[q + 1], wcount(argv[q + 2])
    for j = q + 3, q + 2 + n do
      if kind == 's' then undo('SREM', slotkey(kind, id, argv[j]), m)
      elseif kind == 'l' then undo('ZREM', slotkey(kind, id, argv[j]), lexmember(argv[j], m)) end
    end
    q = q + 3 + n
  end
  if string.find(err.err, 'WRONGTYPE', 1, true) then return {'wrongtype', key} end
  error(err)
end

-- the add of step k: ZADD NX (score given) or SADD; nil when done (pre
-- updated in place, or a new pre returned as the second value), else the
-- failure reply of PS.undo
function PS.add(k, key, score, member, pre, ids, argv, np, nn, tp, nt, m)
  local r
  if score then r = redis.pcall('ZADD', key, 'NX', score, member)
  else r = redis.pcall('SADD', key, member) end
  if r == 1 then return nil, pre end
  if type(r) == 'table' then
    return PS.undo(ids, argv, np, nn, tp, nt, m, k - 1, pre, r, key), pre
  end
  pre = pre or {}
  pre[k] = score and {key, score, member} or true
  return nil, pre
end

-- adds row m's index entries (see above): nil, or the failure reply
function PS.add_entries(ids, argv, np, nn, tp, nt, m)
  local k, pre = 1, nil
  local err
  err, pre = PS.add(k, ids, NUMIDS and m or 0, m, pre, ids, argv, np, nn, tp, nt, m)
  if err then return err end
  for i = np, np + 3 * nn - 3, 3 do
    if argv[i + 1] == 'a' then
      k = k + 1
      err, pre = PS.add(k, argv[i], argv[i + 2], m, pre, ids, argv, np, nn, tp, nt, m)
      if err then return err end
    end
  end
  local q = tp
  for _ = 1, nt do
    local id, kind, n = argv[q], argv[q + 1], wcount(argv[q + 2])
    if kind ~= 'u' then
      for j = q + 3, q + 2 + n do
        k = k + 1
        if kind == 's' then
          err, pre = PS.add(k, slotkey(kind, id, argv[j]), nil, m, pre, ids, argv, np, nn, tp, nt, m)
        else
          err, pre = PS.add(k, slotkey(kind, id, argv[j]), 0, lexmember(argv[j], m), pre, ids, argv, np, nn, tp, nt, m)
        end
        if err then return err end
      end
    end
    q = q + 3 + n
  end
  if pre then
    for _, e in pairs(pre) do
      if e ~= true then redis.call('ZADD', e[1], e[2], e[3]) end
    end
  end
  return nil
end

-- A plain insert (PS.shape's positions): the phases of save.lua for a new
-- row, with the same replies in the same order and the same keyspace after.
-- The reply, or nil when a put finds its row (save_main updates it). Its
-- index keys' types are checked by adding to them (PS.add_entries), after
-- the reads; when anything fails before (the user's rights, the counter, a
-- unique value), their types are checked first (PS.typed), as save_main
-- does. A numeric index a null column leaves (a put) is checked before
-- anything, as in save_main, since its removal cannot be undone.
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
  for i = np + 1, np + 3 * nn - 2, 3 do
    if argv[i] ~= 'a' then
      local key = PS.wrongtype(ids, argv, np, nn, tp, nt)
      if key then return {'wrongtype', key} end
      break
    end
  end
  -- save_prepare: the user's rights
  local allocated = m == ''
  local refused = PS.rights(row or rowp, ids, argv, wp, nw, np, nn, tp, nt, allocated)
  if refused then return refused end
  -- save_allocate
  if allocated then
    m, row = next_key(seqk, rowp)
    if not row then return PS.typed(m, ids, argv, np, nn, tp, nt) end
  end
  -- save_claims
  local q = tp
  for _ = 1, nt do
    local id, kind, n = argv[q], argv[q + 1], wcount(argv[q + 2])
    if kind == 'u' then
      local key = slotkey(kind, id, '')
      for j = q + 3, q + 2 + n do
        local held = unique_held(key, argv[j], m, rowp, '', nil)
        if held == true then held = {'unique', id, argv[j]} end
        if held then return PS.typed(held, ids, argv, np, nn, tp, nt) end
      end
    end
    q = q + 3 + n
  end
  -- save_apply: the index entries (which check their keys' types), the
  -- counter, the unique entries and the record, the row, the numeric
  -- removals
  local err = PS.add_entries(ids, argv, np, nn, tp, nt, m)
  if err then return err end
  if allocated then redis.call('SET', seqk, m) end
  local hset, rec = {row}, {}
  for i = wp, wp + 3 * nw - 3, 3 do
    if argv[i + 1] == 's' then hset[#hset + 1] = argv[i]; hset[#hset + 1] = argv[i + 2] end
  end
  q = tp
  for _ = 1, nt do
    local id, kind, n = argv[q], argv[q + 1], wcount(argv[q + 2])
    for j = q + 3, q + 2 + n do
      if kind == 'u' then index(kind, id, argv[j], m) end
      rec[#rec + 1] = rec_entry(id, argv[j])
    end
    q = q + 3 + n
  end
  hset[#hset + 1] = '#i'
  hset[#hset + 1] = table.concat(rec)
  redis.call('HSET', unpack(hset))
  for i = np, np + 3 * nn - 3, 3 do
    if argv[i + 1] ~= 'a' then redis.call('ZREM', argv[i], m) end
  end
  return {'ok', m}
end

-- the first numeric index key of a plain update that holds another type,
-- in order, as {'wrongtype', key}; or nil
function PS.wrongnum(argv, np, nn)
  for i = np, np + 3 * nn - 3, 3 do
    if not typeok(argv[i], 'zset') then return {'wrongtype', argv[i]} end
  end
  return nil
end

-- A plain update (PS.shape's positions, no touched slots): the phases of
-- save.lua for an existing row whose record does not change. Its first
-- numeric index change is its first write, and that write is its key's type
-- check (a key of another type refuses it, and nothing is written); the
-- other numeric index keys are checked by TYPE first, as save_main does.
-- When anything fails first, every key is checked in save_main's order.
function PS.update(argv, cp, nc, wp, nw, np, nn)
  local m, rowp = argv[2], argv[4]
  NUMIDS, TAG = argv[3] == '1', argv[5]
  -- save_find, save_expect: a first check that finds its expected value
  -- shows the row is there and a hash (the common case: no TYPE); any
  -- other answer goes the way save_main goes, by the row's type first
  local row = rowp .. m
  local from = cp
  if nc > 0 and argv[cp + 1] == '1' and redis.pcall('HGET', row, argv[cp]) == argv[cp + 2] then
    from = cp + 3
  else
    local t = rowtype(row)
    if t ~= 'none' and t ~= 'hash' then return {'wrongtype', row} end
    if t == 'none' then return {'gone'} end
  end
  for i = from, cp + 3 * nc - 3, 3 do
    if not field_holds(row, argv[i], argv[i + 1] == '1', argv[i + 2]) then
      return {'conflict', argv[i]}
    end
  end
  -- save_prepare: the keys' types (but the first numeric key's), the
  -- user's rights to each write command
  for i = np + 3, np + 3 * nn - 3, 3 do
    if not typeok(argv[i], 'zset') then return PS.wrongnum(argv, np, nn) end
  end
  local hset, hdel = {row}, {row}
  for i = wp, wp + 3 * nw - 3, 3 do
    if argv[i + 1] == 's' then hset[#hset + 1] = argv[i]; hset[#hset + 1] = argv[i + 2]
    else hdel[#hdel + 1] = argv[i] end
  end
  local ok = redis.acl_check_cmd('HSET', row, 'f', 'v')
  for i = np + 1, np + 3 * nn - 2, 3 do
    if not ok then break end
    if argv[i] == 'a' then ok = redis.acl_check_cmd('ZADD', row, '0', 'm')
    else ok = redis.acl_check_cmd('ZREM', row, 'm') end
  end
  if ok and #hdel > 1 then
    ok = redis.acl_check_cmd('HDEL', row, 'f') and redis.acl_check_cmd('HSETNX', row, 'f', 'v')
  end
  if not ok then
    local wrong = PS.wrongnum(argv, np, nn)
    if wrong then return wrong end
    local need = {HSET = true}
    for i = np + 1, np + 3 * nn - 2, 3 do need[argv[i] == 'a' and 'ZADD' or 'ZREM'] = true end
    if #hdel > 1 then need.HDEL, need.HSETNX = true, true end
    may_write(row, need)
  end
  -- save_apply: the first numeric entry (checking its key), the columns
  -- (the record stays, and keeps the row when its last column became
  -- null), the other numeric entries
  if nn > 0 then
    local r
    if argv[np + 1] == 'a' then r = redis.pcall('ZADD', argv[np], argv[np + 2], m)
    else r = redis.pcall('ZREM', argv[np], m) end
    if type(r) == 'table' and r.err then
      if string.find(r.err, 'WRONGTYPE', 1, true) then return {'wrongtype', argv[np]} end
      error(r)
    end
  end
  if #hdel > 1 then redis.call('HDEL', unpack(hdel)) end
  if #hset > 1 then redis.call('HSET', unpack(hset)) end
  if #hdel > 1 then redis.call('HSETNX', row, '#i', '') end
  if nn > 1 then PS.numeric(argv, np + 3, nn - 1, m) end
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
