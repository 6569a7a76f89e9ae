-- query.lua: the query interpreter. It evaluates a filter program over the
-- model's indexes, orders, pages, and returns ids, rows, columns, a count, or
-- deletes what it found.
--
-- query_main(KEYS, ARGV), the functions `query` (no-writes; modes rows, ids,
-- select, count, exists; 'with' is rows with the parent rows of references)
-- and `query_delete` (mode delete; allowed under OOM).
-- Its arguments are the contract QueryArgs (rom-dsl/src/wire/query.rs; the
-- encoding: rom-dsl/src/wire/mod.rs), read by query_args:
--   KEYS  ids, then every index key the filter names and the order index
--         (declared for cluster routing)
--   ARGV  row_prefix, numeric_ids flag, ids, the expiry set ('' when the
--         model's rows never expire; an expired row matches nothing), mode,
--         order key ('' for key
--         order), direction ('a' or 'd', followed by the slot id when
--         ordering by a sort index), offset, limit ('' for none), the cursor
--         (phase 'v' value / 'n' null / '', score, member), fields (counted
--         list: the selected fields); in 'with' mode then what to read
--         with each row (counted: 'p' field parent-row-prefix expiry-set,
--         the parent row a reference names | 'c' eq-set-prefix
--         child-row-prefix expiry-set, the live rows whose reference names
--         the row); in delete mode then
--         tag, numeric (counted list of keys) and the graph of on_delete
--         rules (cascade.lua's models, counted); then the filter in prefix
--         order:
--           'A' n kids | 'O' n kids | 'N' kid    and, or, not
--           'S' key            a set (equality or word)
--           'U' key value      a unique hash's field
--           'R' key lo hi      a score range ('(' exclusive, -inf, +inf)
--           'X' key lo hi glob a BYLEX range, then 'G'..glob or ''
--           'L' | 'E'          every row | no row
--   reply rows/ids/select: {cursor phase, score, member, then per row its
--         member and (rows) HGETALL or (select) HMGET, and ('with') per
--         include: 'p' the parent's HGETALL ({} for none), 'c' the
--         children as {member, HGETALL, ...}}; count, exists: an
--         integer; delete: {'ok', deleted, found} or an error reply
--
-- An index entry whose row is gone (removed by another program) names no
-- row: the interpreter skips it and fills the page from the rows after it.

-- the call's parameters (set by query_main)
local rowp, ids, mode, zkey, desc, lexslot, offset, limit, cphase, cscore, cid, fields
-- the filter tree, the number of rows, and (rows mode) the rows read
local root, TOTAL, ROWS
-- rows mode: the references whose parent rows are returned with each row
local include = {}
-- the model's expiry set ('' when its rows never expire)
local EXPKEY = ''

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
-- a filter node, read from the cursor r
local function take_filter()
  local op = take()
  if op == 'A' or op == 'O' then
    return {op = op, kids = take_list(take_filter)}
  elseif op == 'N' then return {op = 'N', kid = take_filter()}
  elseif op == 'S' then return {op = 'S', key = take()}
  elseif op == 'U' then return {op = 'U', key = take(), val = take()}
  elseif op == 'R' then
    local nd = {op = 'R', key = take(), lo = take(), hi = take()}
    nd.lon, nd.loex = bnum(nd.lo)
    nd.hin, nd.hiex = bnum(nd.hi)
    return nd
  elseif op == 'X' then
    local nd = {op = 'X', key = take(), lo = take(), hi = take(), globsrc = take()}
    if nd.globsrc ~= '' then nd.glob = glob_compile(parse_glob(string.sub(nd.globsrc, 2))) end
    return nd
  elseif op == 'L' then return {op = 'L'}
  elseif op == 'E' then return {op = 'E'}
  end
  error('rom: bad filter program at ' .. (wire_pos() - 1))
end

local function query_args(_, argv)
  reader(argv)
  local d = {}
  d.row_prefix = take()
  d.numeric_ids = take_flag()
  d.ids = take()
  d.expiry = take()
  d.mode = take()
  d.order_key = take()
  local dir = take()
  d.desc = string.sub(dir, 1, 1) == 'd'
  -- ordering by a sort index: the slot whose value each row records
  d.lex_slot = string.sub(dir, 2)
  if d.lex_slot == '' then d.lex_slot = nil end
  d.offset = tonumber(take())
  d.limit = tonumber(take())
  d.cursor = {phase = take(), score = take(), member = take()}
  d.fields = take_strings()
  if d.mode == 'with' then
    -- rows with related rows, read in this call: per include, its kind
    -- ('p' parent, 'c' children), then the field ('p') or the prefix of the
    -- equality sets ('c'), and the related model's row prefix
    d.mode = 'rows'
    d.include = take_list(function()
      local kind, at, prefix, exp = take(), take(), take(), take()
      if kind ~= 'p' and kind ~= 'c' then error('rom: bad include kind ' .. kind) end
      return {kind = kind, at = at, prefix = prefix, exp = exp}
    end)
  end
  if d.mode == 'delete' then
    d.tag = take()
    d.numeric = take_strings()
    -- the models a delete reaches through on_delete rules (cascade.lua);
    -- none when no rule applies
    d.graph = take_list(take_node)
  end
  d.filter = take_filter()
  return d
end

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

-- the expired rows that are still stored (bounded by the sweeps and the
-- reclaiming writes), to leave out of a count
local function due_rows()
  if EXPKEY == '' then return {} end
  return redis.call('ZRANGE', EXPKEY, '-inf', now_ms(), 'BYSCORE')
end

-- exact number of matches: an index's size less its expired rows, or the
-- matches that have not expired. Every row is in the ids, so all rows less
-- the due ones is two counts; one index is checked against the due rows or
-- the due rows against it, whichever is smaller.
local function count_all()
  local op = root.op
  if op == 'R' or op == 'S' or op == 'L' or op == 'E' or op == 'U' then
    local n = size(root)
    if n == 0 or EXPKEY == '' then return n end
    local due = redis.call('ZCOUNT', EXPKEY, '-inf', now_ms())
    if due == 0 then return n end
    if op == 'L' then return math.max(n - due, 0) end
    if due <= n then
      for _, m in ipairs(due_rows()) do if has(root, m) then n = n - 1 end end
      return n
    end
    local live = 0
    for _, m in ipairs(members(root)) do
      if not expired(EXPKEY, m) then live = live + 1 end
    end
    return live
  end
  local due = {}
  for _, m in ipairs(due_rows()) do due[m] = true end
  local n = 0
  for _, m in ipairs(members(root)) do
    if not due[m] then n = n + 1 end
  end
  return n
end

-- walks zset `key` in (score, id) order from the cursor, calling visit(m, scorestr)
-- until it returns true; ties are sorted by id here because Redis orders
-- members of equal score as text
local function walk(key, rev, fscore, fid, visit, pre, range)
  local lo = fscore or (rev and '+inf' or '-inf')
  local hi = rev and '-inf' or '+inf'
  -- a filter's range on the order index itself: only that part is walked
  if range then
    if not fscore then lo = rev and range.hi or range.lo end
    hi = rev and range.lo or range.hi
  end
  local chunk = 64
  local skip = fscore ~= nil
  -- scores compare as numbers: -0 and 0 are one score to Redis
  local fnum = fscore and tonumber((string.gsub(fscore, '^%(', '')))
  local function flush(group, s)
    table.sort(group, idlt)
    for _, m in ipairs(group) do
      local before = skip and tonumber(s) == fnum and not idlt(fid, m)
      if not before and visit(m, s) then return true end
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
      local before = skip and gv == fv and not idlt(fid, m)
      if not before and visit(m, gv) then return true end
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
-- whether row m exists: an index entry whose row was removed by another
-- program (or evicted) names no row, and the query answers for the rows that
-- exist. The rows a page returns are read here, once.
local function live(m, read)
  if EXPKEY ~= '' and expired(EXPKEY, m) then return false end
  if read and mode == 'rows' then
    local r = pread('HGETALL', rowp .. m)
    if r.err then ROWS[m] = r.err; return true end
    if #r == 0 then return false end
    ROWS[m] = r
    return true
  end
  return pread('EXISTS', rowp .. m) == 1
end
-- the score range a match must have in the order index `okey`, when the
-- filter is (or is an `and` of) a range on that index: the walk reads only
-- that part of it
local function order_range(okey)
  if root.op == 'R' and root.key == okey then return root end
  if root.op == 'A' then
    for _, k in ipairs(root.kids) do
      if k.op == 'R' and k.key == okey then return k end
    end
  end
  return nil
end

local function collect()
  local out = {}
  local skipped = 0
  local lastp, lasts, lastm = '', '', ''
  local function accept(m, s, phase)
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
        if has(root, m) then return accept(m, s, 'v') end
        return false
      end
      local from = cphase == 'v' and cscore or nil
      local function pre(list) prefetch(root, list) end
      if lexslot then done = walklex(okey, desc, from, cid, visit, pre)
      else done = walk(okey, desc and zkey ~= '', from, cid, visit, pre, order_range(okey)) end
    end
    if not done and nulls then
      walk(ids, false, cphase == 'n' and cscore or nil, cid, function(m, s)
        local null
        if lexslot then null = recval(m) == nil else null = redis.call('ZSCORE', zkey, m) == false end
        if null and has(root, m) then return accept(m, s, 'n') end
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
      if after and accept(v[1], v[3], 'v') then return out, lastp, lasts, lastm end
    end
  end
  for _, m in ipairs(nul) do
    if (cphase ~= 'n' or idlt(cid, m)) then
      local s = redis.call('ZSCORE', ids, m) or '0'
      if accept(m, s, 'n') then return out, lastp, lasts, lastm end
    end
  end
  return out, lastp, lasts, lastm
end

-- the parent row a row's reference names ({} for none: a null reference,
-- a row that is gone, or a row that is not a hash)
local function parent_row(row, inc)
  if type(row) ~= 'table' then return {} end
  for i = 1, #row - 1, 2 do
    if row[i] == inc.at then
      if expired(inc.exp, row[i + 1]) then return {} end
      local r = pread('HGETALL', inc.prefix .. row[i + 1])
      if r.err then return {} end
      return r
    end
  end
  return {}
end

-- the rows whose reference names the row `m`, as {member, HGETALL, ...}:
-- the members of its equality set whose row is a hash (an entry whose row
-- is gone names no row)
local function child_rows(m, inc)
  local kids = pread('SMEMBERS', inc.at .. m)
  local out = {}
  if kids.err then return out end
  for _, cm in ipairs(kids) do
    local r = expired(inc.exp, cm) and {} or pread('HGETALL', inc.prefix .. cm)
    if not r.err and #r > 0 then
      out[#out + 1] = cm
      out[#out + 1] = r
    end
  end
  return out
end

local function query_main(keys, argv)
  local d = query_args(keys, argv)
  include = d.include or {}
  CHECKED = {}
  rowp, ids, mode = d.row_prefix, d.ids, d.mode
  EXPKEY = d.expiry
  NUMIDS = d.numeric_ids
  zkey, desc, lexslot = d.order_key, d.desc, d.lex_slot
  offset, limit = d.offset, d.limit
  cphase, cscore, cid = d.cursor.phase, d.cursor.score, d.cursor.member
  fields = d.fields
  if mode == 'delete' then TAG, NUMKEYS = d.tag, d.numeric end
  root = d.filter
  TOTAL, ROWS = nil, {}
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
  if mode == 'delete' and #d.graph > 0 then
    local r = graph_delete(d.graph, found)
    if r[1] ~= 'ok' then return r end
    return {'ok', r[2], tostring(#found)}
  end
  if mode == 'delete' then
    for _, m in ipairs(found) do
      local err = delete_check(rowp, ids, m)
      if err then return err end
    end
    if #found > 0 then may_write(rowp .. found[1], DELETE_WRITES) end
    local deleted = 0
    for _, m in ipairs(found) do
      if delete_row(rowp, ids, m) == 1 then deleted = deleted + 1 end
    end
    return {'ok', tostring(deleted), tostring(#found)}
  end
  local res = {lp, ls, lm}
  for _, m in ipairs(found) do
    res[#res + 1] = m
    if mode == 'select' then
      local r = pread('HMGET', rowp .. m, unpack(fields))
      if r.err then r = r.err end
      res[#res + 1] = r
    elseif mode ~= 'ids' then
      res[#res + 1] = ROWS[m]
      for _, inc in ipairs(include) do
        if inc.kind == 'p' then res[#res + 1] = parent_row(ROWS[m], inc)
        else res[#res + 1] = child_rows(m, inc) end
      end
    end
  end
  return res
end
