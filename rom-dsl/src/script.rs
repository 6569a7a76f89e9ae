//! The Lua scripts rom runs on the server, and how each is invoked (EVALSHA with
//! an EVAL fallback when the server's script cache was flushed).
//!
//! Scripts are fixed text: values and key names only ever travel as `KEYS` and
//! `ARGV`, never spliced into Lua source. Every key a script touches starts with
//! the model's hash tag, and the first declared key routes the call in a cluster.

use std::sync::OnceLock;

/// A Lua script with its SHA1, computed once.
///
/// ```
/// let s = rom_dsl::__private::script::Script::new("save", "return 1");
/// assert_eq!(s.sha().len(), 40);
/// ```
#[derive(Debug)]
pub struct Script {
    name: &'static str,
    source: &'static str,
    sha: OnceLock<String>,
}

impl Script {
    /// A script named `name` (for `explain()`) with its source.
    pub const fn new(name: &'static str, source: &'static str) -> Self {
        Script {
            name,
            source,
            sha: OnceLock::new(),
        }
    }
    /// The script's name.
    pub fn name(&self) -> &'static str {
        self.name
    }
    /// The Lua source.
    pub fn source(&self) -> &'static str {
        self.source
    }
    /// Whether the script declares `no-writes` (it may run as EVALSHA_RO).
    pub fn is_read_only(&self) -> bool {
        self.source.starts_with("#!lua flags=no-writes")
    }
    /// The SHA1 that EVALSHA names the script by.
    pub fn sha(&self) -> &str {
        self.sha
            .get_or_init(|| redis::Script::new(self.source).get_hash().to_owned())
    }
}

/// Helpers shared by the scripts: key ordering and the per-row index record.
macro_rules! prelude {
    () => {
        r#"
local NUMIDS = false
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
-- a row's record of its value-keyed index entries: "<slot id>\0<len>:<value>"
-- repeated; a slot id is the index key's name after the tag ("uniq:email",
-- "eq:name:", "pre:name"...), so an entry can be removed even after the model
-- changed its indexes
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
-- the model's hash tag, "{ns}"; every key is the tag, ':', then a name
local TAG = ''
-- what a slot id names: 'u' a unique hash, 's' a set per value, 'l' a
-- lexicographic sorted set
local function slotkind(id)
  local p = string.match(id, '^(%a+):')
  if p == 'uniq' then return 'u' end
  if p == 'eq' or p == 'text' then return 's' end
  if p == 'pre' or p == 'suf' or p == 'sort' then return 'l' end
  return nil
end
local WANT = {u = 'hash', s = 'set', l = 'zset'}
-- the key holding the entry with value v
local function slotkey(id, v)
  if slotkind(id) == 's' then return TAG .. ':' .. id .. v end
  return TAG .. ':' .. id
end
-- a lexicographic index member: value, \0\0, then the key (numeric keys
-- behind a length byte, so that equal values order by key as numbers)
local function lexmember(v, m)
  if NUMIDS then return v .. '\0\0' .. string.char(#m) .. m end
  return v .. '\0\0' .. m
end
local function unindex(id, v, m)
  local kind, key = slotkind(id), slotkey(id, v)
  if kind == 'u' then
    if redis.call('HGET', key, v) == m then redis.call('HDEL', key, v) end
  elseif kind == 'l' then
    redis.call('ZREM', key, lexmember(v, m))
  elseif kind == 's' then
    redis.call('SREM', key, m)
  end
end
local function index(id, v, m)
  local kind, key = slotkind(id), slotkey(id, v)
  if kind == 'u' then
    redis.call('HSET', key, v, m)
  elseif kind == 'l' then
    redis.call('ZADD', key, 0, lexmember(v, m))
  else
    redis.call('SADD', key, m)
  end
end
-- a read of a key the call may not have declared (a row a query found, an
-- index entry a record names): on a Redis Cluster node whose slot is being
-- migrated such a key may already live on the other node. The call then
-- stops with a TRYAGAIN error, which cluster clients retry, and it stops
-- before any write, because every script reads all it needs before writing.
-- Any other error (a key of the wrong type) is returned as the error table.
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
-- true when key is absent or of type t: checked before any write, so that a
-- key of the wrong type (written by another program) fails the whole call
-- before it changes anything
local function typeok(key, t)
  local k = rowtype(key)
  return k == 'none' or k == t
end
"#
    };
}

/// Deletes one row and every index entry it recorded (shared by the delete
/// script and the query script's delete mode).
macro_rules! delete_fn {
    () => {
        r#"
local NUMKEYS = {}
local function read_numkeys(pos)
  local n = tonumber(ARGV[pos]); pos = pos + 1
  for i = 1, n do NUMKEYS[i] = ARGV[pos]; pos = pos + 1 end
  return pos
end
-- the records read by delete_check, for delete_row (false: no row)
local CHECKED = {}
-- nil when row m can be deleted cleanly, else the error reply
local function delete_check(rowp, ids, m)
  local row = rowp .. m
  local t = rowtype(row)
  if t == 'none' then CHECKED[m] = false; return nil end
  if t ~= 'hash' then return {'wrongtype', row} end
  local rec = parse_rec(redis.call('HGET', row, '#i'))
  if not rec then return {'badrecord', row} end
  CHECKED[m] = rec
  for _, e in ipairs(rec) do
    local kind = slotkind(e[1])
    if kind and not typeok(slotkey(e[1], e[2]), WANT[kind]) then return {'wrongtype', slotkey(e[1], e[2])} end
  end
  for _, z in ipairs(NUMKEYS) do if not typeok(z, 'zset') then return {'wrongtype', z} end end
  if not typeok(ids, 'zset') then return {'wrongtype', ids} end
  return nil
end
-- 1 deleted, 0 absent, -1 not a hash, -2 unreadable record
local function delete_row(rowp, ids, m)
  local row = rowp .. m
  local rec = CHECKED[m]
  if rec == false then return 0 end
  if rec == nil then
    local t = rowtype(row)
    if t == 'none' then return 0 end
    if t ~= 'hash' then return -1 end
    rec = parse_rec(redis.call('HGET', row, '#i'))
    if not rec then return -2 end
  end
  for _, e in ipairs(rec) do unindex(e[1], e[2], m) end
  for _, z in ipairs(NUMKEYS) do redis.call('ZREM', z, m) end
  redis.call('ZREM', ids, m)
  redis.call('DEL', row)
  CHECKED[m] = false
  return 1
end
"#
    };
}

/// Inserts or updates one row: checks, then writes, all or nothing.
///
/// KEYS: 1 ids zset, 2 seq, then (declared for cluster routing only) the other
/// keys the client can name. ARGV: mode (i insert, u update, p put), member ('' to
/// allocate), numeric-ids flag, row prefix, hash tag, checks, writes, numeric
/// index ops, touched slots (by id) with their new values.
pub static SAVE: Script = Script::new(
    "save",
    concat!(
        // flags declared, none set: refused before it runs when the server is
        // over maxmemory (a save can grow memory), instead of failing midway
        "#!lua\n",
        prelude!(),
        r#"
local mode, m = ARGV[1], ARGV[2]
NUMIDS = ARGV[3] == '1'
local rowp = ARGV[4]
TAG = ARGV[5]
local pos = 6
local checks, writes, nums, touched = {}, {}, {}, {}
local n = tonumber(ARGV[pos]); pos = pos + 1
for i = 1, n do checks[i] = {ARGV[pos], ARGV[pos + 1], ARGV[pos + 2]}; pos = pos + 3 end
n = tonumber(ARGV[pos]); pos = pos + 1
for i = 1, n do writes[i] = {ARGV[pos], ARGV[pos + 1], ARGV[pos + 2]}; pos = pos + 3 end
n = tonumber(ARGV[pos]); pos = pos + 1
for i = 1, n do nums[i] = {ARGV[pos], ARGV[pos + 1], ARGV[pos + 2]}; pos = pos + 3 end
n = tonumber(ARGV[pos]); pos = pos + 1
for i = 1, n do
  local slot, k = ARGV[pos], tonumber(ARGV[pos + 1]); pos = pos + 2
  local vals = {}
  for j = 1, k do vals[j] = ARGV[pos]; pos = pos + 1 end
  touched[#touched + 1] = {slot, vals}
end

local row, exists = nil, false
if m ~= '' then
  row = rowp .. m
  local t = rowtype(row)
  if t ~= 'none' and t ~= 'hash' then return {'wrongtype', row} end
  exists = t == 'hash'
end
if mode == 'i' and exists then return {'exists'} end
if mode == 'u' and not exists then return {'gone'} end
for _, c in ipairs(checks) do
  local cur = redis.call('HGET', row, c[1])
  if c[2] == '1' then
    if cur ~= c[3] then return {'conflict', c[1]} end
  elseif cur then
    return {'conflict', c[1]}
  end
end
local rec = {}
-- the record matters only when a keyed index changes
if exists and #touched > 0 then
  rec = parse_rec(redis.call('HGET', row, '#i'))
  if not rec then return {'badrecord', row} end
end
-- every key this call will write must be absent or of its type
if not typeok(KEYS[1], 'zset') then return {'wrongtype', KEYS[1]} end
if m == '' and not typeok(KEYS[2], 'string') then return {'wrongtype', KEYS[2]} end
for _, z in ipairs(nums) do
  if not typeok(z[1], 'zset') then return {'wrongtype', z[1]} end
end
local is_touched = {}
for _, t in ipairs(touched) do
  is_touched[t[1]] = true
  local kind = slotkind(t[1])
  for _, v in ipairs(t[2]) do
    if not typeok(slotkey(t[1], v), WANT[kind]) then return {'wrongtype', slotkey(t[1], v)} end
  end
end
for _, e in ipairs(rec) do
  local kind = slotkind(e[1])
  if is_touched[e[1]] and kind and not typeok(slotkey(e[1], e[2]), WANT[kind]) then
    return {'wrongtype', slotkey(e[1], e[2])}
  end
end
for _, t in ipairs(touched) do
  if slotkind(t[1]) == 'u' then
    for _, v in ipairs(t[2]) do
      local owner = redis.call('HGET', slotkey(t[1], v), v)
      -- a value whose owner row is gone (removed by another program, or
      -- evicted) is free: the stale entry is overwritten below
      if owner and owner ~= m and pread('EXISTS', rowp .. owner) == 1 then
        return {'unique', t[1], v}
      end
    end
  end
end
-- allocate a key: the counter's next value that names no row, found by
-- reading only, so that nothing is written before every check has passed
local seq = nil
if m == '' then
  local cur = redis.call('GET', KEYS[2])
  seq = tonumber(cur or '0')
  if not seq or seq < 0 or seq ~= math.floor(seq) then return {'wrongtype', KEYS[2]} end
  repeat
    seq = seq + 1
    m = string.format('%d', seq)
    row = rowp .. m
  until pread('EXISTS', row) == 0
  redis.call('SET', KEYS[2], m)
end
local hset, hdel = {row}, {row}
for _, w in ipairs(writes) do
  if w[2] == 's' then hset[#hset + 1] = w[1]; hset[#hset + 1] = w[3]
  else hdel[#hdel + 1] = w[1] end
end
if #touched > 0 then
  -- move the touched slots' entries, and write the new record with the row
  local kept = {}
  for _, e in ipairs(rec) do
    if is_touched[e[1]] then unindex(e[1], e[2], m) else kept[#kept + 1] = e end
  end
  for _, t in ipairs(touched) do
    for _, v in ipairs(t[2]) do
      index(t[1], v, m)
      kept[#kept + 1] = {t[1], v}
    end
  end
  -- the record is also the row's marker: always present, maybe empty
  hset[#hset + 1] = '#i'; hset[#hset + 1] = show_rec(kept)
elseif not exists then
  hset[#hset + 1] = '#i'; hset[#hset + 1] = ''
end
if #hdel > 1 then redis.call('HDEL', unpack(hdel)) end
if #hset > 1 then redis.call('HSET', unpack(hset)) end
-- a row exists apart from its values: when its last column became null, the
-- marker keeps the hash (rows written before the marker may lack it)
if exists and #hdel > 1 and #touched == 0 then redis.call('HSETNX', row, '#i', '') end
-- an existing row is listed already
if not exists then redis.call('ZADD', KEYS[1], NUMIDS and m or 0, m) end
for _, z in ipairs(nums) do
  if z[2] == 'a' then redis.call('ZADD', z[1], z[3], m) else redis.call('ZREM', z[1], m) end
end
return {'ok', m}
"#
    ),
);

/// Deletes rows by key, with their index entries.
///
/// KEYS: 1 ids zset, then the rows (declared). ARGV: numeric-ids flag, row
/// prefix, hash tag, numeric index keys, checks (field, present, value) that
/// must hold on the first row, then the members.
pub static DELETE: Script = Script::new(
    "delete",
    concat!(
        // deletes free memory, so they run even over maxmemory
        "#!lua flags=allow-oom\n",
        prelude!(),
        delete_fn!(),
        r#"
NUMIDS = ARGV[1] == '1'
local rowp = ARGV[2]
TAG = ARGV[3]
local pos = read_numkeys(4)
local n = tonumber(ARGV[pos]); pos = pos + 1
local checks = {}
for i = 1, n do checks[i] = {ARGV[pos], ARGV[pos + 1], ARGV[pos + 2]}; pos = pos + 3 end
if n > 0 then
  local row = rowp .. ARGV[pos]
  local t = rowtype(row)
  if t == 'none' then return {'gone'} end
  if t ~= 'hash' then return {'wrongtype', row} end
  for _, c in ipairs(checks) do
    local cur = redis.call('HGET', row, c[1])
    if (c[2] == '1' and cur ~= c[3]) or (c[2] ~= '1' and cur) then return {'conflict', c[1]} end
  end
end
-- check every row first so that nothing is deleted when one cannot be
for i = pos, #ARGV do
  local err = delete_check(rowp, KEYS[1], ARGV[i])
  if err then return err end
end
local deleted = 0
for i = pos, #ARGV do
  if delete_row(rowp, KEYS[1], ARGV[i]) == 1 then deleted = deleted + 1 end
end
return {'ok', tostring(deleted)}
"#
    ),
);

/// Reads rows by key: the fields of each, or the error for a key that is not a
/// hash. KEYS: the row keys. Returns, per key, its fields (empty when absent) or
/// an error string.
pub static GET: Script = Script::new(
    "get",
    r#"#!lua flags=no-writes
local out = {}
for i, k in ipairs(KEYS) do
  local r = redis.pcall('HGETALL', k)
  if type(r) == 'table' and r.err then out[i] = r.err else out[i] = r end
end
return out
"#,
);

/// The query interpreter: evaluates a filter program (in ARGV) over the model's
/// indexes, orders, pages, and returns ids, rows, a count or the number deleted.
macro_rules! query_body {
    () => {
        r#"
local rowp, ids, mode = ARGV[1], ARGV[3], ARGV[4]
NUMIDS = ARGV[2] == '1'
local zkey = ARGV[5]
local desc = string.sub(ARGV[6], 1, 1) == 'd'
-- ordering by a sort index: the slot whose value each row records
local lexslot = string.sub(ARGV[6], 2)
if lexslot == '' then lexslot = nil end
local offset = tonumber(ARGV[7])
local limit = tonumber(ARGV[8])
local cphase, cscore, cid = ARGV[9], ARGV[10], ARGV[11]
local pos = 12
local fields = {}
local nf = tonumber(ARGV[pos]); pos = pos + 1
for i = 1, nf do fields[i] = ARGV[pos]; pos = pos + 1 end
if mode == 'delete' then TAG = ARGV[pos]; pos = read_numkeys(pos + 1) end

local function bnum(b)
  if b == '-inf' then return -math.huge, false end
  if b == '+inf' then return math.huge, false end
  if string.sub(b, 1, 1) == '(' then return tonumber(string.sub(b, 2)), true end
  return tonumber(b), false
end
-- byte-wise string order (Lua's < may follow the server's locale)
local function bytelt(a, b)
  local n = math.min(#a, #b)
  for i = 1, n do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end
-- a lexicographic index member: value, \0\0, key
local function splitlex(e)
  local cut = string.find(e, '\0\0', 1, true)
  if not cut then return nil, nil end
  local rest = string.sub(e, cut + 2)
  if NUMIDS then rest = string.sub(rest, 2) end
  return string.sub(e, 1, cut - 1), rest
end
-- globs (after a leading 'G'): '*' any run, '?' one character, 'L<len>:<bytes>' a literal
local function parse_glob(g)
  local toks, pos = {}, 1
  while pos <= #g do
    local c = string.sub(g, pos, pos)
    if c == '*' or c == '?' then
      toks[#toks + 1] = {k = c}; pos = pos + 1
    else
      local a, b, len = string.find(g, '^L(%d+):', pos)
      if not a then error('rom: bad pattern') end
      len = tonumber(len)
      toks[#toks + 1] = {k = 'L', s = string.sub(g, b + 1, b + len)}
      pos = b + len + 1
    end
  end
  return toks
end
-- the byte length of the character at i (an escaped NUL, \0\xFE, is two bytes)
local function charlen(s, i)
  local b = string.byte(s, i)
  if b == 0 then return 2 elseif b < 0x80 then return 1
  elseif b >= 0xF0 then return 4 elseif b >= 0xE0 then return 3 elseif b >= 0xC0 then return 2 end
  return 1
end
-- a glob as segments between stars: {segs = {...}, lead = bool, trail = bool}
local function glob_compile(toks)
  local g = {segs = {}, lead = false, trail = false}
  local cur = {}
  for i, t in ipairs(toks) do
    if t.k == '*' then
      if i == 1 then g.lead = true end
      if i == #toks then g.trail = true end
      if #cur > 0 then g.segs[#g.segs + 1] = cur; cur = {} end
    else
      cur[#cur + 1] = t
    end
  end
  if #cur > 0 then g.segs[#g.segs + 1] = cur end
  return g
end
-- where segment seg, placed at byte i of s, ends (the next byte), or nil
local function seg_at(seg, s, i)
  for _, t in ipairs(seg) do
    if t.k == '?' then
      if i > #s then return nil end
      i = i + charlen(s, i)
    else
      if string.sub(s, i, i + #t.s - 1) ~= t.s then return nil end
      i = i + #t.s
    end
  end
  return i
end
-- the leftmost placement of seg at or after byte i: its end, or nil
local function seg_find(seg, s, i)
  if #seg == 1 and seg[1].k == 'L' then
    local a = string.find(s, seg[1].s, i, true)
    if a then return a + #seg[1].s end
    return nil
  end
  while i <= #s + 1 do
    local e = seg_at(seg, s, i)
    if e then return e end
    if i > #s then return nil end
    i = i + charlen(s, i)
  end
  return nil
end
-- matches s against a compiled glob: the first segment is anchored at the start
-- (unless a star leads), the last at the end (unless a star trails), and the
-- ones between are placed leftmost, which is optimal when only stars separate them
local function glob_match(g, s)
  local segs, n = g.segs, #g.segs
  if n == 0 then return g.lead or #s == 0 end
  if not g.lead and not g.trail and n == 1 then return seg_at(segs[1], s, 1) == #s + 1 end
  local i, first, last = 1, 1, n
  if not g.lead then
    local e = seg_at(segs[1], s, 1)
    if not e then return false end
    i, first = e, 2
  end
  if not g.trail then last = n - 1 end
  for k = first, last do
    local e = seg_find(segs[k], s, i)
    if not e then return false end
    i = e
  end
  if g.trail then return true end
  -- the last segment must end exactly at the end, starting at or after i
  local seg = segs[n]
  if #seg == 1 and seg[1].k == 'L' then
    local p = #s - #seg[1].s + 1
    return p >= i and string.sub(s, p) == seg[1].s
  end
  local p = i
  while p <= #s + 1 do
    if seg_at(seg, s, p) == #s + 1 then return true end
    if p > #s then return false end
    p = p + charlen(s, p)
  end
  return false
end
local function parse(p)
  local op = ARGV[p]
  if op == 'A' or op == 'O' then
    local n, kids = tonumber(ARGV[p + 1]), {}
    p = p + 2
    for i = 1, n do kids[i], p = parse(p) end
    return {op = op, kids = kids}, p
  elseif op == 'N' then
    local kid
    kid, p = parse(p + 1)
    return {op = 'N', kid = kid}, p
  elseif op == 'S' then return {op = 'S', key = ARGV[p + 1]}, p + 2
  elseif op == 'U' then return {op = 'U', key = ARGV[p + 1], val = ARGV[p + 2]}, p + 3
  elseif op == 'R' then
    local nd = {op = 'R', key = ARGV[p + 1], lo = ARGV[p + 2], hi = ARGV[p + 3]}
    nd.lon, nd.loex = bnum(nd.lo)
    nd.hin, nd.hiex = bnum(nd.hi)
    return nd, p + 4
  elseif op == 'X' then
    local g = ARGV[p + 4]
    return {op = 'X', key = ARGV[p + 1], lo = ARGV[p + 2], hi = ARGV[p + 3], glob = g ~= '' and glob_compile(parse_glob(string.sub(g, 2))) or nil}, p + 5
  elseif op == 'L' then return {op = 'L'}, p + 1
  elseif op == 'E' then return {op = 'E'}, p + 1
  end
  error('rom: bad filter program at ' .. p)
end
local root = parse(pos)
local TOTAL = nil
local function total()
  if not TOTAL then TOTAL = redis.call('ZCARD', ids) end
  return TOTAL
end
local function owner(nd)
  if nd.owner == nil then nd.owner = redis.call('HGET', nd.key, nd.val) end
  return nd.owner
end
-- the rows of a lexicographic range (values matching the glob), each once
local function lexrows(nd)
  if nd.rows then return nd.rows end
  local rows, set = {}, {}
  for _, e in ipairs(redis.call('ZRANGE', nd.key, nd.lo, nd.hi, 'BYLEX')) do
    local v, m = splitlex(e)
    if v and not set[m] and (not nd.glob or glob_match(nd.glob, v)) then
      set[m] = true; rows[#rows + 1] = m
    end
  end
  nd.rows, nd.set = rows, set
  return rows
end
-- an upper bound on the number of rows a node matches (exact, and marked so,
-- for a single index); an empty estimate lets the query stop early
local function size(nd)
  if nd.size then return nd.size end
  local s
  local op = nd.op
  nd.exact = op == 'S' or op == 'U' or op == 'R' or op == 'L' or op == 'E'
  if nd.op == 'S' then s = redis.call('SCARD', nd.key)
  elseif nd.op == 'X' then s = nd.rows and #nd.rows or redis.call('ZLEXCOUNT', nd.key, nd.lo, nd.hi)
  elseif nd.op == 'U' then s = owner(nd) and 1 or 0
  elseif nd.op == 'R' then s = redis.call('ZCOUNT', nd.key, nd.lo, nd.hi)
  elseif nd.op == 'L' then s = total()
  elseif nd.op == 'E' then s = 0
  elseif nd.op == 'A' then
    for _, k in ipairs(nd.kids) do local x = size(k); if not s or x < s then s = x end end
    s = s or total()
    table.sort(nd.kids, function(a, b) return size(a) < size(b) end)
  elseif nd.op == 'O' then
    s = 0
    for _, k in ipairs(nd.kids) do s = s + size(k) end
    s = math.min(s, total())
  else
    -- the complement of a bound is no bound: only an exact size can be subtracted
    local k = size(nd.kid)
    if nd.kid.exact then s = math.max(total() - k, 0); nd.exact = true else s = total() end
  end
  nd.size = s
  return s
end
-- batches the membership tests of a list of rows: one ZMSCORE or SMISMEMBER
-- per index and chunk instead of a call per row; has() reads the cache
local function prefetch(nd, list)
  local op = nd.op
  if op == 'R' or op == 'S' then
    nd.cache = nd.cache or {}
    for i = 1, #list, 500 do
      local part = {}
      for j = i, math.min(i + 499, #list) do part[#part + 1] = list[j] end
      if op == 'R' then
        local r = redis.call('ZMSCORE', nd.key, unpack(part))
        for j, m in ipairs(part) do nd.cache[m] = r[j] end
      else
        local r = redis.call('SMISMEMBER', nd.key, unpack(part))
        for j, m in ipairs(part) do nd.cache[m] = r[j] == 1 end
      end
    end
  elseif op == 'A' or op == 'O' then
    for _, k in ipairs(nd.kids) do prefetch(k, list) end
  elseif op == 'N' then
    prefetch(nd.kid, list)
  end
end
local function has(nd, m)
  local op = nd.op
  if op == 'S' then
    if nd.cache then local c = nd.cache[m]; if c ~= nil then return c end end
    return redis.call('SISMEMBER', nd.key, m) == 1
  elseif op == 'U' then return owner(nd) == m
  elseif op == 'R' then
    local s
    if nd.cache then s = nd.cache[m] end
    if s == nil then s = redis.call('ZSCORE', nd.key, m) end
    if not s then return false end
    s = tonumber(s)
    if nd.loex then if s <= nd.lon then return false end elseif s < nd.lon then return false end
    if nd.hiex then if s >= nd.hin then return false end elseif s > nd.hin then return false end
    return true
  elseif op == 'X' then lexrows(nd); return nd.set[m] == true
  elseif op == 'L' then return true
  elseif op == 'E' then return false
  elseif op == 'A' then
    for _, k in ipairs(nd.kids) do if not has(k, m) then return false end end
    return true
  elseif op == 'O' then
    for _, k in ipairs(nd.kids) do if has(k, m) then return true end end
    return false
  end
  return not has(nd.kid, m)
end
local function members(nd)
  local op = nd.op
  if op == 'S' then return redis.call('SMEMBERS', nd.key)
  elseif op == 'U' then local o = owner(nd); if o then return {o} end return {}
  elseif op == 'R' then return redis.call('ZRANGE', nd.key, nd.lo, nd.hi, 'BYSCORE')
  elseif op == 'X' then return lexrows(nd)
  elseif op == 'L' then return redis.call('ZRANGE', ids, 0, -1)
  elseif op == 'E' then return {}
  elseif op == 'O' then
    local seen, out = {}, {}
    for _, k in ipairs(nd.kids) do
      for _, m in ipairs(members(k)) do
        if not seen[m] then seen[m] = true; out[#out + 1] = m end
      end
    end
    return out
  elseif op == 'A' then
    size(nd)
    local out = {}
    local base = members(nd.kids[1])
    if #base > 1 then
      for i = 2, #nd.kids do prefetch(nd.kids[i], base) end
    end
    for _, m in ipairs(base) do
      local ok = true
      for i = 2, #nd.kids do if not has(nd.kids[i], m) then ok = false; break end end
      if ok then out[#out + 1] = m end
    end
    return out
  end
  local out = {}
  for _, m in ipairs(redis.call('ZRANGE', ids, 0, -1)) do
    if not has(nd.kid, m) then out[#out + 1] = m end
  end
  return out
end

-- exact number of matches
local function count_all()
  local op = root.op
  if op == 'R' or op == 'S' or op == 'L' or op == 'E' or op == 'U' then return size(root) end
  return #members(root)
end

-- walks zset `key` in (score, id) order from the cursor, calling visit(m, scorestr)
-- until it returns true; ties are sorted by id here because Redis orders
-- members of equal score as text
local function walk(key, rev, fscore, fid, visit, pre)
  local lo = fscore or (rev and '+inf' or '-inf')
  local hi = rev and '-inf' or '+inf'
  local chunk = 64
  local skip = fscore ~= nil
  -- scores compare as numbers: -0 and 0 are one score to Redis
  local fnum = fscore and tonumber((string.gsub(fscore, '^%(', '')))
  local function flush(group, s)
    table.sort(group, idlt)
    for _, m in ipairs(group) do
      if skip and tonumber(s) == fnum and not idlt(fid, m) then
      elseif visit(m, s) then return true end
    end
    return false
  end
  while true do
    local r
    if rev then r = redis.call('ZRANGE', key, lo, hi, 'BYSCORE', 'REV', 'LIMIT', 0, chunk, 'WITHSCORES')
    else r = redis.call('ZRANGE', key, lo, hi, 'BYSCORE', 'LIMIT', 0, chunk, 'WITHSCORES') end
    local n = #r / 2
    if n == 0 then return false end
    if pre then
      local list = {}
      for i = 1, n do list[i] = r[2 * i - 1] end
      pre(list)
    end
    local last = r[2 * n]
    local lastn = tonumber(last)
    local group, gs, gn = {}, nil, nil
    for i = 1, n do
      local m, s = r[2 * i - 1], r[2 * i]
      local sn = tonumber(s)
      if sn == lastn then break end
      if sn ~= gn then
        if gs and flush(group, gs) then return true end
        group, gs, gn = {}, s, sn
      end
      group[#group + 1] = m
    end
    if gs and flush(group, gs) then return true end
    if n < chunk then
      group = {}
      for i = 1, n do if tonumber(r[2 * i]) == lastn then group[#group + 1] = r[2 * i - 1] end end
    else
      group = redis.call('ZRANGE', key, last, last, 'BYSCORE')
      if pre then pre(group) end
    end
    if flush(group, last) then return true end
    skip = false
    if n < chunk then return false end
    lo = '(' .. last
  end
end

-- walks a sort index in (value, id) order from the cursor, like walk()
local function walklex(key, rev, fv, fid, visit, pre)
  local chunk = 64
  local lo, hi
  if rev then lo = fv and ('(' .. fv .. '\0\1') or '+'; hi = '-'
  else lo = fv and ('[' .. fv .. '\0\0') or '-'; hi = '+' end
  local skip = fv ~= nil
  local group, gv = {}, nil
  local function flush()
    if gv == nil then return false end
    table.sort(group, idlt)
    for _, m in ipairs(group) do
      if skip and gv == fv and not idlt(fid, m) then
      elseif visit(m, gv) then return true end
    end
    skip = false
    return false
  end
  while true do
    local r
    if rev then r = redis.call('ZRANGE', key, lo, hi, 'BYLEX', 'REV', 'LIMIT', 0, chunk)
    else r = redis.call('ZRANGE', key, lo, hi, 'BYLEX', 'LIMIT', 0, chunk) end
    if pre then
      local list = {}
      for _, e in ipairs(r) do local _, m = splitlex(e); if m then list[#list + 1] = m end end
      pre(list)
    end
    for _, e in ipairs(r) do
      local v, m = splitlex(e)
      if v then
        if v ~= gv then
          if flush() then return true end
          group, gv = {}, v
        end
        group[#group + 1] = m
      end
    end
    if #r < chunk then return flush() end
    lo = '(' .. r[#r]
  end
end
-- a row's value in the sort index, from its record of index entries
local function recval(m)
  local r = pread('HGET', rowp .. m, '#i')
  local rec = type(r) == 'string' and parse_rec(r) or nil
  if rec then
    for _, e in ipairs(rec) do if e[1] == lexslot then return e[2] end end
  end
  return nil
end
-- the matching ids in order, after the cursor, with offset and limit applied;
-- returns them with the cursor of the last one
-- rows mode: the rows read while collecting, by id
local ROWS = {}
-- whether row m exists: an index entry whose row was removed by another
-- program (or evicted) names no row, and the query answers for the rows that
-- exist. The rows a page returns are read here, once.
local function live(m, read)
  if read and mode == 'rows' then
    local r = pread('HGETALL', rowp .. m)
    if r.err then ROWS[m] = r.err; return true end
    if #r == 0 then return false end
    ROWS[m] = r
    return true
  end
  return pread('EXISTS', rowp .. m) == 1
end
local function collect()
  local out = {}
  local skipped = 0
  local lastp, lasts, lastm = '', '', ''
  local function take(m, s, phase)
    if not live(m, skipped >= offset) then return false end
    if skipped < offset then skipped = skipped + 1; return false end
    out[#out + 1] = m
    lastp, lasts, lastm = phase, s, m
    return limit ~= nil and #out >= limit
  end
  if limit == 0 then return out, '', '', '' end
  local okey = zkey ~= '' and zkey or ids
  local need = limit and (offset + limit) or nil
  local est = size(root)
  if est == 0 then return out, '', '', '' end
  local nulls = zkey ~= '' and total() > redis.call('ZCARD', zkey)
  if need and root.op ~= 'U' and root.op ~= 'E' and need * total() / est < est then
    -- walk the order index and test each row against the filter
    local done = false
    if cphase ~= 'n' then
      local function visit(m, s)
        if has(root, m) then return take(m, s, 'v') end
        return false
      end
      local from = cphase == 'v' and cscore or nil
      local function pre(list) prefetch(root, list) end
      if lexslot then done = walklex(okey, desc, from, cid, visit, pre)
      else done = walk(okey, desc and zkey ~= '', from, cid, visit, pre) end
    end
    if not done and nulls then
      walk(ids, false, cphase == 'n' and cscore or nil, cid, function(m, s)
        local null
        if lexslot then null = recval(m) == nil else null = redis.call('ZSCORE', zkey, m) == false end
        if null and has(root, m) then return take(m, s, 'n') end
        return false
      end)
    end
    return out, lastp, lasts, lastm
  end
  -- materialise the (small) candidate set, then sort it
  local vals, nul = {}, {}
  local cands = members(root)
  local scores = {}
  if lexslot then
    for i, m in ipairs(cands) do scores[i] = recval(m) or false end
  elseif zkey == '' then
    -- key order: a key's score in the ids set is the key itself (numeric keys) or 0
    for i, m in ipairs(cands) do scores[i] = NUMIDS and m or '0' end
  else
    for i = 1, #cands, 500 do
      local part = {}
      for j = i, math.min(i + 499, #cands) do part[#part + 1] = cands[j] end
      local r = redis.call('ZMSCORE', okey, unpack(part))
      for j = 1, #part do scores[i + j - 1] = r[j] end
    end
  end
  for i, m in ipairs(cands) do
    local s = scores[i]
    if s then vals[#vals + 1] = {m, lexslot and s or tonumber(s), s}
    else nul[#nul + 1] = m end
  end
  if zkey == '' then nul = {} end
  local flip = desc and zkey ~= ''
  -- a before b in value order (text byte-wise for a sort index)
  local function vlt(a, b)
    if lexslot then return bytelt(a, b) end
    return a < b
  end
  table.sort(vals, function(a, b)
    if a[2] ~= b[2] then if flip then return vlt(b[2], a[2]) end return vlt(a[2], b[2]) end
    return idlt(a[1], b[1])
  end)
  table.sort(nul, idlt)
  local cs = nil
  if cphase == 'v' then if lexslot then cs = cscore else cs = tonumber(cscore) end end
  if cphase ~= 'n' then
    for _, v in ipairs(vals) do
      local after = true
      if cs then
        if v[2] == cs then after = idlt(cid, v[1])
        elseif flip then after = vlt(v[2], cs) else after = vlt(cs, v[2]) end
      end
      if after and take(v[1], v[3], 'v') then return out, lastp, lasts, lastm end
    end
  end
  for _, m in ipairs(nul) do
    if (cphase ~= 'n' or idlt(cid, m)) then
      local s = redis.call('ZSCORE', ids, m) or '0'
      if take(m, s, 'n') then return out, lastp, lasts, lastm end
    end
  end
  return out, lastp, lasts, lastm
end

if mode == 'count' then
  local c = count_all() - offset
  if c < 0 then c = 0 end
  if limit and c > limit then c = limit end
  return c
end
if mode == 'exists' then
  -- whether `load` would return a row: the offset and a limit of 0 count
  if limit ~= 0 then limit = 1 end
  local out = collect()
  return #out
end
local found, lp, ls, lm = collect()
if mode == 'delete' then
  for _, m in ipairs(found) do
    local err = delete_check(rowp, ids, m)
    if err then return err end
  end
  local d = 0
  for _, m in ipairs(found) do
    if delete_row(rowp, ids, m) == 1 then d = d + 1 end
  end
  return {'ok', tostring(d), tostring(#found)}
end
local res = {lp, ls, lm}
for _, m in ipairs(found) do
  res[#res + 1] = m
  if mode == 'ids' then
  elseif mode == 'select' then
    local r = pread('HMGET', rowp .. m, unpack(fields))
    if r.err then r = r.err end
    res[#res + 1] = r
  else
    res[#res + 1] = ROWS[m]
  end
end
return res
"#
    };
}

/// Read-only queries (ids, rows, columns, count, exists). Declared `no-writes`,
/// so it may run as EVALSHA_RO on a replica.
///
/// KEYS: 1 ids zset, then every index key the filter names. ARGV: row prefix,
/// numeric-ids flag, ids key, mode, order key ('' for id order), direction,
/// offset, limit ('' for none), cursor (phase, score, id), selected fields, the
/// filter program.
pub static QUERY: Script = Script::new(
    "query",
    concat!(
        "#!lua flags=no-writes\n",
        prelude!(),
        "local NUMKEYS = {}\nlocal function read_numkeys(p) return p end\nlocal function delete_row() return 0 end\nlocal function delete_check() return nil end\n",
        query_body!()
    ),
);

/// The same interpreter in delete mode: deletes every match (one batch) with its
/// index entries.
pub static QUERY_DELETE: Script = Script::new(
    "query_delete",
    concat!(
        "#!lua flags=allow-oom\n",
        prelude!(),
        delete_fn!(),
        query_body!()
    ),
);
