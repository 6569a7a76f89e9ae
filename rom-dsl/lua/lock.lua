-- lock.lua: advisory row locks with a lease and a fencing token.
--
-- A lock is a string key "<tag>:lock:<member>" holding the token of its
-- holder, which expires with the lease (server time: PX). Tokens come from
-- the model's counter "<tag>:lockseq" (INCR), so each acquisition gets a
-- larger token than every earlier one of the model. A write fenced by a
-- lease (commit's 'f' operation) checks that the lock still holds its token:
-- a holder whose lease ran out, or whose lock another took since, writes
-- nothing.
--
-- lock_main(KEYS, ARGV), the function `lock` (may grow memory), contract
-- LockArgs (rom-dsl/src/wire/lock.rs), read by lock_args:
--   KEYS  the lock key, the token counter
--   ARGV  mode ('a' acquire, 'r' refresh), token (refresh; '' to acquire),
--         lease in milliseconds
--   reply acquire: {'ok', token} | {'held', milliseconds left}
--         refresh: {'ok', token} | {'lost'}
--
-- unlock_main(KEYS, ARGV), the function `unlock` (allow-oom), contract
-- UnlockArgs: KEYS the lock key; ARGV the token. Deletes the lock when it
-- holds the token: reply 1, else 0.

local function lock_args(keys, argv)
  reader(argv)
  return {lock = keys[1], seq = keys[2], mode = take(), token = take(), ms = take()}
end

local function lock_main(keys, argv)
  local d = lock_args(keys, argv)
  if not typeok(d.lock, 'string') then return {'wrongtype', d.lock} end
  if d.mode == 'r' then
    if redis.call('GET', d.lock) ~= d.token then return {'lost'} end
    may_write(d.lock, {PEXPIRE = true})
    redis.call('PEXPIRE', d.lock, d.ms)
    return {'ok', d.token}
  end
  if redis.call('EXISTS', d.lock) == 1 then
    return {'held', tostring(redis.call('PTTL', d.lock))}
  end
  if not typeok(d.seq, 'string') then return {'wrongtype', d.seq} end
  may_write(d.lock, {SET = true, INCR = true})
  local token = tostring(redis.call('INCR', d.seq))
  redis.call('SET', d.lock, token, 'PX', d.ms)
  return {'ok', token}
end

local function unlock_args(keys, argv)
  reader(argv)
  return {lock = keys[1], token = take()}
end

local function unlock_main(keys, argv)
  local d = unlock_args(keys, argv)
  if redis.call('GET', d.lock) ~= d.token then return 0 end
  may_write(d.lock, {DEL = true})
  return redis.call('DEL', d.lock)
end
