-- get.lua: reading rows by key.
--
-- get_main(KEYS, ARGV), the function `get` (no-writes):
--   KEYS  the row keys
--   ARGV  none
--   reply per key its fields (HGETALL: empty when absent), or the error
--         string when the key is not a hash

local function get_main(keys, _)
  local out = {}
  for i, k in ipairs(keys) do
    local r = redis.pcall('HGETALL', k)
    if type(r) == 'table' and r.err then out[i] = r.err else out[i] = r end
  end
  return out
end
