//! `query` and `query_delete` (`query.lua`, decoded by `query_args`): the
//! query interpreter.
//!
//! `KEYS` (derived): the ids sorted set, every index key the filter names,
//! the order index.
//!
//! `ARGV`: row prefix, numeric-ids flag, ids key, the model's expiry set
//! (`''` when its rows never expire), mode word, order key (`''`
//! for key order), direction (`a`/`d`, followed by the slot id when ordering
//! by a sort index), offset, limit (`''` for none), the cursor (phase, score,
//! member), the selected fields (counted list); in delete mode then the hash
//! tag and the numeric indexes (counted list); then the filter ([`Filter`]) in
//! prefix order.
//! Reply: [`QueryReply`].

use super::status::Status;
use super::{Args, Argv, Encoded, Keys, reply_bytes, reply_items, reply_strings};
use crate::error::{Error, Result, show};
use crate::exec::script::{self, Script};

/// A filter as the interpreter reads it: one letter per node.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Filter {
    /// `A n kids...`
    And(Vec<Filter>),
    /// `O n kids...`
    Or(Vec<Filter>),
    /// `N kid`
    Not(Box<Filter>),
    /// `S key`: the members of a set (equality or word).
    Set(Vec<u8>),
    /// `U key value`: the owner of a unique value.
    Unique(Vec<u8>, Vec<u8>),
    /// `R key lo hi`: a score range (Redis bound syntax).
    Range(Vec<u8>, Vec<u8>, Vec<u8>),
    /// `X key lo hi glob slot`: a `BYLEX` range, a glob (`G`...) the values
    /// must match or `''`, and the id of the index's slot (rows record
    /// their entries under it: a row is tested without reading the range).
    Lex(Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>),
    /// `L`: every row.
    All,
    /// `E`: no row.
    Empty,
}

impl Filter {
    fn keys(&self, out: &mut Keys) {
        match self {
            Filter::Set(k) | Filter::Unique(k, _) | Filter::Range(k, ..) | Filter::Lex(k, ..) => {
                out.add(k.clone())
            }
            Filter::And(kids) | Filter::Or(kids) => kids.iter().for_each(|k| k.keys(out)),
            Filter::Not(k) => k.keys(out),
            Filter::All | Filter::Empty => {}
        }
    }

    fn write(&self, a: &mut Argv) {
        match self {
            Filter::And(kids) | Filter::Or(kids) => {
                a.one(if matches!(self, Filter::And(_)) {
                    "A"
                } else {
                    "O"
                })
                .num(kids.len() as u64);
                kids.iter().for_each(|k| k.write(a));
            }
            Filter::Not(k) => {
                a.one("N");
                k.write(a);
            }
            Filter::Set(k) => {
                a.one("S").one(k.clone());
            }
            Filter::Unique(k, v) => {
                a.one("U").one(k.clone()).one(v.clone());
            }
            Filter::Range(k, lo, hi) => {
                a.one("R").one(k.clone()).one(lo.clone()).one(hi.clone());
            }
            Filter::Lex(k, lo, hi, g, slot) => {
                a.one("X")
                    .one(k.clone())
                    .one(lo.clone())
                    .one(hi.clone())
                    .one(g.clone())
                    .one(slot.clone());
            }
            Filter::All => {
                a.one("L");
            }
            Filter::Empty => {
                a.one("E");
            }
        }
    }
}

/// What the interpreter returns.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum QueryMode {
    /// `rows`: a page of rows.
    Rows,
    /// `ids`: a page of members.
    Ids,
    /// `select`: a page of the given fields of each row.
    Select(Vec<Vec<u8>>),
    /// `count`: the number of matches.
    Count,
    /// `exists`: 1 when a row would load.
    Exists,
    /// `with`: the rows, each followed by what each [`Include`] reads for
    /// it.
    RowsWith(Vec<Include>),
    /// `delete` (the function `query_delete`): deletes the matches.
    Delete {
        /// The hash tag (index entry keys are found from it).
        tag: Vec<u8>,
        /// Every numeric index of the model.
        numeric: Vec<Vec<u8>>,
        /// The models the delete reaches through on_delete rules, the
        /// model first (`cascade.lua`); empty when no rule applies.
        graph: Vec<crate::wire::cascade::GraphNode>,
    },
}

/// What a `with` query reads for each row, in the same call.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Include {
    /// `p`: the parent row the row's reference names (`HGETALL`, `{}` for
    /// none).
    Parent {
        /// The referencing field of the row.
        field: Vec<u8>,
        /// The parent model's row prefix.
        row_prefix: Vec<u8>,
        /// The parent model's expiry set (empty: its rows never expire).
        expiry: Vec<u8>,
    },
    /// `c`: the rows whose reference names the row: a flat list of member,
    /// `HGETALL`, ... (rows that are gone are left out).
    Children {
        /// The prefix of the referencing column's equality sets (the set
        /// of a row is it and the row's member).
        eq_prefix: Vec<u8>,
        /// The child model's row prefix.
        row_prefix: Vec<u8>,
        /// The child model's expiry set (empty: its rows never expire).
        expiry: Vec<u8>,
    },
}

/// The order of the results: an index and a direction.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OrderBy {
    /// The numeric index or the sort index ordered by.
    pub(crate) key: Vec<u8>,
    pub(crate) desc: bool,
    /// For a sort index, the slot id its value is recorded under in `#i`.
    pub(crate) lex_slot: Option<Vec<u8>>,
}

/// Where a paged read stopped: the phase (`v` in value order, `n` among the
/// nulls, `d<node>` along the index a count or delete in steps walks, `''`
/// at the start), the last row's score (or value) and member: the last row
/// returned, or the last entry examined when the call's budget ran out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cursor {
    pub(crate) phase: Vec<u8>,
    pub(crate) score: Vec<u8>,
    pub(crate) member: Vec<u8>,
}

/// The arguments of `query` / `query_delete`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct QueryArgs {
    pub(crate) ids: Vec<u8>,
    pub(crate) row_prefix: Vec<u8>,
    pub(crate) numeric_ids: bool,
    pub(crate) mode: QueryMode,
    /// `None`: by key.
    pub(crate) order: Option<OrderBy>,
    pub(crate) offset: u64,
    pub(crate) limit: Option<u64>,
    pub(crate) cursor: Cursor,
    /// The units of work one call may do (0: no bound); a plan that
    /// would examine more runs in steps (`query.lua`'s header).
    pub(crate) budget: u64,
    pub(crate) filter: Filter,
    /// The model's expiry set (empty: its rows never expire); an expired
    /// row matches nothing.
    pub(crate) expiry: Vec<u8>,
}

impl Args for QueryArgs {
    fn function(&self) -> &'static Script {
        match self.mode {
            QueryMode::Delete { .. } => &script::QUERY_DELETE,
            _ => &script::QUERY,
        }
    }

    fn encode(&self) -> Encoded {
        let mut keys = Keys::new(vec![self.ids.clone()]);
        self.filter.keys(&mut keys);
        if let Some(o) = &self.order {
            keys.add(o.key.clone());
        }
        if !self.expiry.is_empty() {
            keys.add(self.expiry.clone());
        }
        if let QueryMode::RowsWith(include) = &self.mode {
            for inc in include {
                let (Include::Parent { expiry, .. } | Include::Children { expiry, .. }) = inc;
                if !expiry.is_empty() {
                    keys.add(expiry.clone());
                }
            }
        }
        let mut a = Argv::default();
        a.one(self.row_prefix.clone())
            .flag(self.numeric_ids)
            .one(self.ids.clone())
            .one(self.expiry.clone())
            .one(match self.mode {
                QueryMode::Rows => "rows",
                QueryMode::RowsWith(_) => "with",
                QueryMode::Ids => "ids",
                QueryMode::Select(_) => "select",
                QueryMode::Count => "count",
                QueryMode::Exists => "exists",
                QueryMode::Delete { .. } => "delete",
            });
        match &self.order {
            Some(o) => {
                let mut dir = if o.desc { b"d".to_vec() } else { b"a".to_vec() };
                dir.extend_from_slice(o.lex_slot.as_deref().unwrap_or_default());
                a.one(o.key.clone()).one(dir);
            }
            None => {
                a.one("").one("a");
            }
        }
        a.num(self.offset)
            .one(self.limit.map(|l| l.to_string()).unwrap_or_default())
            .one(self.cursor.phase.clone())
            .one(self.cursor.score.clone())
            .one(self.cursor.member.clone())
            .num(self.budget);
        let fields: &[Vec<u8>] = match &self.mode {
            QueryMode::Select(f) => f,
            _ => &[],
        };
        a.list(fields, |a, f| {
            a.one(f.clone());
        });
        if let QueryMode::RowsWith(include) = &self.mode {
            a.list(include, |a, inc| match inc {
                Include::Parent {
                    field,
                    row_prefix,
                    expiry,
                } => {
                    a.one(b"p".to_vec())
                        .one(field.clone())
                        .one(row_prefix.clone())
                        .one(expiry.clone());
                }
                Include::Children {
                    eq_prefix,
                    row_prefix,
                    expiry,
                } => {
                    a.one(b"c".to_vec())
                        .one(eq_prefix.clone())
                        .one(row_prefix.clone())
                        .one(expiry.clone());
                }
            });
        }
        if let QueryMode::Delete {
            tag,
            numeric,
            graph,
        } = &self.mode
        {
            a.one(tag.clone()).list(numeric, |a, k| {
                a.one(k.clone());
            });
            crate::wire::cascade::write_nodes(&mut a, graph);
        }
        self.filter.write(&mut a);
        (keys.into_vec(), a.0)
    }
}

/// Where a query that ran out of its budget continues: the cursor of the
/// last entry examined, and the rows the call skipped for the offset.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Resume {
    pub(crate) cursor: Cursor,
    pub(crate) skipped: u64,
}

/// What the interpreter answered.
#[derive(Debug)]
pub(crate) enum QueryReply {
    /// `rows`, `ids`, `select`: the cursor (of the last row, or of the last
    /// entry examined when the budget ran out), then per row its member and
    /// (`rows`) its `HGETALL` or (`select`) its `HMGET`. The step's state
    /// is read apart, by [`QueryReply::page_state`].
    Page {
        cursor: Cursor,
        rows: Vec<(Vec<u8>, Option<redis::Value>)>,
    },
    /// `count`, `exists` in one call: an integer.
    Count(u64),
    /// `count`, `exists` in steps: this step's matches (a count's before
    /// offset and limit), and where the next step starts.
    Counted { n: u64, more: Option<Resume> },
    /// `delete`: `{'ok', deleted, found, more, phase, score, member, skipped}`.
    Deleted {
        deleted: u64,
        found: u64,
        more: Option<Resume>,
    },
    /// `delete`: a failure, as the status of `save` and `delete`.
    Failed(Status),
}

/// Reads `phase, score, member, skipped` (the state of a step; `more` was
/// read before them): where the next step starts, when there is one.
fn step_state(more: bool, it: &mut impl Iterator<Item = redis::Value>) -> Result<Option<Resume>> {
    let mut next =
        || -> Result<Vec<u8>> { Ok(it.next().map(reply_bytes).transpose()?.unwrap_or_default()) };
    let cursor = Cursor {
        phase: next()?,
        score: next()?,
        member: next()?,
    };
    let skipped = show(&next()?).parse().unwrap_or(0);
    Ok(more.then_some(Resume { cursor, skipped }))
}

impl QueryReply {
    /// Decodes a page: `with_rows` when each member is followed by its row.
    pub(crate) fn page(v: redis::Value, with_rows: bool) -> Result<QueryReply> {
        Self::page_with(v, with_rows, 0).map(|(r, _)| r)
    }

    /// Decodes a page whose rows are each followed by `extra` items (the
    /// parent rows of a `with` query), returned apart, row by row.
    pub(crate) fn page_with(
        v: redis::Value,
        with_rows: bool,
        extra: usize,
    ) -> Result<(QueryReply, Vec<Vec<redis::Value>>)> {
        let items = reply_items(v, "(query reply)")?;
        if items.len() < 5 {
            return Err(Error::decode(b"(query reply)", None, format!("{items:?}")));
        }
        let mut it = items.into_iter();
        let mut cursor = Cursor::default();
        for part in [&mut cursor.phase, &mut cursor.score, &mut cursor.member] {
            *part = it.next().map(reply_bytes).transpose()?.unwrap_or_default();
        }
        // the step's state: read by page_state
        it.by_ref().take(2).for_each(drop);
        let mut rows = Vec::new();
        let mut extras = Vec::new();
        while let Some(m) = it.next() {
            let row = if with_rows { it.next() } else { None };
            rows.push((reply_bytes(m)?, row));
            extras.push(it.by_ref().take(extra).collect());
        }
        Ok((QueryReply::Page { cursor, rows }, extras))
    }

    /// A page reply's step state, read from its head without taking the
    /// rows: its cursor, where the next call starts (when the budget ran
    /// out), and the number of rows (each `width` items).
    pub(crate) fn page_state(
        v: &redis::Value,
        width: usize,
    ) -> Result<(Cursor, Option<Resume>, u64)> {
        let redis::Value::Array(items) = v else {
            return Err(Error::decode(b"(query reply)", None, format!("{v:?}")));
        };
        if items.len() < 5 {
            return Err(Error::decode(b"(query reply)", None, format!("{items:?}")));
        }
        let mut head = items[..5].iter().cloned();
        let mut cursor = Cursor::default();
        for part in [&mut cursor.phase, &mut cursor.score, &mut cursor.member] {
            *part = head
                .next()
                .map(reply_bytes)
                .transpose()?
                .unwrap_or_default();
        }
        let more = head
            .next()
            .map(reply_bytes)
            .transpose()?
            .unwrap_or_default()
            == b"1";
        let more = step_state(more, &mut [&items[..3], &items[4..5]].concat().into_iter())?;
        let rows = (items.len() - 5) / width.max(1);
        Ok((cursor, more, rows as u64))
    }

    /// Decodes a count: an integer, or the state of a step.
    pub(crate) fn count(v: redis::Value) -> Result<QueryReply> {
        match v {
            redis::Value::Int(n) => Ok(QueryReply::Count(n.max(0) as u64)),
            redis::Value::Array(items) if items.len() == 6 => {
                let mut it = items.into_iter();
                let more = it.next().map(reply_bytes).transpose()?.unwrap_or_default() == b"1";
                let n = match it.next() {
                    Some(redis::Value::Int(n)) => n.max(0) as u64,
                    other => return Err(Error::decode(b"(count)", None, format!("{other:?}"))),
                };
                let more = step_state(more, &mut it)?;
                Ok(QueryReply::Counted { n, more })
            }
            other => Err(Error::decode(b"(count)", None, format!("{other:?}"))),
        }
    }

    /// Decodes the reply of delete mode: the counts, or the failure status
    /// (`wrongtype`, `badrecord`, `restrict`, ...) for the caller to type.
    pub(crate) fn deleted(v: redis::Value) -> Result<QueryReply> {
        let parts = reply_strings(v)?;
        let num =
            |i: usize| -> u64 { parts.get(i).and_then(|b| show(b).parse().ok()).unwrap_or(0) };
        if parts.first().map(Vec::as_slice) == Some(b"ok") {
            let more = parts.get(3).is_some_and(|m| m == b"1");
            let mut rest = parts.iter().skip(4).cloned().map(redis::Value::BulkString);
            let more = step_state(more, &mut rest)?;
            return Ok(QueryReply::Deleted {
                deleted: num(1),
                found: num(2),
                more,
            });
        }
        // a failure of the delete or of its graph: the status words of
        // `save` and `delete` (wrongtype, badrecord, restrict, ...)
        Ok(QueryReply::Failed(Status::from_parts(parts)?))
    }
}
