//! The Lua scripts of `verify` and `repair`. Like every rom script they are fixed
//! text: key names and values travel in `KEYS` and `ARGV`. The first key of each
//! call is a key of the model (`{ns}:ids` or a row), so a cluster routes the call
//! to the node that owns the model's hash tag; every other key the script reads
//! or writes is declared too, except the row of a unique value's current owner
//! in `REINDEX`, which is declared when the client knew it (it is checked).
//!
//! Each script's header documents its `KEYS` and `ARGV`.

use crate::script::Script;

/// Helpers shared by the write scripts: the `#i` record of a row, and how an
/// entry of a value-keyed index is named, added and removed.
macro_rules! helpers {
    () => {
        r#"
local TAG, NUMIDS = '', false
-- a row's record "<slot id>\0<len>:<value>" repeated; nil when unreadable
local function parse_rec(s)
  local out = {}
  if not s then return out end
  local pos = 1
  while pos <= #s do
    local z = string.find(s, '\0', pos, true)
    if not z then return nil end
    local a, b, len = string.find(s, '^(%d+):', z + 1)
    if not a then return nil end
    len = tonumber(len)
    if b + len > #s then return nil end
    out[#out + 1] = {string.sub(s, pos, z - 1), string.sub(s, b + 1, b + len)}
    pos = b + len + 1
  end
  return out
end
local function show_rec(rec)
  local parts = {}
  for i, e in ipairs(rec) do parts[i] = e[1] .. '\0' .. #e[2] .. ':' .. e[2] end
  return table.concat(parts)
end
local function claims(rec, id, v)
  for _, e in ipairs(rec) do
    if e[1] == id and e[2] == v then return true end
  end
  return false
end
-- 'u' unique hash, 's' a set per value, 'l' lexicographic sorted set
local function kind_of(id)
  local p = string.match(id, '^(%a+):')
  if p == 'uniq' then return 'u' end
  if p == 'eq' or p == 'text' then return 's' end
  if p == 'pre' or p == 'suf' or p == 'sort' then return 'l' end
  return nil
end
local WANT = {u = 'hash', s = 'set', l = 'zset'}
local function key_of(id, v)
  if kind_of(id) == 's' then return TAG .. ':' .. id .. v end
  return TAG .. ':' .. id
end
local function lexmember(v, m)
  if NUMIDS then return v .. '\0\0' .. string.char(#m) .. m end
  return v .. '\0\0' .. m
end
local function typeof(k)
  return redis.call('TYPE', k)['ok']
end
local function typeok(k, t)
  local x = typeof(k)
  return x == 'none' or x == t
end
-- removes entry (id, v) of row m; a unique value only while m owns it
local function drop(id, v, m)
  local kind, key = kind_of(id), key_of(id, v)
  if kind == 'u' then
    if redis.call('HGET', key, v) == m then return redis.call('HDEL', key, v) end
    return 0
  elseif kind == 'l' then
    return redis.call('ZREM', key, lexmember(v, m))
  elseif kind == 's' then
    return redis.call('SREM', key, m)
  end
  return 0
end
local function add(id, v, m)
  local kind, key = kind_of(id), key_of(id, v)
  if kind == 'u' then
    redis.call('HSET', key, v, m)
  elseif kind == 'l' then
    redis.call('ZADD', key, 0, lexmember(v, m))
  elseif kind == 's' then
    redis.call('SADD', key, m)
  end
end
"#
    };
}

/// One page of the keyspace of a model: `SCAN` run on the node that owns the
/// model's hash tag (a script keyed by `{ns}:ids`, since `SCAN` names no key).
///
/// KEYS: 1 `{ns}:ids` (routing only). ARGV: 1 cursor, 2 `MATCH` pattern, 3 `COUNT`.
/// Returns `{next cursor, keys}`.
pub(crate) static SCAN: Script = Script::new(
    "verify-scan",
    r#"#!lua flags=no-writes
return redis.call('SCAN', ARGV[1], 'MATCH', ARGV[2], 'COUNT', ARGV[3])
"#,
);

/// Reads rows for a check: for each row, whether `{ns}:ids` lists it, its type
/// and (for a hash) every field.
///
/// KEYS: 1 `{ns}:ids`, then the row keys. ARGV: the rows' members, in order.
/// Returns one `{listed 0|1, type, HGETALL or {}}` per row.
pub(crate) static ROWS: Script = Script::new(
    "verify-rows",
    r#"#!lua flags=no-writes
local out = {}
for i = 2, #KEYS do
  local t = redis.call('TYPE', KEYS[i])['ok']
  local listed = 0
  if redis.pcall('ZSCORE', KEYS[1], ARGV[i - 1]) then listed = 1 end
  local fields = {}
  if t == 'hash' then fields = redis.call('HGETALL', KEYS[i]) end
  out[i - 1] = {listed, t, fields}
end
return out
"#,
);

/// Looks up the index entries that rows call for.
///
/// KEYS: 1 `{ns}:ids` (routing), then every index key probed. ARGV: triples
/// (what, index key, item): `n` the score of member item (or nil), `u` the owner
/// of unique value item (or nil), `s` 1 when item is in the set, `l` 1 when
/// item is in the sorted set. A key of another type answers nil or 0.
pub(crate) static PROBE: Script = Script::new(
    "verify-probe",
    r#"#!lua flags=no-writes
local out = {}
local j = 1
for i = 1, #ARGV, 3 do
  local what, k, x = ARGV[i], ARGV[i + 1], ARGV[i + 2]
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
"#,
);

/// Rewrites one row's index entries, numeric scores, `#i` record and listing,
/// if the row is still exactly as the client read it.
///
/// KEYS: 1 `{ns}:ids`, 2 the row, then (declared) every key the call may read or
/// write: numeric indexes, the keys of the new entries and of the entries the
/// row's `#i` records, the rows of the unique values' current owners.
/// ARGV: 1 hash tag, 2 numeric-ids flag (`1`), 3 row prefix, 4 member, then
/// the row as read (count, then field/value pairs), the numeric indexes (count,
/// then key, `a` add or `r` remove, score), the entries (count, then slot id,
/// value, the owner the client saw for a unique value or '').
/// Returns `{'ok'}`, `{'changed'}` (the row changed or vanished: nothing
/// written), `{'unique', id, value, owner}` (another row holds and claims the
/// value: nothing written) or `{'wrongtype', key}`.
pub(crate) static REINDEX: Script = Script::new(
    "repair-reindex",
    concat!(
        helpers!(),
        r#"
TAG, NUMIDS = ARGV[1], ARGV[2] == '1'
local rowp, m, row = ARGV[3], ARGV[4], KEYS[2]
if typeof(row) ~= 'hash' then return {'changed'} end
local pos = 5
local n = tonumber(ARGV[pos]); pos = pos + 1
local cur = redis.call('HGETALL', row)
if #cur ~= 2 * n then return {'changed'} end
local seen = {}
for i = 1, n do seen[ARGV[pos]] = ARGV[pos + 1]; pos = pos + 2 end
for i = 1, #cur, 2 do
  if seen[cur[i]] ~= cur[i + 1] then return {'changed'} end
end
local nums, ents = {}, {}
n = tonumber(ARGV[pos]); pos = pos + 1
for i = 1, n do nums[i] = {ARGV[pos], ARGV[pos + 1], ARGV[pos + 2]}; pos = pos + 3 end
n = tonumber(ARGV[pos]); pos = pos + 1
for i = 1, n do ents[i] = {ARGV[pos], ARGV[pos + 1], ARGV[pos + 2]}; pos = pos + 3 end
-- every check before any write
if not typeok(KEYS[1], 'zset') then return {'wrongtype', KEYS[1]} end
for _, z in ipairs(nums) do
  if not typeok(z[1], 'zset') then return {'wrongtype', z[1]} end
end
local rec = parse_rec(redis.call('HGET', row, '#i')) or {}
for _, e in ipairs(rec) do
  local kind = kind_of(e[1])
  if kind and not typeok(key_of(e[1], e[2]), WANT[kind]) then return {'wrongtype', key_of(e[1], e[2])} end
end
for _, e in ipairs(ents) do
  local kind = kind_of(e[1])
  if not kind then return {'wrongtype', e[1]} end
  if not typeok(key_of(e[1], e[2]), WANT[kind]) then return {'wrongtype', key_of(e[1], e[2])} end
  if kind == 'u' then
    local o = redis.call('HGET', key_of(e[1], e[2]), e[2])
    if o and o ~= m then
      -- the owner the client saw, so that its row was declared
      if o ~= e[3] then return {'changed'} end
      local orow = rowp .. o
      local t = typeof(orow)
      if t == 'hash' then
        local orec = parse_rec(redis.call('HGET', orow, '#i'))
        if orec == nil or claims(orec, e[1], e[2]) then return {'unique', e[1], e[2], o} end
      elseif t ~= 'none' then
        return {'unique', e[1], e[2], o}
      end
    end
  end
end
for _, e in ipairs(rec) do drop(e[1], e[2], m) end
for _, z in ipairs(nums) do
  if z[2] == 'a' then redis.call('ZADD', z[1], z[3], m) else redis.call('ZREM', z[1], m) end
end
local new = {}
for i, e in ipairs(ents) do
  add(e[1], e[2], m)
  new[i] = {e[1], e[2]}
end
redis.call('HSET', row, '#i', show_rec(new))
redis.call('ZADD', KEYS[1], NUMIDS and m or 0, m)
return {'ok'}
"#
    ),
);

/// Removes one index entry that no row claims, deciding inside the script.
///
/// KEYS: 1 the row the entry names, 2 the index key. ARGV: 1 hash tag, 2
/// numeric-ids flag, 3 what: `n` a numeric index entry (removed only while the
/// row does not exist), `x` a malformed member of a lexicographic index
/// (removed), otherwise the slot id of a value-keyed index (removed unless the
/// row's `#i` records it); 4 the value (the raw member for `x`), 5 the member.
/// Returns 1 when it removed the entry, 0 when it left it.
pub(crate) static UNINDEX: Script = Script::new(
    "repair-unindex",
    concat!(
        helpers!(),
        r#"
TAG, NUMIDS = ARGV[1], ARGV[2] == '1'
local what, v, m = ARGV[3], ARGV[4], ARGV[5]
if what == 'x' then
  if typeof(KEYS[2]) ~= 'zset' then return 0 end
  return redis.call('ZREM', KEYS[2], v)
end
local t = typeof(KEYS[1])
if what == 'n' then
  if t ~= 'none' or typeof(KEYS[2]) ~= 'zset' then return 0 end
  return redis.call('ZREM', KEYS[2], m)
end
if t == 'hash' then
  local rec = parse_rec(redis.call('HGET', KEYS[1], '#i'))
  if rec == nil or claims(rec, what, v) then return 0 end
elseif t ~= 'none' then
  return 0
end
local kind = kind_of(what)
if not kind or typeof(KEYS[2]) ~= WANT[kind] then return 0 end
return drop(what, v, m)
"#
    ),
);

/// Removes a member of `{ns}:ids` whose row does not exist, and its scores.
///
/// KEYS: 1 `{ns}:ids`, 2 the row, then the numeric indexes. ARGV: 1 the member.
/// Returns 1 when it removed the member, 0 when the row exists (again).
pub(crate) static UNLIST: Script = Script::new(
    "repair-unlist",
    r#"
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
for i = 3, #KEYS do
  if redis.call('TYPE', KEYS[i])['ok'] == 'zset' then redis.call('ZREM', KEYS[i], ARGV[1]) end
end
if redis.call('TYPE', KEYS[1])['ok'] ~= 'zset' then return 0 end
return redis.call('ZREM', KEYS[1], ARGV[1])
"#,
);
