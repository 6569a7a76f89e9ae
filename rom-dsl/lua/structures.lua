-- structures.lua: a row's native structures (List, Set, Hash, SortedSet
-- fields): their writes, applied by a save, and their reads.
--
-- A structure of row m is the key TAG .. ':st:<field>:' .. m. The row's '#i'
-- record has one entry per structure (kind 'k', see rows.lua): id
-- 'st:<field>:', value the id of its index ('eq:<field>:' for an indexed
-- set, '' otherwise); deleting the row deletes it (rows.lua, unindex). An
-- indexed set keeps, for each member v, the set TAG .. ':eq:<field>:' .. v
-- of the rows holding it.
--
-- A save's structures (the `structures` list of SaveArgs,
-- rom-dsl/src/wire/save.rs), one per structure field of the model, each:
--   id ('st:<field>:'), index id ('' none), type letter ('l' list, 's' set,
--   'h' hash, 'z' sorted set), the row hash field of its version
--   ('#v:<field>'), then a counted list of writes, each a letter and a
--   counted list of arguments:
--     rp v   RPUSH          lp v   LPUSH         lr n v  LREM
--     lt a b LTRIM          sa v   SADD          sr v    SREM
--     hs f v HSET           hd f   HDEL          za s v  ZADD
--     zi d v ZINCRBY        zr v   ZREM          cl      DEL (clear)
-- The writes run in order, after the row's columns, in the same call. A new
-- row (or an expired row written over) starts with empty structures. A save
-- that writes a structure adds one to its version (HINCRBY on the row): the
-- client's `detect_conflicts` sends the version it knows as a check.
--
-- Every name here is a field of one table, ST (the library's chunk has a
-- bounded number of locals).

local ST = {}
ST.TYPES = {l = 'list', s = 'set', h = 'hash', z = 'zset'}
ST.CMDS = {
  rp = 'RPUSH', lp = 'LPUSH', lr = 'LREM', lt = 'LTRIM', sa = 'SADD', sr = 'SREM',
  hs = 'HSET', hd = 'HDEL', za = 'ZADD', zi = 'ZINCRBY', zr = 'ZREM', cl = 'DEL',
}

-- one structure of a save {id, index, kind, ops = {{letter, args}...}}
function ST.take()
  local s = {id = take(), index = take(), kind = take(), version = take()}
  s.ops = take_list(function()
    local letter = take()
    return {letter = letter, args = take_strings()}
  end)
  return s
end

-- phase 3 of a save (save_prepare): every key the writes touch is absent or
-- of its type, and the user may run every command. nil, or the failure reply
function ST.prepare(op)
  local need, m = {}, op.member
  local live = op.exists and not op.expired
  -- (saves built by the server itself, a cascade's set_null, have none)
  for _, s in ipairs(op.structs or {}) do
    if #s.ops > 0 then
      local key = TAG .. ':' .. s.id .. m
      if live and not typeok(key, ST.TYPES[s.kind]) then return {'wrongtype', key} end
      for _, o in ipairs(s.ops) do
        need[ST.CMDS[o.letter]] = true
        if s.index ~= '' and (o.letter == 'sa' or o.letter == 'sr') then
          local ik = TAG .. ':' .. s.index .. o.args[1]
          if not typeok(ik, 'set') then return {'wrongtype', ik} end
          need.SADD, need.SREM = true, true
        end
      end
    end
  end
  if next(need) then
    need.DEL, need.SREM, need.HINCRBY, need.HDEL = true, true, true, true
    may_write(op.row or op.row_prefix, need)
  end
  return nil
end

-- one write o of structure s (key) of row m
function ST.run(s, key, o, m)
  local a, letter = o.args, o.letter
  if letter == 'cl' then
    unindex('k', s.id, s.index, m)
  elseif s.index ~= '' and letter == 'sa' then
    if redis.call('SADD', key, a[1]) == 1 then redis.call('SADD', TAG .. ':' .. s.index .. a[1], m) end
  elseif s.index ~= '' and letter == 'sr' then
    if redis.call('SREM', key, a[1]) == 1 then redis.call('SREM', TAG .. ':' .. s.index .. a[1], m) end
  else
    redis.call(ST.CMDS[letter], key, unpack(a))
  end
end

-- whether the save must read the row's record for its structures: it writes
-- one (which the record must name: a row saved before the field was
-- declared lacks the entry), or it writes over an expired row
function ST.reads_record(op)
  local structs = op.structs or {}
  if op.expired and #structs > 0 then return true end
  for _, s in ipairs(structs) do
    if #s.ops > 0 then return true end
  end
  return false
end

-- phase 6, before the row's hash is written: adds to rec (the record the
-- row will hold) the entry of each structure it lacks: every structure of a
-- new row (or an expired row written over), each one the save writes of
-- another. True when it added one.
function ST.record(op, rec)
  local have, added = {}, false
  local fresh = not op.exists or op.expired
  for _, e in ipairs(rec) do have[e[1]] = true end
  for _, s in ipairs(op.structs or {}) do
    if (fresh or #s.ops > 0) and not have[s.id] then
      rec[#rec + 1] = {s.id, s.index}
      have[s.id], added = true, true
    end
  end
  return added
end

-- phase 6 (the end of save_apply): a new row's structures start empty (a
-- key left by a row deleted from outside, or an expired row written over, is
-- removed), and the writes run in order
function ST.apply(op)
  if not op.structs or #op.structs == 0 then return end
  local m, row = op.member, op.row
  local fresh = not op.exists or op.expired
  for _, s in ipairs(op.structs) do
    if fresh then
      unindex('k', s.id, s.index, m)
      if op.exists then redis.call('HDEL', row, s.version) end
    end
    if #s.ops > 0 then
      local key = TAG .. ':' .. s.id .. m
      for _, o in ipairs(s.ops) do ST.run(s, key, o, m) end
      redis.call('HINCRBY', row, s.version, 1)
    end
  end
end

-- structure_read(KEYS, ARGV), the function `structure_read` (no-writes): a
-- read of a structure of a model whose rows expire.
--   KEYS  the structure, the model's expiry set, a key never written (of the
--         same hash tag)
--   ARGV  the row's member, the command, its arguments after the key
--   reply the command's reply; for an expired row, its reply for an absent
--         key (the command runs on the never-written key)
ST.READS = {
  LLEN = true, LINDEX = true, LRANGE = true, SCARD = true, SISMEMBER = true,
  SSCAN = true, HLEN = true, HGET = true, HEXISTS = true, HSCAN = true,
  ZCARD = true, ZSCORE = true, ZRANK = true, ZRANGE = true, ZCOUNT = true,
}
function ST.read_args(keys, argv)
  reader(argv)
  return {key = keys[1], expiry = keys[2], absent = keys[3], member = take(),
    command = take(), args = take_rest()}
end
function ST.read(keys, argv)
  local d = ST.read_args(keys, argv)
  local cmd = d.command
  if not ST.READS[cmd] then
    return redis.error_reply('ERR rom: ' .. tostring(cmd) .. ' is not a structure read')
  end
  local key = d.key
  if expired(d.expiry, d.member) then key = d.absent end
  return redis.call(cmd, key, unpack(d.args))
end
