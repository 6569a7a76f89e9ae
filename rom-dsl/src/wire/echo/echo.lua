-- echo.lua: the Lua side of the echo tests (rom-dsl/src/wire/echo/). Each
-- echo_<contract>(KEYS, ARGV) runs the contract's decoder from the library
-- (loaded before this file) and returns the decoded named fields as a nested
-- array, in the order of the Rust type's fields, for the test to read back
-- and compare with what it encoded.
--
-- The file is one function returning the table ECHO, so that its helpers
-- do not count toward the 200 locals Lua allows the library's main chunk.

local ECHO = (function()

local function flag(b) if b then return '1' end return '0' end
local function list(t, f)
  local out = {}
  for i, x in ipairs(t) do out[i] = f(x) end
  return out
end
local function int(x) return string.format('%d', x) end
local function numop(z) return {z.key, flag(z.add), z.score} end
local function check(c) return {c.field, flag(c.present), c.value} end
local function slot(sl) return {sl.id, sl.kind} end

-- the fields of a save (save.lua's take_save), from the mode on
local function save_fields(d)
  return {d.ids, d.seq, d.mode, d.member, flag(d.numeric_ids), d.row_prefix, d.tag,
    list(d.checks, check),
    list(d.writes, function(w) return {w.field, flag(w.set), w.value} end),
    list(d.numeric, numop),
    list(d.touched, function(t) return {t.id, t.kind, t.values} end),
    list(d.parents, function(p) return {p.field, p.row, p.exp, p.member} end),
    {d.expiry.key, d.expiry.how, d.expiry.n, d.expiry.reclaim},
    list(d.structs, function(s)
      return {s.id, s.index, s.kind, s.version, list(s.ops, function(o) return {o.letter, o.args} end)}
    end)}
end

local function echo_save(keys, argv)
  return save_fields(save_args(keys, argv))
end

local function echo_delete(keys, argv)
  local d = delete_args(keys, argv)
  return {d.ids, flag(d.numeric_ids), d.row_prefix, d.tag, d.numeric,
    list(d.checks, check), d.expiry, d.members}
end

local function echo_get(keys, argv)
  local d = get_args(keys, argv)
  return {d.rows, d.exp, d.members}
end

local function echo_graph(keys, argv)
  local d = graph_args(keys, argv)
  return {list(d.models, function(n)
    return {n.name, flag(n.numeric_ids), n.ids, n.row_prefix, n.tag, n.numeric, n.expiry,
      list(n.rels, function(r)
        return {int(r.child), r.rule, r.field, r.eq, r.numkey, list(r.slots, slot),
          r.default, r.score}
      end)}
  end), d.members}
end

local function echo_commit(keys, argv)
  local d = commit_args(keys, argv)
  return list(d.ops, function(op)
    if op.kind == 's' then return {'s', save_fields(op)}
    elseif op.kind == 'd' then
      return {'d', {flag(op.numeric_ids), op.ids, op.row_prefix, op.tag, op.numeric,
        list(op.checks, check), flag(op.must_exist), op.member,
        list(op.graph, function(n) return n.name end), op.expiry}}
    elseif op.kind == 'n' then
      return {'n', {flag(op.numeric_ids), op.ids, op.row_prefix, op.tag, op.member,
        op.expiry.key, list(op.adds, function(a)
          return {a.field, int(a.by), int(a.min), int(a.max), a.numkey, list(a.slots, slot)}
        end)}}
    elseif op.kind == 'f' then return {'f', {op.lock, op.token}}
    end
    return {'c', {op.row_prefix, op.member, op.expiry, flag(op.present), list(op.checks, check)}}
  end)
end

local function filter_node(n)
  if n.op == 'A' or n.op == 'O' then return {n.op, list(n.kids, filter_node)}
  elseif n.op == 'N' then return {'N', filter_node(n.kid)}
  elseif n.op == 'S' then return {'S', n.key}
  elseif n.op == 'U' then return {'U', n.key, n.val}
  elseif n.op == 'R' then return {'R', n.key, n.lo, n.hi}
  elseif n.op == 'X' then return {'X', n.key, n.lo, n.hi, n.globsrc, n.slot}
  end
  return {n.op}
end

local function echo_query(keys, argv)
  local d = query_args(keys, argv)
  local out = {d.ids, d.row_prefix, flag(d.numeric_ids), d.expiry,
    d.include and 'with' or d.mode, d.fields, d.order_key, flag(d.desc), d.lex_slot or '',
    tostring(d.offset), d.limit and tostring(d.limit) or '',
    {d.cursor.phase, d.cursor.score, d.cursor.member}, tostring(d.budget), filter_node(d.filter)}
  if d.include then
    out[#out + 1] = list(d.include, function(i) return {i.kind, i.at, i.prefix, i.exp} end)
  end
  if d.mode == 'delete' then
    -- the graph's own echo is echo_graph's: here, that it is read in place
    out[#out + 1] = {d.tag, d.numeric, list(d.graph, function(n)
      return {n.name, n.ids, #n.rels}
    end)}
  end
  return out
end

local function echo_lock(keys, argv)
  local d = lock_args(keys, argv)
  return {d.lock, d.seq, d.mode, d.token, d.ms}
end

local function echo_unlock(keys, argv)
  local d = unlock_args(keys, argv)
  return {d.lock, d.token}
end

local function echo_scan(keys, argv)
  local d = scan_args(keys, argv)
  return {d.ids, d.cursor, d.pattern, d.count}
end

local function echo_rows(keys, argv)
  local d = rows_args(keys, argv)
  return {d.ids, list(d.rows, function(r) return {r.key, r.member} end), d.exp}
end

local function echo_probe(keys, argv)
  local d = probe_args(keys, argv)
  return {d.ids, list(d.probes, function(p) return {p.kind, p.key, p.item} end)}
end

local function echo_reindex(keys, argv)
  local d = reindex_args(keys, argv)
  return {d.ids, d.row, d.declared, d.tag, flag(d.numeric_ids), d.row_prefix, d.member,
    list(d.fields, function(f) return {f.field, f.value} end),
    list(d.numeric, numop),
    list(d.entries, function(x) return {x.id, x.kind, x.value, x.owner} end),
    list(d.structures, function(x) return {x.id, x.index} end)}
end

local function echo_unindex(keys, argv)
  local d = unindex_args(keys, argv)
  return {d.row, d.index, d.tag, flag(d.numeric_ids), d.target, d.kind, d.value, d.member,
    d.structure or ''}
end

local function echo_unlist(keys, argv)
  local d = unlist_args(keys, argv)
  return {d.ids, d.row, d.numeric, d.member}
end

local function echo_expire(keys, argv)
  local d = expire_args(keys, argv)
  return {d.row, d.exp, d.member, d.how, d.n}
end

local function echo_ttl(keys, argv)
  local d = ttl_args(keys, argv)
  return {d.row, d.exp, d.member}
end

local function echo_sweep(keys, argv)
  local d = sweep_args(keys, argv)
  -- the graph's own echo is echo_graph's: here, that it is read in place
  return {d.exp, d.ids, tostring(d.limit),
    list(d.graph, function(n) return {n.name, n.numeric} end)}
end

local function echo_structure_read(keys, argv)
  local d = ST.read_args(keys, argv)
  return {d.key, d.expiry, d.absent, d.member, d.command, d.args}
end

local function echo_xuniq_reserve(keys, argv)
  local d = XU.reserve_args(keys, argv)
  return {d.claims, d.value, d.token, d.member, d.expect}
end

local function echo_xuniq_attempt(keys, argv)
  local d = XU.attempt_args(keys, argv)
  return {d.claims, d.value, d.token, d.member}
end

local function echo_xuniq_settle(keys, argv)
  local d = XU.settle_args(keys, argv)
  return {d.claims, d.value, d.expect, d.new}
end

local function echo_xuniq_probe(keys, argv)
  local d = XU.probe_args(keys, argv)
  return {d.unique, d.row, d.fences, d.value, d.member, d.fence}
end

local function echo_id_block(keys, argv)
  local d = IB.args(keys, argv)
  return {d.seq, d.marker, d.size, d.buckets}
end

local function echo_xsave(keys, argv)
  local d = XU.save_args(keys, argv)
  return {d.fences, d.token, save_fields(save_args(d.keys, d.argv))}
end

local function echo_unique_get(keys, argv)
  local d = UQ.args(keys, argv)
  return {d.key, d.row_prefix, flag(d.numeric_ids), d.expiry, d.rows and 'r' or 'i', d.value}
end

-- the echo function named by the test
return {
  unique_get = echo_unique_get,
  structure_read = echo_structure_read,
  save = echo_save, delete = echo_delete, get = echo_get, graph = echo_graph,
  commit = echo_commit, query = echo_query, lock = echo_lock, unlock = echo_unlock,
  scan = echo_scan, rows = echo_rows, probe = echo_probe, reindex = echo_reindex,
  unindex = echo_unindex, unlist = echo_unlist, expire = echo_expire, ttl = echo_ttl,
  sweep = echo_sweep, xuniq_reserve = echo_xuniq_reserve, xuniq_attempt = echo_xuniq_attempt,
  xuniq_settle = echo_xuniq_settle, xuniq_probe = echo_xuniq_probe, xsave = echo_xsave,
  id_block = echo_id_block,
}
end)()
