-- increment.lua: adding to integer columns of a row without reading it
-- first, as an operation of `commit` (commit.lua, letter 'n').
--
-- The operation's fields (after the letter; the contract TxIncrement,
-- rom-dsl/src/wire/commit.rs): numeric_ids flag, ids, row_prefix, tag,
-- member, the model's expiry set ('' when its rows never expire), then the
-- adds (counted), each: field, by, min, max (decimal
-- integers within +-(2^53 - 1)), the numeric index key ('' none), and the
-- column's value-keyed slots (counted: slot id, kind 'u' or 's').
--
-- A null (absent) column counts as 0. The new value must lie in [min, max],
-- else the call fails with {'range', field, current, by, new}; a stored value that is
-- not a decimal integer within +-(2^53 - 1) fails with
-- {'notint', row, field}. The row must exist and be live ({'gone'}
-- otherwise); its deadline is kept. The new
-- value is written as `save` writes a column (save.lua's phases: its numeric
-- and keyed entries move, a unique value must be free); the operation's
-- result is the new values, comma-separated, in the order of the adds.

local LIMIT = 9007199254740991 -- 2^53 - 1: every integer up to it is exact

-- a slot of the column {id, kind}
local function take_slot()
  local id, kind = WA[WP], WA[WP + 1]
  WP = WP + 2
  return {id = id, kind = kind}
end

local function take_add()
  local a = {field = take(), by = tonumber(take()), min = tonumber(take()), max = tonumber(take())}
  a.numkey = take()
  a.slots = take_list(take_slot)
  return a
end

local function take_increment(op)
  op.numeric_ids = take_flag()
  op.ids = take()
  op.row_prefix = take()
  op.tag = take()
  op.member = take()
  op.expiry = {key = take(), how = 'k', n = '', reclaim = {}}
  op.adds = take_list(take_add)
  op.mode, op.checks, op.parents, op.structs = 'u', {}, {}, {}
  return op
end

local function incr_expect(op)
  if not op.exists or op.expired then return {'gone'} end
  return nil
end

-- the new values, as a save of those columns (then save_prepare)
local function incr_compute(op)
  local writes, numeric, touched, out = {}, {}, {}, {}
  for _, a in ipairs(op.adds) do
    local s = redis.call('HGET', op.row, a.field)
    local cur = 0
    if s then
      cur = string.match(s, '^-?%d+$') and tonumber(s)
      if not cur or math.abs(cur) > LIMIT then return {'notint', op.row, a.field} end
    end
    local new = cur + a.by
    if new < a.min or new > a.max then
      return {'range', a.field, s or '0', a.by, string.format('%d', new)}
    end
    local v = string.format('%d', new)
    writes[#writes + 1] = {field = a.field, set = true, value = v}
    if a.numkey ~= '' then numeric[#numeric + 1] = {key = a.numkey, add = true, score = v} end
    for _, sl in ipairs(a.slots) do touched[#touched + 1] = {id = sl.id, kind = sl.kind, values = {v}} end
    out[#out + 1] = v
  end
  op.writes, op.numeric, op.touched = writes, numeric, touched
  op.result = table.concat(out, ',')
  return nil
end

local function incr_prepare(op, tx)
  return incr_compute(op) or save_prepare(op, tx)
end
