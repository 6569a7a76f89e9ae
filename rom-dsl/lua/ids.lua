-- ids.lua: blocks of auto-increment keys for partitioned models
-- (rom-dsl/src/plans/ids.rs), with the check that the model's number of
-- buckets is the one its data was written with.
--
-- IB.block (function `id_block`). Its arguments are the contract
-- IdBlockArgs (rom-dsl/src/wire/ids.rs), read by IB.args:
--   KEYS  the model's counter (`{ns}:seq`), its partitions marker
--         (`{ns}:partitions`), both under the model's base tag
--   ARGV  the block's size, the declared number of buckets
--   reply {'ok', last key of the block} | {'partitions', stored number}
--         | {'wrongtype', key}
--   The marker holds the number of buckets the model's keys were made for
--   (set by the first block). Another number means every key name changed:
--   rows written before are under other hash tags, where no operation
--   looks; nothing is reserved and the client reports it.
--
-- Every name here is a field of one table, IB (the library's chunk has a
-- bounded number of locals).

local IB = {}

function IB.args(keys, argv)
  return {seq = keys[1], marker = keys[2], size = argv[1], buckets = argv[2]}
end

function IB.block(keys, argv)
  local d = IB.args(keys, argv)
  local stored = pread('GET', d.marker)
  if type(stored) == 'table' then return {'wrongtype', d.marker} end
  if stored and stored ~= d.buckets then return {'partitions', stored} end
  local seq = pread('GET', d.seq)
  if type(seq) == 'table' or (seq and not tonumber(seq)) then return {'wrongtype', d.seq} end
  if not stored then redis.call('SET', d.marker, d.buckets) end
  return {'ok', tostring(redis.call('INCRBY', d.seq, d.size))}
end
