-- commit.lua: a transaction's rows, of one or more models of one placement,
-- written together: all or nothing.
--
-- commit_main(KEYS, ARGV), the function `commit` (may grow memory: refused
-- under OOM before it runs). Its arguments are the contract CommitArgs
-- (rom-dsl/src/wire/commit.rs), read by commit_args:
--   KEYS  every key any operation touches, each once (cluster routing: they
--         share one hash tag)
--   ARGV  the number of operations, then each: a letter and its fields
--         's' a save: ids, seq, then the fields of `save` from its mode on
--             (save.lua)
--         'd' a delete: numeric_ids flag, ids, row_prefix, tag, the numeric
--             indexes (counted), checks (counted), must_exist flag, member,
--             then the graph of its on_delete rules (cascade.lua's models,
--             counted; none when no rule applies), the expiry set ('' none)
--         'c' a check of a row it read and does not write: row_prefix,
--             member, the expiry set ('' none), 'p' present (then checks,
--             counted) / 'a' absent
--         (an expired row is absent to a check and to a delete)
--         'n' adds to integer columns of a row (increment.lua)
--         'f' a fence: lock key, token; the lock must still hold the token
--             (lock.lua), or nothing is written
--   reply {'ok', r1, r2, ...}: per operation, the member saved, '1'/'0'
--             deleted or not, '' for a check, the new values of an increment
--         | {'expect', i, word, field, ...}: every operation whose row is not
--             as the client expected, by its number (from 1): 'exists' (an
--             insert found the row), 'gone', 'conflict' (with the field),
--             'appeared' (a row read as absent exists), 'lease' (a fence's
--             lock no longer holds its token)
--         | {'failed', i, <a reply of save>}: the first other failure
--   (a fence's result is '')
--
-- The phases of save.lua (find, expect, prepare, allocate, claims, apply)
-- run for every operation in turn: each phase for all operations before the
-- next, and every check before the first write. The shared state of a call
-- (tx_state, save.lua): rows, each row named (an operation per row) with
-- its kind ('s' saved, 'd' deleted, 'c' checked);
-- seqs, the counters advanced; claimed and released, the unique values
-- ("<slot key>\0<value>") claimed (by row) and given up (by member), so that
-- two rows may swap a unique value in one call and may not both take one.

local function take_op()
  local kind = take()
  if kind == 's' then
    local op = {kind = 's', ids = take(), seq = take()}
    return take_save(op)
  elseif kind == 'd' then
    local op = {kind = 'd', numeric_ids = take_flag(), ids = take(), row_prefix = take(), tag = take()}
    op.numeric = take_strings()
    op.checks = take_list(take_check)
    op.must_exist = take_flag()
    op.member = take()
    -- the models its on_delete rules reach (cascade.lua), none without rules
    op.graph = take_list(take_node)
    op.expiry = take()
    return op
  elseif kind == 'n' then
    return take_increment({kind = 'n'})
  elseif kind == 'f' then
    return {kind = 'f', lock = take(), token = take()}
  end
  local op = {kind = 'c', row_prefix = take(), member = take(), expiry = take()}
  op.present = take() == 'p'
  op.checks = op.present and take_list(take_check) or {}
  return op
end

-- KEYS are not read: every key follows from the operations
local function commit_args(_keys, argv)
  reader(argv)
  return {ops = take_list(take_op)}
end

-- a delete or a check: the row's type and existence
local function row_find(op, tx)
  op.row = op.row_prefix .. op.member
  if tx.rows[op.row] then return {'twice', op.row} end
  tx.rows[op.row] = op.kind
  local t = rowtype(op.row)
  if t ~= 'none' and t ~= 'hash' then return {'wrongtype', op.row} end
  op.exists = t == 'hash'
  op.expired = op.exists and expired(op.expiry, op.member)
  return nil
end

local function row_expect(op)
  if op.kind == 'c' and not op.present then
    if op.exists and not op.expired then return {'appeared'} end
    return nil
  end
  if not op.exists or op.expired then
    if op.kind == 'c' or op.must_exist then return {'gone'} end
    return nil
  end
  return check_fields(op.row, op.checks)
end

-- a fence: the lock still holds the lease's token (lock.lua)
local function fence_expect(op)
  if pread('GET', op.lock) ~= op.token then return {'lease'} end
  return nil
end

-- a delete reads the record (delete.lua) and gives up its unique values;
-- with on_delete rules, it reads the whole graph (cascade.lua)
local function delete_prepare(op, tx)
  if not op.exists then return nil end
  if #op.graph > 0 then
    local g, err = graph_collect(op.graph, {op.member}, tx)
    op.g = g
    return err
  end
  NUMIDS, TAG = op.numeric_ids, op.tag
  CHECKED, NUMKEYS = {}, op.numeric
  local err = delete_check(op.row_prefix, op.ids, op.member)
  if err then return err end
  op.rec = CHECKED[op.member]
  for _, e in ipairs(op.rec) do
    if e[3] == 'u' then tx.released[slotkey('u', e[1], e[2]) .. '\0' .. e[2]] = op.member end
  end
  may_write(op.row, DL.WRITES)
  return nil
end

local function delete_apply(op)
  if not op.exists then return '0' end
  -- an expired row is reclaimed, and was not there to delete
  local n = op.expired and '0' or '1'
  if op.g then
    graph_apply(op.g)
    return n
  end
  NUMIDS, TAG = op.numeric_ids, op.tag
  CHECKED, NUMKEYS = {[op.member] = op.rec}, op.numeric
  delete_row(op.row_prefix, op.ids, op.member)
  return n
end

-- the phases of each kind of operation (nil: nothing to do)
local PHASES = {
  find = {s = save_find, d = row_find, c = row_find, n = save_find},
  prepare = {s = save_prepare, d = delete_prepare, n = incr_prepare},
  allocate = {s = save_allocate},
  claims = {s = save_claims, n = save_claims, d = function(op, tx)
    return op.g and graph_claims(op.g, tx)
  end},
}

-- runs a phase over every operation: nil, or the first failure's reply
local function each(ops, tx, phase)
  for i, op in ipairs(ops) do
    local f = phase[op.kind]
    local err = f and f(op, tx)
    if err then
      local out = {'failed', tostring(i)}
      for _, x in ipairs(err) do out[#out + 1] = x end
      return out
    end
  end
  return nil
end

local function commit_main(keys, argv)
  local ops, tx = commit_args(keys, argv).ops, tx_state()
  local err = each(ops, tx, PHASES.find)
  if err then return err end
  -- every row not as the client expected, all reported
  local bad = {'expect'}
  for i, op in ipairs(ops) do
    local e
    if op.kind == 's' then e = save_expect(op)
    elseif op.kind == 'n' then e = incr_expect(op)
    elseif op.kind == 'f' then e = fence_expect(op)
    else e = row_expect(op) end
    if e then
      bad[#bad + 1] = tostring(i); bad[#bad + 1] = e[1]; bad[#bad + 1] = e[2] or ''
    end
  end
  if #bad > 1 then return bad end
  err = each(ops, tx, PHASES.prepare) or each(ops, tx, PHASES.allocate)
    or each(ops, tx, PHASES.claims)
  if err then return err end
  local out = {'ok'}
  for _, op in ipairs(ops) do
    if op.kind == 's' then save_apply(op); out[#out + 1] = op.member
    elseif op.kind == 'n' then save_apply(op); out[#out + 1] = op.result
    elseif op.kind == 'd' then out[#out + 1] = delete_apply(op)
    else out[#out + 1] = '' end
  end
  return out
end
