-- query_args.lua: the query interpreter's arguments and per-call state.
--
-- query_args(KEYS, ARGV) decodes the contract QueryArgs (its layout is in
-- query.lua's header; rom-dsl/src/wire/query.rs) into a table; query_main
-- (query.lua) copies it into the locals below, which the interpreter reads.
-- take_filter reads one filter node in prefix order. spend() charges the
-- call's budget.

-- the call's parameters (set by query_main)
local rowp, ids, mode, zkey, desc, lexslot, offset, limit, cphase, cscore, cid, fields
-- the filter tree, the number of rows, and (rows mode) the rows read
local root, TOTAL, ROWS
-- rows mode: the references whose parent rows are returned with each row
local include = {}
-- the model's expiry set ('' when its rows never expire)
local EXPKEY = ''
-- the call's budget (one table: Lua allows the library's main chunk 200
-- locals):
--   B.budget   the units of work the call may do (0: no bound)
--   B.spent    the units done so far
--   B.more     where the walk stopped when the budget ran out ({phase,
--              score, member}: the next call resumes after it), else nil
--   B.skipped  the rows skipped for the offset in this call
--   B.nodes    the filter's range nodes by number (a stepped count or
--              delete names the one it walks in its cursor)
--   B.step     what examining one entry of a walk costs: reading it, and
--              testing it against each part of the filter it is not known
--              to match (set by query_main and drive: 1 + the tests)
--   B.DELETE, B.ROW   what a deleted row, and a row (or its selected
--              fields) read for the reply, cost more
local B = {budget = 0, spent = 0, more = nil, skipped = 0, nodes = {}, step = 1, DELETE = 4, ROW = 2}

-- charges one examined entry at `phase`, `score`, `member`; true (stop)
-- when the budget is spent, after recording that position
local function spend(phase, score, member)
  B.spent = B.spent + B.step
  if B.budget > 0 and B.spent >= B.budget then
    B.more = {phase, score, member}
    return true
  end
  return false
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
    B.nodes[#B.nodes + 1] = nd; nd.no = #B.nodes
    return nd
  elseif op == 'X' then
    local nd = {op = 'X', key = take(), lo = take(), hi = take(), globsrc = take(), slot = take()}
    if nd.globsrc ~= '' then nd.glob = glob_compile(parse_glob(string.sub(nd.globsrc, 2))) end
    B.nodes[#B.nodes + 1] = nd; nd.no = #B.nodes
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
  d.budget = tonumber(take())
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
  B.nodes = {}
  d.filter = take_filter()
  return d
end

