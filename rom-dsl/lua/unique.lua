-- unique.lua: the row that owns a unique value, without the query
-- interpreter. A query whose whole filter is one unique column's equality,
-- in key order, from its start (`users::email.eq(x)` with `first`, `load`
-- or `ids`) runs here: the same answer as query.lua's in rows or ids mode,
-- in two commands instead of the interpreter's set-up.
--
-- UQ.get(KEYS, ARGV), the function `unique_get` (no-writes). Its arguments
-- are the contract UniqueGetArgs (rom-dsl/src/wire/unique.rs; the encoding:
-- rom-dsl/src/wire/mod.rs), read by UQ.args:
--   KEYS  the unique hash, then the model's expiry set when its rows expire
--         (declared for cluster routing)
--   ARGV  row_prefix, numeric_ids flag, the expiry set ('' when the model's
--         rows never expire), mode ('r' rows, 'i' ids), the value (as the
--         unique hash holds it: folded by the client where the column folds)
--   reply query.lua's rows/ids reply for at most one row: {cursor phase,
--         score, member, more, skipped}, then (when a live row owns the
--         value) its member and (rows) its HGETALL, or the error string when
--         its key is not a hash. The cursor is the row's in key order ('v',
--         the key for numeric keys else '0', the key), or empty. A stale
--         entry (its row removed by another program) or an expired owner
--         names no row.
--
-- Every name here is a field of one table, UQ (the library's chunk has a
-- bounded number of locals).

local UQ = {}

function UQ.args(keys, argv)
  reader(argv)
  return {key = keys[1], row_prefix = take(), numeric_ids = take_flag(), expiry = take(),
    rows = take() == 'r', value = take()}
end

function UQ.get(keys, argv)
  local d = UQ.args(keys, argv)
  local m = redis.call('HGET', d.key, d.value)
  if not m or expired(d.expiry, m) then return {'', '', '', '', '0'} end
  local row = d.row_prefix .. m
  local out = {'v', d.numeric_ids and m or '0', m, '', '0', m}
  if d.rows then
    local r = pread('HGETALL', row)
    if r.err then r = r.err elseif #r == 0 then return {'', '', '', '', '0'} end
    out[7] = r
  elseif pread('EXISTS', row) ~= 1 then
    return {'', '', '', '', '0'}
  end
  return out
end
