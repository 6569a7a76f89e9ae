-- wire.lua: reading a call's ARGV, for every decoder (`save_args`...).
--
-- The encoding is documented once, in rom-dsl/src/wire/mod.rs: scalars,
-- flags ('1'/'0'), letters, decimal numbers, and counted lists (the count,
-- then each item), read left to right with one cursor. Each entry function
-- first calls its decoder, which returns the call's fields by name (the names
-- of the Rust contract type, rom-dsl/src/wire/<function>.rs).

-- a cursor over ARGV, from position pos (1 when omitted)
local function reader(argv, pos)
  return {argv = argv, pos = pos or 1}
end

-- the next argument
local function take(r)
  local v = r.argv[r.pos]
  r.pos = r.pos + 1
  return v
end

local function take_flag(r)
  return take(r) == '1'
end

-- a counted list: the count, then each item read by item(r)
local function take_list(r, item)
  local n, out = tonumber(take(r)), {}
  for i = 1, n do out[i] = item(r) end
  return out
end

-- the arguments from the cursor to the end
local function take_rest(r)
  local out = {}
  for i = r.pos, #r.argv do out[#out + 1] = r.argv[i] end
  r.pos = #r.argv + 1
  return out
end

-- a numeric index change {key, add, score}: key, 'a' add / 'r' remove, score
local function take_numop(r)
  return {key = take(r), add = take(r) == 'a', score = take(r)}
end

-- a check {field, present, value}: field, '1' present / '0' absent, value
local function take_check(r)
  return {field = take(r), present = take_flag(r), value = take(r)}
end
