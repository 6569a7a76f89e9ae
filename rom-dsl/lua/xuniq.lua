-- xuniq.lua: unique values across partitions (remote uniques).
--
-- A partitioned model's unique column whose value does not pick the row's
-- bucket (email on users partitioned by id) is claimed in the value's own
-- bucket, U = bucket(value): the claims hash X = `{U}:xuniq:<column>` maps
-- each value to its entry. A write takes several calls (the protocol, its
-- guarantee and the crash table: book/src/placement.md, "Unique columns
-- across partitions"; the client side: rom-dsl/src/plans/xuniq.rs):
--   reserve (in U), then the row's save with a fence check (xsave, in the
--   row's bucket R), then commit (in U); a failed save releases (in U).
-- Entries (the one place their format is written and read):
--   c:<token>:<member>                       committed: row <member> holds it
--   p:<token>:<ms>:<prev>:<member>           pending: attempt <token> of row
--        <member> reserved it at server time <ms> (of U's clock); <prev> is
--        the token of that row's committed entry it replaced, or '-'
-- Tokens are 32 hex digits, new for every attempt, never reused. The row's
-- own bucket keeps its local unique hash as for any unique column, so a row
-- holds a value exactly when that hash names it (xuniq_probe reads it).
--
-- Every name here is a field of one table, XU (the library's chunk has a
-- bounded number of locals). Functions, each one slot:
--
-- XU.reserve (function `xuniq_reserve`)
--   KEYS  X
--   ARGV  value, token, member, expect ('' or the exact entry to replace)
--   reply {'ok'} | {'held', entry, age ms} | {'moved', entry or ''}
--         | {'wrongtype', X}
--   Absent, or this row's committed entry: becomes pending for the attempt
--   (with the committed token as prev). Another row's entry, or any pending
--   one: 'held' with its age (0 for committed). With expect, only that exact
--   entry is replaced ('moved' when the entry is another now).
-- XU.commit (function `xuniq_commit`)
--   KEYS  X;  ARGV  value, token, member
--   reply {'ok'} | {'lost', entry or ''}: pending of the token -> committed;
--         already committed by the token: ok
-- XU.release (function `xuniq_release`, allow-oom)
--   KEYS  X;  ARGV  value, token
--   reply {'ok'}: the attempt's pending entry is dropped, or restored to the
--         row's committed entry it replaced; any other entry is left alone
-- XU.settle (function `xuniq_settle`)
--   KEYS  X;  ARGV  value, expected entry ('' none), new entry ('' deletes)
--   reply {'ok'} | {'moved', entry or ''}: compare and set
-- XU.probe (function `xuniq_probe`)
--   KEYS  the local unique hash of the owner's bucket, the owner's row, the
--         bucket's fence hash
--   ARGV  value, member, fence token ('' for none)
--   reply {'1'} the row holds the value | {'0'} it does not
--   With a fence token, first records the fence: from then on xsave refuses
--   the fenced attempt, so a row that does not hold the value now never will
--   by that attempt. Fences older than a day are removed as new ones come.
-- XU.save (function `xsave`)
--   KEYS  the fence hash of the row's bucket, then `save`'s KEYS
--   ARGV  the attempt's token, then `save`'s ARGV (rom-dsl/src/wire/save.rs)
--   reply {'revoked'} when the attempt is fenced (nothing written), else
--         `save`'s reply

local XU = {}

-- how long a fence is kept (ms): longer than any call can wait in a queue
XU.FENCE_MS = 86400000

-- the entry's parts: kind ('c'/'p'), token, ms, prev, member
function XU.parse(e)
  if string.sub(e, 1, 2) == 'c:' then
    local t, m = string.match(e, '^c:(%x+):(.*)$')
    return 'c', t, 0, '-', m
  end
  local t, ms, prev, m = string.match(e, '^p:(%x+):(%d+):([%x%-]+):(.*)$')
  return 'p', t, tonumber(ms), prev, m
end

function XU.read(x, v)
  local cur = pread('HGET', x, v)
  if type(cur) == 'table' then return nil, {'wrongtype', x} end
  return cur or nil, nil
end

function XU.pending(t, prev, m)
  return 'p:' .. t .. ':' .. string.format('%d', now_ms()) .. ':' .. prev .. ':' .. m
end

-- The decoders: each function's arguments by the names of its contract
-- (rom-dsl/src/wire/xuniq.rs).
function XU.reserve_args(keys, argv)
  return {claims = keys[1], value = argv[1], token = argv[2], member = argv[3], expect = argv[4]}
end

-- commit (value, token, member) and release (value, token)
function XU.attempt_args(keys, argv)
  return {claims = keys[1], value = argv[1], token = argv[2], member = argv[3] or ''}
end

function XU.settle_args(keys, argv)
  return {claims = keys[1], value = argv[1], expect = argv[2], new = argv[3]}
end

function XU.probe_args(keys, argv)
  return {unique = keys[1], row = keys[2], fences = keys[3], value = argv[1], member = argv[2],
    fence = argv[3]}
end

-- the fence part, then the save's own KEYS and ARGV
function XU.save_args(keys, argv)
  local k, a = {}, {}
  for i = 2, #keys do k[i - 1] = keys[i] end
  for i = 2, #argv do a[i - 1] = argv[i] end
  return {fences = keys[1], token = argv[1], keys = k, argv = a}
end

function XU.reserve(keys, argv)
  local d = XU.reserve_args(keys, argv)
  local x, v, t, m, expect = d.claims, d.value, d.token, d.member, d.expect
  local cur, err = XU.read(x, v)
  if err then return err end
  if expect ~= '' then
    if cur ~= expect then return {'moved', cur or ''} end
    redis.call('HSET', x, v, XU.pending(t, '-', m))
    return {'ok'}
  end
  if not cur then
    redis.call('HSET', x, v, XU.pending(t, '-', m))
    return {'ok'}
  end
  local kind, tok, ms, _, owner = XU.parse(cur)
  if kind == 'c' and owner == m then
    redis.call('HSET', x, v, XU.pending(t, tok, m))
    return {'ok'}
  end
  if kind == 'c' or not ms then return {'held', cur, '0'} end
  return {'held', cur, string.format('%d', math.max(0, now_ms() - ms))}
end

function XU.commit(keys, argv)
  local d = XU.attempt_args(keys, argv)
  local x, v, t, m = d.claims, d.value, d.token, d.member
  local cur, err = XU.read(x, v)
  if err then return err end
  local done = 'c:' .. t .. ':' .. m
  if cur == done then return {'ok'} end
  if cur and string.sub(cur, 1, 3 + #t) == 'p:' .. t .. ':' then
    redis.call('HSET', x, v, done)
    return {'ok'}
  end
  return {'lost', cur or ''}
end

function XU.release(keys, argv)
  local d = XU.attempt_args(keys, argv)
  local x, v, t = d.claims, d.value, d.token
  local cur, err = XU.read(x, v)
  if err then return err end
  if cur and string.sub(cur, 1, 3 + #t) == 'p:' .. t .. ':' then
    local _, _, _, prev, m = XU.parse(cur)
    if prev and prev ~= '-' then redis.call('HSET', x, v, 'c:' .. prev .. ':' .. m)
    else redis.call('HDEL', x, v) end
  end
  return {'ok'}
end

function XU.settle(keys, argv)
  local d = XU.settle_args(keys, argv)
  local x, v, expect, new = d.claims, d.value, d.expect, d.new
  local cur, err = XU.read(x, v)
  if err then return err end
  if (cur or '') ~= expect then return {'moved', cur or ''} end
  if new == '' then redis.call('HDEL', x, v) else redis.call('HSET', x, v, new) end
  return {'ok'}
end

function XU.probe(keys, argv)
  local d = XU.probe_args(keys, argv)
  local uniq, row, fences = d.unique, d.row, d.fences
  local v, m, t = d.value, d.member, d.fence
  if t ~= '' then
    if not typeok(fences, 'hash') then return {'wrongtype', fences} end
    local now = now_ms()
    -- old fences go as new ones come (they are rare: one per stalled attempt)
    if redis.call('HLEN', fences) > 64 then
      local all = redis.call('HGETALL', fences)
      for i = 1, #all, 2 do
        local until_ms = tonumber(all[i + 1])
        if until_ms and until_ms > 0 and until_ms < now then redis.call('HDEL', fences, all[i]) end
      end
    end
    redis.call('HSET', fences, t, string.format('%d', now + XU.FENCE_MS))
  end
  local owner = pread('HGET', uniq, v)
  if type(owner) == 'table' then return {'wrongtype', uniq} end
  if owner == m and pread('EXISTS', row) == 1 then return {'1'} end
  return {'0'}
end

function XU.save(keys, argv)
  local d = XU.save_args(keys, argv)
  local fences, t = d.fences, d.token
  local held = pread('HEXISTS', fences, t)
  if type(held) == 'table' then return {'wrongtype', fences} end
  if held == 1 then return {'revoked'} end
  local reply = PS.save(d.keys, d.argv)
  -- the fence hash exists from the bucket's first save on, so that a later
  -- save, which declares it, never names a missing key (a call naming a
  -- missing key in a migrating slot is answered TRYAGAIN until it moves)
  if reply[1] == 'ok' and held == 0 and redis.call('EXISTS', fences) == 0 then
    redis.call('HSET', fences, '-', '0')
  end
  return reply
end
