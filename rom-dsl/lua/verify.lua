-- verify.lua: the reads of `verify` and the atomic fixes of `repair`.
--
-- The first key of each call is a key of the model ({ns}:ids or a row), so a
-- cluster routes it to the node that owns the model's hash tag; every other
-- key is declared too, except the row of a unique value's current owner in
-- repair_reindex, which is declared when the client knew it (it is checked).
-- Each function's KEYS and ARGV are documented above it.

-- One page of the keyspace of a model: `SCAN` run on the node that owns the
-- model's hash tag (a script keyed by `{ns}:ids`, since `SCAN` names no key).
--
-- KEYS: 1 `{ns}:ids` (routing only). ARGV: 1 cursor, 2 `MATCH` pattern, 3 `COUNT`.
-- Returns `{next cursor, keys}`.
local function verify_scan(keys, args)
  K, A = keys, args
  return redis.call('SCAN', A[1], 'MATCH', A[2], 'COUNT', A[3])
end

-- Reads rows for a check: for each row, whether `{ns}:ids` lists it, its type
-- and (for a hash) every field.
--
-- KEYS: 1 `{ns}:ids`, then the row keys. ARGV: the rows' members, in order.
-- Returns one `{listed 0|1, type, HGETALL or {}}` per row.
local function verify_rows(keys, args)
  K, A = keys, args
  local out = {}
  for i = 2, #K do
    local t = redis.call('TYPE', K[i])['ok']
    local listed = 0
    if redis.pcall('ZSCORE', K[1], A[i - 1]) then listed = 1 end
    local all = {}
    if t == 'hash' then all = redis.call('HGETALL', K[i]) end
    out[i - 1] = {listed, t, all}
  end
  return out
end

-- Looks up the index entries that rows call for.
--
-- KEYS: 1 `{ns}:ids` (routing), then every index key probed. ARGV: triples
-- (what, index key, item): `n` the score of member item (or nil), `u` the owner
-- of unique value item (or nil), `s` 1 when item is in the set, `l` 1 when
-- item is in the sorted set. A key of another type answers nil or 0.
local function verify_probe(keys, args)
  K, A = keys, args
  local out = {}
  local j = 1
  for i = 1, #A, 3 do
    local what, k, x = A[i], A[i + 1], A[i + 2]
    local r
    if what == 'n' or what == 'l' then r = redis.pcall('ZSCORE', k, x)
    elseif what == 'u' then r = redis.pcall('HGET', k, x)
    else r = redis.pcall('SISMEMBER', k, x) end
    if type(r) == 'table' and r.err then r = false end
    if what == 's' then
      if r == 1 then r = 1 else r = 0 end
    elseif what == 'l' then
      if r then r = 1 else r = 0 end
    end
    out[j] = r
    j = j + 1
  end
  return out
end

-- Rewrites one row's index entries, numeric scores, `#i` record and listing,
-- if the row is still exactly as the client read it.
--
-- KEYS: 1 `{ns}:ids`, 2 the row, then (declared) every key the call may read or
-- write: numeric indexes, the keys of the new entries and of the entries the
-- row's `#i` records, the rows of the unique values' current owners.
-- ARGV: 1 hash tag, 2 numeric-ids flag (`1`), 3 row prefix, 4 member, then
-- the row as read (count, then field/value pairs), the numeric indexes (count,
-- then key, `a` add or `r` remove, score), the entries (count, then slot id,
-- value, the owner the client saw for a unique value or '').
-- Returns `{'ok'}`, `{'changed'}` (the row changed or vanished: nothing
-- written), `{'unique', id, value, owner}` (another row holds and claims the
-- value: nothing written) or `{'wrongtype', key}`.
local function repair_reindex(keys, args)
  K, A = keys, args
  TAG, NUMIDS = A[1], A[2] == '1'
  local prefix, m, row = A[3], A[4], K[2]
  if rowtype(row) ~= 'hash' then return {'changed'} end
  local pos = 5
  local n = tonumber(A[pos]); pos = pos + 1
  local cur = redis.call('HGETALL', row)
  if #cur ~= 2 * n then return {'changed'} end
  local seen = {}
  for _ = 1, n do seen[A[pos]] = A[pos + 1]; pos = pos + 2 end
  for i = 1, #cur, 2 do
    if seen[cur[i]] ~= cur[i + 1] then return {'changed'} end
  end
  local nums, ents = {}, {}
  n = tonumber(A[pos]); pos = pos + 1
  for i = 1, n do nums[i] = {A[pos], A[pos + 1], A[pos + 2]}; pos = pos + 3 end
  n = tonumber(A[pos]); pos = pos + 1
  for i = 1, n do ents[i] = {A[pos], A[pos + 1], A[pos + 2]}; pos = pos + 3 end
  -- every check before any write
  if not typeok(K[1], 'zset') then return {'wrongtype', K[1]} end
  for _, z in ipairs(nums) do
    if not typeok(z[1], 'zset') then return {'wrongtype', z[1]} end
  end
  local rec = parse_rec(redis.call('HGET', row, '#i')) or {}
  for _, e in ipairs(rec) do
    local kind = slotkind(e[1])
    if kind and not typeok(slotkey(e[1], e[2]), WANT[kind]) then return {'wrongtype', slotkey(e[1], e[2])} end
  end
  for _, e in ipairs(ents) do
    local kind = slotkind(e[1])
    if not kind then return {'wrongtype', e[1]} end
    if not typeok(slotkey(e[1], e[2]), WANT[kind]) then return {'wrongtype', slotkey(e[1], e[2])} end
    if kind == 'u' then
      local o = redis.call('HGET', slotkey(e[1], e[2]), e[2])
      if o and o ~= m then
        -- the owner the client saw, so that its row was declared
        if o ~= e[3] then return {'changed'} end
        local orow = prefix .. o
        local t = rowtype(orow)
        if t == 'hash' then
          local orec = parse_rec(redis.call('HGET', orow, '#i'))
          if orec == nil or claims(orec, e[1], e[2]) then return {'unique', e[1], e[2], o} end
        elseif t ~= 'none' then
          return {'unique', e[1], e[2], o}
        end
      end
    end
  end
  for _, e in ipairs(rec) do unindex(e[1], e[2], m) end
  for _, z in ipairs(nums) do
    if z[2] == 'a' then redis.call('ZADD', z[1], z[3], m) else redis.call('ZREM', z[1], m) end
  end
  local new = {}
  for i, e in ipairs(ents) do
    index(e[1], e[2], m)
    new[i] = {e[1], e[2]}
  end
  redis.call('HSET', row, '#i', show_rec(new))
  redis.call('ZADD', K[1], NUMIDS and m or 0, m)
  return {'ok'}
end

-- Removes one index entry that no row claims, deciding inside the script.
--
-- KEYS: 1 the row the entry names, 2 the index key. ARGV: 1 hash tag, 2
-- numeric-ids flag, 3 what: `n` a numeric index entry (removed only while the
-- row does not exist), `x` a malformed member of a lexicographic index
-- (removed), otherwise the slot id of a value-keyed index (removed unless the
-- row's `#i` records it); 4 the value (the raw member for `x`), 5 the member.
-- Returns 1 when it removed the entry, 0 when it left it.
local function repair_unindex(keys, args)
  K, A = keys, args
  TAG, NUMIDS = A[1], A[2] == '1'
  local what, v, m = A[3], A[4], A[5]
  if what == 'x' then
    if rowtype(K[2]) ~= 'zset' then return 0 end
    return redis.call('ZREM', K[2], v)
  end
  local t = rowtype(K[1])
  if what == 'n' then
    if t ~= 'none' or rowtype(K[2]) ~= 'zset' then return 0 end
    return redis.call('ZREM', K[2], m)
  end
  if t == 'hash' then
    local rec = parse_rec(redis.call('HGET', K[1], '#i'))
    if rec == nil or claims(rec, what, v) then return 0 end
  elseif t ~= 'none' then
    return 0
  end
  local kind = slotkind(what)
  if not kind or rowtype(K[2]) ~= WANT[kind] then return 0 end
  return unindex(what, v, m)
end

-- Removes a member of `{ns}:ids` whose row does not exist, and its scores.
--
-- KEYS: 1 `{ns}:ids`, 2 the row, then the numeric indexes. ARGV: 1 the member.
-- Returns 1 when it removed the member, 0 when the row exists (again).
local function repair_unlist(keys, args)
  K, A = keys, args
  if redis.call('EXISTS', K[2]) == 1 then return 0 end
  for i = 3, #K do
    if redis.call('TYPE', K[i])['ok'] == 'zset' then redis.call('ZREM', K[i], A[1]) end
  end
  if redis.call('TYPE', K[1])['ok'] ~= 'zset' then return 0 end
  return redis.call('ZREM', K[1], A[1])
end
