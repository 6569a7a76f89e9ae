-- include.lua: the related rows a query reads with each row ('with' mode,
-- query.lua): the parent row a reference names, and the rows whose
-- reference names the row.
--
-- Arguments: none (helpers). Each include is {kind, at, prefix, exp} as
-- query_args decodes it: 'p' with `at` the referencing field, 'c' with `at`
-- the prefix of the referencing column's equality sets; `prefix` the
-- related model's row prefix, `exp` its expiry set ('' when none).

-- the parent row a row's reference names ({} for none: a null reference,
-- a row that is gone, or a row that is not a hash)
local function parent_row(row, inc)
  if type(row) ~= 'table' then return {} end
  for i = 1, #row - 1, 2 do
    if row[i] == inc.at then
      if expired(inc.exp, row[i + 1]) then return {} end
      local r = pread('HGETALL', inc.prefix .. row[i + 1])
      if r.err then return {} end
      return r
    end
  end
  return {}
end

-- the rows whose reference names the row `m`, as {member, HGETALL, ...}:
-- the members of its equality set whose row is a hash (an entry whose row
-- is gone names no row)
local function child_rows(m, inc)
  local kids = pread('SMEMBERS', inc.at .. m)
  local out = {}
  if kids.err then return out end
  for _, cm in ipairs(kids) do
    local r = expired(inc.exp, cm) and {} or pread('HGETALL', inc.prefix .. cm)
    if not r.err and #r > 0 then
      out[#out + 1] = cm
      out[#out + 1] = r
    end
  end
  return out
end

