-- rows.lua: how rom lays out a model in Redis, for every server function.
--
-- Arguments: none (helpers). Per-call state, set by each entry function from
-- its decoded arguments before it calls anything here:
--   TAG     the model's hash tag, "{ns}": every key is TAG .. ':' .. name
--   NUMIDS  true when the model's keys are u64 (they order as numbers)
--
-- A row's record of its value-keyed index entries (the hash field '#i') is
-- "<slot id>\0<len>:<value>" repeated, possibly empty; it is always present, so
-- a row exists apart from its values. A slot id is the index key's name after
-- the tag: "uniq:email" (a unique hash), "eq:name:" and "text:body:" (a set
-- per value: the id plus the value), "pre:title", "suf:title", "sort:name" (a
-- lexicographic sorted set of "value\0\0key" members).
--
-- Slot kinds: 'u' a unique hash, 's' a set per value, 'l' a lexicographic
-- sorted set; and 'k', a structure the row owns (structures.lua): id
-- "st:<field>:", the key TAG .. ':' .. id .. member, the value the id of its
-- index ('' when not indexed). The client sends the kind of every slot it names (the wire
-- contracts, rom-dsl/src/wire/mod.rs); only an entry read from a record is
-- known by its id alone, and slotkind() finds its kind from the id.

local TAG, NUMIDS = '', false

-- A count, position or length (a decimal number, no sign, no leading zero)
-- in the arguments or a record: the small ones from a table, where
-- tonumber would parse them as floats (about as costly as a key lookup in
-- Redis; counts are read on every call, several times over in plain.lua).
local wcount
do
  local counts = {}
  for i = 0, 255 do counts['' .. i] = i end
  wcount = function(s) return counts[s] or tonumber(s) end
end

-- Expiry (models declared `expires`): a row's deadline is its score in the
-- model's expiry set (a ZSET of members, Unix milliseconds of the server's
-- clock). A row whose deadline is at or before the server's time is
-- expired: every read treats it as absent, a write may reuse its key and
-- its unique values, and it stays (with its index entries, consistent)
-- until a sweep or a write reclaims it. The time is read once per call.
local NOWMS = nil

local function now_ms()
  if not NOWMS then
    local t = redis.call('TIME')
    NOWMS = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  end
  return NOWMS
end

-- whether member m's row has expired ('' exp: the model's rows never do)
local function expired(exp, m)
  if exp == '' then return false end
  local d = redis.call('ZSCORE', exp, m)
  return d and tonumber(d) <= now_ms() or false
end

-- ids order numerically (by length, then digits) or byte-wise
local function idlt(a, b)
  if NUMIDS then
    if #a ~= #b then return #a < #b end
    return a < b
  end
  local n = math.min(#a, #b)
  for i = 1, n do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end

-- a read of a key the call may not have declared (a row a query found, an
-- entry a record names): on a Redis Cluster node whose slot is being migrated
-- such a key may already live on the other node. The call then stops with a
-- TRYAGAIN error, which cluster clients retry, and it stops before any write,
-- because every function reads all it needs before writing. Any other error
-- (a key of the wrong type) is returned as the error table.
local function pread(...)
  local r = redis.pcall(...)
  if type(r) == 'table' and r.err and not string.find(r.err, 'WRONGTYPE', 1, true) then
    error(redis.error_reply('TRYAGAIN rom: ' .. r.err))
  end
  return r
end

local function rowtype(row)
  return pread('TYPE', row)['ok']
end

-- the kind of a recorded entry's slot, from its id: nil for an unknown
-- prefix. The answers so far are kept by id (false: unknown): a model has a
-- few ids, read in every record; at most 256 are kept (a record written
-- from outside may name any), then the table starts again. (Its state is in
-- a block: the library's chunk has a bounded number of locals.)
local slotkind
do
  local prefix = {uniq = 'u', eq = 's', text = 's', pre = 'l', suf = 'l', sort = 'l', st = 'k'}
  local known, n = {}, 0
  slotkind = function(id)
    local k = known[id]
    if k == nil then
      k = prefix[string.match(id, '^(%a+):')] or false
      if n >= 256 then known, n = {}, 0 end
      known[id], n = k, n + 1
    end
    return k or nil
  end
end

-- the entries of a record, {{slot id, value, kind}, ...} (the kind from the
-- id: nil for an unknown id); nil when the record is unreadable. Each entry
-- is read by one match (id, NUL, length, ':') and one sub (the value).
local function parse_rec(s)
  local out = {}
  if not s then return out end
  local pos, n = 1, #s
  while pos <= n do
    local id, len, p = string.match(s, '^([^%z]*)%z(%d+):()', pos)
    if not id then return nil end
    len = wcount(len)
    if p + len - 1 > n then return nil end
    out[#out + 1] = {id, string.sub(s, p, p + len - 1), slotkind(id)}
    pos = p + len
  end
  return out
end

-- one entry of a record, as the record holds it
local function rec_entry(id, v)
  return id .. '\0' .. #v .. ':' .. v
end

local function show_rec(rec)
  local parts = {}
  for i, e in ipairs(rec) do parts[i] = rec_entry(e[1], e[2]) end
  return table.concat(parts)
end

-- whether a record holds the entry (id, v)
local function claims(rec, id, v)
  for _, e in ipairs(rec) do
    if e[1] == id and e[2] == v then return true end
  end
  return false
end

-- the Redis type each kind of slot is held in
local WANT = {u = 'hash', s = 'set', l = 'zset'}

-- the key holding the entry with value v of the slot (kind, id)
local function slotkey(kind, id, v)
  if kind == 's' then return TAG .. ':' .. id .. v end
  return TAG .. ':' .. id
end

-- a lexicographic index member: value, \0\0, then the key (numeric keys
-- behind a length byte, so that equal values order by key as numbers)
local function lexmember(v, m)
  if NUMIDS then return v .. '\0\0' .. string.char(#m) .. m end
  return v .. '\0\0' .. m
end

-- removes row m's entry (id, v) of a slot of the given kind; a unique value
-- only while m owns it. Returns the number of entries removed.
local function unindex(kind, id, v, m)
  local key = slotkey(kind, id, v)
  if kind == 'u' then
    if redis.call('HGET', key, v) == m then return redis.call('HDEL', key, v) end
    return 0
  elseif kind == 'l' then
    return redis.call('ZREM', key, lexmember(v, m))
  elseif kind == 's' then
    return redis.call('SREM', key, m)
  elseif kind == 'k' then
    -- a structure: deleted, and for an indexed set the row leaves the index
    -- of each member (keys of another type, written from outside, are left
    -- for verify: this never fails)
    key = TAG .. ':' .. id .. m
    if v ~= '' and rowtype(key) == 'set' then
      for _, x in ipairs(redis.call('SMEMBERS', key)) do
        local ik = TAG .. ':' .. v .. x
        if rowtype(ik) == 'set' then redis.call('SREM', ik, m) end
      end
    end
    return redis.call('DEL', key)
  end
  return 0
end

local function index(kind, id, v, m)
  local key = slotkey(kind, id, v)
  if kind == 'u' then
    redis.call('HSET', key, v, m)
  elseif kind == 'l' then
    redis.call('ZADD', key, 0, lexmember(v, m))
  elseif kind == 's' then
    redis.call('SADD', key, m)
  end
end

-- The calling user's ACL: Redis checks every command a function runs, so a
-- user allowed some of rom's write commands but not all (see the book's
-- "Connecting in production") would stop a call after its first writes.
-- may_write(key, cmds) checks each write command a call will run, with key,
-- before its first write, and stops it with NOPERM (nothing written).

-- the write commands that add and remove an entry of each slot kind
local KIND_WRITES = {u = {'HSET', 'HDEL'}, s = {'SADD', 'SREM'}, l = {'ZADD', 'ZREM'}}

-- (the arguments acl_check_cmd needs after the key, per write command, are
-- in may_write's block: the library's chunk has a bounded number of locals)
local may_write
do
  local args = {
    HSET = {'f', 'v'}, HSETNX = {'f', 'v'}, HDEL = {'f'}, ZADD = {'0', 'm'},
    ZREM = {'m'}, SADD = {'m'}, SREM = {'m'}, SET = {'v'}, DEL = {},
    INCR = {}, PEXPIRE = {'1'}, RPUSH = {'v'}, LPUSH = {'v'}, LREM = {'0', 'v'},
    LTRIM = {'0', '1'}, ZINCRBY = {'1', 'm'}, HINCRBY = {'f', '1'},
  }
  may_write = function(key, cmds)
    for cmd in pairs(cmds) do
      if not redis.acl_check_cmd(cmd, key, unpack(args[cmd])) then
        error(redis.error_reply('NOPERM rom: this user may not run ' .. cmd .. ' on ' .. key
          .. ', which this write needs; nothing was written'))
      end
    end
  end
end

-- The keys found absent or of the type wanted, in this call (reset for each
-- call by register.lua): a key keeps its type within a call (rom writes
-- each key with one type), so it is checked once however many rows name it.
local TYPED = {}

-- true when key is absent or of type t: checked before any write, so that a
-- key of the wrong type (written by another program) fails the whole call
-- before it changes anything. For a set or a sorted set it asks the key's cardinality (SCARD, ZCARD): an
-- integer for an absent key or one of that type, WRONGTYPE for any other,
-- and cheaper than TYPE, whose status reply becomes a table in Lua.
local function typeok(key, t)
  if TYPED[key] == t then return true end
  local ok
  local card = (t == 'zset' and 'ZCARD') or (t == 'set' and 'SCARD') or nil
  if card then
    ok = type(pread(card, key)) == 'number'
  else
    local k = rowtype(key)
    ok = k == 'none' or k == t
  end
  if ok then TYPED[key] = t end
  return ok
end

-- whether a row's column holds what the client expects: present with the
-- expected bytes, or absent
local function field_holds(row, field, present, value)
  local cur = redis.call('HGET', row, field)
  if present then return cur == value end
  return not cur
end

-- the client's expectations of a row's columns ({field, present, value}, see
-- take_check): nil when each holds, else {'conflict', field} for the first
-- that does not
local function check_fields(row, checks)
  for _, c in ipairs(checks) do
    if not field_holds(row, c.field, c.present, c.value) then return {'conflict', c.field} end
  end
  return nil
end
