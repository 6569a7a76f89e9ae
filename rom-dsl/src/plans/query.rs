//! The plans of a query: its wire contract ([`QueryArgs`]) built from the
//! filter tree, order, page and mode, the reply decoders of each terminal,
//! and the steps `explain()` prints.

use crate::dsl::filter::Node;
use crate::dsl::query::{Cursor, Query, Selection};
use crate::error::{Error, Result, show};
use crate::plan::{Call, Plan};
use crate::plans::read::decode_row;
use crate::plans::steps::{PageStep, count_steps, delete_steps, exists_steps};
use crate::plans::unique::{unique_args, unique_plan};
use crate::plans::write::numeric_keys_in;
use crate::record::Record;
use crate::storage::model::{Key, Layout, Model};
use crate::storage::partition::layout_for;
use crate::wire::Args as _;
use crate::wire::query::{
    Filter as WireFilter, Include, OrderBy, QueryArgs, QueryMode, QueryReply,
};
use std::sync::Arc;
/// What the query function returns in each mode.
pub(crate) enum Mode<'a> {
    Rows,
    /// Rows with related rows read in the same call (parents, children).
    With(&'a [Include]),
    Ids,
    Select(&'a [&'static str]),
    Count,
    Exists,
    Delete,
}

impl<M: Model> Query<M> {
    /// The layout the query runs in: its bucket's (a partitioned model's
    /// query, pinned by `Across`), or the model's one layout.
    pub(crate) fn layout(&self) -> &'static Layout {
        self.layout.unwrap_or_else(M::layout)
    }

    /// An include (related rows read with each row) of a query pinned to a
    /// bucket: its keys retagged to the bucket, where a partitioned group's
    /// related rows are.
    fn pin_include(&self, i: &Include) -> Include {
        match i.clone() {
            Include::Parent {
                field,
                row_prefix,
                expiry,
            } => Include::Parent {
                field,
                row_prefix: self.pin_key(row_prefix),
                expiry: self.pin_key(expiry),
            },
            Include::Children {
                eq_prefix,
                row_prefix,
                expiry,
            } => Include::Children {
                eq_prefix: self.pin_key(eq_prefix),
                row_prefix: self.pin_key(row_prefix),
                expiry: self.pin_key(expiry),
            },
        }
    }

    pub(crate) fn check(&self) -> Result<()> {
        if self.layout.is_none() {
            crate::storage::partition::one_slot::<M>("a query")?;
        }
        if self.after.is_some() {
            return Err(crate::storage::model::invalid::<M>(
                "(page token)",
                "a page token positions only load_page; other terminals read the whole query"
                    .into(),
            ));
        }
        fn find(n: &Node) -> Option<(&str, &str)> {
            match n {
                Node::Invalid(c, e) => Some((c, e)),
                Node::And(k) | Node::Or(k) => k.iter().find_map(find),
                Node::Not(k) => find(k),
                _ => None,
            }
        }
        for f in &self.filters {
            if let Some((c, e)) = find(f) {
                return Err(crate::storage::model::invalid::<M>(c, e.to_owned()));
            }
        }
        Ok(())
    }

    fn args(&self, mode: Mode<'_>, cursor: Option<&Cursor>) -> Result<QueryArgs> {
        self.check()?;
        let l = self.layout();
        Ok(QueryArgs {
            ids: l.ids.clone(),
            row_prefix: l.row_prefix.clone(),
            numeric_ids: M::Key::NUMERIC,
            mode: match mode {
                Mode::Rows => QueryMode::Rows,
                Mode::With(inc) => {
                    QueryMode::RowsWith(inc.iter().map(|i| self.pin_include(i)).collect())
                }
                Mode::Ids => QueryMode::Ids,
                Mode::Select(fields) => {
                    QueryMode::Select(fields.iter().map(|f| f.as_bytes().to_vec()).collect())
                }
                Mode::Count => QueryMode::Count,
                Mode::Exists => QueryMode::Exists,
                Mode::Delete => QueryMode::Delete {
                    tag: l.tag.clone(),
                    numeric: numeric_keys_in::<M>(l),
                    graph: if crate::plans::cascade::has_rules::<M>() {
                        crate::plans::cascade::graph_in::<M>(l)
                    } else {
                        Vec::new()
                    },
                },
            },
            order: self.order.as_ref().map(|(key, desc, _, lex)| OrderBy {
                key: key.clone(),
                desc: *desc,
                // for a sort index, the slot its value is recorded in
                lex_slot: lex.map(|s| l.slots[s].id.clone().into_bytes()),
            }),
            offset: self.offset,
            limit: self.limit,
            cursor: cursor.cloned().unwrap_or_default(),
            budget: self.budget.unwrap_or_default().wire(),
            filter: wire_filter(&self.root(), l),
            expiry: crate::storage::model::expiry_key::<M>(),
        })
    }

    /// A digest of what the query reads and in which order: the model, its
    /// keys, the filter and the order (not the offset, limit or cursor), from
    /// the arguments the script would receive. A page token carries it.
    pub(crate) fn shape(&self) -> Result<u64> {
        let mut q = self.clone();
        (q.offset, q.limit) = (0, None);
        q.budget = Some(crate::dsl::budget::Budget::UNBOUNDED);
        let (keys, argv) = q.args(Mode::Rows, None)?.encode();
        let mut parts: Vec<&[u8]> = vec![b"rom page shape", M::SCHEMA.name.as_bytes()];
        parts.extend(keys.iter().chain(&argv).map(Vec::as_slice));
        Ok(crate::dsl::page::digest(&parts))
    }

    /// A plan of the query in `mode` whose calls are made by `call` (the
    /// plan of the first call, from its arguments).
    fn plan_with<T>(
        &self,
        mode: Mode<'_>,
        cursor: Option<&Cursor>,
        call: impl FnOnce(QueryArgs, &'static str) -> Plan<T>,
    ) -> Result<Plan<T>> {
        let (what, summary) = match mode {
            Mode::Rows => ("load rows", "query rows"),
            Mode::With([Include::Children { .. }]) => (
                "load rows with the rows that reference each",
                "query rows with children",
            ),
            Mode::With(_) => (
                "load rows with the parent row each reference names",
                "query rows with parents",
            ),
            Mode::Ids => ("load keys", "query keys"),
            Mode::Select(_) => ("load selected columns", "query select"),
            Mode::Count => ("count", "query count"),
            Mode::Exists => ("test for a match", "query exists"),
            Mode::Delete => ("delete matches", "query delete"),
        };
        let args = self.args(mode, cursor)?;
        let q = self.clone();
        // described only when explained: building the text costs more than
        // planning the query
        let plan = call(args, summary).steps_with(move || q.steps(what));
        Ok(if self.replicas {
            plan.read_only()
        } else {
            plan
        })
    }

    /// The plan of a query returning rows (`mode` rows, ids, select or
    /// with), in as many calls as its budget needs: `decode` reads the rows
    /// of one call's reply; the plan returns them all with the cursor of
    /// the last one.
    pub(crate) fn paged<X: Send + 'static>(
        &self,
        mode: Mode<'_>,
        cursor: Option<&Cursor>,
        decode: impl Fn(redis::Value) -> Result<Vec<X>> + Send + Sync + 'static,
    ) -> Result<Plan<(Vec<X>, Cursor)>> {
        // the reply items of each row: its member, its row (not for ids),
        // and each include's
        let width = match mode {
            Mode::Ids => 1,
            Mode::With(inc) => 2 + inc.len(),
            _ => 2,
        };
        let lookup = match mode {
            Mode::Rows => Some((true, "query rows")),
            Mode::Ids => Some((false, "query keys")),
            _ => None,
        };
        if let Some((rows, summary)) = lookup
            && self.check().is_ok()
            && let Some(args) = unique_args(self, rows, cursor)
        {
            let plan = unique_plan::<M, X>(args, width, summary, decode);
            return Ok(if self.replicas {
                plan.read_only()
            } else {
                plan
            });
        }
        self.plan_with(mode, cursor, |args, summary| {
            let step = PageStep {
                decode: Arc::new(decode),
                width,
                summary,
                collection: M::SCHEMA.namespace,
            };
            step.plan(args, Vec::new())
        })
    }

    /// [`Query::paged`] without the cursor.
    pub(crate) fn rows_plan<X: Send + 'static>(
        &self,
        mode: Mode<'_>,
        decode: impl Fn(redis::Value) -> Result<Vec<X>> + Send + Sync + 'static,
    ) -> Result<Plan<Vec<X>>> {
        Ok(self.paged(mode, None, decode)?.map(|(rows, _)| Ok(rows)))
    }

    fn steps(&self, what: &str) -> Vec<String> {
        let mut scans = Vec::new();
        whole_scans(&self.root(), &mut scans);
        let mut out = vec![
            format!("filter: {}", describe(&self.root())),
            match &self.order {
                Some((_, d, n, _)) => format!(
                    "order: {n} {}, ties by key, nulls last",
                    if *d { "desc" } else { "asc" }
                ),
                None => "order: by key".to_owned(),
            },
            format!(
                "page: offset {}, limit {}",
                self.offset,
                self.limit.map_or("none".into(), |l| l.to_string())
            ),
            "plan: intersect smallest index first (sizes from SCARD/ZCOUNT); walk the order index instead when offset+limit is small against the matches".to_owned(),
            match self.budget.unwrap_or_default().get() {
                Some(n) => format!(
                    "budget: {n} units per call (an index entry read or tested is one); a plan that needs more walks an index in steps, one call each, each resuming after the last entry examined"
                ),
                None => "budget: none (one call, however much it examines)".to_owned(),
            },
        ];
        for k in scans {
            out.push(format!(
                "scan: the pattern has no fixed start, so it reads every value of {} (no index answers a wildcard at both ends; index(prefix) answers a fixed start, index(suffix) a fixed end, index(text) whole words)",
                show(&k)
            ));
        }
        out.push(what.to_owned());
        out
    }

    /// The plan that loads the matching rows.
    ///
    /// ```
    /// # use rom_dsl::{Model, Query};
    /// # #[derive(Clone, Debug)] struct Tag;
    /// # impl rom_dsl::__private::Sealed for Tag {}
    /// # impl rom_dsl::placement::Unpartitioned for Tag {}
    /// # impl Model for Tag {
    /// #     type Key = u64;
    /// #     const SCHEMA: &'static rom_dsl::__private::Schema = &rom_dsl::__private::Schema {
    /// #         name: "Tag", namespace: "tags", key_name: "id", auto_key: true, columns: &[], unique_together: &[] };
    /// #     fn layout() -> &'static rom_dsl::__private::Layout {
    /// #         static L: std::sync::OnceLock<rom_dsl::__private::Layout> = std::sync::OnceLock::new();
    /// #         L.get_or_init(|| rom_dsl::__private::Layout::new(Self::SCHEMA))
    /// #     }
    /// #     fn key(&self) -> Option<u64> { None }
    /// #     fn set_key(&mut self, _: u64) {}
    /// #     fn cells(&self) -> rom_dsl::Result<Vec<rom_dsl::__private::Cell>> { Ok(vec![]) }
    /// #     fn from_row(_: u64, _: &rom_dsl::__private::RowData) -> rom_dsl::Result<Self> { Ok(Tag) }
    /// # }
    /// // (`Tag` is a model written by hand; yours come from `#[derive(Model)]`)
    /// let plan = Query::<Tag>::default().load_plan()?;
    /// assert!(plan.explain().starts_with("FCALL query"));
    /// # Ok::<(), rom_dsl::Error>(())
    /// ```
    pub fn load_plan(&self) -> Result<Plan<Vec<Record<M>>>> {
        self.page_plan(None).map(|p| p.map(|(rows, _)| Ok(rows)))
    }

    pub(crate) fn page_plan(
        &self,
        cursor: Option<&Cursor>,
    ) -> Result<Plan<(Vec<Record<M>>, Cursor)>> {
        self.paged(Mode::Rows, cursor, |v| {
            let (_, items) = page(v, true)?;
            let mut rows = Vec::with_capacity(items.len());
            for (m, r) in items {
                match decode_row::<M>(&m, r)? {
                    Some(rec) => rows.push(rec),
                    None => {
                        return Err(Error::decode(
                            &layout_for::<M>(&m).row_key(&m),
                            None,
                            "an index names this row but it does not exist (run verify)",
                        ));
                    }
                }
            }
            Ok(rows)
        })
    }

    /// The plan that loads the keys of the matching rows.
    ///
    /// ```
    /// # use rom_dsl::{Model, Query};
    /// # #[derive(Clone, Debug)] struct Tag;
    /// # impl rom_dsl::__private::Sealed for Tag {}
    /// # impl rom_dsl::placement::Unpartitioned for Tag {}
    /// # impl Model for Tag {
    /// #     type Key = u64;
    /// #     const SCHEMA: &'static rom_dsl::__private::Schema = &rom_dsl::__private::Schema {
    /// #         name: "Tag", namespace: "tags", key_name: "id", auto_key: true, columns: &[], unique_together: &[] };
    /// #     fn layout() -> &'static rom_dsl::__private::Layout {
    /// #         static L: std::sync::OnceLock<rom_dsl::__private::Layout> = std::sync::OnceLock::new();
    /// #         L.get_or_init(|| rom_dsl::__private::Layout::new(Self::SCHEMA))
    /// #     }
    /// #     fn key(&self) -> Option<u64> { None }
    /// #     fn set_key(&mut self, _: u64) {}
    /// #     fn cells(&self) -> rom_dsl::Result<Vec<rom_dsl::__private::Cell>> { Ok(vec![]) }
    /// #     fn from_row(_: u64, _: &rom_dsl::__private::RowData) -> rom_dsl::Result<Self> { Ok(Tag) }
    /// # }
    /// // (`Tag` is a model written by hand; yours come from `#[derive(Model)]`)
    /// let plan = Query::<Tag>::default().ids_plan()?;
    /// assert!(plan.explain().contains("load keys"));
    /// # Ok::<(), rom_dsl::Error>(())
    /// ```
    pub fn ids_plan(&self) -> Result<Plan<Vec<M::Key>>> {
        self.rows_plan(Mode::Ids, |v| {
            let (_, items) = page(v, false)?;
            items
                .into_iter()
                .map(|(m, _)| M::Key::from_member(&m).map_err(|e| Error::decode(&m, None, e)))
                .collect()
        })
    }

    /// The plan that counts the matches (after offset, up to the limit).
    ///
    /// ```
    /// # use rom_dsl::{Model, Query};
    /// # #[derive(Clone, Debug)] struct Tag;
    /// # impl rom_dsl::__private::Sealed for Tag {}
    /// # impl rom_dsl::placement::Unpartitioned for Tag {}
    /// # impl Model for Tag {
    /// #     type Key = u64;
    /// #     const SCHEMA: &'static rom_dsl::__private::Schema = &rom_dsl::__private::Schema {
    /// #         name: "Tag", namespace: "tags", key_name: "id", auto_key: true, columns: &[], unique_together: &[] };
    /// #     fn layout() -> &'static rom_dsl::__private::Layout {
    /// #         static L: std::sync::OnceLock<rom_dsl::__private::Layout> = std::sync::OnceLock::new();
    /// #         L.get_or_init(|| rom_dsl::__private::Layout::new(Self::SCHEMA))
    /// #     }
    /// #     fn key(&self) -> Option<u64> { None }
    /// #     fn set_key(&mut self, _: u64) {}
    /// #     fn cells(&self) -> rom_dsl::Result<Vec<rom_dsl::__private::Cell>> { Ok(vec![]) }
    /// #     fn from_row(_: u64, _: &rom_dsl::__private::RowData) -> rom_dsl::Result<Self> { Ok(Tag) }
    /// # }
    /// // (`Tag` is a model written by hand; yours come from `#[derive(Model)]`)
    /// // counting every row needs no script
    /// let plan = Query::<Tag>::default().count_plan()?;
    /// assert!(plan.explain().starts_with("ZCARD {tags}:ids"));
    /// # Ok::<(), rom_dsl::Error>(())
    /// ```
    pub fn count_plan(&self) -> Result<Plan<u64>> {
        self.check()?;
        let (offset, limit) = (self.offset, self.limit);
        let page = move |n: u64| {
            let n = n.saturating_sub(offset);
            limit.map_or(n, |l| n.min(l))
        };
        let int = |v: redis::Value| match QueryReply::count(v)? {
            QueryReply::Count(n) => Ok(n),
            _ => Err(Error::decode(b"(count)", None, "not a count")),
        };
        let ns = M::SCHEMA.namespace;
        // one index answers alone: a plain command, no script (unless rows
        // may have expired: only the function knows the server's time)
        let direct = match self.filters.as_slice() {
            _ if M::EXPIRES.is_some() => None,
            [] => Some(("ZCARD", vec![self.layout().ids.clone()], vec![])),
            [Node::Range(k, lo, hi)] => Some((
                "ZCOUNT",
                vec![k.clone()],
                vec![lo.clone().into_bytes(), hi.clone().into_bytes()],
            )),
            [Node::Set(k)] => Some(("SCARD", vec![k.clone()], vec![])),
            _ => None,
        };
        if let Some((cmd, keys, args)) = direct {
            let p = Plan::new(Call::Command(cmd), keys, args, move |v| int(v).map(page))
                .about("query count", M::SCHEMA.namespace);
            let q = self.clone();
            return Ok(p.steps_with(move || q.steps("count (one index: a plain command)")));
        }
        self.plan_with(Mode::Count, None, move |args, summary| {
            count_steps(args, 0, (offset, limit), summary, ns)
        })
    }

    /// The plan that tells whether anything matches.
    ///
    /// ```
    /// # use rom_dsl::{Model, Query};
    /// # #[derive(Clone, Debug)] struct Tag;
    /// # impl rom_dsl::__private::Sealed for Tag {}
    /// # impl rom_dsl::placement::Unpartitioned for Tag {}
    /// # impl Model for Tag {
    /// #     type Key = u64;
    /// #     const SCHEMA: &'static rom_dsl::__private::Schema = &rom_dsl::__private::Schema {
    /// #         name: "Tag", namespace: "tags", key_name: "id", auto_key: true, columns: &[], unique_together: &[] };
    /// #     fn layout() -> &'static rom_dsl::__private::Layout {
    /// #         static L: std::sync::OnceLock<rom_dsl::__private::Layout> = std::sync::OnceLock::new();
    /// #         L.get_or_init(|| rom_dsl::__private::Layout::new(Self::SCHEMA))
    /// #     }
    /// #     fn key(&self) -> Option<u64> { None }
    /// #     fn set_key(&mut self, _: u64) {}
    /// #     fn cells(&self) -> rom_dsl::Result<Vec<rom_dsl::__private::Cell>> { Ok(vec![]) }
    /// #     fn from_row(_: u64, _: &rom_dsl::__private::RowData) -> rom_dsl::Result<Self> { Ok(Tag) }
    /// # }
    /// // (`Tag` is a model written by hand; yours come from `#[derive(Model)]`)
    /// let plan = Query::<Tag>::default().exists_plan()?;
    /// assert!(plan.read_only().explain().starts_with("FCALL_RO query"));
    /// # Ok::<(), rom_dsl::Error>(())
    /// ```
    pub fn exists_plan(&self) -> Result<Plan<bool>> {
        let ns = M::SCHEMA.namespace;
        self.plan_with(Mode::Exists, None, move |args, summary| {
            exists_steps(args, summary, ns)
        })
    }

    /// The plan that deletes the matches: how many it deleted and found
    /// (each call of a delete in steps is atomic on its own).
    ///
    /// ```
    /// # use rom_dsl::{Model, Query};
    /// # #[derive(Clone, Debug)] struct Tag;
    /// # impl rom_dsl::__private::Sealed for Tag {}
    /// # impl rom_dsl::placement::Unpartitioned for Tag {}
    /// # impl Model for Tag {
    /// #     type Key = u64;
    /// #     const SCHEMA: &'static rom_dsl::__private::Schema = &rom_dsl::__private::Schema {
    /// #         name: "Tag", namespace: "tags", key_name: "id", auto_key: true, columns: &[], unique_together: &[] };
    /// #     fn layout() -> &'static rom_dsl::__private::Layout {
    /// #         static L: std::sync::OnceLock<rom_dsl::__private::Layout> = std::sync::OnceLock::new();
    /// #         L.get_or_init(|| rom_dsl::__private::Layout::new(Self::SCHEMA))
    /// #     }
    /// #     fn key(&self) -> Option<u64> { None }
    /// #     fn set_key(&mut self, _: u64) {}
    /// #     fn cells(&self) -> rom_dsl::Result<Vec<rom_dsl::__private::Cell>> { Ok(vec![]) }
    /// #     fn from_row(_: u64, _: &rom_dsl::__private::RowData) -> rom_dsl::Result<Self> { Ok(Tag) }
    /// # }
    /// // (`Tag` is a model written by hand; yours come from `#[derive(Model)]`)
    /// let plan = Query::<Tag>::default().delete_plan()?;
    /// assert!(plan.explain().starts_with("FCALL query_delete"));
    /// # Ok::<(), rom_dsl::Error>(())
    /// ```
    pub fn delete_plan(&self) -> Result<Plan<(u64, u64)>> {
        self.plan_with(Mode::Delete, None, |args, summary| {
            delete_steps::<M>(args, (0, 0), summary)
        })
    }

    /// The plan of a query with [`Query::select`].
    pub(crate) fn select_plan<S: Selection<M>>(&self) -> Result<Plan<Vec<S::Output>>> {
        self.rows_plan(Mode::Select(S::FIELDS), |v| {
            let (_, items) = page(v, true)?;
            let mut out = Vec::new();
            for (m, r) in items {
                let key = layout_for::<M>(&m).row_key(&m);
                let vals = match r {
                    redis::Value::Array(vs) => vs
                        .into_iter()
                        .map(|v| match v {
                            redis::Value::Nil => Ok(None),
                            redis::Value::BulkString(b) => Ok(Some(b)),
                            other => Err(Error::decode(&key, None, format!("{other:?}"))),
                        })
                        .collect::<Result<Vec<_>>>()?,
                    other => return Err(Error::decode(&key, None, format!("{other:?}"))),
                };
                out.push(S::decode(&key, vals)?);
            }
            Ok(out)
        })
    }

    /// The query's plan as text (the rows-loading plan), without a server.
    ///
    /// ```
    /// # use rom_dsl::{Model, Query, QueryDsl};
    /// # #[derive(Clone, Debug)] struct Tag;
    /// # impl rom_dsl::__private::Sealed for Tag {}
    /// # impl rom_dsl::placement::Unpartitioned for Tag {}
    /// # impl Model for Tag {
    /// #     type Key = u64;
    /// #     const SCHEMA: &'static rom_dsl::__private::Schema = &rom_dsl::__private::Schema {
    /// #         name: "Tag", namespace: "tags", key_name: "id", auto_key: true, columns: &[], unique_together: &[] };
    /// #     fn layout() -> &'static rom_dsl::__private::Layout {
    /// #         static L: std::sync::OnceLock<rom_dsl::__private::Layout> = std::sync::OnceLock::new();
    /// #         L.get_or_init(|| rom_dsl::__private::Layout::new(Self::SCHEMA))
    /// #     }
    /// #     fn key(&self) -> Option<u64> { None }
    /// #     fn set_key(&mut self, _: u64) {}
    /// #     fn cells(&self) -> rom_dsl::Result<Vec<rom_dsl::__private::Cell>> { Ok(vec![]) }
    /// #     fn from_row(_: u64, _: &rom_dsl::__private::RowData) -> rom_dsl::Result<Self> { Ok(Tag) }
    /// # }
    /// // (`Tag` is a model written by hand; yours come from `#[derive(Model)]`)
    /// let text = Query::<Tag>::default().offset(2).limit(5).explain();
    /// assert!(text.contains("page: offset 2, limit 5"));
    /// ```
    pub fn explain(&self) -> String {
        match self.load_plan() {
            Ok(p) => p.explain(),
            Err(e) => format!("invalid query: {e}"),
        }
    }
}

/// Each member of a page, with its row (nil when the mode reads none).
type PageRows = Vec<(Vec<u8>, redis::Value)>;

/// A page reply: the cursor, and each member with (`with_rows`) its row.
pub(crate) fn page(v: redis::Value, with_rows: bool) -> Result<(Cursor, PageRows)> {
    match QueryReply::page(v, with_rows)? {
        QueryReply::Page { cursor, rows, .. } => Ok((
            cursor,
            rows.into_iter()
                .map(|(m, r)| (m, r.unwrap_or(redis::Value::Nil)))
                .collect(),
        )),
        _ => Err(Error::decode(b"(query reply)", None, "not a page")),
    }
}

/// The keys of the lexicographic ranges of a filter that cover their whole
/// index (a `like` without a literal start).
fn whole_scans(n: &Node, out: &mut Vec<Vec<u8>>) {
    match n {
        Node::And(k) | Node::Or(k) => k.iter().for_each(|k| whole_scans(k, out)),
        Node::Not(k) => whole_scans(k, out),
        Node::Lex(k, lo, _, _) if lo == b"-" => out.push(k.clone()),
        _ => {}
    }
}

/// The filter as the wire contract carries it.
pub(crate) fn wire_filter(n: &Node, l: &Layout) -> WireFilter {
    match n {
        Node::And(kids) => WireFilter::And(kids.iter().map(|k| wire_filter(k, l)).collect()),
        Node::Or(kids) => WireFilter::Or(kids.iter().map(|k| wire_filter(k, l)).collect()),
        Node::Not(k) => WireFilter::Not(Box::new(wire_filter(k, l))),
        Node::Set(k) => WireFilter::Set(k.clone()),
        Node::Unique(k, v) => WireFilter::Unique(k.clone(), v.clone()),
        Node::Range(k, lo, hi) => {
            WireFilter::Range(k.clone(), lo.clone().into_bytes(), hi.clone().into_bytes())
        }
        Node::Lex(k, lo, hi, g) => {
            // the slot its rows record their entries under
            let slot = l
                .slots
                .iter()
                .find(|s| &s.key == k)
                .map(|s| s.id.clone().into_bytes())
                .unwrap_or_default();
            WireFilter::Lex(k.clone(), lo.clone(), hi.clone(), g.clone(), slot)
        }
        Node::All => WireFilter::All,
        Node::Empty | Node::Invalid(..) => WireFilter::Empty,
    }
}

pub(crate) fn describe(n: &Node) -> String {
    match n {
        Node::And(k) => format!(
            "({})",
            k.iter().map(describe).collect::<Vec<_>>().join(" AND ")
        ),
        Node::Or(k) => format!(
            "({})",
            k.iter().map(describe).collect::<Vec<_>>().join(" OR ")
        ),
        Node::Not(k) => format!("NOT {}", describe(k)),
        Node::Set(k) => format!("SET {}", show(k)),
        Node::Unique(k, v) => format!("HGET {} {:?}", show(k), show(v)),
        Node::Range(k, lo, hi) => format!("ZSET {} [{lo}, {hi}]", show(k)),
        Node::Lex(k, lo, hi, g) => format!(
            "LEX {} [{} .. {}]{}",
            show(k),
            show(lo).escape_debug(),
            show(hi).escape_debug(),
            if g.is_empty() {
                String::new()
            } else {
                format!(" matching {}", show(g).escape_debug())
            }
        ),
        Node::All => "every row".into(),
        Node::Empty => "no row".into(),
        Node::Invalid(c, e) => format!("invalid {c}: {e}"),
    }
}
