-- verify.lua: the reads of `verify` and the atomic fixes of `repair`.
--
-- The first key of each call is a key of the model ({ns}:ids or a row), so a
-- cluster routes it to the node that owns the model's hash tag; every other
-- key is declared too, except the row of a unique value's current owner in
-- repair_reindex, which is declared when the client knew it (it is checked).
-- Each function's arguments are a contract of rom-dsl/src/wire/verify.rs or
-- rom-dsl/src/wire/repair.rs (the encoding: rom-dsl/src/wire/mod.rs), read by
-- the decoder above it.

-- verify_scan: one page of the keyspace of a model: `SCAN` run on the node
-- that owns the model's hash tag (a function keyed by `{ns}:ids`, since `SCAN`
-- names no key). ScanArgs: KEYS ids (routing only); ARGV cursor, pattern
-- (`MATCH`), count (`COUNT`). Returns `{next cursor, keys}`.
local function scan_args(keys, argv)
  reader(argv)
  return {ids = keys[1], cursor = take(), pattern = take(), count = take()}
end

local function verify_scan(keys, argv)
  local d = scan_args(keys, argv)
  return redis.call('SCAN', d.cursor, 'MATCH', d.pattern, 'COUNT', d.count)
end

-- verify_rows: rows for a check: for each row, whether `{ns}:ids` lists it,
-- its type, (for a hash) every field, and whether its deadline has passed.
-- RowsArgs: KEYS ids, then the row keys, then the expiry set when the
-- model's rows expire; ARGV the expiry set ('' none), then the rows'
-- members, in the same order.
-- Returns one `{listed 0|1, type, HGETALL or {}, expired 0|1}` per row.
local function rows_args(keys, argv)
  local rows = {}
  for i = 2, #argv do rows[i - 1] = {key = keys[i], member = argv[i]} end
  return {ids = keys[1], exp = argv[1], rows = rows}
end

local function verify_rows(keys, argv)
  local d = rows_args(keys, argv)
  local out = {}
  for i, row in ipairs(d.rows) do
    local t = redis.call('TYPE', row.key)['ok']
    local listed = 0
    if redis.pcall('ZSCORE', d.ids, row.member) then listed = 1 end
    local all = {}
    if t == 'hash' then all = redis.call('HGETALL', row.key) end
    out[i] = {listed, t, all, expired(d.exp, row.member) and 1 or 0}
  end
  return out
end

-- verify_probe: the index entries that rows call for. ProbeArgs: KEYS ids
-- (routing), then every index key probed; ARGV triples (kind, key, item):
-- `n` the score of member item (or nil), `u` the owner of unique value item
-- (or nil), `s` 1 when item is in the set, `l` 1 when item is in the sorted
-- set, `r` 1 when the row key (a referenced parent) holds a hash (item
-- unused), `t` the key's type (item unused), `m` one page of a set's members
-- from cursor item (`SSCAN key item COUNT 200`, the page of verify's walk:
-- {next cursor, members}; {'0', {}} when the key is not a set). A key of
-- another type answers nil or 0.
local function probe_args(keys, argv)
  reader(argv)
  local probes = {}
  while wire_pos() <= #argv do
    probes[#probes + 1] = {kind = take(), key = take(), item = take()}
  end
  return {ids = keys[1], probes = probes}
end

local function verify_probe(keys, argv)
  local d = probe_args(keys, argv)
  local out = {}
  for j, p in ipairs(d.probes) do
    local what, k, x = p.kind, p.key, p.item
    local r
    if what == 'n' or what == 'l' then r = redis.pcall('ZSCORE', k, x)
    elseif what == 'u' then r = redis.pcall('HGET', k, x)
    elseif what == 'r' then r = rowtype(k) == 'hash' and 1 or 0
    elseif what == 't' then r = rowtype(k)
    elseif what == 'm' then
      if rowtype(k) == 'set' then r = redis.call('SSCAN', k, x, 'COUNT', 200) else r = {'0', {}} end
    else r = redis.pcall('SISMEMBER', k, x) end
    if type(r) == 'table' and r.err then r = false end
    if what == 's' then
      if r == 1 then r = 1 else r = 0 end
    elseif what == 'l' then
      if r then r = 1 else r = 0 end
    end
    out[j] = r
  end
  return out
end

-- repair_reindex: rewrites one row's index entries, numeric scores, `#i`
-- record and listing, if the row is still exactly as the client read it.
-- ReindexArgs: KEYS ids, row, then (declared) every key the call may read or
-- write: numeric indexes, the keys of the new entries and of the entries the
-- row's `#i` records, the rows of the unique values' current owners, the
-- row's structures.
-- ARGV: tag, numeric_ids flag, row_prefix, member, fields (counted list of
-- field/value pairs: the row as read), numeric (counted list of key, `a` add
-- or `r` remove, score), entries (counted list of slot id, kind, value, the
-- owner the client saw for a unique value or ''), structures (counted list
-- of the model's structure fields: id 'st:<field>:', index id or '').
-- The record gets one entry per structure of the model, naming its index; a
-- structure whose recorded index differs (or that was not recorded) moves
-- its row between the indexes of its members (ST.reindex_moves). Entries of
-- structures the model does not declare stay (deleting the row deletes them).
-- Returns `{'ok'}`, `{'changed'}` (the row changed or vanished: nothing
-- written), `{'unique', id, value, owner}` (another row holds and claims the
-- value: nothing written) or `{'wrongtype', key}`.
local function reindex_args(keys, argv)
  reader(argv)
  local d = {ids = keys[1], row = keys[2], declared = {}}
  for i = 3, #keys do d.declared[i - 2] = keys[i] end
  d.tag = take()
  d.numeric_ids = take_flag()
  d.row_prefix = take()
  d.member = take()
  d.fields = take_list(function() return {field = take(), value = take()} end)
  d.numeric = take_list(take_numop)
  d.entries = take_list(function()
    return {id = take(), kind = take(), value = take(), owner = take()}
  end)
  d.structures = take_list(function() return {id = take(), index = take()} end)
  return d
end

-- repair_reindex's structures: the moves between indexes that the record's
-- entries call for (each {from, to, members}: the row leaves index id from
-- and joins index id to, for each member of its set; every key checked,
-- nothing written), or nil and the wrongtype reply
function ST.reindex_moves(rec, structures, m)
  local old = {}
  for _, e in ipairs(rec) do
    if e[3] == 'k' and old[e[1]] == nil then old[e[1]] = e[2] end
  end
  local moves = {}
  for _, s in ipairs(structures) do
    local from, key = old[s.id] or '', TAG .. ':' .. s.id .. m
    -- an unrecorded structure's index entries are made anew
    local fresh = old[s.id] == nil and s.index ~= ''
    if (from ~= s.index or fresh) and rowtype(key) == 'set' then
      local mv = {from = from, to = s.index, members = redis.call('SMEMBERS', key)}
      if mv.to ~= '' then
        for _, x in ipairs(mv.members) do
          local ik = TAG .. ':' .. mv.to .. x
          if not typeok(ik, 'set') then return nil, {'wrongtype', ik} end
        end
      end
      moves[#moves + 1] = mv
    end
  end
  return moves
end

-- applies the moves of ST.reindex_moves for row m
function ST.reindex_apply(moves, m)
  for _, mv in ipairs(moves) do
    for _, x in ipairs(mv.members) do
      if mv.from ~= '' and mv.from ~= mv.to then
        local ik = TAG .. ':' .. mv.from .. x
        if rowtype(ik) == 'set' then redis.call('SREM', ik, m) end
      end
      if mv.to ~= '' then redis.call('SADD', TAG .. ':' .. mv.to .. x, m) end
    end
  end
end

local function repair_reindex(keys, argv)
  local d = reindex_args(keys, argv)
  TAG, NUMIDS = d.tag, d.numeric_ids
  local prefix, m, row = d.row_prefix, d.member, d.row
  if rowtype(row) ~= 'hash' then return {'changed'} end
  local cur = redis.call('HGETALL', row)
  if #cur ~= 2 * #d.fields then return {'changed'} end
  local seen = {}
  for _, f in ipairs(d.fields) do seen[f.field] = f.value end
  for i = 1, #cur, 2 do
    if seen[cur[i]] ~= cur[i + 1] then return {'changed'} end
  end
  -- every check before any write
  if not typeok(d.ids, 'zset') then return {'wrongtype', d.ids} end
  for _, z in ipairs(d.numeric) do
    if not typeok(z.key, 'zset') then return {'wrongtype', z.key} end
  end
  local rec = parse_rec(redis.call('HGET', row, '#i')) or {}
  for _, e in ipairs(rec) do
    local kind = e[3]
    if WANT[kind] and not typeok(slotkey(kind, e[1], e[2]), WANT[kind]) then return {'wrongtype', slotkey(kind, e[1], e[2])} end
  end
  for _, e in ipairs(d.entries) do
    if not WANT[e.kind] then return {'wrongtype', e.id} end
    local key = slotkey(e.kind, e.id, e.value)
    if not typeok(key, WANT[e.kind]) then return {'wrongtype', key} end
    if e.kind == 'u' then
      local o = redis.call('HGET', key, e.value)
      if o and o ~= m then
        -- the owner the client saw, so that its row was declared
        if o ~= e.owner then return {'changed'} end
        local orow = prefix .. o
        local t = rowtype(orow)
        if t == 'hash' then
          local orec = parse_rec(redis.call('HGET', orow, '#i'))
          if orec == nil or claims(orec, e.id, e.value) then return {'unique', e.id, e.value, o} end
        elseif t ~= 'none' then
          return {'unique', e.id, e.value, o}
        end
      end
    end
  end
  local moves, refused = ST.reindex_moves(rec, d.structures, m)
  if not moves then return refused end
  may_write(row, {HSET = true, HDEL = true, ZADD = true, ZREM = true, SADD = true, SREM = true})
  -- the row's structures (kind 'k') are not index entries: they stay, the
  -- model's named once each (below)
  local new, declared = {}, {}
  for _, s in ipairs(d.structures) do declared[s.id] = true end
  for _, e in ipairs(rec) do
    if e[3] ~= 'k' then
      unindex(e[3], e[1], e[2], m)
    elseif not declared[e[1]] then
      new[#new + 1] = {e[1], e[2]}
    end
  end
  for _, s in ipairs(d.structures) do new[#new + 1] = {s.id, s.index} end
  ST.reindex_apply(moves, m)
  for _, z in ipairs(d.numeric) do
    if z.add then redis.call('ZADD', z.key, z.score, m) else redis.call('ZREM', z.key, m) end
  end
  for _, e in ipairs(d.entries) do
    index(e.kind, e.id, e.value, m)
    new[#new + 1] = {e.id, e.value}
  end
  redis.call('HSET', row, '#i', show_rec(new))
  redis.call('ZADD', d.ids, NUMIDS and m or 0, m)
  return {'ok'}
end

-- repair_unindex: removes one index entry that no row claims, deciding inside
-- the call. UnindexArgs: KEYS the row the entry names, the index key, and for
-- kind `i` the structure. ARGV: tag, numeric_ids flag, target: `n` a numeric
-- index entry (removed only while the row does not exist), `x` a malformed
-- member of a lexicographic index (removed), otherwise the slot id of a
-- value-keyed index (removed unless the row's `#i` records it) or a
-- structure's id 'st:<field>:'; the value (the raw member for `x`), the
-- member, the slot's kind ('' for `n` and `x`), or for a structure:
--   `k` the index key is the structure, the value its index id: deleted
--       (with its row's entries in the indexes of its members) while the row
--       does not exist
--   `i` the index key is the index set of member value of an indexed set:
--       the row is added to it while the row exists and its set holds the
--       value, removed from it otherwise
-- Returns 1 when it removed (or added) the entry, 0 when it left it.
local function unindex_args(keys, argv)
  reader(argv)
  local d = {row = keys[1], index = keys[2], structure = keys[3]}
  d.tag = take()
  d.numeric_ids = take_flag()
  d.target = take()
  d.value = take()
  d.member = take()
  d.kind = take()
  return d
end

-- repair_unindex's kind `i` (d its arguments, t the row's type)
function ST.repair_entry(d, t)
  local it, st, v, m = rowtype(d.index), d.structure, d.value, d.member
  if t == 'hash' and rowtype(st) == 'set' and redis.call('SISMEMBER', st, v) == 1 then
    if it ~= 'none' and it ~= 'set' then return 0 end
    return redis.call('SADD', d.index, m)
  end
  -- a row that is not a hash is left for the user, with its entries
  if (t ~= 'none' and t ~= 'hash') or it ~= 'set' then return 0 end
  return redis.call('SREM', d.index, m)
end

local function repair_unindex(keys, argv)
  local d = unindex_args(keys, argv)
  TAG, NUMIDS = d.tag, d.numeric_ids
  local what, v, m = d.target, d.value, d.member
  if what == 'x' then
    if rowtype(d.index) ~= 'zset' then return 0 end
    return redis.call('ZREM', d.index, v)
  end
  local t = rowtype(d.row)
  if d.kind == 'k' then
    if t ~= 'none' then return 0 end
    return unindex('k', what, v, m)
  elseif d.kind == 'i' then
    return ST.repair_entry(d, t)
  end
  if what == 'n' then
    if t ~= 'none' or rowtype(d.index) ~= 'zset' then return 0 end
    return redis.call('ZREM', d.index, m)
  end
  if t == 'hash' then
    local rec = parse_rec(redis.call('HGET', d.row, '#i'))
    if rec == nil or claims(rec, what, v) then return 0 end
  elseif t ~= 'none' then
    return 0
  end
  if not WANT[d.kind] or rowtype(d.index) ~= WANT[d.kind] then return 0 end
  return unindex(d.kind, what, v, m)
end

-- repair_unlist: removes a member of `{ns}:ids` whose row does not exist, and
-- its scores. UnlistArgs: KEYS ids, row, then numeric (the numeric indexes);
-- ARGV member. Returns 1 when it removed the member, 0 when the row exists
-- (again).
local function unlist_args(keys, argv)
  local numeric = {}
  for i = 3, #keys do numeric[i - 2] = keys[i] end
  return {ids = keys[1], row = keys[2], numeric = numeric, member = argv[1]}
end

local function repair_unlist(keys, argv)
  local d = unlist_args(keys, argv)
  if redis.call('EXISTS', d.row) == 1 then return 0 end
  for _, z in ipairs(d.numeric) do
    if redis.call('TYPE', z)['ok'] == 'zset' then redis.call('ZREM', z, d.member) end
  end
  if redis.call('TYPE', d.ids)['ok'] ~= 'zset' then return 0 end
  return redis.call('ZREM', d.ids, d.member)
end
