-- expiry.lua: rows that expire (models declared `expires`): setting and
-- reading a row's deadline, and reclaiming expired rows. rows.lua says what
-- expired means (now_ms, expired); save.lua sets deadlines at writes and
-- reclaims a few expired rows per write.
--
-- The contracts are in rom-dsl/src/wire/expiry.rs:
--
-- expire_main(KEYS, ARGV), the function `expire` (may grow memory), read by
-- expire_args:
--   KEYS  the row, the model's expiry set
--   ARGV  member, deadline letter ('p' none, 't' ms from now, 'a' at Unix
--         ms) and its number
--   reply 1: the live row now has that deadline; 0: no live row
--
-- ttl_main(KEYS, ARGV), the function `ttl` (no-writes), read by ttl_args:
--   KEYS  the row, the model's expiry set
--   ARGV  member
--   reply the milliseconds left (at least 1), -1 for a live row without a
--         deadline, -2 for no live row
--
-- sweep_main(KEYS, ARGV), the function `sweep` (allow-oom: it frees memory),
-- read by sweep_args:
--   KEYS  the model's expiry set, its ids
--   ARGV  the most rows to reclaim, then the delete graph (cascade.lua's
--         models, counted, the model first)
--   reply {'ok', deadlines taken, expired rows deleted, rows deleted in
--         all (with cascades), rows changed (set_null, set_default)} or a
--         failure (cascade.lua's)
--
-- Reclaiming an expired row is deleting it: its index entries and unique
-- values with it, and the on_delete rules of the rows that reference it
-- applied over the graph, in one call (a restrict anywhere leaves the
-- batch, which the sweep reports).

local function expire_args(keys, argv)
  reader(argv)
  return {row = keys[1], exp = keys[2], member = take(), how = take(), n = take()}
end

-- whether the row is there and has not expired
local function live_row(row, exp, m)
  local t = rowtype(row)
  if t ~= 'hash' then return false end
  return not expired(exp, m)
end

local function expire_main(keys, argv)
  local d = expire_args(keys, argv)
  if not live_row(d.row, d.exp, d.member) then return 0 end
  if not typeok(d.exp, 'zset') then return redis.error_reply('WRONGTYPE rom: ' .. d.exp .. ' is not a sorted set') end
  may_write(d.exp, {ZADD = true, ZREM = true})
  if d.how == 't' then redis.call('ZADD', d.exp, now_ms() + tonumber(d.n), d.member)
  elseif d.how == 'a' then redis.call('ZADD', d.exp, tonumber(d.n), d.member)
  else redis.call('ZREM', d.exp, d.member) end
  return 1
end

local function ttl_args(keys, argv)
  reader(argv)
  return {row = keys[1], exp = keys[2], member = take()}
end

local function ttl_main(keys, argv)
  local d = ttl_args(keys, argv)
  if not live_row(d.row, d.exp, d.member) then return -2 end
  local at = redis.call('ZSCORE', d.exp, d.member)
  if not at then return -1 end
  return tonumber(at) - now_ms()
end

local function sweep_args(keys, argv)
  reader(argv)
  local d = {exp = keys[1], ids = keys[2], limit = tonumber(take())}
  d.graph = take_list(take_node)
  return d
end

local function sweep_main(keys, argv)
  local d = sweep_args(keys, argv)
  local due = redis.call('ZRANGE', d.exp, '-inf', now_ms(), 'BYSCORE', 'LIMIT', 0, d.limit)
  if #due == 0 then return {'ok', '0', '0', '0', '0'} end
  -- the rows still there (a deadline may outlive a row removed from outside)
  local present = 0
  for _, m in ipairs(due) do
    if rowtype(d.graph[1].row_prefix .. m) == 'hash' then present = present + 1 end
  end
  local r = graph_delete(d.graph, due)
  if r[1] ~= 'ok' then return r end
  -- rows removed from outside leave their deadline behind
  may_write(d.exp, {ZREM = true})
  redis.call('ZREM', d.exp, unpack(due))
  return {'ok', tostring(#due), tostring(present), r[3], r[4]}
end
