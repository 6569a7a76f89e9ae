-- get.lua: reading rows by key.
--
-- get_main(KEYS, ARGV), the function `get` (no-writes). Its arguments are the
-- contract GetArgs (rom-dsl/src/wire/get.rs; the encoding:
-- rom-dsl/src/wire/mod.rs), read by get_args:
--   KEYS  rows: the row keys
--   ARGV  none
--   reply per key its fields (HGETALL: empty when absent), or the error
--         string when the key is not a hash

local function get_args(keys, _)
  return {rows = keys}
end

local function get_main(keys, argv)
  local d = get_args(keys, argv)
  local out = {}
  for i, k in ipairs(d.rows) do
    local r = redis.pcall('HGETALL', k)
    if type(r) == 'table' and r.err then out[i] = r.err else out[i] = r end
  end
  return out
end
