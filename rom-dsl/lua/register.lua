-- register.lua: the library's functions, registered under a prefix.
--
-- register(prefix) is called once, when the library is loaded (FUNCTION
-- LOAD): the prefix carries the library's content hash ("rom_<hash>_"), so
-- two versions of an application can run side by side. Each function's flags
-- say what Redis may let it do:
--   no-writes   reads only: may run as FCALL_RO, on a replica too
--   allow-oom   deletes: runs even when the server is over maxmemory
--   (none)      may grow memory: refused before it runs under OOM
-- Functions take (keys, args): the KEYS and ARGV documented in each file.

local function register(prefix)
  local function fn(name, callback, flags)
    -- a function library's locals outlive a call: the server time read by
    -- a call (rows.lua, now_ms) and the key types it checked (typeok) are
    -- forgotten before the next
    local function call(keys, args)
      NOWMS = nil
      if next(TYPED) then TYPED = {} end
      return callback(keys, args)
    end
    redis.register_function{function_name = prefix .. name, callback = call, flags = flags}
  end
  fn('save', PS.save, {})
  fn('commit', commit_main, {})
  fn('delete_graph', delete_graph, {})
  fn('lock', lock_main, {})
  fn('unlock', unlock_main, {'allow-oom'})
  fn('delete', delete_main, {'allow-oom'})
  fn('get', get_main, {'no-writes'})
  fn('structure_read', ST.read, {'no-writes'})
  fn('unique_get', UQ.get, {'no-writes'})
  fn('query', query_main, {'no-writes'})
  fn('query_delete', query_main, {'allow-oom'})
  fn('verify_scan', verify_scan, {'no-writes'})
  fn('verify_rows', verify_rows, {'no-writes'})
  fn('verify_probe', verify_probe, {'no-writes'})
  fn('repair_reindex', repair_reindex, {})
  fn('repair_unindex', repair_unindex, {'allow-oom'})
  fn('repair_unlist', repair_unlist, {'allow-oom'})
  fn('expire', expire_main, {})
  fn('ttl', ttl_main, {'no-writes'})
  fn('sweep', sweep_main, {'allow-oom'})
  fn('xuniq_reserve', XU.reserve, {})
  fn('xuniq_commit', XU.commit, {})
  fn('xuniq_release', XU.release, {'allow-oom'})
  fn('xuniq_settle', XU.settle, {})
  fn('xuniq_probe', XU.probe, {})
  fn('xsave', XU.save, {})
  fn('id_block', IB.block, {})
end
