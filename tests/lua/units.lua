-- Unit tests of the library's pure functions, run by tests/lua.rs as one
-- EVAL: the library's source, then this file, in one chunk (so the library's
-- local functions are in scope). KEYS[1] is a scratch sorted set.
-- Returns 'ok', or raises an error naming the first failed check. Each
-- section is a do-block, so that its locals do not add up with the
-- library's (a chunk holds at most 200).

local function check(cond, what)
  if not cond then error('lua unit test failed: ' .. what) end
end
local function same(a, b)
  if #a ~= #b then return false end
  for i = 1, #a do if a[i] ~= b[i] then return false end end
  return true
end

-- key order: numeric keys by length then digits, others byte-wise
NUMIDS = true
check(idlt('9', '10'), 'numeric: 9 before 10')
check(not idlt('10', '9'), 'numeric: 10 after 9')
check(not idlt('7', '7'), 'numeric: a key is not before itself')
NUMIDS = false
check(idlt('10', '9'), 'text: "10" before "9"')
check(idlt('a', 'ab'), 'text: a prefix first')
check(idlt('Z', 'a'), 'text: bytes, not locale')
check(idlt('\127', '\128'), 'text: bytes above 127 after')

-- the #i record: round trip, and unreadable records
do
local rec = {{'uniq:email', 'a@x'}, {'eq:name:', ''}, {'pre:t', 'x\0y:z'}}
local back = parse_rec(show_rec(rec))
check(#back == 3, 'record: three entries back')
for i = 1, 3 do
  check(back[i][1] == rec[i][1] and back[i][2] == rec[i][2], 'record: entry ' .. i)
end
check(#parse_rec('') == 0, 'record: empty')
check(#parse_rec(false) == 0, 'record: absent')
check(parse_rec('uniq:email') == nil, 'record: no separator')
check(parse_rec('uniq:email\0' .. '9:abc') == nil, 'record: length past the end')
check(parse_rec('uniq:email\0' .. 'x:abc') == nil, 'record: no length')
check(parse_rec('uniq:email\0' .. '3abc') == nil, 'record: no colon')
check(parse_rec('uniq:email\0' .. '3:abc' .. 'eq:a:') == nil, 'record: a second entry cut short')
check(#parse_rec('\0' .. '0:') == 1 and parse_rec('\0' .. '0:')[1][1] == '', 'record: empty id and value')
check(parse_rec('eq:a:\0' .. '2:ab' .. 'eq:b:\0' .. '0:')[2][2] == '', 'record: an empty last value')
check(claims(rec, 'eq:name:', ''), 'claims: present')
check(not claims(rec, 'eq:name:', 'x'), 'claims: absent')
end

-- slot kinds and keys
TAG = '{t}'
check(slotkind('uniq:a+b') == 'u' and slotkind('eq:a:') == 's' and slotkind('text:b:') == 's', 'kinds u/s')
check(slotkind('pre:a') == 'l' and slotkind('suf:a') == 'l' and slotkind('sort:a') == 'l', 'kinds l')
check(slotkind('num:a') == nil and slotkind('weird') == nil, 'unknown kinds')
check(slotkind('num:a') == nil and slotkind('uniq:a+b') == 'u', 'kinds asked again')
for i = 1, 300 do slotkind('uniq:' .. i) end
check(slotkind('uniq:1') == 'u' and slotkind('weird') == nil, 'kinds past the cache size')
check(slotkey('s', 'eq:name:', 'Ann') == '{t}:eq:name:Ann', 'set key carries the value')
check(slotkey('u', 'uniq:email', 'x') == '{t}:uniq:email', 'hash key does not')
check(slotkey('l', 'pre:name', 'x') == '{t}:pre:name', 'lex key does not')
check(parse_rec('eq:a:\0' .. '1:x')[1][3] == 's', 'a recorded entry knows its kind')
NUMIDS = true
check(lexmember('v', '12') == 'v\0\0\2' .. '12', 'numeric lex member has a length byte')
do
  local v, m = splitlex(lexmember('v\0\254w', '12'))
  check(v == 'v\0\254w' and m == '12', 'splitlex undoes lexmember')
end
NUMIDS = false

-- globs: '*' any run, '?' one character (UTF-8, escaped NUL), literals
do
local function glob(p)
  local toks = {}
  local i = 1
  while i <= #p do
    local c = string.sub(p, i, i)
    if c == '*' or c == '?' then toks[#toks + 1] = c; i = i + 1
    else
      local j = i
      while j <= #p and string.sub(p, j, j) ~= '*' and string.sub(p, j, j) ~= '?' do j = j + 1 end
      local lit = string.sub(p, i, j - 1)
      toks[#toks + 1] = 'L' .. #lit .. ':' .. lit
      i = j
    end
  end
  return glob_compile(parse_glob(table.concat(toks)))
end
local cases = {
  {'a*', 'abc', true}, {'a*', 'ba', false}, {'*c', 'abc', true}, {'*b*', 'abc', true},
  {'a?c', 'abc', true}, {'a?c', 'ac', false}, {'a?c', 'a\195\169c', true},
  {'?', '\0\254', true}, {'??', '\0\254', false}, {'', '', true}, {'', 'a', false},
  {'*', '', true}, {'a*b*c', 'aXbYc', true}, {'a*b*c', 'acb', false},
  {'*ab', 'aab', true}, {'ab*ab', 'ab', false}, {'ab*ab', 'abab', true},
}
for _, c in ipairs(cases) do
  check(glob_match(glob(c[1]), c[2]) == c[3], 'glob ' .. c[1] .. ' on ' .. c[2])
end
end

-- the walk: scores in order, ties by key (numerically), across chunks of 64
do
local z = KEYS[1]
redis.call('DEL', z)
for i = 1, 150 do redis.call('ZADD', z, i % 3, tostring(i)) end
NUMIDS = true
local seen = {}
walk(z, false, nil, nil, function(member, score)
  seen[#seen + 1] = {tonumber(score), tonumber(member)}
  return false
end)
check(#seen == 150, 'walk visits every member once')
for i = 2, #seen do
  local a, b = seen[i - 1], seen[i]
  check(a[1] < b[1] or (a[1] == b[1] and a[2] < b[2]), 'walk order at ' .. i)
end
-- resuming after (score 1, key 100) skips what came before
local after = {}
walk(z, false, '1', '100', function(member) after[#after + 1] = tonumber(member); return false end)
check(after[1] == 103 and #after == 16 + 50, 'walk resumes after the cursor')
-- descending
local desc = {}
walk(z, true, nil, nil, function(member, score) desc[#desc + 1] = tonumber(score); return #desc == 60 end)
check(#desc == 60 and desc[1] == 2 and desc[60] == 1, 'walk descends and stops when asked')
redis.call('DEL', z)
NUMIDS = false
end
check(wcount('0') == 0 and wcount('255') == 255 and wcount('256') == 256 and wcount('07') == 7, 'counts')
check(same({1, 2}, {1, 2}), 'the harness itself')
return 'ok'
