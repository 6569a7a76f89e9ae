-- delete.lua: deleting rows with every index entry they recorded.
--
-- delete_main(KEYS, ARGV), the function `delete`:
--   KEYS  1 the ids sorted set, then the row keys, then the numeric indexes
--         (all declared for cluster routing)
--   ARGV  1 numeric-ids flag ('1' or '0'), 2 row prefix, 3 hash tag,
--         4 the number of numeric index keys, then those keys,
--         then the number of checks, then checks (field, '1' present / '0'
--         absent, value) that must hold on the first row, then the members
--   reply {'ok', deleted} | {'gone'} | {'conflict', field}
--         | {'wrongtype', key} | {'badrecord', row}
--
-- Every row is checked (its type, its record, the type of every key it will
-- touch) before any row is deleted, so a call deletes all or nothing. The
-- query interpreter's delete mode uses delete_check and delete_row too.

-- the numeric index keys of the model, read from ARGV
local NUMKEYS = {}
local function read_numkeys(pos)
  NUMKEYS = {}
  local n = tonumber(A[pos]); pos = pos + 1
  for i = 1, n do NUMKEYS[i] = A[pos]; pos = pos + 1 end
  return pos
end

-- the records read by delete_check, for delete_row (false: no row)
local CHECKED = {}

-- nil when row m can be deleted cleanly, else the error reply
local function delete_check(rowp, ids, m)
  local row = rowp .. m
  local t = rowtype(row)
  if t == 'none' then CHECKED[m] = false; return nil end
  if t ~= 'hash' then return {'wrongtype', row} end
  local rec = parse_rec(redis.call('HGET', row, '#i'))
  if not rec then return {'badrecord', row} end
  CHECKED[m] = rec
  for _, e in ipairs(rec) do
    local kind = slotkind(e[1])
    if kind and not typeok(slotkey(e[1], e[2]), WANT[kind]) then return {'wrongtype', slotkey(e[1], e[2])} end
  end
  for _, z in ipairs(NUMKEYS) do if not typeok(z, 'zset') then return {'wrongtype', z} end end
  if not typeok(ids, 'zset') then return {'wrongtype', ids} end
  return nil
end

-- deletes a row delete_check passed: 1 deleted, 0 absent
local function delete_row(rowp, ids, m)
  local rec = CHECKED[m]
  if not rec then return 0 end
  for _, e in ipairs(rec) do unindex(e[1], e[2], m) end
  for _, z in ipairs(NUMKEYS) do redis.call('ZREM', z, m) end
  redis.call('ZREM', ids, m)
  redis.call('DEL', rowp .. m)
  CHECKED[m] = false
  return 1
end

local function delete_main(keys, args)
  K, A, CHECKED = keys, args, {}
  NUMIDS = A[1] == '1'
  local rowp = A[2]
  TAG = A[3]
  local pos = read_numkeys(4)
  local n = tonumber(A[pos]); pos = pos + 1
  local checks = {}
  for i = 1, n do checks[i] = {A[pos], A[pos + 1], A[pos + 2]}; pos = pos + 3 end
  if n > 0 then
    local row = rowp .. A[pos]
    local t = rowtype(row)
    if t == 'none' then return {'gone'} end
    if t ~= 'hash' then return {'wrongtype', row} end
    for _, c in ipairs(checks) do
      local cur = redis.call('HGET', row, c[1])
      if (c[2] == '1' and cur ~= c[3]) or (c[2] ~= '1' and cur) then return {'conflict', c[1]} end
    end
  end
  for i = pos, #A do
    local err = delete_check(rowp, K[1], A[i])
    if err then return err end
  end
  local deleted = 0
  for i = pos, #A do
    if delete_row(rowp, K[1], A[i]) == 1 then deleted = deleted + 1 end
  end
  return {'ok', tostring(deleted)}
end
