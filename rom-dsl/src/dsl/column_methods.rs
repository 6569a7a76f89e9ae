//! The column methods ([`ColumnMethods`]): each builds a condition or an
//! order ([`Filter`], [`Order`] in `filter.rs`), and its marker-trait bound
//! is the compile-time check that an index answers it.

use super::filter::{Filter, Node, Order};
use super::like::{like_node, prefix_range};
use crate::index::{
    Column, EqFilterable, LikeFilterable, PrefixFilterable, RangeFilterable, Sortable,
    SuffixFilterable, TextFilterable, ValueFor,
};
use crate::storage::model::{Fold, Model, Slot, SlotKind, Source};
use crate::value::{ScoreBound, float_repr, reversed, words};
use std::marker::PhantomData;
use std::ops::{Bound, RangeBounds};

/// Conditions and orderings on a column: `eq`, `eq_any`, `gt`, `ge`, `lt`,
/// `le`, `between`, `asc`, `desc`. Each requires the index that answers it.
///
/// ```
/// # use rom_dsl::{EqFilterable, Model, QueryDsl, RangeFilterable, Result, Sortable, Table};
/// # use rom_dsl::query::ColumnMethods;
/// fn oldest_in<T, C, A>(people: T, city: C, age: A, conn: &mut redis::Connection) -> Result<usize>
/// where
///     T: Table,
///     C: EqFilterable<Model = T::Model, Value = String>,
///     A: RangeFilterable<Model = T::Model, Value = i32> + Sortable,
/// {
///     let rows = people.filter(city.eq("Lyon") & age.ge(18)).order_by(age.desc()).limit(5);
///     Ok(rows.load(conn)?.len())
/// }
/// ```
pub trait ColumnMethods: Column {
    /// Rows whose column equals `v` (case-insensitively on a case-insensitive
    /// index). Needs an equality, unique or numeric index.
    ///
    /// ```
    /// # use rom_dsl::{EqFilterable, Filter};
    /// # use rom_dsl::query::ColumnMethods;
    /// fn by_email<C: EqFilterable<Value = String>>(email: C) -> Filter<C::Model> {
    ///     email.eq("ann@example.com")
    /// }
    /// ```
    fn eq(self, v: impl ValueFor<Self, Self::Value>) -> Filter<Self::Model>
    where
        Self: EqFilterable,
    {
        Filter::new(eq_node::<Self>(&v.into_value()))
    }
    /// Rows whose column equals any of `vs` (no row for an empty list).
    ///
    /// ```
    /// # use rom_dsl::{EqFilterable, Filter};
    /// # use rom_dsl::query::ColumnMethods;
    /// fn open<C: EqFilterable<Value = String>>(status: C) -> Filter<C::Model> {
    ///     status.eq_any(["new", "in progress"])
    /// }
    /// ```
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
    ///
    /// ```
    /// # use rom_dsl::{Filter, RangeFilterable};
    /// # use rom_dsl::query::ColumnMethods;
    /// fn popular<C: RangeFilterable<Value = i64>>(likes: C) -> Filter<C::Model> {
    ///     likes.gt(1_000)
    /// }
    /// ```
    fn gt(self, v: impl ValueFor<Self, Self::Value>) -> Filter<Self::Model>
    where
        Self: RangeFilterable,
    {
        range::<Self>(Bound::Excluded(v.into_value()), Bound::Unbounded)
    }
    /// Rows whose column is greater than or equal to `v`.
    ///
    /// ```
    /// # use rom_dsl::{Filter, RangeFilterable};
    /// # use rom_dsl::query::ColumnMethods;
    /// fn adults<C: RangeFilterable<Value = i32>>(age: C) -> Filter<C::Model> {
    ///     age.ge(18)
    /// }
    /// ```
    fn ge(self, v: impl ValueFor<Self, Self::Value>) -> Filter<Self::Model>
    where
        Self: RangeFilterable,
    {
        range::<Self>(Bound::Included(v.into_value()), Bound::Unbounded)
    }
    /// Rows whose column is less than `v`.
    ///
    /// ```
    /// # use rom_dsl::{Filter, RangeFilterable};
    /// # use rom_dsl::query::ColumnMethods;
    /// fn minors<C: RangeFilterable<Value = i32>>(age: C) -> Filter<C::Model> {
    ///     age.lt(18)
    /// }
    /// ```
    fn lt(self, v: impl ValueFor<Self, Self::Value>) -> Filter<Self::Model>
    where
        Self: RangeFilterable,
    {
        range::<Self>(Bound::Unbounded, Bound::Excluded(v.into_value()))
    }
    /// Rows whose column is less than or equal to `v`.
    ///
    /// ```
    /// # use rom_dsl::{Filter, RangeFilterable};
    /// # use rom_dsl::query::ColumnMethods;
    /// fn cheap<C: RangeFilterable<Value = f64>>(price: C) -> Filter<C::Model> {
    ///     price.le(9.99)
    /// }
    /// ```
    fn le(self, v: impl ValueFor<Self, Self::Value>) -> Filter<Self::Model>
    where
        Self: RangeFilterable,
    {
        range::<Self>(Bound::Unbounded, Bound::Included(v.into_value()))
    }
    /// Rows whose column is in a range: `20..=30`, `20..30`, `20..`, `..=30`,
    /// or a pair of [`Bound`]s.
    ///
    /// ```
    /// # use rom_dsl::{Filter, RangeFilterable};
    /// # use rom_dsl::query::ColumnMethods;
    /// fn twenties<C: RangeFilterable<Value = i32>>(age: C) -> Filter<C::Model> {
    ///     age.between(20..30)
    /// }
    /// ```
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
    ///
    /// ```
    /// # use rom_dsl::{Filter, TextFilterable};
    /// # use rom_dsl::query::ColumnMethods;
    /// fn about_redis<C: TextFilterable>(body: C) -> Filter<C::Model> {
    ///     body.has_word("Redis")
    /// }
    /// ```
    fn has_word(self, w: &str) -> Filter<Self::Model>
    where
        Self: TextFilterable,
    {
        Filter::new(words_node(text_slot::<Self>(), words(w), true))
    }
    /// Rows whose text has every one of these words.
    ///
    /// ```
    /// # use rom_dsl::{Filter, TextFilterable};
    /// # use rom_dsl::query::ColumnMethods;
    /// fn about_lua_in_redis<C: TextFilterable>(body: C) -> Filter<C::Model> {
    ///     body.has_all_words(["redis", "lua"])
    /// }
    /// ```
    fn has_all_words<'a>(self, ws: impl IntoIterator<Item = &'a str>) -> Filter<Self::Model>
    where
        Self: TextFilterable,
    {
        let all = crate::text::dedup(ws.into_iter().flat_map(words));
        Filter::new(words_node(text_slot::<Self>(), all, true))
    }
    /// Rows whose text has at least one of these words.
    ///
    /// ```
    /// # use rom_dsl::{Filter, TextFilterable};
    /// # use rom_dsl::query::ColumnMethods;
    /// fn about_pets<C: TextFilterable>(body: C) -> Filter<C::Model> {
    ///     body.has_any_word(["cat", "dog"])
    /// }
    /// ```
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
    ///
    /// ```
    /// # use rom_dsl::{Filter, PrefixFilterable};
    /// # use rom_dsl::query::ColumnMethods;
    /// fn typed_so_far<C: PrefixFilterable>(name: C, input: &str) -> Filter<C::Model> {
    ///     name.starts_with(input)
    /// }
    /// ```
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
    ///
    /// ```
    /// # use rom_dsl::{Filter, SuffixFilterable};
    /// # use rom_dsl::query::ColumnMethods;
    /// fn staff<C: SuffixFilterable>(email: C) -> Filter<C::Model> {
    ///     email.ends_with("@example.com")
    /// }
    /// ```
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
    ///
    /// ```
    /// # use rom_dsl::{Filter, LikeFilterable};
    /// # use rom_dsl::query::ColumnMethods;
    /// fn reports<C: LikeFilterable>(file: C) -> Filter<C::Model> {
    ///     file.like("report-20??-*.pdf")
    /// }
    /// ```
    fn like(self, pattern: &str) -> Filter<Self::Model>
    where
        Self: LikeFilterable,
    {
        Filter::new(like_node::<Self>(pattern))
    }
    /// Orders by this column, smallest first; ties by key; rows where the column
    /// is null come after all others.
    ///
    /// ```
    /// # use rom_dsl::{Order, Sortable};
    /// # use rom_dsl::query::ColumnMethods;
    /// fn by_name<C: Sortable>(name: C) -> Order<C::Model> {
    ///     name.asc()
    /// }
    /// ```
    fn asc(self) -> Order<Self::Model>
    where
        Self: Sortable,
    {
        order::<Self>(false)
    }
    /// Orders by this column, largest first; ties by key; rows where the column
    /// is null come after all others.
    ///
    /// ```
    /// # use rom_dsl::{Model, Query, QueryDsl, Sortable};
    /// # use rom_dsl::query::ColumnMethods;
    /// fn top<M: Model, C: Sortable<Model = M>>(q: Query<M>, score: C) -> Query<M> {
    ///     q.order_by(score.desc()).limit(3)
    /// }
    /// ```
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
pub(crate) fn lex_slot<C: Column>(reversed: bool) -> Option<&'static Slot> {
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
pub(crate) fn fold_for(slot: &Slot, text: &str) -> String {
    match slot.fold {
        Fold::Exact => crate::text::exact(text).into_owned(),
        Fold::CaseInsensitive => crate::text::fold(text),
    }
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
    match (&l.numeric[C::INDEX], C::bound(v)) {
        (Some(z), Ok(ScoreBound::At(s))) => Node::Range(z.clone(), float_repr(s), float_repr(s)),
        // beyond every value the index can hold (i64::MAX, an infinity), or
        // between two scores (1.005 at scale 2): no row
        (Some(_), Ok(ScoreBound::BelowAll | ScoreBound::AboveAll | ScoreBound::After(_))) => {
            Node::Empty
        }
        (_, Err(e)) => Node::Invalid(C::NAME.into(), e),
        (None, _) => Node::Invalid(C::NAME.into(), "no index".into()),
    }
}

/// Rows whose reference column `C` holds the key whose member is `member`
/// (its equality set; a `belongs_to` column always has one).
pub(crate) fn reference_node<C: Column>(member: &[u8]) -> Node {
    let l = C::Model::layout();
    match l.slot_of(C::INDEX, SlotKind::Set) {
        Some(s) => Node::Set([&l.slots[s].key[..], member].concat()),
        None => Node::Invalid(C::NAME.into(), "no equality index".into()),
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
    Ok(match C::bound(&v)? {
        ScoreBound::At(s) if excluded => Some(format!("({}", float_repr(s))),
        ScoreBound::At(s) => Some(float_repr(s)),
        // between s and the next score: above s, or up to s, whether excluded or not
        ScoreBound::After(s) if low => Some(format!("({}", float_repr(s))),
        ScoreBound::After(s) => Some(float_repr(s)),
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
