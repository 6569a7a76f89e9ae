-- glob.lua: the matcher of `like` patterns over index values.
--
-- Arguments: none (pure helpers). A pattern travels as 'G' followed by tokens:
-- '*' any run of characters, '?' one character, 'L<len>:<bytes>' a literal.
-- A character is one UTF-8 sequence; an escaped NUL ("\0\xFE", how index
-- values hold a NUL) is one character of two bytes.

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
