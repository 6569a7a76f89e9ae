-- save.lua: inserting or updating rows, all or nothing.
--
-- save_main(KEYS, ARGV), the function `save` (may grow memory: refused under
-- OOM before it runs). Its arguments are the contract SaveArgs
-- (rom-dsl/src/wire/save.rs; the encoding: rom-dsl/src/wire/mod.rs), read by
-- save_args:
--   KEYS  ids, seq (the auto-increment counter), then (declared for cluster
--         routing) the row key when known, the numeric indexes and the keys
--         of the new index entries
--   ARGV  mode ('i' insert, 'u' update of a record, 'p' put: insert or
--         overwrite), member ('' to allocate a key), numeric_ids flag,
--         row_prefix, tag, then four counted lists:
--         checks   (field, '1' present / '0' absent, expected value)
--         writes   (field, 's' set / 'd' delete, value)
--         numeric  (index key, 'a' add / 'r' remove, score)
--         touched  (slot id, kind 'u'/'s'/'l', counted list of the values)
--         (the rest, the tail, is left out when it says nothing in a call
--         of one save: the end of ARGV reads as no parents, no expiry and
--         no structures)
--         parents  (field, parent row key, the parent model's expiry set or
--                  '', parent member): rows this row references, which must
--                  exist and be live (or be saved by the same call, and not
--                  deleted)
--         then the expiry (rom-dsl/src/wire/expiry.rs): the model's expiry
--         set ('' when its rows never expire), the deadline ('k' keep, 'p'
--         none, 't' ms from now, 'a' at Unix ms) and its number, and the keys
--         to reclaim expired rows with (counted: the model's numeric indexes
--         and expiry set; none: reclaim nothing), then the structures
--         (structures.lua: one per structure field, with its writes)
--   reply {'ok', member} | {'exists'} | {'gone'} | {'conflict', field}
--         | {'unique', slot id, value} | {'wrongtype', key}
--         | {'badrecord', row} | {'noparent', field, parent row}
--
-- A save is done in the phases below, which `commit` (commit.lua) also runs
-- for each save of a transaction: every phase of every row runs before the
-- first write. Each phase takes the decoded save (`op`) and the call's shared
-- state `tx` (see tx_state in commit.lua: the rows it names, the counters it
-- advanced, the unique values it claims and releases).

-- a write {field, set, value}: field, 's' set / 'd' delete, value
local function take_write()
  local p = WP
  WP = p + 3
  return {field = WA[p], set = WA[p + 1] == 's', value = WA[p + 2]}
end

-- a touched slot {id, kind, values}: slot id, kind letter, counted values
local function take_touched()
  local id, kind = WA[WP], WA[WP + 1]
  WP = WP + 2
  return {id = id, kind = kind, values = take_strings()}
end

-- a referenced parent {field, row, exp, member}
local function take_parent()
  local p = WP
  WP = p + 4
  return {field = WA[p], row = WA[p + 1], exp = WA[p + 2], member = WA[p + 3]}
end

-- the expiry part of a write {key, deadline letter, n, reclaim keys}
local function take_expiry()
  local e = {key = take(), how = take(), n = take()}
  e.reclaim = take_strings()
  return e
end

-- the fields of a save after ids and seq, into op (shared with commit's reader)
local function take_save(op)
  op.mode = take()
  op.member = take()
  op.numeric_ids = take_flag()
  op.row_prefix = take()
  op.tag = take()
  op.checks = take_list(take_check)
  op.writes = take_list(take_write)
  op.numeric = take_list(take_numop)
  op.touched = take_list(take_touched)
  if WA[WP] == nil then
    -- the tail left out (a save alone in its call): no parents, no expiry,
    -- no structures
    op.parents, op.structs = {}, {}
    op.expiry = {key = '', how = 'k', n = '', reclaim = {}}
    return op
  end
  op.parents = take_list(take_parent)
  op.expiry = take_expiry()
  op.structs = take_list(ST.take)
  return op
end

local function save_args(keys, argv)
  reader(argv)
  return take_save({ids = keys[1], seq = keys[2]})
end

-- phase 1: the row's type and existence. nil, or the failure reply
local function save_find(op, tx)
  op.exists = false
  if op.member ~= '' then
    op.row = op.row_prefix .. op.member
    if tx.rows[op.row] then return {'twice', op.row} end
    tx.rows[op.row] = 's'
    local t = rowtype(op.row)
    if t ~= 'none' and t ~= 'hash' then return {'wrongtype', op.row} end
    op.exists = t == 'hash'
    -- an expired row is absent to the client: an insert or a put writes
    -- over it (every column, see save_parts), an update finds no row
    op.expired = op.exists and expired(op.expiry.key, op.member)
  end
  return nil
end

-- phase 2: what the client expects of the row. nil, or {'exists'} (an insert
-- found it), {'gone'} (an update did not), {'conflict', field}
local function save_expect(op)
  if op.mode == 'i' and op.exists and not op.expired then return {'exists'} end
  if op.mode == 'u' and (not op.exists or op.expired) then return {'gone'} end
  return check_fields(op.row, op.checks)
end

-- phase 3: everything else read before writing: the record, the type of
-- every key it writes, the user's rights; notes the unique values it claims
-- (op.claims) and the ones it gives up (tx.released)
local function save_prepare(op, tx)
  NUMIDS, TAG = op.numeric_ids, op.tag
  -- the rows it references exist, or are saved (not deleted) by this call
  for _, p in ipairs(op.parents) do
    local mark = tx.rows[p.row]
    if mark == 'd' or (mark ~= 's' and (pread('EXISTS', p.row) == 0 or expired(p.exp, p.member))) then
      return {'noparent', p.field, p.row}
    end
  end
  local rec, touched = {}, op.touched
  -- the record matters only when a keyed index changes, or for structures
  -- (ST.reads_record)
  if op.exists and (#touched > 0 or ST.reads_record(op)) then
    rec = parse_rec(redis.call('HGET', op.row, '#i'))
    if not rec then return {'badrecord', op.row} end
  end
  op.rec = rec
  -- every key this call will write must be absent or of its type. Where a
  -- read of the key comes anyway, the read is the check (a TYPE costs as
  -- much as the read): the counter's GET in save_allocate, each claimed
  -- unique value's HGET in save_claims. The key list is written only for a
  -- new row.
  if not op.exists and not typeok(op.ids, 'zset') then return {'wrongtype', op.ids} end
  for _, z in ipairs(op.numeric) do
    if not typeok(z.key, 'zset') then return {'wrongtype', z.key} end
  end
  local is_touched, wanted = {}, {}
  for _, t in ipairs(touched) do
    is_touched[t.id] = true
    for _, v in ipairs(t.values) do
      local key = slotkey(t.kind, t.id, v)
      if t.kind == 'u' then wanted[#wanted + 1] = {key = key, id = t.id, v = v}
      elseif not typeok(key, WANT[t.kind]) then return {'wrongtype', key} end
    end
  end
  for _, e in ipairs(rec) do
    local kind = e[3]
    if is_touched[e[1]] and kind then
      local key = slotkey(kind, e[1], e[2])
      if not typeok(key, WANT[kind]) then return {'wrongtype', key} end
      if kind == 'u' then tx.released[key .. '\0' .. e[2]] = op.member end
    end
  end
  op.is_touched, op.claims = is_touched, wanted
  -- every write command this call will run must be allowed to the user
  local need = {HSET = true}
  if op.member == '' then need.SET = true end
  if not op.exists then need.ZADD = true end
  for _, z in ipairs(op.numeric) do need[z.add and 'ZADD' or 'ZREM'] = true end
  for _, w in ipairs(op.writes) do
    if not w.set then need.HDEL = true; if op.exists then need.HSETNX = true end end
  end
  for _, t in ipairs(touched) do
    for _, c in ipairs(KIND_WRITES[t.kind]) do need[c] = true end
  end
  may_write(op.row or op.row_prefix, need)
  if op.expiry.key ~= '' then
    if not typeok(op.expiry.key, 'zset') then return {'wrongtype', op.expiry.key} end
    may_write(op.expiry.key, {ZADD = true, ZREM = true})
  end
  return ST.prepare(op)
end

-- a key for a new row: the counter's next value after seq (nil: the stored
-- one) that names no row (stored, or in taken: named by another row of the
-- call), found by reading only. member, row, counter; or the failure reply
local function next_key(seqk, rowp, seq, taken)
  if not seq then
    -- (the GET is also the counter's type check: an error for a non-string)
    local v = pread('GET', seqk)
    seq = type(v) ~= 'table' and tonumber(v or '0')
    if not seq or seq < 0 or seq ~= math.floor(seq) then return {'wrongtype', seqk} end
  end
  local m, row
  repeat
    seq = seq + 1
    m = string.format('%d', seq)
    row = rowp .. m
  until not (taken and taken[row]) and pread('EXISTS', row) == 0
  return m, row, seq
end

-- phase 4: a key for a new row (next_key)
local function save_allocate(op, tx)
  if op.member ~= '' then return nil end
  local m, row, seq = next_key(op.seq, op.row_prefix, tx.seqs[op.seq], tx.rows)
  if not row then return m end
  tx.seqs[op.seq] = seq
  tx.rows[row] = 's'
  op.member, op.row, op.allocated = m, row, true
  return nil
end

-- whether unique value v (in the unique hash key) is held by a row other
-- than member: its owner's row exists and is live. An owner removed from
-- outside, or expired, holds nothing (its stale entry is overwritten; removing
-- the expired row later leaves an entry it does not own); so does `free`, an
-- owner that gives the value up in the same call. true or false, or the
-- failure reply for a key of another type (the HGET is the type check).
local function unique_held(key, v, member, rowp, exp, free)
  local owner = pread('HGET', key, v)
  if type(owner) == 'table' then return {'wrongtype', key} end
  return owner and owner ~= member and owner ~= free
    and pread('EXISTS', rowp .. owner) == 1 and not expired(exp, owner) or false
end

-- phase 5: the unique values it claims are free: unowned, owned by this row,
-- by a row that is gone (removed by another program, or evicted: the stale
-- entry is overwritten), or by a row that gives the value up in this call;
-- and no other row of the call claims them
local function save_claims(op, tx)
  for _, c in ipairs(op.claims) do
    local k = c.key .. '\0' .. c.v
    local other = tx.claimed[k]
    if other and other ~= op.row then return {'unique', c.id, c.v} end
    tx.claimed[k] = op.row
    local held = unique_held(c.key, c.v, op.member, op.row_prefix, op.expiry.key, tx.released[k])
    if held == true then return {'unique', c.id, c.v} end
    if held then return held end
  end
  return nil
end

-- phase 6: the writes
local function save_apply(op)
  NUMIDS, TAG = op.numeric_ids, op.tag
  local m, row, touched = op.member, op.row, op.touched
  if op.allocated then redis.call('SET', op.seq, m) end
  local hset, hdel = {row}, {row}
  for _, w in ipairs(op.writes) do
    if w.set then hset[#hset + 1] = w.field; hset[#hset + 1] = w.value
    else hdel[#hdel + 1] = w.field end
  end
  -- the new record, when it changes
  local out = nil
  if #touched > 0 then
    -- move the touched slots' entries
    out = {}
    for _, e in ipairs(op.rec) do
      if op.is_touched[e[1]] then unindex(e[3], e[1], e[2], m) else out[#out + 1] = e end
    end
    for _, t in ipairs(touched) do
      for _, v in ipairs(t.values) do
        index(t.kind, t.id, v, m)
        out[#out + 1] = {t.id, v}
      end
    end
  elseif not op.exists then
    -- the record is also the row's marker: always present, maybe empty
    out = {}
  end
  -- it names the row's structures
  if ST.record(op, out or op.rec) then out = out or op.rec end
  if out then hset[#hset + 1] = '#i'; hset[#hset + 1] = show_rec(out) end
  if #hdel > 1 then redis.call('HDEL', unpack(hdel)) end
  if #hset > 1 then redis.call('HSET', unpack(hset)) end
  -- a row exists apart from its values: when its last column became null, the
  -- marker keeps the hash (rows written before the marker may lack it)
  if op.exists and #hdel > 1 and #touched == 0 then redis.call('HSETNX', row, '#i', '') end
  -- an existing row is listed already
  if not op.exists then redis.call('ZADD', op.ids, NUMIDS and m or 0, m) end
  for _, z in ipairs(op.numeric) do
    if z.add then redis.call('ZADD', z.key, z.score, m) else redis.call('ZREM', z.key, m) end
  end
  local e = op.expiry
  if e.key ~= '' then
    -- an expired row written over starts without its old deadline
    local how = e.how
    if how == 'k' and op.expired then how = 'p' end
    if how == 't' then redis.call('ZADD', e.key, now_ms() + tonumber(e.n), m)
    elseif how == 'a' then redis.call('ZADD', e.key, tonumber(e.n), m)
    elseif how == 'p' then redis.call('ZREM', e.key, m) end
  end
  ST.apply(op)
end

-- reclaiming expired rows in a write: up to RECLAIM rows of the model whose
-- deadline passed (not the row the write names), read and checked here,
-- deleted by reclaim_apply after the write. Each is a complete delete of a
-- row no read sees, so the write's own result does not depend on it.
local RECLAIM = 2
local function reclaim_find(op)
  local e = op.expiry
  if e.key == '' or #e.reclaim == 0 then return {} end
  local due = redis.call('ZRANGE', e.key, '-inf', now_ms(), 'BYSCORE', 'LIMIT', 0, RECLAIM + 1)
  CHECKED, NUMKEYS = {}, e.reclaim
  local out = {}
  for _, m in ipairs(due) do
    if m ~= op.member and #out < RECLAIM and not delete_check(op.row_prefix, op.ids, m) then
      out[#out + 1] = m
    end
  end
  if #out > 0 then may_write(op.row_prefix .. out[1], DL.WRITES) end
  return out
end
local function reclaim_apply(op, due)
  for _, m in ipairs(due) do
    delete_row(op.row_prefix, op.ids, m)
    -- a row gone from outside still leaves its deadline
    redis.call('ZREM', op.expiry.key, m)
  end
end

-- a fresh shared state for one call (commit.lua documents its fields)
local function tx_state()
  return {rows = {}, seqs = {}, claimed = {}, released = {}}
end

local function save_main(keys, argv)
  local op, tx = save_args(keys, argv), tx_state()
  local err = save_find(op, tx) or save_expect(op) or save_prepare(op, tx)
    or save_allocate(op, tx) or save_claims(op, tx)
  if err then return err end
  local due = reclaim_find(op)
  save_apply(op)
  reclaim_apply(op, due)
  return {'ok', op.member}
end
