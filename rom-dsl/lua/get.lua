-- get.lua: reading rows by key.
--
-- get_main(KEYS, ARGV), the function `get` (no-writes). Its arguments are the
-- contract GetArgs (rom-dsl/src/wire/get.rs; the encoding:
-- rom-dsl/src/wire/mod.rs), read by get_args:
--   KEYS  rows: the row keys, then the model's expiry set when its rows
--         expire
--   ARGV  none, or (rows that expire) the expiry set, then each row's member
--   reply per key its fields (HGETALL: empty when absent or expired), or the
--         error string when the key is not a hash

local function get_args(keys, argv)
  local d = {rows = keys, exp = argv[1] or '', members = {}}
  if d.exp ~= '' then
    d.rows = {}
    for i = 1, #keys - 1 do d.rows[i] = keys[i]; d.members[i] = argv[i + 1] end
  end
  return d
end

local function get_main(keys, argv)
  local d = get_args(keys, argv)
  local out = {}
  for i, k in ipairs(d.rows) do
    if d.exp ~= '' and expired(d.exp, d.members[i]) then out[i] = {}
    else
      local r = redis.pcall('HGETALL', k)
      if type(r) == 'table' and r.err then out[i] = r.err else out[i] = r end
    end
  end
  return out
end
