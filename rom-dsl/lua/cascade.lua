-- cascade.lua: deleting rows of a model that other models reference, with
-- each referencing column's on_delete rule applied over the whole graph.
--
-- delete_graph(KEYS, ARGV), the function `delete_graph` (may grow memory: a
-- set_default writes). Its arguments are the contract GraphArgs
-- (rom-dsl/src/wire/cascade.rs), read by graph_args:
--   KEYS  the root model's ids, then the root rows, then its numeric indexes
--         (the rows the graph reaches share their hash tag: the derive
--         refuses a rule between models of two placements)
--   ARGV  the models (counted), the first the root model, each:
--           name, numeric_ids flag, ids, row_prefix, tag, numeric indexes
--           (counted), the expiry set ('' none: an expired root is deleted
--           but not counted), relations (counted): the columns of other models that
--           reference it, each: child model (its position, from 1), rule
--           ('a' no action, 'r' restrict, 'c' cascade, 'n' set null,
--           's' set default), field, the prefix of the column's equality
--           sets, its numeric index ('' none), its value-keyed slots
--           (counted: id, kind), the default's stored bytes and score
--         then the root members to the end
--   reply {'ok', roots deleted, rows deleted, rows changed}
--         | {'restrict', child model, field, child member}
--         | {'wrongtype', key} | {'badrecord', row} | {'unique', id, value}
--         | {'twice', row} (in a commit: a row another operation writes)
--
-- Reads first: the rows to delete (the roots, then every row a cascade
-- reaches, each once, so cycles end), the rows to change, and every check
-- of both; a restrict anywhere stops the call with nothing written. Then the
-- deletes (delete.lua) and the changes (save.lua's phases).

local function take_rel()
  local r = {child = tonumber(take()), rule = take(), field = take(), eq = take(), numkey = take()}
  r.slots = take_list(function()
    local id, kind = take(), take()
    return {id = id, kind = kind}
  end)
  r.default, r.score = take(), take()
  return r
end

local function take_node()
  local n = {name = take(), numeric_ids = take_flag(), ids = take(), row_prefix = take(), tag = take()}
  n.numeric = take_strings()
  n.expiry = take()
  n.rels = take_list(take_rel)
  return n
end

local function graph_args(_keys, argv)
  reader(argv)
  local models = take_list(take_node)
  return {models = models, members = take_rest()}
end

-- the change a set_null / set_default makes to a row, as a save's fields
local function change_of(op, rel)
  local set = rel.rule == 's'
  op.writes[#op.writes + 1] = {field = rel.field, set = set, value = rel.default}
  if rel.numkey ~= '' then
    op.numeric[#op.numeric + 1] = {key = rel.numkey, add = set, score = rel.score}
  end
  for _, sl in ipairs(rel.slots) do
    op.touched[#op.touched + 1] = {id = sl.id, kind = sl.kind, values = set and {rel.default} or {}}
  end
end

-- the reads of a delete of the rows `members` of models[1] with the rules
-- of the graph `models`: every row it reaches, checked, and the changes it
-- makes, as {order, recs, saves, roots}; or nil and the failure. The rows
-- are named in tx.rows: a row another operation of the call writes is a
-- failure {'twice', row} (the roots may be named already, by their own
-- operation of `commit`).
local function graph_collect(models, members, tx)
  local gone, order, changes, queue = {}, {}, {}, {}
  for i = 1, #models do gone[i] = {} end
  for _, m in ipairs(members) do queue[#queue + 1] = {1, m, true} end
  local roots, qi = 0, 1
  while qi <= #queue do
    local mi, m, root = queue[qi][1], queue[qi][2], queue[qi][3]
    qi = qi + 1
    local node = models[mi]
    if not gone[mi][m] then
      local row = node.row_prefix .. m
      local t = rowtype(row)
      if t ~= 'none' and t ~= 'hash' then return nil, {'wrongtype', row} end
      if t == 'hash' then
        gone[mi][m] = true
        order[#order + 1] = {mi, m}
        if root then
          if not expired(node.expiry, m) then roots = roots + 1 end
        elseif tx.rows[row] then return nil, {'twice', row} end
        tx.rows[row] = 'd'
        for _, rel in ipairs(node.rels) do
          if rel.rule ~= 'a' then
            local child = models[rel.child]
            local kids = pread('SMEMBERS', rel.eq .. m)
            if kids.err then return nil, {'wrongtype', rel.eq .. m} end
            for _, cm in ipairs(kids) do
              if pread('EXISTS', child.row_prefix .. cm) == 1 then
                if rel.rule == 'r' then return nil, {'restrict', child.name, rel.field, cm} end
                if rel.rule == 'c' then
                  queue[#queue + 1] = {rel.child, cm, false}
                else
                  local key = rel.child .. '\0' .. cm
                  local op = changes[key]
                  if not op then
                    op = {kind = 's', mode = 'u', member = cm, numeric_ids = child.numeric_ids,
                      ids = child.ids, seq = '', row_prefix = child.row_prefix, tag = child.tag,
                      checks = {}, writes = {}, numeric = {}, touched = {}, parents = {}, node = rel.child,
                      expiry = {key = '', how = 'k', n = '', reclaim = {}}}
                    changes[key] = op
                    changes[#changes + 1] = op
                  end
                  change_of(op, rel)
                end
              end
            end
          end
        end
      end
    end
  end
  -- the rows to delete: their records and key types, the values they free
  local recs = {}
  for i, e in ipairs(order) do
    local node, m = models[e[1]], e[2]
    NUMIDS, TAG = node.numeric_ids, node.tag
    CHECKED, NUMKEYS = {}, node.numeric
    local err = delete_check(node.row_prefix, node.ids, m)
    if err then return nil, err end
    recs[i] = CHECKED[m]
    for _, x in ipairs(recs[i] or {}) do
      if x[3] == 'u' then tx.released[slotkey('u', x[1], x[2]) .. '\0' .. x[2]] = m end
    end
    may_write(node.row_prefix .. m, DL.WRITES)
  end
  -- the rows to change (unless deleted too): as saves of those columns
  local saves = {}
  for _, op in ipairs(changes) do
    if not gone[op.node][op.member] then
      local err = save_find(op, tx) or save_prepare(op, tx)
      if err then return nil, err end
      saves[#saves + 1] = op
    end
  end
  return {models = models, order = order, recs = recs, saves = saves, roots = roots}
end

-- the unique values the changes claim (after every operation's reads)
local function graph_claims(g, tx)
  for _, op in ipairs(g.saves) do
    local err = save_claims(op, tx)
    if err then return err end
  end
  return nil
end

-- the writes: the deletes, then the changes
local function graph_apply(g)
  for i, e in ipairs(g.order) do
    local node, m = g.models[e[1]], e[2]
    NUMIDS, TAG = node.numeric_ids, node.tag
    CHECKED, NUMKEYS = {[m] = g.recs[i]}, node.numeric
    delete_row(node.row_prefix, node.ids, m)
  end
  for _, op in ipairs(g.saves) do save_apply(op) end
  return {'ok', tostring(g.roots), tostring(#g.order), tostring(#g.saves)}
end

-- deletes the rows `members` of models[1] with the rules of the graph
-- `models`: the reply documented above (the query interpreter's delete
-- mode calls it too, with the rows its query found)
local function graph_delete(models, members)
  local tx = tx_state()
  local g, err = graph_collect(models, members, tx)
  if not g then return err end
  err = graph_claims(g, tx)
  if err then return err end
  return graph_apply(g)
end

local function delete_graph(keys, argv)
  local d = graph_args(keys, argv)
  return graph_delete(d.models, d.members)
end
