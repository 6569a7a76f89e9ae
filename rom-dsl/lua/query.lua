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
--         (phase 'v' value / 'n' null / 'd<node>' a stepped count or
--         delete / '', score, member), the budget (units of work one
--         call may do; 0 for no bound), fields (counted list: the selected
--         fields); in 'with' mode then what to read
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
--           'X' key lo hi glob slot
--                              a BYLEX range, then 'G'..glob or '', and
--                              the slot id rows record its entries under
--           'L' | 'E'          every row | no row
--   reply rows/ids/select: {cursor phase, score, member, more, skipped,
--         then per row its member and (rows) HGETALL or (select) HMGET,
--         and ('with') per include: 'p' the parent's HGETALL ({} for
--         none), 'c' the children as {member, HGETALL, ...}}; count,
--         exists: an integer, or in steps {more, n, phase, score, member,
--         skipped} (a count's n is this step's matches, before offset and
--         limit); delete: {'ok', deleted, found, more, phase, score,
--         member, skipped} or an error reply
--
-- The budget: a call does at most about `budget` units of work: an index
-- entry read is one, each test of it against another part of the filter
-- one more (B.step), a row read for the reply B.ROW more, a deleted row
-- B.DELETE more. A plan that would need more
-- walks an index in a stable order instead and stops when the budget is
-- spent: `more` is '1' and the cursor names the last entry examined (not
-- the last row returned), `skipped` the rows this call skipped for the
-- offset. The client calls again from that cursor with the offset and limit
-- that are left, until `more` is ''. A group of entries of one score is read
-- whole.
--
-- An index entry whose row is gone (removed by another program) names no
-- row: the interpreter skips it and fills the page from the rows after it.

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
  if nd.always then return end
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
-- whether row m's entry in node nd's lexicographic index lies in its range
-- and matches its glob, from the row's record of entries: one read, where
-- materialising the range reads all of it
local function lexhas(nd, m)
  local r = pread('HGET', rowp .. m, '#i')
  local rec = type(r) == 'string' and parse_rec(r) or nil
  if not rec then return false end
  for _, e in ipairs(rec) do
    if e[1] == nd.slot then
      return lexin(lexmember(e[2], m), nd.lo, nd.hi)
        and (not nd.glob or glob_match(nd.glob, e[2]))
    end
  end
  return false
end
local function has(nd, m)
  local op = nd.op
  -- the node a walk is driven by: its members are the ones walked
  if nd.always then return true end
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
  elseif op == 'X' then
    -- a range wider than the budget is tested row by row
    if nd.rows or B.budget == 0 or size(nd) <= B.budget then lexrows(nd); return nd.set[m] == true end
    return lexhas(nd, m)
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

-- the entries of the lexicographic ranges under nd that a membership test
-- reads whole (once)
local function lexcost(nd)
  if nd.op == 'X' then return size(nd) end
  local c = 0
  if nd.op == 'A' or nd.op == 'O' then
    for _, k in ipairs(nd.kids) do c = c + lexcost(k) end
  elseif nd.op == 'N' then c = lexcost(nd.kid) end
  return c
end
-- the index entries a one-call plan reads for node nd: its members, and the
-- membership tests of an intersection or a complement
local function cost(nd)
  if nd.cost then return nd.cost end
  local op = nd.op
  local c = size(nd)
  if op == 'A' then
    c = cost(nd.kids[1])
    for i = 2, #nd.kids do c = c + size(nd.kids[1]) + lexcost(nd.kids[i]) end
  elseif op == 'O' then
    c = 0
    for _, k in ipairs(nd.kids) do c = c + cost(k) end
  elseif op == 'N' then c = 2 * total() + lexcost(nd.kid)
  elseif op == 'U' then c = 1 end
  nd.cost = c
  return c
end
-- whether a plan reading node nd in one call would exceed the budget
local function over(nd)
  if B.budget == 0 or nd.op == 'U' or nd.op == 'E' then return false end
  local c = cost(nd)
  if mode == 'delete' then c = c + B.DELETE * size(nd)
  elseif mode == 'rows' or mode == 'select' then c = c + B.ROW * size(nd) end
  return c > B.budget
end

-- the tests of a row against node nd, as the budget charges them: one per
-- index part, three for a lexicographic range tested from a row's record
local function tests(nd)
  if nd.always then return 0 end
  if nd.op == 'A' or nd.op == 'O' then
    local t = 0
    for _, k in ipairs(nd.kids) do t = t + tests(k) end
    return t
  elseif nd.op == 'N' then return tests(nd.kid)
  elseif nd.op == 'X' and not (nd.rows or size(nd) <= B.budget) then return 3
  elseif nd.op == 'L' or nd.op == 'E' then return 0 end
  return 1
end

-- walks the ids in key order after the key `from` (the start when nil):
-- numeric keys by score, other keys (all of score 0, in byte order) by
-- BYLEX, so that a walk over string keys reads them chunk by chunk
local function walkids(from, fid, visit, pre)
  local chunk = 64
  if NUMIDS then
    -- a numeric key is its own score: no two share one
    local lo = from and ('(' .. from) or '-inf'
    while true do
      local r = redis.call('ZRANGE', ids, lo, '+inf', 'BYSCORE', 'LIMIT', 0, chunk, 'WITHSCORES')
      local n = #r / 2
      if pre and n > 0 then
        local list = {}
        for i = 1, n do list[i] = r[2 * i - 1] end
        pre(list)
      end
      for i = 1, n do
        if visit(r[2 * i - 1], r[2 * i]) then return true end
      end
      if n < chunk then return false end
      lo = '(' .. r[2 * n]
    end
  end
  local lo = fid and fid ~= '' and from and ('(' .. fid) or '-'
  while true do
    local r = redis.call('ZRANGE', ids, lo, '+', 'BYLEX', 'LIMIT', 0, chunk)
    if pre and #r > 0 then pre(r) end
    for _, m in ipairs(r) do
      if visit(m, '0') then return true end
    end
    if #r < chunk then return false end
    lo = '(' .. r[#r]
  end
end

-- the walk of a stepped count or delete: the ids (every row, node 0) or
-- the smallest range node of the filter (the filter itself, or a part of
-- an `and`), named by its number in the cursor's phase ('d' .. number) so
-- that every step walks the same one
local function driver()
  if string.sub(cphase, 1, 1) == 'd' then
    local no = tonumber(string.sub(cphase, 2))
    if no == 0 then return nil end
    local nd = no and B.nodes[no]
    if not nd then error('rom: bad query cursor') end
    return nd
  end
  local cands = {}
  if root.op == 'R' or root.op == 'X' then cands = {root}
  elseif root.op == 'A' then cands = root.kids end
  local best, bs = nil, total()
  for _, k in ipairs(cands) do
    if (k.op == 'R' or k.op == 'X') and size(k) <= bs then best, bs = k, size(k) end
  end
  return best
end
-- walks the driver from the cursor, calling visit(m, position, phase) for
-- each entry (m nil for an entry that names no match of its range)
local function drive(visit)
  local nd = driver()
  local phase = 'd' .. (nd and nd.no or 0)
  local resume = string.sub(cphase, 1, 1) == 'd'
  local from = resume and cscore or nil
  local function pre(list) prefetch(root, list) end
  local function v(m, s) return visit(m, s, phase) end
  if nd then nd.always = true end
  B.step = 1 + tests(root)
  if not nd then return walkids(from, resume and cid or nil, v, pre) end
  if nd.op == 'R' then return walkrank(nd, from, cid, v, pre) end
  return walkx(nd, from, v)
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
  -- the complement of one index: all rows less its size
  if op == 'N' and EXPKEY == '' and size(root) and root.exact then return root.size end
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

-- a row's value in the sort index, from its record of index entries
local function recval(m)
  local r = pread('HGET', rowp .. m, '#i')
  local rec = type(r) == 'string' and parse_rec(r) or nil
  if rec then
    for _, e in ipairs(rec) do if e[1] == lexslot then return e[2] end end
  end
  return nil
end
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

-- the matching ids in order, after the cursor, with offset and limit
-- applied; returns them with the cursor of the last one, or of the last
-- entry examined when the budget ran out (B.more). The order index is walked
-- (each row tested against the filter) when offset + limit is small against
-- the matches, or when reading the matches would exceed the budget; the
-- matches are read and sorted otherwise.
local function collect()
  local out = {}
  B.skipped = 0
  local lastp, lasts, lastm = '', '', ''
  local function accept(m, s, phase)
    if not live(m, B.skipped >= offset) then return false end
    if B.skipped < offset then B.skipped = B.skipped + 1; return false end
    out[#out + 1] = m
    if mode == 'delete' then B.spent = B.spent + B.DELETE
    elseif mode == 'rows' or mode == 'select' then B.spent = B.spent + B.ROW end
    lastp, lasts, lastm = phase, s, m
    return limit ~= nil and #out >= limit
  end
  if limit == 0 then return out, '', '', '' end
  local okey = zkey ~= '' and zkey or ids
  local need = limit and (offset + limit) or nil
  local est = size(root)
  if est == 0 then return out, '', '', '' end
  local nulls = zkey ~= '' and total() > redis.call('ZCARD', zkey)
  local small = need and root.op ~= 'U' and root.op ~= 'E' and need * total() / est < est
  if small or over(root) then
    -- walk the order index and test each row against the filter
    B.step = 1 + tests(root)
    local stop = false
    if cphase ~= 'n' then
      local function visit(m, s)
        if has(root, m) and accept(m, s, 'v') then return true end
        return spend('v', s, m)
      end
      local from = cphase == 'v' and cscore or nil
      local function pre(list) prefetch(root, list) end
      if lexslot then stop = walklex(okey, desc, from, cid, visit, pre)
      elseif zkey == '' then stop = walkids(from, cid, visit, pre)
      else stop = walk(okey, desc, from, cid, visit, pre, order_range(okey)) end
    end
    if not stop and nulls then
      walkids(cphase == 'n' and cscore or nil, cid, function(m, s)
        local null
        if lexslot then null = recval(m) == nil else null = redis.call('ZSCORE', zkey, m) == false end
        if null and has(root, m) and accept(m, s, 'n') then return true end
        return spend('n', s, m)
      end)
    end
    if B.more then return out, B.more[1], B.more[2], B.more[3] end
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
  B.budget, B.spent, B.more, B.skipped, B.step = d.budget, 0, nil, 0, 1
  local resumed = cphase ~= ''
  local function more() return B.more and '1' or '' end
  local single = root.op == 'R' or root.op == 'S' or root.op == 'L' or root.op == 'E' or root.op == 'U'
    or (root.op == 'N' and EXPKEY == '' and size(root) and root.exact)
  if mode == 'count' and not single and (resumed or over(root)) then
    -- a count in steps: this call's matches along the driver (before offset
    -- and limit, which the client applies to the sum)
    local n = 0
    drive(function(m, s, phase)
      if m and has(root, m) and not expired(EXPKEY, m) then n = n + 1 end
      return spend(phase, s, m or '')
    end)
    local c = B.more or {'', '', ''}
    return {more(), n, c[1], c[2], c[3], '0'}
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
    local out, p, s, m = collect()
    if not resumed and not B.more then return #out end
    return {more(), #out, p, s, m, tostring(B.skipped)}
  end
  local found, lp, ls, lm
  if mode == 'delete' and (string.sub(cphase, 1, 1) == 'd'
      or (not resumed and not limit and offset == 0 and over(root))) then
    -- a delete in steps, each deleting the live matches it walked past
    found = {}
    drive(function(m, s, phase)
      if m and has(root, m) and live(m, false) then
        found[#found + 1] = m
        B.spent = B.spent + B.DELETE
      end
      return spend(phase, s, m or '')
    end)
    local c = B.more or {'', '', ''}
    lp, ls, lm = c[1], c[2], c[3]
  else
    found, lp, ls, lm = collect()
  end
  -- the step's state after a delete's counts
  local function stepped(r)
    for _, x in ipairs({more(), lp, ls, lm, tostring(B.skipped)}) do r[#r + 1] = x end
    return r
  end
  if mode == 'delete' and #d.graph > 0 then
    local r = graph_delete(d.graph, found)
    if r[1] ~= 'ok' then return r end
    return stepped({'ok', r[2], tostring(#found)})
  end
  if mode == 'delete' then
    for _, m in ipairs(found) do
      local err = delete_check(rowp, ids, m)
      if err then return err end
    end
    if #found > 0 then may_write(rowp .. found[1], DL.WRITES) end
    local deleted = 0
    for _, m in ipairs(found) do
      if delete_row(rowp, ids, m) == 1 then deleted = deleted + 1 end
    end
    return stepped({'ok', tostring(deleted), tostring(#found)})
  end
  local res = {lp, ls, lm, more(), tostring(B.skipped)}
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
