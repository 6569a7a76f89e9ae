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
-- query interpreter's delete mode uses delete_check and delete_row too.

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

-- the write commands deleting a row may run (the row, its listing, its
-- numeric entries and its keyed entries of every kind)
local DELETE_WRITES = {DEL = true, ZREM = true, HDEL = true, SREM = true}

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
  for _, m in ipairs(d.members) do
    local err = delete_check(rowp, d.ids, m)
    if err then return err end
  end
  if #d.members > 0 then may_write(rowp .. d.members[1], DELETE_WRITES) end
  local deleted = 0
  for _, m in ipairs(d.members) do
    local live = not expired(d.expiry, m)
    if delete_row(rowp, d.ids, m) == 1 and live then deleted = deleted + 1 end
  end
  return {'ok', tostring(deleted)}
end
