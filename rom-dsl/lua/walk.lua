-- walk.lua: walking the model's sorted sets in a stable order, in chunks,
-- from a position (a keyset cursor), so that a query can stop anywhere and
-- the next call resume right after the last entry it examined.
--
-- Arguments: none (helpers of query.lua). They read NUMIDS (rows.lua).
--   walk(key, rev, score, member, visit, pre, range)
--       a score-ordered set in (score, member) order after the position
--       (score, member); ties are ordered by member here (idlt), because
--       Redis orders the members of one score as text
--   walklex(key, rev, value, member, visit, pre)
--       a sort index ("value\0\0key" members) in (value, member) order
--   walkrank(node, score, member, visit, pre)
--       a score range of a filter node in Redis's own order (score, then
--       member bytes), by rank: for a count or delete, whose order is free
--   walkx(node, entry, visit)
--       a lexicographic range of a filter node (its lo/hi bounds and glob),
--       entry by entry after `entry`; each row has at most one entry in a
--       prefix or suffix index, so it is visited once
-- visit(member, position) returns true to stop the walk; the walk returns
-- true when a visit stopped it. pre(list) sees each chunk's members first
-- (batched membership tests).

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
-- walks a filter node's BYLEX range from after the index entry `from` (the
-- whole range when nil), calling visit(member, entry) for each entry whose
-- value matches the node's glob and visit(nil, entry) for the others (they
-- were examined too)
local function walkx(nd, from, visit)
  local chunk = 64
  local lo = from and ('(' .. from) or nd.lo
  while true do
    local r = redis.call('ZRANGE', nd.key, lo, nd.hi, 'BYLEX', 'LIMIT', 0, chunk)
    for _, e in ipairs(r) do
      local v, m = splitlex(e)
      if not (v and (not nd.glob or glob_match(nd.glob, v))) then m = nil end
      if visit(m, e) then return true end
    end
    if #r < chunk then return false end
    lo = '(' .. r[#r]
  end
end

-- whether the index entry e lies in a BYLEX range (bounds '-', '+',
-- '[' inclusive or '(' exclusive, then bytes), compared byte-wise as Redis
-- does
local function lexin(e, lo, hi)
  local k, b = string.sub(lo, 1, 1), string.sub(lo, 2)
  if k == '[' and bytelt(e, b) then return false end
  if k == '(' and not bytelt(b, e) then return false end
  k, b = string.sub(hi, 1, 1), string.sub(hi, 2)
  if k == '[' and bytelt(b, e) then return false end
  if k == '(' and not bytelt(e, b) then return false end
  return true
end

-- the rank in zset `key` of the first member after (score, member) in
-- Redis's own order (by score, then by member bytes): one ZRANK when the
-- member is still there with that score, else a binary search of the
-- members of that score (a member removed or moved by a write)
local function rank_after(key, score, member)
  local r = redis.call('ZRANK', key, member)
  if r and redis.call('ZSCORE', key, member) == score then return r + 1 end
  local lo = redis.call('ZCOUNT', key, '-inf', '(' .. score)
  local hi = lo + redis.call('ZCOUNT', key, score, score)
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    local m = redis.call('ZRANGE', key, mid, mid)[1]
    if m and not bytelt(member, m) then lo = mid + 1 else hi = mid end
  end
  return lo
end

-- walks the members of a score range node (key, lo, hi) in Redis's own
-- order, from after the position (score, member) (the start when nil),
-- chunk by chunk by rank: no group of equal scores is read whole, so a
-- count or delete driven by a range of few distinct values resumes in
-- O(log N). visit(member, score) as walk()'s; the position a visit is
-- given is its score, and the member names itself.
local function walkrank(nd, fscore, fid, visit, pre)
  local chunk = 64
  local start
  if fscore then start = rank_after(nd.key, fscore, fid)
  elseif nd.lo == '-inf' then start = 0
  elseif string.sub(nd.lo, 1, 1) == '(' then
    start = redis.call('ZCOUNT', nd.key, '-inf', string.sub(nd.lo, 2))
  else start = redis.call('ZCOUNT', nd.key, '-inf', '(' .. nd.lo) end
  while true do
    local r = redis.call('ZRANGE', nd.key, start, start + chunk - 1, 'WITHSCORES')
    local n = #r / 2
    if n == 0 then return false end
    local list = {}
    for i = 1, n do
      local s = tonumber(r[2 * i])
      if (nd.hiex and s >= nd.hin) or (not nd.hiex and s > nd.hin) then break end
      list[#list + 1] = r[2 * i - 1]
    end
    if pre and #list > 0 then pre(list) end
    for i, m in ipairs(list) do
      if visit(m, r[2 * i]) then return true end
    end
    if #list < n or n < chunk then return false end
    start = start + chunk
  end
end
