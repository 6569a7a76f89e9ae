//! The query builder: filters, ordering, paging and terminals, compiled to one
//! call of the query script.
//!
//! ```ignore
//! let adults = users::table
//!     .filter(users::age.ge(18))
//!     .order_by(users::score.desc())
//!     .limit(10)
//!     .load(&mut conn)?;
//! ```
//!
//! Every predicate method requires a marker trait on its column
//! ([`EqFilterable`], [`RangeFilterable`], [`Sortable`]); a column without the
//! right index does not compile, and the error names the attribute to add.

use crate::connection::{AsyncConnection, Connection};
use crate::error::{Error, Result, show};
use crate::index::{
    Column, EqFilterable, LikeFilterable, PrefixFilterable, RangeFilterable, Sortable,
    SuffixFilterable, Table, TextFilterable, ValueFor,
};
use crate::model::{Fold, Key, Model, Slot, SlotKind, Source};
use crate::plan::{Call, Plan};
use crate::record::{Record, decode_row, numeric_keys};
use crate::value::{Field, ScoreBound, float_repr, lex_escape, reversed, score_bound, words};
use crate::wire::query::{Filter as WireFilter, OrderBy, QueryArgs, QueryMode, QueryReply};
use std::marker::PhantomData;
use std::ops::{Bound, RangeBounds};

/// A node of a filter tree (public for generated code; build filters with the
/// column methods instead).
#[doc(hidden)]
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    /// Members of an equality set.
    Set(Vec<u8>),
    /// The owner of a unique value: hash key, field.
    Unique(Vec<u8>, Vec<u8>),
    /// A score range of a sorted set: key, low bound, high bound (Redis syntax).
    Range(Vec<u8>, String, String),
    /// A range of a lexicographic index: key, low and high bounds (BYLEX
    /// syntax), and a glob the values must match (empty: any).
    Lex(Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>),
    /// Every row.
    All,
    /// No row.
    Empty,
    /// A value that cannot be queried (NaN...): the query fails with this error.
    Invalid(String, String),
}

/// A condition on rows of model `M`: built from column methods (`eq`, `gt`...)
/// and combined with [`Filter::and`], [`Filter::or`], [`Filter::not`] (or the
/// `&`, `|`, `!` operators).
pub struct Filter<M> {
    node: Node,
    _m: PhantomData<fn() -> M>,
}

impl<M> Clone for Filter<M> {
    fn clone(&self) -> Self {
        Filter::new(self.node.clone())
    }
}

impl<M> std::fmt::Debug for Filter<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&describe(&self.node))
    }
}

impl<M> Filter<M> {
    fn new(node: Node) -> Self {
        Filter {
            node,
            _m: PhantomData,
        }
    }
    /// Rows matching both.
    pub fn and(self, other: Filter<M>) -> Filter<M> {
        Filter::new(match (self.node, other.node) {
            (Node::And(mut a), Node::And(b)) => {
                a.extend(b);
                Node::And(a)
            }
            (Node::And(mut a), b) => {
                a.push(b);
                Node::And(a)
            }
            (a, b) => Node::And(vec![a, b]),
        })
    }
    /// Rows matching either (on any indexed columns, not only one).
    pub fn or(self, other: Filter<M>) -> Filter<M> {
        Filter::new(match (self.node, other.node) {
            (Node::Or(mut a), Node::Or(b)) => {
                a.extend(b);
                Node::Or(a)
            }
            (Node::Or(mut a), b) => {
                a.push(b);
                Node::Or(a)
            }
            (a, b) => Node::Or(vec![a, b]),
        })
    }
    /// Rows not matching (a set difference from every row).
    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Filter<M> {
        Filter::new(match self.node {
            Node::Not(n) => *n,
            n => Node::Not(Box::new(n)),
        })
    }
    /// Rows matching this and not `other`.
    pub fn and_not(self, other: Filter<M>) -> Filter<M> {
        self.and(other.not())
    }
}

impl<M> std::ops::BitAnd for Filter<M> {
    type Output = Filter<M>;
    fn bitand(self, rhs: Self) -> Filter<M> {
        self.and(rhs)
    }
}
impl<M> std::ops::BitOr for Filter<M> {
    type Output = Filter<M>;
    fn bitor(self, rhs: Self) -> Filter<M> {
        self.or(rhs)
    }
}
impl<M> std::ops::Not for Filter<M> {
    type Output = Filter<M>;
    fn not(self) -> Filter<M> {
        Filter::not(self)
    }
}

/// A condition that can filter a query on model `M`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a condition on `{M}`",
    label = "expected a condition on `{M}`",
    note = "a query on `{M}` is filtered by a condition on one of `{M}`'s columns, such as `column.eq(value)` or `column.gt(value)`: not by a bare column, nor by a condition on another model"
)]
pub trait IntoFilter<M> {
    /// The filter.
    fn into_filter(self) -> Filter<M>;
}
#[diagnostic::do_not_recommend]
impl<M> IntoFilter<M> for Filter<M> {
    fn into_filter(self) -> Filter<M> {
        self
    }
}

/// An ordering of model `M`'s rows by a numeric or a sort-indexed column.
pub struct Order<M> {
    key: Vec<u8>,
    desc: bool,
    name: &'static str,
    /// For a sort index: the slot whose value a row records.
    lex: Option<usize>,
    _m: PhantomData<fn() -> M>,
}

impl<M> std::fmt::Debug for Order<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let dir = if self.desc { "desc" } else { "asc" };
        write!(f, "Order({} {dir})", self.name)
    }
}

/// An ordering that can order a query on model `M`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an ordering of `{M}`",
    label = "expected an ordering of `{M}`",
    note = "a query on `{M}` is ordered by one of `{M}`'s columns with `.asc()` or `.desc()`, as in `.order_by(column.desc())`: not by a bare column, nor by another model's column"
)]
pub trait IntoOrder<M> {
    /// The ordering.
    fn into_order(self) -> Order<M>;
}
#[diagnostic::do_not_recommend]
impl<M> IntoOrder<M> for Order<M> {
    fn into_order(self) -> Order<M> {
        self
    }
}

/// The column is a column of `M`: for `select`.
#[diagnostic::on_unimplemented(
    message = "column `{Self}` is not a column of `{M}`",
    label = "a column of another model",
    note = "a query on `{M}` can select only `{M}`'s own columns"
)]
pub trait BelongsTo<M>: Column {}

/// Conditions and orderings on a column: `eq`, `eq_any`, `gt`, `ge`, `lt`,
/// `le`, `between`, `asc`, `desc`. Each requires the index that answers it.
pub trait ColumnMethods: Column {
    /// Rows whose column equals `v` (case-insensitively on a case-insensitive
    /// index). Needs an equality, unique or numeric index.
    fn eq(self, v: impl ValueFor<Self, Self::Value>) -> Filter<Self::Model>
    where
        Self: EqFilterable,
    {
        Filter::new(eq_node::<Self>(&v.into_value()))
    }
    /// Rows whose column equals any of `vs` (no row for an empty list).
    fn eq_any<V: ValueFor<Self, Self::Value>>(
        self,
        vs: impl IntoIterator<Item = V>,
    ) -> Filter<Self::Model>
    where
        Self: EqFilterable,
    {
        let kids: Vec<Node> = vs
            .into_iter()
            .map(|v| eq_node::<Self>(&v.into_value()))
            .collect();
        Filter::new(match kids.len() {
            0 => Node::Empty,
            1 => kids.into_iter().next().unwrap_or(Node::Empty),
            _ => Node::Or(kids),
        })
    }
    /// Rows whose column is greater than `v`. Needs a numeric index.
    fn gt(self, v: impl ValueFor<Self, Self::Value>) -> Filter<Self::Model>
    where
        Self: RangeFilterable,
    {
        range::<Self>(Bound::Excluded(v.into_value()), Bound::Unbounded)
    }
    /// Rows whose column is greater than or equal to `v`.
    fn ge(self, v: impl ValueFor<Self, Self::Value>) -> Filter<Self::Model>
    where
        Self: RangeFilterable,
    {
        range::<Self>(Bound::Included(v.into_value()), Bound::Unbounded)
    }
    /// Rows whose column is less than `v`.
    fn lt(self, v: impl ValueFor<Self, Self::Value>) -> Filter<Self::Model>
    where
        Self: RangeFilterable,
    {
        range::<Self>(Bound::Unbounded, Bound::Excluded(v.into_value()))
    }
    /// Rows whose column is less than or equal to `v`.
    fn le(self, v: impl ValueFor<Self, Self::Value>) -> Filter<Self::Model>
    where
        Self: RangeFilterable,
    {
        range::<Self>(Bound::Unbounded, Bound::Included(v.into_value()))
    }
    /// Rows whose column is in a range: `20..=30`, `20..30`, `20..`, `..=30`,
    /// or a pair of [`Bound`]s.
    fn between<V: ValueFor<Self, Self::Value> + Clone>(
        self,
        r: impl RangeBounds<V>,
    ) -> Filter<Self::Model>
    where
        Self: RangeFilterable,
    {
        let conv = |b: Bound<&V>| match b {
            Bound::Included(v) => Bound::Included(v.clone().into_value()),
            Bound::Excluded(v) => Bound::Excluded(v.clone().into_value()),
            Bound::Unbounded => Bound::Unbounded,
        };
        range::<Self>(conv(r.start_bound()), conv(r.end_bound()))
    }
    /// Rows whose text has the word `w` (words are split and case-folded as the
    /// index does; a `w` of several words needs them all).
    fn has_word(self, w: &str) -> Filter<Self::Model>
    where
        Self: TextFilterable,
    {
        Filter::new(words_node(text_slot::<Self>(), words(w), true))
    }
    /// Rows whose text has every one of these words.
    fn has_all_words<'a>(self, ws: impl IntoIterator<Item = &'a str>) -> Filter<Self::Model>
    where
        Self: TextFilterable,
    {
        let all = crate::text::dedup(ws.into_iter().flat_map(words));
        Filter::new(words_node(text_slot::<Self>(), all, true))
    }
    /// Rows whose text has at least one of these words.
    fn has_any_word<'a>(self, ws: impl IntoIterator<Item = &'a str>) -> Filter<Self::Model>
    where
        Self: TextFilterable,
    {
        let kids: Vec<Node> = ws
            .into_iter()
            .map(|w| words_node(text_slot::<Self>(), words(w), true))
            .collect();
        Filter::new(match kids.len() {
            0 => Node::Empty,
            1 => kids.into_iter().next().unwrap_or(Node::Empty),
            _ => Node::Or(kids),
        })
    }
    /// Rows whose value (each word, on a full-text column) starts with `prefix`,
    /// case-insensitively on a case-insensitive index. Costs in proportion to
    /// the matches.
    fn starts_with(self, prefix: &str) -> Filter<Self::Model>
    where
        Self: PrefixFilterable,
    {
        Filter::new(match lex_slot::<Self>(false) {
            Some(slot) => {
                let (lo, hi) = prefix_range(&fold_for(slot, prefix));
                Node::Lex(slot.key.clone(), lo, hi, Vec::new())
            }
            None => Node::Invalid(Self::NAME.into(), "no prefix index".into()),
        })
    }
    /// Rows whose value (each word, on a full-text column) ends with `suffix`.
    fn ends_with(self, suffix: &str) -> Filter<Self::Model>
    where
        Self: SuffixFilterable,
    {
        Filter::new(match lex_slot::<Self>(true) {
            Some(slot) => {
                let (lo, hi) = prefix_range(&reversed(&fold_for(slot, suffix)));
                Node::Lex(slot.key.clone(), lo, hi, Vec::new())
            }
            None => Node::Invalid(Self::NAME.into(), "no suffix index".into()),
        })
    }
    /// Rows whose value (each word, on a full-text column) matches a pattern:
    /// `*` any run of characters, `?` exactly one, `\\` makes the next one
    /// literal; every other character matches only itself. A literal start is
    /// answered by the prefix index, a wildcard start with a literal end by the
    /// suffix index; otherwise the whole index is scanned.
    fn like(self, pattern: &str) -> Filter<Self::Model>
    where
        Self: LikeFilterable,
    {
        Filter::new(like_node::<Self>(pattern))
    }
    /// Orders by this column, smallest first; ties by key; rows where the column
    /// is null come after all others.
    fn asc(self) -> Order<Self::Model>
    where
        Self: Sortable,
    {
        order::<Self>(false)
    }
    /// Orders by this column, largest first; ties by key; rows where the column
    /// is null come after all others.
    fn desc(self) -> Order<Self::Model>
    where
        Self: Sortable,
    {
        order::<Self>(true)
    }
}
impl<C: Column> ColumnMethods for C {}

fn order<C: Column>(desc: bool) -> Order<C::Model> {
    let l = C::Model::layout();
    // a numeric index orders by number; otherwise the sort index, by text
    let (key, lex) = match &l.numeric[C::INDEX] {
        Some(z) => (z.clone(), None),
        None => match l.slots.iter().position(|s| {
            s.columns == [C::INDEX]
                && s.source == Source::Whole
                && s.key.ends_with(format!("sort:{}", C::NAME).as_bytes())
        }) {
            Some(s) => (l.slots[s].key.clone(), Some(s)),
            None => (Vec::new(), None),
        },
    };
    Order {
        key,
        desc,
        name: C::NAME,
        lex,
        _m: PhantomData,
    }
}

/// The lexicographic slot of a column answering prefixes (`reversed`: suffixes).
fn lex_slot<C: Column>(reversed: bool) -> Option<&'static Slot> {
    let l = C::Model::layout();
    let want: &[Source] = if reversed {
        &[Source::WholeReversed, Source::EachWordReversed]
    } else {
        &[Source::Whole, Source::EachWord]
    };
    // a prefix index first (it may be case-insensitive, or per word), then a sort index
    l.slots
        .iter()
        .filter(|s| s.kind == SlotKind::Lex && s.columns == [C::INDEX] && want.contains(&s.source))
        .min_by_key(|s| s.key.ends_with(format!("sort:{}", C::NAME).as_bytes()))
}

/// A query's text keyed as `slot` keys what it stores (see [`crate::text`]).
fn fold_for(slot: &Slot, text: &str) -> String {
    match slot.fold {
        Fold::Exact => crate::text::exact(text).into_owned(),
        Fold::CaseInsensitive => crate::text::fold(text),
    }
}

/// A piece of a `like` pattern.
#[derive(Debug, Clone, PartialEq)]
enum Glob {
    Lit(String),
    Any,
    One,
}

/// Parses a `like` pattern: `*` any run, `?` one character, `\` escapes the
/// next character; everything else matches itself.
fn parse_glob(p: &str) -> Vec<Glob> {
    let mut out: Vec<Glob> = Vec::new();
    let mut chars = p.chars();
    let push_lit = |out: &mut Vec<Glob>, c: char| match out.last_mut() {
        Some(Glob::Lit(s)) => s.push(c),
        _ => out.push(Glob::Lit(c.to_string())),
    };
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(n) => push_lit(&mut out, n),
                None => push_lit(&mut out, '\\'),
            },
            '*' => {
                if out.last() != Some(&Glob::Any) {
                    out.push(Glob::Any);
                }
            }
            '?' => out.push(Glob::One),
            c => push_lit(&mut out, c),
        }
    }
    out
}

/// The glob as the query script reads it: `G`, then `*`, `?`, or
/// `L<len>:<bytes>` per piece, literals lex-escaped like index values.
fn encode_glob(g: &[Glob]) -> Vec<u8> {
    // a leading G tells a pattern (even an empty one) from no pattern
    let mut out = vec![b'G'];
    for piece in g {
        match piece {
            Glob::Any => out.push(b'*'),
            Glob::One => out.push(b'?'),
            Glob::Lit(s) => {
                let e = lex_escape(s);
                out.extend_from_slice(format!("L{}:", e.len()).as_bytes());
                out.extend_from_slice(&e);
            }
        }
    }
    out
}

/// A lex range over values starting with `prefix` (all values when empty).
fn prefix_range(prefix: &str) -> (Vec<u8>, Vec<u8>) {
    if prefix.is_empty() {
        return (b"-".to_vec(), b"+".to_vec());
    }
    let e = lex_escape(prefix);
    // UTF-8 never has a 0xFF byte, so every value starting with the prefix sorts
    // before prefix + 0xFF
    (
        [b"[", &e[..]].concat(),
        [b"(", &e[..], &[0xff][..]].concat(),
    )
}

fn like_node<C: Column>(pattern: &str) -> Node {
    let (pre, suf) = (lex_slot::<C>(false), lex_slot::<C>(true));
    // wildcards are syntax: only the literal pieces are keyed like the index
    let glob_of = |slot: &Slot| -> Vec<Glob> {
        parse_glob(pattern)
            .into_iter()
            .map(|g| match g {
                Glob::Lit(s) => Glob::Lit(fold_for(slot, &s)),
                other => other,
            })
            .collect()
    };
    match (pre, suf) {
        (Some(p), s) => {
            let g = glob_of(p);
            // a leading wildcard with a literal end is answered by the suffix index
            if let (Some(s), Some(Glob::Any | Glob::One), Some(Glob::Lit(_))) =
                (s, g.first(), g.last())
            {
                return suffix_like(s, glob_of(s));
            }
            let lit = match g.first() {
                Some(Glob::Lit(l)) => l.clone(),
                _ => String::new(),
            };
            let (lo, hi) = prefix_range(&lit);
            Node::Lex(p.key.clone(), lo, hi, encode_glob(&g))
        }
        (None, Some(s)) => suffix_like(s, glob_of(s)),
        (None, None) => Node::Invalid(C::NAME.into(), "no prefix or suffix index".into()),
    }
}

fn suffix_like(slot: &Slot, g: Vec<Glob>) -> Node {
    // the suffix index holds reversed text: reverse the pattern too
    let rev: Vec<Glob> = g
        .into_iter()
        .rev()
        .map(|p| match p {
            Glob::Lit(s) => Glob::Lit(reversed(&s)),
            other => other,
        })
        .collect();
    let lit = match rev.first() {
        Some(Glob::Lit(l)) => l.clone(),
        _ => String::new(),
    };
    let (lo, hi) = prefix_range(&lit);
    Node::Lex(slot.key.clone(), lo, hi, encode_glob(&rev))
}

fn words_node(slot: Option<&Slot>, ws: Vec<String>, all: bool) -> Node {
    let Some(slot) = slot else {
        return Node::Invalid(String::new(), "no full-text index".into());
    };
    let kids: Vec<Node> = ws
        .into_iter()
        .map(|w| Node::Set([&slot.key[..], w.as_bytes()].concat()))
        .collect();
    match kids.len() {
        0 => Node::Empty,
        1 => kids.into_iter().next().unwrap_or(Node::Empty),
        _ if all => Node::And(kids),
        _ => Node::Or(kids),
    }
}

fn text_slot<C: Column>() -> Option<&'static Slot> {
    let l = C::Model::layout();
    l.slot_from(C::INDEX, &[Source::Words]).map(|s| &l.slots[s])
}

fn eq_node<C: Column>(v: &C::Value) -> Node {
    let l = C::Model::layout();
    if let Some(s) = l.slot_of(C::INDEX, SlotKind::Unique) {
        let slot = &l.slots[s];
        return Node::Unique(slot.key.clone(), C::eq_key(v, slot.fold));
    }
    if let Some(s) = l.slot_of(C::INDEX, SlotKind::Set) {
        let slot = &l.slots[s];
        return Node::Set([&slot.key[..], &C::eq_key(v, slot.fold)].concat());
    }
    match (&l.numeric[C::INDEX], score_bound(v, C::score(v))) {
        (Some(z), Ok(ScoreBound::At(s))) => Node::Range(z.clone(), float_repr(s), float_repr(s)),
        // beyond every value the index can hold (i64::MAX, an infinity): no row
        (Some(_), Ok(ScoreBound::BelowAll | ScoreBound::AboveAll)) => Node::Empty,
        (_, Err(e)) => Node::Invalid(C::NAME.into(), e),
        (None, _) => Node::Invalid(C::NAME.into(), "no index".into()),
    }
}

/// One end of a score range: a bound in Redis syntax, or `None` when no stored
/// value can be on the wanted side of it (the range is empty).
fn range_end<C: Column>(
    b: Bound<C::Value>,
    low: bool,
) -> std::result::Result<Option<String>, String> {
    let open = if low { "-inf" } else { "+inf" };
    let (v, excluded) = match b {
        Bound::Unbounded => return Ok(Some(open.to_owned())),
        Bound::Included(v) => (v, false),
        Bound::Excluded(v) => (v, true),
    };
    // stored values are exact scores within what the index holds, so a bound
    // beyond them all is an open end on one side and empty on the other; a
    // bound within is converted exactly
    Ok(match score_bound(&v, C::score(&v))? {
        ScoreBound::At(s) if excluded => Some(format!("({}", float_repr(s))),
        ScoreBound::At(s) => Some(float_repr(s)),
        ScoreBound::BelowAll if low => Some(open.to_owned()),
        ScoreBound::AboveAll if !low => Some(open.to_owned()),
        ScoreBound::BelowAll | ScoreBound::AboveAll => None,
    })
}

fn range<C: Column>(lo: Bound<C::Value>, hi: Bound<C::Value>) -> Filter<C::Model> {
    let z = C::Model::layout().numeric[C::INDEX]
        .clone()
        .unwrap_or_default();
    Filter::new(
        match (range_end::<C>(lo, true), range_end::<C>(hi, false)) {
            (Ok(Some(lo)), Ok(Some(hi))) => Node::Range(z, lo, hi),
            (Err(e), _) | (_, Err(e)) => Node::Invalid(C::NAME.into(), e),
            (Ok(_), Ok(_)) => Node::Empty,
        },
    )
}

/// A query on model `M`: a conjunction of filters, an order, an offset and a
/// limit. One flat type, so `if c { q = q.filter(..) }` compiles.
pub struct Query<M> {
    filters: Vec<Node>,
    order: Option<(Vec<u8>, bool, &'static str, Option<usize>)>,
    offset: u64,
    limit: Option<u64>,
    _m: PhantomData<fn() -> M>,
}

impl<M> Clone for Query<M> {
    fn clone(&self) -> Self {
        Query {
            filters: self.filters.clone(),
            order: self.order.clone(),
            offset: self.offset,
            limit: self.limit,
            _m: PhantomData,
        }
    }
}

impl<M> std::fmt::Debug for Query<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Query")
            .field("filter", &describe(&self.root()))
            .field("order", &self.order.as_ref().map(|o| (o.2, o.1)))
            .field("offset", &self.offset)
            .field("limit", &self.limit)
            .finish()
    }
}

impl<M: Model> Default for Query<M> {
    fn default() -> Self {
        Query {
            filters: Vec::new(),
            order: None,
            offset: 0,
            limit: None,
            _m: PhantomData,
        }
    }
}

/// What the query script returns in each mode.
enum Mode<'a> {
    Rows,
    Ids,
    Select(&'a [&'static str]),
    Count,
    Exists,
    Delete,
}

/// A plan reading one page: its rows and where it stopped.
type PagePlan<M> = Plan<(Vec<Record<M>>, Cursor)>;

pub use crate::wire::query::Cursor;

impl<M> Query<M> {
    fn root(&self) -> Node {
        match self.filters.len() {
            0 => Node::All,
            1 => self.filters[0].clone(),
            _ => Node::And(self.filters.clone()),
        }
    }
}

impl<M: Model> Query<M> {
    fn check(&self) -> Result<()> {
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
                return Err(crate::model::invalid::<M>(c, e.to_owned()));
            }
        }
        Ok(())
    }

    fn args(&self, mode: Mode<'_>, cursor: Option<&Cursor>) -> Result<QueryArgs> {
        self.check()?;
        let l = M::layout();
        Ok(QueryArgs {
            ids: l.ids.clone(),
            row_prefix: l.row_prefix.clone(),
            numeric_ids: M::Key::NUMERIC,
            mode: match mode {
                Mode::Rows => QueryMode::Rows,
                Mode::Ids => QueryMode::Ids,
                Mode::Select(fields) => {
                    QueryMode::Select(fields.iter().map(|f| f.as_bytes().to_vec()).collect())
                }
                Mode::Count => QueryMode::Count,
                Mode::Exists => QueryMode::Exists,
                Mode::Delete => QueryMode::Delete {
                    tag: l.tag.clone(),
                    numeric: numeric_keys::<M>(),
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
            filter: wire_filter(&self.root()),
        })
    }

    fn plan<T>(
        &self,
        mode: Mode<'_>,
        cursor: Option<&Cursor>,
        decode: impl FnOnce(redis::Value) -> Result<T> + Send + 'static,
    ) -> Result<Plan<T>> {
        let what = match mode {
            Mode::Rows => "load rows",
            Mode::Ids => "load keys",
            Mode::Select(_) => "load selected columns",
            Mode::Count => "count",
            Mode::Exists => "test for a match",
            Mode::Delete => "delete matches",
        };
        let args = self.args(mode, cursor)?;
        let q = self.clone();
        // described only when explained: building the text costs more than
        // planning the query
        Ok(Plan::call(&args, decode).steps_with(move || q.steps(what)))
    }

    fn steps(&self, what: &str) -> Vec<String> {
        vec![
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
            what.to_owned(),
        ]
    }

    /// The plan that loads the matching rows.
    pub fn load_plan(&self) -> Result<Plan<Vec<Record<M>>>> {
        self.page_plan(None).map(|p| p.map(|(rows, _)| Ok(rows)))
    }

    fn page_plan(&self, cursor: Option<&Cursor>) -> Result<Plan<(Vec<Record<M>>, Cursor)>> {
        self.plan(Mode::Rows, cursor, |v| {
            let (c, items) = page(v, true)?;
            let mut rows = Vec::with_capacity(items.len());
            for (m, r) in items {
                match decode_row::<M>(&m, r)? {
                    Some(rec) => rows.push(rec),
                    None => {
                        return Err(Error::decode(
                            &M::layout().row_key(&m),
                            None,
                            "an index names this row but it does not exist (run verify)",
                        ));
                    }
                }
            }
            Ok((rows, c))
        })
    }

    /// The plan that loads the keys of the matching rows.
    pub fn ids_plan(&self) -> Result<Plan<Vec<M::Key>>> {
        self.plan(Mode::Ids, None, |v| {
            let (_, items) = page(v, false)?;
            items
                .into_iter()
                .map(|(m, _)| M::Key::from_member(&m).map_err(|e| Error::decode(&m, None, e)))
                .collect()
        })
    }

    /// The plan that counts the matches (after offset, up to the limit).
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
        // one index answers alone: a plain command, no script
        let direct = match self.filters.as_slice() {
            [] => Some(("ZCARD", vec![M::layout().ids.clone()], vec![])),
            [Node::Range(k, lo, hi)] => Some((
                "ZCOUNT",
                vec![k.clone()],
                vec![lo.clone().into_bytes(), hi.clone().into_bytes()],
            )),
            [Node::Set(k)] => Some(("SCARD", vec![k.clone()], vec![])),
            _ => None,
        };
        if let Some((cmd, keys, args)) = direct {
            let p = Plan::new(Call::Command(cmd), keys, args, move |v| int(v).map(page));
            let q = self.clone();
            return Ok(p.steps_with(move || q.steps("count (one index: a plain command)")));
        }
        self.plan(Mode::Count, None, int)
    }

    /// The plan that tells whether anything matches.
    pub fn exists_plan(&self) -> Result<Plan<bool>> {
        self.plan(Mode::Exists, None, |v| {
            Ok(matches!(QueryReply::count(v)?, QueryReply::Count(n) if n > 0))
        })
    }

    /// The plan that deletes the matches (one batch of at most `limit` rows).
    pub fn delete_plan(&self) -> Result<Plan<(u64, u64)>> {
        self.plan(Mode::Delete, None, |v| match QueryReply::deleted(v)? {
            QueryReply::Deleted { deleted, found } => Ok((deleted, found)),
            _ => Err(Error::decode(b"(delete reply)", None, "not a count")),
        })
    }

    /// The plan of a query with [`Query::select`].
    fn select_plan<S: Selection<M>>(&self) -> Result<Plan<Vec<S::Output>>> {
        self.plan(Mode::Select(S::FIELDS), None, |v| {
            let (_, items) = page(v, true)?;
            let mut out = Vec::new();
            for (m, r) in items {
                let key = M::layout().row_key(&m);
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
fn page(v: redis::Value, with_rows: bool) -> Result<(Cursor, PageRows)> {
    match QueryReply::page(v, with_rows)? {
        QueryReply::Page { cursor, rows } => Ok((
            cursor,
            rows.into_iter()
                .map(|(m, r)| (m, r.unwrap_or(redis::Value::Nil)))
                .collect(),
        )),
        _ => Err(Error::decode(b"(query reply)", None, "not a page")),
    }
}

/// The filter as the wire contract carries it.
fn wire_filter(n: &Node) -> WireFilter {
    match n {
        Node::And(kids) => WireFilter::And(kids.iter().map(wire_filter).collect()),
        Node::Or(kids) => WireFilter::Or(kids.iter().map(wire_filter).collect()),
        Node::Not(k) => WireFilter::Not(Box::new(wire_filter(k))),
        Node::Set(k) => WireFilter::Set(k.clone()),
        Node::Unique(k, v) => WireFilter::Unique(k.clone(), v.clone()),
        Node::Range(k, lo, hi) => {
            WireFilter::Range(k.clone(), lo.clone().into_bytes(), hi.clone().into_bytes())
        }
        Node::Lex(k, lo, hi, g) => WireFilter::Lex(k.clone(), lo.clone(), hi.clone(), g.clone()),
        Node::All => WireFilter::All,
        Node::Empty | Node::Invalid(..) => WireFilter::Empty,
    }
}

fn describe(n: &Node) -> String {
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

/// A tuple of columns of `M` to read with [`QueryDsl::select`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a selection of columns of `{M}`",
    label = "expected a tuple of `{M}`'s columns",
    note = "select a tuple of one to six columns of `{M}`: `.select((column,))` for one, `.select((a, b))` for two"
)]
pub trait Selection<M>: Send + 'static {
    /// What each selected row becomes.
    type Output: Send + 'static;
    /// The hash fields read.
    const FIELDS: &'static [&'static str];
    /// Decodes the values of one row.
    fn decode(key: &[u8], vals: Vec<Option<Vec<u8>>>) -> Result<Self::Output>;
}

macro_rules! selection {
    ($($c:ident $i:tt),+) => {
        impl<M: Model, $($c: BelongsTo<M>),+> Selection<M> for ($($c,)+) {
            type Output = ($($c::Field,)+);
            const FIELDS: &'static [&'static str] = &[$($c::NAME),+];
            fn decode(key: &[u8], vals: Vec<Option<Vec<u8>>>) -> Result<Self::Output> {
                Ok(($(
                    match $c::Field::from_stored(vals.get($i).and_then(|v| v.as_deref())) {
                        Ok(Some(v)) => v,
                        Ok(None) => return Err(Error::decode(key, Some($c::NAME), "missing field")),
                        Err(e) => return Err(Error::decode(key, Some($c::NAME), e)),
                    },
                )+))
            }
        }
    };
}
selection!(A 0);
selection!(A 0, B 1);
selection!(A 0, B 1, C 2);
selection!(A 0, B 1, C 2, D 3);
selection!(A 0, B 1, C 2, D 3, E 4);
selection!(A 0, B 1, C 2, D 3, E 4, F 5);

/// A query restricted to some columns: `load` returns tuples.
pub struct Select<M, S> {
    query: Query<M>,
    _s: PhantomData<fn() -> S>,
}

impl<M, S> std::fmt::Debug for Select<M, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Select")
            .field("query", &self.query)
            .finish()
    }
}

impl<M: Model, S: Selection<M>> Select<M, S> {
    /// The plan of [`Select::load`].
    pub fn load_plan(&self) -> Result<Plan<Vec<S::Output>>> {
        self.query.select_plan::<S>()
    }
    /// Reads the selected columns of every match (HMGET per row, in the script).
    pub fn load<C: Connection + ?Sized>(&self, conn: &mut C) -> Result<Vec<S::Output>> {
        self.load_plan()?.run(conn)
    }
    /// [`Select::load`] on an async connection.
    pub async fn load_async<C: AsyncConnection>(&self, conn: &mut C) -> Result<Vec<S::Output>> {
        self.load_plan()?.run_async(conn).await
    }
}

/// Pages through a query's matches in constant memory: each page is one
/// script call that resumes after the last row of the previous page.
///
/// Under concurrent writes, every row that exists for the whole iteration and
/// whose order column does not change is returned exactly once; rows inserted,
/// deleted or moved meanwhile may or may not be returned.
pub struct Pages<M> {
    query: Query<M>,
    page: u64,
    remaining: Option<u64>,
    cursor: Option<Cursor>,
    done: bool,
}

impl<M> std::fmt::Debug for Pages<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pages")
            .field("query", &self.query)
            .field("page", &self.page)
            .field("remaining", &self.remaining)
            .field("cursor", &self.cursor)
            .field("done", &self.done)
            .finish()
    }
}

impl<M: Model> Pages<M> {
    fn next_plan(&mut self) -> Option<Result<PagePlan<M>>> {
        if self.done {
            return None;
        }
        let mut q = self.query.clone();
        let n = self.remaining.map_or(self.page, |r| r.min(self.page));
        if n == 0 {
            self.done = true;
            // a query that cannot run fails even when it would return nothing
            return self.query.check().err().map(Err);
        }
        q.limit = Some(n);
        if self.cursor.is_some() {
            q.offset = 0;
        }
        Some(q.page_plan(self.cursor.as_ref()))
    }

    fn advance(&mut self, rows: &[Record<M>], c: Cursor) {
        let n = rows.len() as u64;
        if let Some(r) = &mut self.remaining {
            *r -= n.min(*r);
        }
        if n < self.page || c.member.is_empty() {
            self.done = true;
        }
        self.cursor = Some(c);
    }

    /// The next page, or `None` after the last one.
    pub fn next_page<C: Connection + ?Sized>(
        &mut self,
        conn: &mut C,
    ) -> Result<Option<Vec<Record<M>>>> {
        let Some(plan) = self.next_plan() else {
            return Ok(None);
        };
        let (rows, c) = plan?.run(conn)?;
        self.advance(&rows, c);
        Ok(if rows.is_empty() { None } else { Some(rows) })
    }

    /// [`Pages::next_page`] on an async connection.
    pub async fn next_page_async<C: AsyncConnection>(
        &mut self,
        conn: &mut C,
    ) -> Result<Option<Vec<Record<M>>>> {
        let Some(plan) = self.next_plan() else {
            return Ok(None);
        };
        let (rows, c) = plan?.run_async(conn).await?;
        self.advance(&rows, c);
        Ok(if rows.is_empty() { None } else { Some(rows) })
    }
}

/// Extension for `Result<T>` from [`QueryDsl::first`]: turns
/// [`Error::NotFound`] into `Ok(None)`.
pub trait OptionalExtension<T> {
    /// `Ok(None)` instead of a not-found error.
    fn optional(self) -> Result<Option<T>>;
}
impl<T> OptionalExtension<T> for Result<T> {
    fn optional(self) -> Result<Option<T>> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// The query methods, on a table (`users::table.filter(..)`) and on a query.
pub trait QueryDsl: Sized {
    /// The model queried.
    type Model: Model;
    /// The query so far.
    fn into_query(self) -> Query<Self::Model>;

    /// Keeps the rows matching `f` (chained filters are ANDed).
    fn filter(self, f: impl IntoFilter<Self::Model>) -> Query<Self::Model> {
        let mut q = self.into_query();
        match f.into_filter().node {
            Node::And(kids) => q.filters.extend(kids),
            n => q.filters.push(n),
        }
        q
    }
    /// Orders the rows (replacing an earlier order).
    fn order_by(self, o: impl IntoOrder<Self::Model>) -> Query<Self::Model> {
        let mut q = self.into_query();
        let o = o.into_order();
        q.order = Some((o.key, o.desc, o.name, o.lex));
        q
    }
    /// Returns at most `n` rows.
    fn limit(self, n: u64) -> Query<Self::Model> {
        let mut q = self.into_query();
        q.limit = Some(n);
        q
    }
    /// Skips the first `n` rows.
    fn offset(self, n: u64) -> Query<Self::Model> {
        let mut q = self.into_query();
        q.offset = n;
        q
    }
    /// Reads only some columns: `select((users::email, users::age))`.
    fn select<S: Selection<Self::Model>>(self, _columns: S) -> Select<Self::Model, S> {
        Select {
            query: self.into_query(),
            _s: PhantomData,
        }
    }
    /// Pages through the matches, `page_size` rows per round trip.
    fn pages(self, page_size: u64) -> Pages<Self::Model> {
        let q = self.into_query();
        Pages {
            remaining: q.limit,
            query: q,
            page: page_size.max(1),
            cursor: None,
            done: false,
        }
    }

    /// Every matching row, in one round trip.
    fn load<C: Connection + ?Sized>(self, conn: &mut C) -> Result<Vec<Record<Self::Model>>> {
        self.into_query().load_plan()?.run(conn)
    }
    /// [`QueryDsl::load`] on an async connection.
    fn load_async<C: AsyncConnection>(
        self,
        conn: &mut C,
    ) -> impl Future<Output = Result<Vec<Record<Self::Model>>>> + Send {
        let plan = self.into_query().load_plan();
        async move { plan?.run_async(conn).await }
    }
    /// The first matching row; [`Error::NotFound`] when none (see
    /// [`OptionalExtension::optional`]).
    fn first<C: Connection + ?Sized>(self, conn: &mut C) -> Result<Record<Self::Model>> {
        first_of(at_most_one(self.into_query()).load_plan()?.run(conn)?)
    }
    /// [`QueryDsl::first`] on an async connection.
    fn first_async<C: AsyncConnection>(
        self,
        conn: &mut C,
    ) -> impl Future<Output = Result<Record<Self::Model>>> + Send {
        let plan = at_most_one(self.into_query()).load_plan();
        async move { first_of(plan?.run_async(conn).await?) }
    }
    /// The keys of the matching rows.
    fn ids<C: Connection + ?Sized>(self, conn: &mut C) -> Result<Vec<<Self::Model as Model>::Key>> {
        self.into_query().ids_plan()?.run(conn)
    }
    /// [`QueryDsl::ids`] on an async connection.
    fn ids_async<C: AsyncConnection>(
        self,
        conn: &mut C,
    ) -> impl Future<Output = Result<Vec<<Self::Model as Model>::Key>>> + Send {
        let plan = self.into_query().ids_plan();
        async move { plan?.run_async(conn).await }
    }
    /// How many rows match (after the offset, at most the limit).
    fn count<C: Connection + ?Sized>(self, conn: &mut C) -> Result<u64> {
        self.into_query().count_plan()?.run(conn)
    }
    /// [`QueryDsl::count`] on an async connection.
    fn count_async<C: AsyncConnection>(
        self,
        conn: &mut C,
    ) -> impl Future<Output = Result<u64>> + Send {
        let plan = self.into_query().count_plan();
        async move { plan?.run_async(conn).await }
    }
    /// Whether any row matches.
    fn exists<C: Connection + ?Sized>(self, conn: &mut C) -> Result<bool> {
        self.into_query().exists_plan()?.run(conn)
    }
    /// [`QueryDsl::exists`] on an async connection.
    fn exists_async<C: AsyncConnection>(
        self,
        conn: &mut C,
    ) -> impl Future<Output = Result<bool>> + Send {
        let plan = self.into_query().exists_plan();
        async move { plan?.run_async(conn).await }
    }
    /// Deletes every match with its index entries; returns how many. With a
    /// limit, one atomic script call; without, atomic batches of 1,000.
    fn delete<C: Connection + ?Sized>(self, conn: &mut C) -> Result<u64> {
        let q = self.into_query();
        let mut total = 0;
        for batch in delete_batches(&q) {
            let (deleted, found) = batch.delete_plan()?.run(conn)?;
            total += deleted;
            if q.limit.is_some() || found < DELETE_BATCH {
                break;
            }
        }
        Ok(total)
    }
    /// [`QueryDsl::delete`] on an async connection.
    fn delete_async<C: AsyncConnection>(
        self,
        conn: &mut C,
    ) -> impl Future<Output = Result<u64>> + Send {
        let q = self.into_query();
        async move {
            let mut total = 0;
            for batch in delete_batches(&q) {
                let (deleted, found) = batch.delete_plan()?.run_async(conn).await?;
                total += deleted;
                if q.limit.is_some() || found < DELETE_BATCH {
                    break;
                }
            }
            Ok(total)
        }
    }
    /// The plan of [`QueryDsl::load`] as text.
    fn explain(self) -> String {
        Query::explain(&self.into_query())
    }
}

const DELETE_BATCH: u64 = 1000;

fn delete_batches<M: Model>(q: &Query<M>) -> impl Iterator<Item = Query<M>> + '_ {
    std::iter::repeat_with(move || {
        let mut b = q.clone();
        if b.limit.is_none() {
            b.limit = Some(DELETE_BATCH);
        }
        b
    })
}

/// The query of `first`: its first row, none under a limit of 0.
fn at_most_one<M>(mut q: Query<M>) -> Query<M> {
    q.limit = Some(q.limit.map_or(1, |l| l.min(1)));
    q
}

fn first_of<M: Model>(rows: Vec<Record<M>>) -> Result<Record<M>> {
    rows.into_iter().next().ok_or(Error::NotFound {
        model: M::SCHEMA.name,
        key: "(query)".into(),
    })
}

impl<M: Model> QueryDsl for Query<M> {
    type Model = M;
    fn into_query(self) -> Query<M> {
        self
    }
}

impl<T: Table> QueryDsl for T {
    type Model = T::Model;
    fn into_query(self) -> Query<T::Model> {
        Query::default()
    }
}
