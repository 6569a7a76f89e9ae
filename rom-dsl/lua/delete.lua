-- delete.lua: deleting rows with every index entry they recorded.
--
-- delete_main(KEYS, ARGV), the function `delete` (allow-oom). Its arguments
-- are the contract DeleteArgs (rom-dsl/src/wire/delete.rs; the encoding:
-- rom-dsl/src/wire/mod.rs), read by delete_args:
--   KEYS  ids, then the row keys, then the numeric indexes (declared for
--         cluster routing)
--   ARGV  numeric_ids flag, row_prefix, tag, numeric (counted list of keys),
--         checks (counted list of field, present flag, value: they must hold
--         on the first member's row), the expiry set ('' when the model's
--         rows never expire: an expired row is deleted, not counted, and
--         fails the checks as gone), then the members to the end
--   reply {'ok', deleted} | {'gone'} | {'conflict', field}
--         | {'wrongtype', key} | {'badrecord', row}
--
-- Every row is checked (its type, its record, the type of every key it will
-- touch) before any row is deleted, so a call deletes all or nothing. The
-- query interpreter's delete mode uses delete_check and delete_row too. A
-- call deleting one row (DL.one, below) checks less first and puts back
-- what it removed when a key turns out to hold another type: the same
-- replies and keyspace (tests/plain_saves.rs compares the two).

local function delete_args(keys, argv)
  reader(argv)
  local d = {ids = keys[1]}
  d.numeric_ids = take_flag()
  d.row_prefix = take()
  d.tag = take()
  d.numeric = take_strings()
  d.checks = take_list(take_check)
  d.expiry = take()
  d.members = take_rest()
  return d
end

-- Every new name here is a field of DL (the library's chunk has a bounded
-- number of locals).
local DL = {}

-- the write commands deleting a row may run (the row, its listing, its
-- numeric entries and its keyed entries of every kind)
DL.WRITES = {DEL = true, ZREM = true, HDEL = true, SREM = true}

-- the numeric index keys of the model (set by the entry function)
local NUMKEYS = {}

-- the records read by delete_check, for delete_row (false: no row)
local CHECKED = {}

-- nil when row m can be deleted cleanly, else the error reply
local function delete_check(rowp, ids, m)
  local row = rowp .. m
  -- the record's HGET is also the row's type check (an error for a key of
  -- another type); only a row without a record needs EXISTS
  local s = pread('HGET', row, '#i')
  if type(s) == 'table' then return {'wrongtype', row} end
  if not s and pread('EXISTS', row) == 0 then CHECKED[m] = false; return nil end
  local rec = parse_rec(s)
  if not rec then return {'badrecord', row} end
  CHECKED[m] = rec
  for _, e in ipairs(rec) do
    local kind = e[3]
    if WANT[kind] and not typeok(slotkey(kind, e[1], e[2]), WANT[kind]) then return {'wrongtype', slotkey(kind, e[1], e[2])} end
  end
  for _, z in ipairs(NUMKEYS) do if not typeok(z, 'zset') then return {'wrongtype', z} end end
  if not typeok(ids, 'zset') then return {'wrongtype', ids} end
  return nil
end

-- deletes a row delete_check passed: 1 deleted, 0 absent
local function delete_row(rowp, ids, m)
  local rec = CHECKED[m]
  if not rec then return 0 end
  for _, e in ipairs(rec) do unindex(e[3], e[1], e[2], m) end
  for _, z in ipairs(NUMKEYS) do redis.call('ZREM', z, m) end
  redis.call('ZREM', ids, m)
  redis.call('DEL', rowp .. m)
  CHECKED[m] = false
  return 1
end

-- Deleting one row (a record's delete, the common case), with fewer
-- checks than delete_check: the removals that can be put back (the row's
-- unique, set and lex entries, then its id list entry) are their keys' type
-- checks, each answering WRONGTYPE for a key of another type, which puts
-- back what the call removed before it and replies as delete_main would.
-- The numeric index keys are checked first (a removed score is not known),
-- and the rest (structures, numeric entries, the row) is removed after,
-- where nothing can fail. The user must also be allowed to put entries back
-- (HSET, SADD, ZADD); without those rights, or when anything fails before
-- the removals, the row goes through delete_check's order instead, so the
-- replies are the same.

-- the kinds whose removal DL.one puts back on a failure
DL.UNDO = {u = true, s = true, l = true}

-- puts back the entries of rec[1..upto] that DL.one removed (kept[i]: entry
-- i was not there to remove), then the reply for the failure err on key
function DL.undo(rec, upto, kept, m, err, key)
  for i = 1, upto do
    local e = rec[i]
    local kind = e[3]
    if DL.UNDO[kind] and not (kept and kept[i]) then
      local k = slotkey(kind, e[1], e[2])
      if kind == 'u' then redis.call('HSET', k, e[2], m)
      elseif kind == 's' then redis.call('SADD', k, m)
      else redis.call('ZADD', k, 0, lexmember(e[2], m)) end
    end
  end
  if string.find(err.err, 'WRONGTYPE', 1, true) then return {'wrongtype', key} end
  -- any other failure (a key of a migrating slot): retried, as pread's
  error(redis.error_reply('TRYAGAIN rom: ' .. err.err))
end

-- removes entry e of row m when its key's type allows: 1 removed, 0 not
-- there (or, for a unique value, owned by another row), or the error table
function DL.remove(e, m)
  local kind = e[3]
  local k = slotkey(kind, e[1], e[2])
  if kind == 'u' then
    local owner = redis.pcall('HGET', k, e[2])
    if type(owner) == 'table' then return owner, k end
    if owner ~= m then return 0, k end
    return redis.call('HDEL', k, e[2]), k
  elseif kind == 's' then
    return redis.pcall('SREM', k, m), k
  end
  return redis.pcall('ZREM', k, lexmember(e[2], m)), k
end

-- deletes row m (delete_main's only member): the reply, or nil when the
-- row goes through delete_check instead
function DL.one(d, m)
  local rowp, ids = d.row_prefix, d.ids
  local row = rowp .. m
  -- the record's HGET is also the row's type check (delete_check)
  local s = pread('HGET', row, '#i')
  if type(s) == 'table' or not s then return nil end
  local rec = parse_rec(s)
  if not rec then return nil end
  for _, z in ipairs(NUMKEYS) do if not typeok(z, 'zset') then return nil end end
  if not DL.rights(row) then return nil end
  local live = not expired(d.expiry, m)
  local kept = nil
  for i, e in ipairs(rec) do
    if DL.UNDO[e[3]] then
      local r, k = DL.remove(e, m)
      if type(r) == 'table' then return DL.undo(rec, i - 1, kept, m, r, k) end
      if r == 0 then kept = kept or {}; kept[i] = true end
    end
  end
  local r = redis.pcall('ZREM', ids, m)
  if type(r) == 'table' then return DL.undo(rec, #rec, kept, m, r, ids) end
  for _, e in ipairs(rec) do
    if not DL.UNDO[e[3]] then unindex(e[3], e[1], e[2], m) end
  end
  for _, z in ipairs(NUMKEYS) do redis.call('ZREM', z, m) end
  redis.call('DEL', row)
  return {'ok', live and '1' or '0'}
end

-- whether the user has the rights DL.one needs: delete_main's
-- (DL.WRITES), and those to put entries back
function DL.rights(row)
  return redis.acl_check_cmd('DEL', row) and redis.acl_check_cmd('ZREM', row, 'm')
    and redis.acl_check_cmd('HDEL', row, 'f') and redis.acl_check_cmd('SREM', row, 'm')
    and redis.acl_check_cmd('HSET', row, 'f', 'v') and redis.acl_check_cmd('SADD', row, 'm')
    and redis.acl_check_cmd('ZADD', row, '0', 'm')
end

local function delete_main(keys, argv)
  local d = delete_args(keys, argv)
  CHECKED, NUMKEYS = {}, d.numeric
  NUMIDS, TAG = d.numeric_ids, d.tag
  local rowp = d.row_prefix
  if #d.checks > 0 then
    local row = rowp .. d.members[1]
    local t = rowtype(row)
    if t == 'none' or expired(d.expiry, d.members[1]) then return {'gone'} end
    if t ~= 'hash' then return {'wrongtype', row} end
    local err = check_fields(row, d.checks)
    if err then return err end
  end
  if #d.members == 1 then
    local reply = DL.one(d, d.members[1])
    if reply then return reply end
  end
  for _, m in ipairs(d.members) do
    local err = delete_check(rowp, d.ids, m)
    if err then return err end
  end
  if #d.members > 0 then may_write(rowp .. d.members[1], DL.WRITES) end
  local deleted = 0
  for _, m in ipairs(d.members) do
    local live = not expired(d.expiry, m)
    if delete_row(rowp, d.ids, m) == 1 and live then deleted = deleted + 1 end
  end
  return {'ok', tostring(deleted)}
end
