-- wire.lua: reading a call's ARGV, for every decoder (`save_args`...).
--
-- The encoding is documented once, in rom-dsl/src/wire/mod.rs: scalars,
-- flags ('1'/'0'), letters, decimal numbers, and counted lists (the count,
-- then each item), read left to right with one cursor. Each entry function
-- first calls its decoder, which returns the call's fields by name (the names
-- of the Rust contract type, rom-dsl/src/wire/<function>.rs).
--
-- The cursor is two upvalues (the arguments and the next position), set by
-- reader(argv) at the start of a decoder: no table per call, and a read is
-- two upvalue accesses (decoding runs on every call, so it is kept cheap).

local WA, WP = {}, 1

-- start reading argv at position pos (1 when omitted)
local function reader(argv, pos)
  WA, WP = argv, pos or 1
end

-- the position of the next argument
local function wire_pos()
  return WP
end

-- the next argument
local function take()
  local v = WA[WP]
  WP = WP + 1
  return v
end

local function take_flag()
  local v = WA[WP]
  WP = WP + 1
  return v == '1'
end

-- a counted list: the count, then each item read by item()
local function take_list(item)
  local n, out = wcount(take()), {}
  for i = 1, n do out[i] = item() end
  return out
end

-- a counted list of plain arguments
local function take_strings()
  local n = wcount(WA[WP])
  local out = {}
  for i = 1, n do out[i] = WA[WP + i] end
  WP = WP + n + 1
  return out
end

-- the arguments from the cursor to the end
local function take_rest()
  local out = {}
  for i = WP, #WA do out[#out + 1] = WA[i] end
  WP = #WA + 1
  return out
end

-- a numeric index change {key, add, score}: key, 'a' add / 'r' remove, score
local function take_numop()
  local p = WP
  WP = p + 3
  return {key = WA[p], add = WA[p + 1] == 'a', score = WA[p + 2]}
end

-- a check {field, present, value}: field, '1' present / '0' absent, value
local function take_check()
  local p = WP
  WP = p + 3
  return {field = WA[p], present = WA[p + 1] == '1', value = WA[p + 2]}
end
