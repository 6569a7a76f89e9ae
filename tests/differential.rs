//! Differential tests of the query engine: random rows and random queries are
//! answered by Redis (one script call per query or page) and by an in-memory
//! oracle written from the documented rules; both answers must be identical.
//!
//! The rules the oracle implements:
//! - chained filters AND; `not` is the complement within every row, so a row
//!   whose column is null matches `not(col.gt(..))`;
//! - `eq` on a case-insensitive index compares the Unicode lower case of both
//!   sides;
//! - ties are broken by key ascending (numerically for `u64` keys, byte-wise
//!   for `String` keys); rows whose order column is null come after all the
//!   others in both directions, by key; no order means by key;
//! - `offset` then `limit`; `count` honours both (`min(limit, max(0, matches -
//!   offset))`); `exists` and `first` answer about the rows `load` returns;
//! - `pages(n)` returns exactly what `load` returns, in pages of at most `n`;
//!   so does `load_page(n)` resumed with each page's token (`after`), and a
//!   page carries a token only when it is full;
//! - `delete` removes exactly the rows `load` returns and leaves every index
//!   clean;
//! - every value of a column's type is a valid bound, compared exactly (an
//!   integer beyond ±2^53 or an infinity is beyond every stored value); only
//!   NaN makes the query fail with a validation error, and writes nothing.
//!
//! Each test function starts one redis-server and reuses it for every case
//! (FLUSHALL between cases). The seed is printed on failure; rerun with
//! `PROPTEST_RNG_SEED=<seed>` (and `PROPTEST_CASES=<n>` to change the number
//! of cases).

use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};
use rom::prelude::*;
use rom::testing::RedisServer;
use rom::{Filter, Query, RangeFilterable};
use std::cell::RefCell;
use std::cmp::Ordering;
use std::fmt::Debug;
use std::ops::Bound;

// ---------------------------------------------------------------- models

/// Auto-increment `u64` keys: ties order numerically (9 before 10).
#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = items)]
struct Item {
    #[rom(primary_key)]
    id: Option<u64>,
    #[rom(index(numeric))]
    rank: Option<i64>,
    #[rom(index(numeric))]
    level: i32,
    #[rom(index(numeric))]
    score: f64,
    #[rom(index(eq))]
    tag: String,
    #[rom(index(eq, case_insensitive))]
    label: String,
    #[rom(index(eq))]
    flag: bool,
    #[rom(unique)]
    code: Option<String>,
    #[rom(index(sort))]
    title: Option<String>,
}

/// A natural `String` key: ties order byte-wise.
#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = tags)]
struct Tag {
    #[rom(primary_key)]
    name: String,
    #[rom(index(numeric))]
    rank: Option<i64>,
    #[rom(index(numeric))]
    level: i32,
    #[rom(index(numeric))]
    score: f64,
    #[rom(index(eq))]
    tag: String,
    #[rom(index(eq, case_insensitive))]
    label: String,
    #[rom(index(eq))]
    flag: bool,
    #[rom(unique)]
    code: Option<String>,
    #[rom(index(sort))]
    title: Option<String>,
}

/// The columns both models share, as plain data (the oracle's row).
#[derive(Clone, Debug, PartialEq)]
struct Row {
    rank: Option<i64>,
    level: i32,
    score: f64,
    tag: String,
    label: String,
    flag: bool,
    code: Option<String>,
    title: Option<String>,
}

// ---------------------------------------------------------------- query specs

/// A literal compared with `eq`, tagged by its column.
#[derive(Clone, Debug)]
enum Lit {
    Rank(i64),
    Level(i32),
    Score(f64),
    Tag(String),
    Label(String),
    Flag(bool),
    Code(String),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum EqCol {
    Rank,
    Level,
    Score,
    Tag,
    Label,
    Flag,
    Code,
}

/// A literal of a numeric column, for ranges.
#[derive(Clone, Copy, Debug)]
enum Num {
    Rank(i64),
    Level(i32),
    Score(f64),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum NumCol {
    Rank,
    Level,
    Score,
}

#[derive(Clone, Copy, Debug)]
enum CmpOp {
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Clone, Debug)]
enum Pred {
    Eq(Lit),
    /// Literals all of the column (possibly none).
    EqAny(EqCol, Vec<Lit>),
    Cmp(CmpOp, Num),
    /// Bounds of the column.
    Between(NumCol, Bound<Num>, Bound<Num>),
    And(Box<Pred>, Box<Pred>),
    Or(Box<Pred>, Box<Pred>),
    Not(Box<Pred>),
    AndNot(Box<Pred>, Box<Pred>),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum OrdCol {
    /// Nullable numeric.
    Rank,
    Level,
    Score,
    /// Nullable text, by a sort index.
    Title,
}

#[derive(Clone, Debug)]
struct QSpec {
    filters: Vec<Pred>,
    order: Option<(OrdCol, bool)>,
    offset: Option<u64>,
    limit: Option<u64>,
    /// Index entries per call: a small one makes the query run in steps.
    budget: Option<u64>,
}

#[derive(Clone, Copy, Debug)]
enum Term {
    Load,
    Ids,
    Count,
    Exists,
    First,
    Select,
    Delete,
    Pages(u64),
    /// `load_page(n)` resumed with `after(token)`, the token sent through its
    /// string form each time.
    Tokens(u64),
}

#[derive(Clone, Debug)]
struct Case<K> {
    rows: Vec<(Option<K>, Row)>,
    ops: Vec<(QSpec, Term)>,
}

// ---------------------------------------------------------------- building rom queries

fn cmp<C: RangeFilterable>(c: C, op: CmpOp, v: C::Value) -> Filter<C::Model> {
    match op {
        CmpOp::Gt => c.gt(v),
        CmpOp::Ge => c.ge(v),
        CmpOp::Lt => c.lt(v),
        CmpOp::Le => c.le(v),
    }
}

/// `between` with every form of range the API accepts.
fn between<C: RangeFilterable>(c: C, lo: Bound<C::Value>, hi: Bound<C::Value>) -> Filter<C::Model> {
    use Bound::{Excluded, Included, Unbounded};
    match (lo, hi) {
        (Included(a), Excluded(b)) => c.between(a..b),
        (Included(a), Included(b)) => c.between(a..=b),
        (Included(a), Unbounded) => c.between(a..),
        (Unbounded, Excluded(b)) => c.between(..b),
        (Unbounded, Included(b)) => c.between(..=b),
        (Unbounded, Unbounded) => c.between::<C::Value>(..),
        (lo, hi) => c.between((lo, hi)),
    }
}

fn map_bound<T>(b: &Bound<Num>, f: impl Fn(Num) -> T) -> Bound<T> {
    match b {
        Bound::Included(v) => Bound::Included(f(*v)),
        Bound::Excluded(v) => Bound::Excluded(f(*v)),
        Bound::Unbounded => Bound::Unbounded,
    }
}

impl Num {
    fn rank(self) -> i64 {
        match self {
            Num::Rank(v) => v,
            other => panic!("not a rank: {other:?}"),
        }
    }
    fn level(self) -> i32 {
        match self {
            Num::Level(v) => v,
            other => panic!("not a level: {other:?}"),
        }
    }
    fn score(self) -> f64 {
        match self {
            Num::Score(v) => v,
            other => panic!("not a score: {other:?}"),
        }
    }
}

type Selected = (String, Option<i64>, Option<String>, Option<String>);

/// What the differential test needs from a model: building values, reading
/// them back, and the typed query API over its columns.
trait Subject: Model<Key: Ord + Debug> + Debug + PartialEq {
    fn build(key: Option<Self::Key>, row: &Row) -> Self;
    fn row(&self) -> Row;
    fn filter(p: &Pred) -> Filter<Self>;
    fn order(q: Query<Self>, col: OrdCol, desc: bool) -> Query<Self>;
    fn select<C: redis::ConnectionLike>(q: Query<Self>, c: &mut C) -> rom::Result<Vec<Selected>>;
    fn key_strategy() -> BoxedStrategy<Option<Self::Key>>;
}

macro_rules! subject {
    ($model:ident, $t:ident, $key:ident, $build_key:expr, $keys:expr) => {
        impl Subject for $model {
            fn build(key: Option<Self::Key>, r: &Row) -> Self {
                $model {
                    $key: ($build_key)(key),
                    rank: r.rank,
                    level: r.level,
                    score: r.score,
                    tag: r.tag.clone(),
                    label: r.label.clone(),
                    flag: r.flag,
                    code: r.code.clone(),
                    title: r.title.clone(),
                }
            }
            fn row(&self) -> Row {
                Row {
                    rank: self.rank,
                    level: self.level,
                    score: self.score,
                    tag: self.tag.clone(),
                    label: self.label.clone(),
                    flag: self.flag,
                    code: self.code.clone(),
                    title: self.title.clone(),
                }
            }
            fn filter(p: &Pred) -> Filter<Self> {
                match p {
                    Pred::Eq(l) => match l {
                        Lit::Rank(v) => $t::rank.eq(*v),
                        Lit::Level(v) => $t::level.eq(*v),
                        Lit::Score(v) => $t::score.eq(*v),
                        Lit::Tag(v) => $t::tag.eq(v.as_str()),
                        Lit::Label(v) => $t::label.eq(v.as_str()),
                        Lit::Flag(v) => $t::flag.eq(*v),
                        Lit::Code(v) => $t::code.eq(v.as_str()),
                    },
                    Pred::EqAny(col, vals) => {
                        macro_rules! any {
                            ($c:expr, $v:ident, $e:expr) => {
                                $c.eq_any(
                                    vals.iter()
                                        .map(|l| match l {
                                            Lit::$v(x) => $e(x),
                                            other => panic!("mixed literals: {other:?}"),
                                        })
                                        .collect::<Vec<_>>(),
                                )
                            };
                        }
                        match col {
                            EqCol::Rank => any!($t::rank, Rank, |x: &i64| *x),
                            EqCol::Level => any!($t::level, Level, |x: &i32| *x),
                            EqCol::Score => any!($t::score, Score, |x: &f64| *x),
                            EqCol::Tag => any!($t::tag, Tag, |x: &String| x.clone()),
                            EqCol::Label => any!($t::label, Label, |x: &String| x.clone()),
                            EqCol::Flag => any!($t::flag, Flag, |x: &bool| *x),
                            EqCol::Code => any!($t::code, Code, |x: &String| x.clone()),
                        }
                    }
                    Pred::Cmp(op, n) => match *n {
                        Num::Rank(v) => cmp($t::rank, *op, v),
                        Num::Level(v) => cmp($t::level, *op, v),
                        Num::Score(v) => cmp($t::score, *op, v),
                    },
                    Pred::Between(col, lo, hi) => match col {
                        NumCol::Rank => {
                            between($t::rank, map_bound(lo, Num::rank), map_bound(hi, Num::rank))
                        }
                        NumCol::Level => between(
                            $t::level,
                            map_bound(lo, Num::level),
                            map_bound(hi, Num::level),
                        ),
                        NumCol::Score => between(
                            $t::score,
                            map_bound(lo, Num::score),
                            map_bound(hi, Num::score),
                        ),
                    },
                    // methods and operators, both
                    Pred::And(a, b) => Self::filter(a).and(Self::filter(b)),
                    Pred::Or(a, b) => Self::filter(a) | Self::filter(b),
                    Pred::Not(a) => !Self::filter(a),
                    Pred::AndNot(a, b) => Self::filter(a).and_not(Self::filter(b)),
                }
            }
            fn order(q: Query<Self>, col: OrdCol, desc: bool) -> Query<Self> {
                match (col, desc) {
                    (OrdCol::Rank, false) => q.order_by($t::rank.asc()),
                    (OrdCol::Rank, true) => q.order_by($t::rank.desc()),
                    (OrdCol::Level, false) => q.order_by($t::level.asc()),
                    (OrdCol::Level, true) => q.order_by($t::level.desc()),
                    (OrdCol::Score, false) => q.order_by($t::score.asc()),
                    (OrdCol::Score, true) => q.order_by($t::score.desc()),
                    (OrdCol::Title, false) => q.order_by($t::title.asc()),
                    (OrdCol::Title, true) => q.order_by($t::title.desc()),
                }
            }
            fn select<C: redis::ConnectionLike>(
                q: Query<Self>,
                c: &mut C,
            ) -> rom::Result<Vec<Selected>> {
                q.select(($t::tag, $t::rank, $t::code, $t::title)).load(c)
            }
            fn key_strategy() -> BoxedStrategy<Option<Self::Key>> {
                $keys
            }
        }
    };
}

subject!(Item, items, id, |k: Option<u64>| k, Just(None).boxed());
subject!(
    Tag,
    tags,
    name,
    |k: Option<String>| k.expect("a natural key"),
    // short keys from a small alphabet: duplicates happen (an insert of a
    // taken key must fail), digits check byte order ("10" < "9"), and NUL,
    // `:`, `{`, `}`, `*`, space and non-ASCII must not confuse anything
    prop_oneof![
        1 => "[19ab:{}* é日\\x00]{1,2}",
        5 => "[19ab:{}* é日\\x00]{2,6}",
    ]
    .prop_map(Some)
    .boxed()
);

fn build_query<M: Subject>(q: &QSpec) -> Query<M> {
    let mut query = Query::<M>::default();
    for f in &q.filters {
        query = query.filter(M::filter(f));
    }
    if let Some((col, desc)) = q.order {
        query = M::order(query, col, desc);
    }
    if let Some(o) = q.offset {
        query = query.offset(o);
    }
    if let Some(l) = q.limit {
        query = query.limit(l);
    }
    if let Some(b) = q.budget {
        query = query.budget(rom::query::Budget::units(b));
    }
    query
}

// ---------------------------------------------------------------- the oracle

const MAX_EXACT: i64 = 1 << 53;

/// The case-insensitive key: rom's documented rule (full case folding of the
/// canonical form), not `to_lowercase` ("ß" is "SS", "ΣΑΣ" is "σασ").
fn lower(s: &str) -> String {
    rom::text::fold(s)
}

/// The exact key: the canonical form ("I\u{307}" is "İ").
fn exact(s: &str) -> std::borrow::Cow<'_, str> {
    rom::text::exact(s)
}

fn lit_matches(l: &Lit, r: &Row) -> bool {
    match l {
        Lit::Rank(v) => r.rank == Some(*v),
        Lit::Level(v) => r.level == *v,
        Lit::Score(v) => r.score == *v,
        Lit::Tag(v) => exact(&r.tag) == exact(v),
        Lit::Label(v) => lower(&r.label) == lower(v),
        Lit::Flag(v) => r.flag == *v,
        Lit::Code(v) => r.code.as_deref().map(exact) == Some(exact(v)),
    }
}

/// The value of a numeric column as the index holds it (every valid value
/// is exact as a double), `None` for a null.
fn num_of(col: NumCol, r: &Row) -> Option<f64> {
    match col {
        NumCol::Rank => r.rank.map(|v| v as f64),
        NumCol::Level => Some(f64::from(r.level)),
        NumCol::Score => Some(r.score),
    }
}

fn eval(p: &Pred, r: &Row) -> bool {
    match p {
        Pred::Eq(l) => lit_matches(l, r),
        Pred::EqAny(_, ls) => ls.iter().any(|l| lit_matches(l, r)),
        Pred::Cmp(op, n) => cmp_num(*n, r).is_some_and(|o| match op {
            CmpOp::Gt => o.is_gt(),
            CmpOp::Ge => o.is_ge(),
            CmpOp::Lt => o.is_lt(),
            CmpOp::Le => o.is_le(),
        }),
        Pred::Between(col, lo, hi) => {
            num_of(*col, r).is_some() && {
                let lo_ok = match lo {
                    Bound::Included(v) => cmp_num(*v, r).is_some_and(Ordering::is_ge),
                    Bound::Excluded(v) => cmp_num(*v, r).is_some_and(Ordering::is_gt),
                    Bound::Unbounded => true,
                };
                let hi_ok = match hi {
                    Bound::Included(v) => cmp_num(*v, r).is_some_and(Ordering::is_le),
                    Bound::Excluded(v) => cmp_num(*v, r).is_some_and(Ordering::is_lt),
                    Bound::Unbounded => true,
                };
                lo_ok && hi_ok
            }
        }
        Pred::And(a, b) => eval(a, r) && eval(b, r),
        Pred::Or(a, b) => eval(a, r) || eval(b, r),
        Pred::Not(a) => !eval(a, r),
        Pred::AndNot(a, b) => eval(a, r) && !eval(b, r),
    }
}

/// How a row's numeric column compares with a literal, exactly: integers as
/// integers (a bound beyond ±2^53 must not round onto a stored value); `None`
/// for a null.
fn cmp_num(n: Num, r: &Row) -> Option<Ordering> {
    match n {
        Num::Rank(v) => r.rank.map(|x| x.cmp(&v)),
        Num::Level(v) => Some(r.level.cmp(&v)),
        Num::Score(v) => r.score.partial_cmp(&v),
    }
}

/// Every value of the column's type is a valid bound, except NaN.
fn valid_num(n: Num) -> bool {
    match n {
        Num::Rank(_) | Num::Level(_) => true,
        Num::Score(v) => !v.is_nan(),
    }
}

/// A query naming NaN is refused as a whole.
fn valid(p: &Pred) -> bool {
    let lit = |l: &Lit| match l {
        Lit::Rank(v) => valid_num(Num::Rank(*v)),
        Lit::Score(v) => valid_num(Num::Score(*v)),
        _ => true,
    };
    let bound = |b: &Bound<Num>| match b {
        Bound::Included(v) | Bound::Excluded(v) => valid_num(*v),
        Bound::Unbounded => true,
    };
    match p {
        Pred::Eq(l) => lit(l),
        Pred::EqAny(_, ls) => ls.iter().all(lit),
        Pred::Cmp(_, n) => valid_num(*n),
        Pred::Between(_, lo, hi) => bound(lo) && bound(hi),
        Pred::And(a, b) | Pred::Or(a, b) | Pred::AndNot(a, b) => valid(a) && valid(b),
        Pred::Not(a) => valid(a),
    }
}

/// An order column's value: a number, or text compared byte-wise.
#[derive(PartialEq, PartialOrd)]
enum SortVal<'a> {
    N(f64),
    S(&'a [u8]),
}

fn sort_val(col: OrdCol, r: &Row) -> Option<SortVal<'_>> {
    match col {
        OrdCol::Rank => num_of(NumCol::Rank, r).map(SortVal::N),
        OrdCol::Level => num_of(NumCol::Level, r).map(SortVal::N),
        OrdCol::Score => num_of(NumCol::Score, r).map(SortVal::N),
        OrdCol::Title => r.title.as_deref().map(|t| SortVal::S(t.as_bytes())),
    }
}

/// The rows `load` returns (positions in `rows`), or `None` when the query
/// must be refused.
fn expected<K: Ord>(rows: &[(K, Row)], q: &QSpec) -> Option<Vec<usize>> {
    if !q.filters.iter().all(valid) {
        return None;
    }
    let mut m: Vec<usize> = (0..rows.len())
        .filter(|&i| q.filters.iter().all(|f| eval(f, &rows[i].1)))
        .collect();
    m.sort_by(|&a, &b| {
        let (ka, ra) = &rows[a];
        let (kb, rb) = &rows[b];
        let by_key = ka.cmp(kb);
        let Some((col, desc)) = q.order else {
            return by_key;
        };
        match (sort_val(col, ra), sort_val(col, rb)) {
            (Some(x), Some(y)) => {
                let o = x.partial_cmp(&y).expect("finite values");
                if desc { o.reverse() } else { o }.then(by_key)
            }
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => by_key,
        }
    });
    let offset = usize::try_from(q.offset.unwrap_or(0)).unwrap_or(usize::MAX);
    let limit = q
        .limit
        .map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX));
    Some(m.into_iter().skip(offset).take(limit).collect())
}

/// Predicts an insert's outcome: the error kind (and column) it must fail
/// with, in the order the checks run.
fn insert_error<K: PartialEq>(
    rows: &[(K, Row)],
    key: Option<&K>,
    row: &Row,
) -> Option<&'static str> {
    if row
        .rank
        .is_some_and(|v| v.unsigned_abs() > MAX_EXACT as u64)
    {
        return Some("validation");
    }
    if key.is_some_and(|k| rows.iter().any(|(x, _)| x == k)) {
        return Some("key taken");
    }
    if row.code.is_some() && rows.iter().any(|(_, r)| r.code == row.code) {
        return Some("code taken");
    }
    None
}

// ---------------------------------------------------------------- running a case

#[derive(Default, Debug)]
struct Stats {
    cases: u64,
    rows: u64,
    refused_inserts: u64,
    ops: u64,
    refused_queries: u64,
    nonempty: u64,
    deletes: u64,
    pages: u64,
    /// Ordered queries over a tie group of more than 64 rows (crossing the
    /// walk's chunk of 64).
    big_ties: u64,
    /// Queries with a limit small against the matches (the script may walk
    /// the order index) / without one (it materialises).
    small_limit: u64,
    no_limit: u64,
}

fn check<T: PartialEq + Debug>(what: &str, got: T, want: T) -> Result<(), TestCaseError> {
    if got == want {
        Ok(())
    } else {
        Err(TestCaseError::fail(format!(
            "{what}:\n   redis: {got:?}\n  oracle: {want:?}"
        )))
    }
}

fn refused<T: Debug>(what: &str, r: rom::Result<T>) -> Result<(), TestCaseError> {
    match r {
        Err(rom::Error::Validation { .. }) => Ok(()),
        other => Err(TestCaseError::fail(format!(
            "{what}: expected a validation error, got {other:?}"
        ))),
    }
}

fn ok<T>(what: &str, r: rom::Result<T>) -> Result<T, TestCaseError> {
    r.map_err(|e| TestCaseError::fail(format!("{what}: {e}")))
}

fn biggest_tie(rows: &[&Row], col: OrdCol) -> usize {
    let mut vals: Vec<Option<SortVal<'_>>> = rows.iter().map(|r| sort_val(col, r)).collect();
    vals.sort_by(|a, b| a.partial_cmp(b).unwrap_or(Ordering::Equal));
    let mut best = 0;
    let mut i = 0;
    while i < vals.len() {
        let mut j = i;
        while j < vals.len() && vals[j] == vals[i] {
            j += 1;
        }
        if vals[i].is_some() {
            best = best.max(j - i);
        }
        i = j;
    }
    best
}

fn run_case<M: Subject>(
    c: &mut redis::Connection,
    case: &Case<M::Key>,
    stats: &mut Stats,
) -> Result<(), TestCaseError> {
    ok(
        "FLUSHALL",
        redis::cmd("FLUSHALL").exec(c).map_err(rom::Error::from),
    )?;
    stats.cases += 1;
    let mut data: Vec<(M::Key, Row)> = Vec::new();
    // one pipeline; each insert is its own atomic call, run in order
    let values: Vec<M> = case
        .rows
        .iter()
        .map(|(k, r)| M::build(k.clone(), r))
        .collect();
    let results = ok("insert_all", M::insert_all(c, values))?;
    check("insert results", results.len(), case.rows.len())?;
    for ((key, row), got) in case.rows.iter().zip(results) {
        let want = insert_error(&data, key.as_ref(), row);
        match (got, want) {
            (Ok(rec), None) => {
                check("stored row", rec.row(), row.clone())?;
                data.push((rec.key().clone(), row.clone()));
            }
            (Err(rom::Error::Validation { .. }), Some("validation"))
            | (Err(rom::Error::UniqueViolation { .. }), Some("key taken" | "code taken")) => {
                stats.refused_inserts += 1;
            }
            (got, want) => {
                return Err(TestCaseError::fail(format!(
                    "insert of {key:?} {row:?}: got {got:?}, expected {want:?}"
                )));
            }
        }
    }
    stats.rows += data.len() as u64;

    for (i, (q, term)) in case.ops.iter().enumerate() {
        stats.ops += 1;
        let what = format!("op {i}: {term:?} of {q:?}");
        let query = build_query::<M>(q);
        let Some(want) = expected(&data, q) else {
            stats.refused_queries += 1;
            let before = ok("count", Query::<M>::default().count(c))?;
            match term {
                Term::Load => refused(&what, query.load(c))?,
                Term::Ids => refused(&what, query.ids(c))?,
                Term::Count => refused(&what, query.count(c))?,
                Term::Exists => refused(&what, query.exists(c))?,
                Term::First => refused(&what, query.first(c))?,
                Term::Select => refused(&what, M::select(query, c))?,
                Term::Delete => refused(&what, query.delete(c))?,
                Term::Pages(n) => refused(&what, query.pages(*n).next_page(c))?,
                Term::Tokens(n) => refused(&what, query.load_page(*n, c))?,
            }
            check(
                "rows after a refused query",
                ok("count", Query::<M>::default().count(c))?,
                before,
            )?;
            continue;
        };
        if !want.is_empty() {
            stats.nonempty += 1;
        }
        // coverage bookkeeping: which strategy the script is likely to pick
        let matching = data
            .iter()
            .filter(|(_, r)| q.filters.iter().all(|f| eval(f, r)))
            .count() as u64;
        match q.limit {
            None => stats.no_limit += 1,
            Some(l) if (q.offset.unwrap_or(0) + l) * 4 < matching => stats.small_limit += 1,
            Some(_) => {}
        }
        if let Some((col, _)) = q.order {
            let rows: Vec<&Row> = data.iter().map(|(_, r)| r).collect();
            if biggest_tie(&rows, col) > 64 {
                stats.big_ties += 1;
            }
        }
        let want_keys: Vec<M::Key> = want.iter().map(|&i| data[i].0.clone()).collect();
        let want_rows: Vec<Row> = want.iter().map(|&i| data[i].1.clone()).collect();
        match *term {
            Term::Load => {
                let got = ok(&what, query.load(c))?;
                let keys: Vec<M::Key> = got.iter().map(|r| r.key().clone()).collect();
                check(&format!("{what}: keys"), keys, want_keys)?;
                let rows: Vec<Row> = got.iter().map(|r| r.row()).collect();
                check(&format!("{what}: rows"), rows, want_rows)?;
            }
            Term::Ids => check(&what, ok(&what, query.ids(c))?, want_keys)?,
            Term::Count => check(&what, ok(&what, query.count(c))?, want.len() as u64)?,
            Term::Exists => check(&what, ok(&what, query.exists(c))?, !want.is_empty())?,
            Term::First => {
                let got = ok(&what, query.first(c).optional())?;
                check(
                    &what,
                    got.map(|r| (r.key().clone(), r.row())),
                    want_keys.first().cloned().zip(want_rows.first().cloned()),
                )?;
            }
            Term::Select => {
                let got = ok(&what, M::select(query, c))?;
                let want: Vec<Selected> = want_rows
                    .iter()
                    .map(|r| (r.tag.clone(), r.rank, r.code.clone(), r.title.clone()))
                    .collect();
                check(&what, got, want)?;
            }
            Term::Pages(n) => {
                stats.pages += 1;
                let mut pages = query.pages(n);
                let mut keys = Vec::new();
                let mut rows = Vec::new();
                while let Some(page) = ok(&what, pages.next_page(c))? {
                    if page.is_empty() || page.len() as u64 > n {
                        return Err(TestCaseError::fail(format!(
                            "{what}: a page of {} rows",
                            page.len()
                        )));
                    }
                    keys.extend(page.iter().map(|r| r.key().clone()));
                    rows.extend(page.iter().map(|r| r.row()));
                    if keys.len() > data.len() {
                        break;
                    }
                }
                check(&format!("{what}: keys"), keys, want_keys)?;
                check(&format!("{what}: rows"), rows, want_rows)?;
                check(
                    &format!("{what}: after the last page"),
                    ok(&what, pages.next_page(c))?.map(|p| p.len()),
                    None,
                )?;
            }
            Term::Tokens(n) => {
                stats.pages += 1;
                let mut keys = Vec::new();
                let mut rows = Vec::new();
                let mut token: Option<String> = None;
                loop {
                    let q = match &token {
                        Some(t) => query
                            .clone()
                            .after(&ok(&what, t.parse::<rom::query::PageToken>())?),
                        None => query.clone(),
                    };
                    let page = ok(&what, q.load_page(n, c))?;
                    if page.rows.len() as u64 > n
                        || (page.next.is_some() && page.rows.len() as u64 != n)
                    {
                        return Err(TestCaseError::fail(format!(
                            "{what}: a page of {} rows, next: {:?}",
                            page.rows.len(),
                            page.next
                        )));
                    }
                    keys.extend(page.rows.iter().map(|r| r.key().clone()));
                    rows.extend(page.rows.iter().map(|r| r.row()));
                    match page.next {
                        Some(t) if keys.len() <= data.len() => token = Some(t.to_string()),
                        _ => break,
                    }
                }
                check(&format!("{what}: keys"), keys, want_keys)?;
                check(&format!("{what}: rows"), rows, want_rows)?;
            }
            Term::Delete => {
                stats.deletes += 1;
                let n = ok(&what, query.delete(c))?;
                check(&format!("{what}: deleted"), n, want.len() as u64)?;
                let mut gone = want.clone();
                gone.sort_unstable();
                for i in gone.into_iter().rev() {
                    data.remove(i);
                }
                let report = ok("verify", rom::verify::verify::<M, _>(c))?;
                if !report.is_clean() {
                    return Err(TestCaseError::fail(format!(
                        "{what}: verify after delete: {:#?}",
                        report.problems
                    )));
                }
                check(
                    &format!("{what}: rows checked"),
                    report.rows,
                    data.len() as u64,
                )?;
            }
        }
    }
    // the whole table, at the end
    let all = ok("load all", Query::<M>::default().load(c))?;
    let mut want: Vec<(M::Key, Row)> = data.clone();
    want.sort_by(|a, b| a.0.cmp(&b.0));
    check(
        "the table at the end",
        all.iter()
            .map(|r| (r.key().clone(), r.row()))
            .collect::<Vec<_>>(),
        want,
    )
}

// ---------------------------------------------------------------- strategies

/// Pools of values, simplest first: a case uses a prefix of each pool for its
/// rows (a prefix of one value makes every row tie), queries use it all.
const RANKS: &[i64] = &[
    0,
    1,
    -1,
    7,
    -7,
    MAX_EXACT,
    -MAX_EXACT,
    MAX_EXACT - 1,
    -MAX_EXACT + 1,
    1 << 40,
    i32::MAX as i64 + 1,
    // refused at insert; beyond every stored value in queries
    MAX_EXACT + 1,
    i64::MIN,
    i64::MAX,
];
const LEVELS: &[i32] = &[0, 1, -1, 2, 3, i32::MIN, i32::MAX, 100, -100, 42];
const SCORES: &[f64] = &[
    0.0,
    1.5,
    -0.0,
    -1.5,
    0.1,
    2.0,
    f64::MAX,
    f64::MIN,
    f64::MIN_POSITIVE,
    5e-324,
    -5e-324,
    1e15,
    1e-5,
    1.0 / 3.0,
    9_007_199_254_740_992.0,
    123_456.789,
];
const STRS: &[&str] = &[
    "", "a", "A", "b", "a:b", "{x}", "*", "a b", " ", "é", "É", "ß", "SS", "İ", "i̇", "ΣΑΣ", "σας",
    "日本", "x*{:}",
];
const TITLES: &[&str] = &[
    "a", "", "b", "A", "a\0", "a\0b", "ab", "a\u{1}", "é", "日本", " ", ":", "{", "}", "*", "a b",
    "z",
];
const CODES: &[&str] = &["c", "C", "é", ":", "{}", "", "a b", "*"];

/// A row as indices into the pools: shrinking an index moves towards the
/// simplest value, and shrinking a case's `k` (how much of each pool its rows
/// use) towards more ties, both without regenerating anything.
#[derive(Clone, Debug)]
struct RawRow {
    rank: Option<usize>,
    level: usize,
    score: usize,
    tag: usize,
    label: usize,
    flag: bool,
    code: Option<usize>,
    title: Option<usize>,
}

/// How many entries of each pool a case's rows use; one past the end of a
/// pool means "the pool and many more distinct values".
#[derive(Clone, Copy, Debug)]
struct Spread {
    rank: usize,
    level: usize,
    score: usize,
    tag: usize,
    label: usize,
    title: usize,
}

const WIDE: usize = 600;

fn from_pool<T: Copy>(pool: &[T], k: usize, i: usize, wide: impl Fn(usize) -> T) -> T {
    if k <= pool.len() {
        pool[i % k]
    } else if i < pool.len() {
        pool[i]
    } else {
        wide(i - pool.len())
    }
}

/// A short text from a number, over an alphabet with NUL and non-ASCII.
fn text_of(mut i: usize) -> String {
    const ALPHA: [char; 4] = ['a', 'b', '\0', 'é'];
    let mut s = String::new();
    while i > 0 {
        s.push(ALPHA[i % 4]);
        i /= 4;
    }
    s
}

fn make_row(s: Spread, r: &RawRow) -> Row {
    Row {
        rank: r
            .rank
            .map(|i| from_pool(RANKS, s.rank, i, |w| w as i64 - (WIDE / 2) as i64)),
        level: from_pool(LEVELS, s.level, r.level, |w| w as i32 - (WIDE / 2) as i32),
        score: from_pool(SCORES, s.score, r.score, |w| {
            (w as f64 - (WIDE / 2) as f64) / 4.0
        }),
        tag: STRS[r.tag % s.tag].to_owned(),
        label: STRS[r.label % s.label].to_owned(),
        flag: r.flag,
        code: r.code.map(|i| match CODES.get(i) {
            Some(c) => (*c).to_owned(),
            None => format!("k{i}"),
        }),
        title: r.title.map(|i| {
            if s.title <= TITLES.len() {
                TITLES[i % s.title].to_owned()
            } else if i < TITLES.len() {
                TITLES[i].to_owned()
            } else {
                text_of(i - TITLES.len() + 1)
            }
        }),
    }
}

fn raw_row() -> impl Strategy<Value = RawRow> {
    let idx = || 0..RANKS.len().max(SCORES.len()).max(TITLES.len()) + WIDE;
    (
        prop::option::weighted(0.75, idx()),
        idx(),
        idx(),
        0..STRS.len(),
        0..STRS.len(),
        any::<bool>(),
        prop::option::weighted(
            0.6,
            prop_oneof![1 => 0..CODES.len(), 3 => CODES.len()..CODES.len() + 1000],
        ),
        prop::option::weighted(0.75, idx()),
    )
        .prop_map(
            |(rank, level, score, tag, label, flag, code, title)| RawRow {
                rank,
                level,
                score,
                tag,
                label,
                flag,
                code,
                title,
            },
        )
}

fn spread() -> impl Strategy<Value = Spread> {
    // one value (every row ties) often, to get tie groups past the walk's chunk
    let k = |max: usize| prop_oneof![1 => Just(1), 3 => 1..=max];
    (
        k(RANKS.len() + 1),
        k(LEVELS.len() + 1),
        k(SCORES.len() + 1),
        k(STRS.len()),
        k(STRS.len()),
        k(TITLES.len() + 1),
    )
        .prop_map(|(rank, level, score, tag, label, title)| Spread {
            rank,
            level,
            score,
            tag,
            label,
            title,
        })
}

fn rank_lit() -> BoxedStrategy<i64> {
    prop_oneof![select(RANKS), -10i64..10].boxed()
}
fn level_lit() -> BoxedStrategy<i32> {
    prop_oneof![select(LEVELS), -300i32..300].boxed()
}
fn score_lit() -> BoxedStrategy<f64> {
    prop_oneof![
        8 => select(SCORES),
        4 => (-300i32..300).prop_map(|v| f64::from(v) / 4.0),
        // NaN is refused; the infinities lie beyond every stored value
        1 => select(&[f64::NAN, f64::INFINITY, f64::NEG_INFINITY][..]),
    ]
    .boxed()
}
/// A text from the pool, as is, upper-cased or lower-cased.
fn str_lit() -> BoxedStrategy<String> {
    (select(STRS), 0..3u8)
        .prop_map(|(s, how)| match how {
            0 => s.to_owned(),
            1 => s.to_uppercase(),
            _ => s.to_lowercase(),
        })
        .boxed()
}
fn code_lit() -> BoxedStrategy<String> {
    prop_oneof![
        select(CODES).prop_map(str::to_owned),
        (0usize..40).prop_map(|n| format!("k{}", n + CODES.len())),
    ]
    .boxed()
}

fn lit(col: EqCol) -> BoxedStrategy<Lit> {
    match col {
        EqCol::Rank => rank_lit().prop_map(Lit::Rank).boxed(),
        EqCol::Level => level_lit().prop_map(Lit::Level).boxed(),
        EqCol::Score => score_lit().prop_map(Lit::Score).boxed(),
        EqCol::Tag => str_lit().prop_map(Lit::Tag).boxed(),
        EqCol::Label => str_lit().prop_map(Lit::Label).boxed(),
        EqCol::Flag => any::<bool>().prop_map(Lit::Flag).boxed(),
        EqCol::Code => code_lit().prop_map(Lit::Code).boxed(),
    }
}

fn num(col: NumCol) -> BoxedStrategy<Num> {
    match col {
        NumCol::Rank => rank_lit().prop_map(Num::Rank).boxed(),
        NumCol::Level => level_lit().prop_map(Num::Level).boxed(),
        NumCol::Score => score_lit().prop_map(Num::Score).boxed(),
    }
}

fn bound(col: NumCol) -> BoxedStrategy<Bound<Num>> {
    prop_oneof![
        num(col).prop_map(Bound::Included),
        num(col).prop_map(Bound::Excluded),
        Just(Bound::Unbounded),
    ]
    .boxed()
}

fn leaf() -> BoxedStrategy<Pred> {
    let eq_col = || {
        select(
            &[
                EqCol::Rank,
                EqCol::Level,
                EqCol::Score,
                EqCol::Tag,
                EqCol::Label,
                EqCol::Flag,
                EqCol::Code,
            ][..],
        )
    };
    let num_col = || select(&[NumCol::Rank, NumCol::Level, NumCol::Score][..]);
    let op = select(&[CmpOp::Gt, CmpOp::Ge, CmpOp::Lt, CmpOp::Le][..]);
    prop_oneof![
        eq_col().prop_flat_map(lit).prop_map(Pred::Eq),
        eq_col().prop_flat_map(|c| {
            prop::collection::vec(lit(c), 0..4).prop_map(move |v| Pred::EqAny(c, v))
        }),
        (op, num_col().prop_flat_map(num)).prop_map(|(op, n)| Pred::Cmp(op, n)),
        num_col().prop_flat_map(|c| {
            (bound(c), bound(c)).prop_map(move |(lo, hi)| Pred::Between(c, lo, hi))
        }),
    ]
    .boxed()
}

fn pred() -> impl Strategy<Value = Pred> {
    leaf().prop_recursive(3, 12, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Pred::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Pred::Or(Box::new(a), Box::new(b))),
            inner.clone().prop_map(|a| Pred::Not(Box::new(a))),
            (inner.clone(), inner).prop_map(|(a, b)| Pred::AndNot(Box::new(a), Box::new(b))),
        ]
    })
}

fn qspec() -> impl Strategy<Value = QSpec> {
    let order = prop_oneof![
        1 => Just(None),
        3 => (
            select(&[OrdCol::Rank, OrdCol::Level, OrdCol::Score, OrdCol::Title][..]),
            any::<bool>()
        )
            .prop_map(Some),
    ];
    let offset = prop_oneof![
        4 => Just(None),
        1 => Just(Some(0)),
        3 => (0u64..5).prop_map(Some),
        2 => (0u64..220).prop_map(Some),
    ];
    let limit = prop_oneof![
        3 => Just(None),
        1 => Just(Some(0)),
        4 => (1u64..6).prop_map(Some),
        2 => (1u64..250).prop_map(Some),
    ];
    let budget = prop_oneof![
        1 => Just(None),
        1 => (1u64..40).prop_map(Some),
    ];
    (
        prop::collection::vec(pred(), 0..=3),
        order,
        offset,
        limit,
        budget,
    )
        .prop_map(|(filters, order, offset, limit, budget)| QSpec {
            filters,
            order,
            offset,
            limit,
            budget,
        })
}

fn term() -> impl Strategy<Value = Term> {
    prop_oneof![
        3 => Just(Term::Load),
        1 => Just(Term::Ids),
        2 => Just(Term::Count),
        1 => Just(Term::Exists),
        1 => Just(Term::First),
        1 => Just(Term::Select),
        1 => Just(Term::Delete),
        2 => (1u64..8).prop_map(Term::Pages),
        1 => (60u64..70).prop_map(Term::Pages),
        2 => (1u64..8).prop_map(Term::Tokens),
        1 => (60u64..70).prop_map(Term::Tokens),
    ]
}

fn case<M: Subject>() -> impl Strategy<Value = Case<M::Key>> {
    let row = || (M::key_strategy(), raw_row());
    // mostly small tables; some past the walk's chunk of 64 rows
    let rows = prop_oneof![
        3 => prop::collection::vec(row(), 0..=40),
        2 => prop::collection::vec(row(), 20..=120),
        2 => prop::collection::vec(row(), 100..=200),
    ];
    (
        spread(),
        rows,
        prop::collection::vec((qspec(), term()), 1..=6),
    )
        .prop_map(|(s, rows, ops)| Case {
            rows: rows
                .into_iter()
                .map(|(k, r)| (k, make_row(s, &r)))
                .collect(),
            ops,
        })
}

// ---------------------------------------------------------------- the tests

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// Runs `cases` random cases of model `M` against one redis-server.
fn differential<M: Subject>(cases: u32) -> Stats {
    let server = RedisServer::start().expect("start redis-server");
    let conn = RefCell::new(server.connection().expect("connect"));
    let stats = RefCell::new(Stats::default());
    let seed = env_u64("PROPTEST_RNG_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    });
    let config = Config {
        cases: env_u64("PROPTEST_CASES").map_or(cases, |n| n as u32),
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(seed),
        max_shrink_iters: 20_000,
        // shrinking reruns whole cases; bound it so a failure reports in time
        max_shrink_time: 120_000,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let result = runner.run(&case::<M>(), |case| {
        run_case::<M>(&mut conn.borrow_mut(), &case, &mut stats.borrow_mut())
    });
    if let Err(e) = result {
        panic!("{e}\n(seed: rerun with PROPTEST_RNG_SEED={seed})");
    }
    let stats = stats.into_inner();
    eprintln!("{} (seed {seed}): {stats:?}", M::SCHEMA.name);
    stats
}

/// The generators do what they claim: tables past the walk's chunk, tie
/// groups past it, pages, deletes, refused queries, answers not all empty.
fn assert_coverage(s: &Stats) {
    let n = s.ops.max(1);
    assert!(s.nonempty * 4 > n, "too few non-empty answers: {s:?}");
    assert!(s.big_ties * 50 > n, "too few ties past 64 rows: {s:?}");
    assert!(s.small_limit * 10 > n, "too few small limits: {s:?}");
    assert!(s.no_limit * 10 > n, "too few unlimited queries: {s:?}");
    assert!(s.deletes * 20 > n && s.pages * 20 > n, "{s:?}");
    assert!(
        s.refused_queries * 100 > n && s.refused_inserts > 0,
        "{s:?}"
    );
}

#[test]
fn u64_keys_agree_with_the_oracle() {
    let s = differential::<Item>(1200);
    assert_coverage(&s);
}

#[test]
fn string_keys_agree_with_the_oracle() {
    let s = differential::<Tag>(800);
    assert_coverage(&s);
}

// ---------------------------------------------------------------- regressions
//
// One plain test per bug the differential suite found, each reduced to the
// smallest data that shows it.

fn item(level: i32, score: f64, tag: &str) -> Item {
    Item {
        id: None,
        rank: None,
        level,
        score,
        tag: tag.into(),
        label: String::new(),
        flag: false,
        code: None,
        title: None,
    }
}

fn items_server(rows: Vec<Item>) -> (RedisServer, redis::Connection) {
    let server = RedisServer::start().expect("start redis-server");
    let mut c = server.connection().expect("connect");
    for r in Item::insert_all(&mut c, rows).expect("insert_all") {
        r.expect("insert");
    }
    (server, c)
}

/// The script estimated `not(f)` as every row minus the estimate of `f`;
/// an `or` is estimated by the sum of its parts (capped), so the complement of
/// an `or` of overlapping parts came out as 0 and the query stopped early with
/// no row, while `count` (which counts exactly) said 1.
#[test]
fn not_of_an_or_with_overlapping_parts_finds_its_rows() {
    let (_s, mut c) = items_server(vec![item(1, 0.0, "x"), item(0, 0.0, "y")]);
    let q = || items::table.filter(!(items::tag.eq("x") | items::level.ge(1)));
    assert_eq!(q().ids(&mut c).expect("ids"), vec![2]);
    assert_eq!(q().count(&mut c).expect("count"), 1);
    assert!(q().exists(&mut c).expect("exists"));
    let q2 = || {
        items::table.filter(
            items::level
                .eq(0)
                .and_not(items::tag.eq("x") | items::tag.eq("z")),
        )
    };
    assert_eq!(q2().ids(&mut c).expect("ids"), vec![2]);
}

/// `exists` replaced the query's limit by 1 and `first` did too, so under a
/// limit of 0 they found a row that `load` does not return.
#[test]
fn exists_and_first_honour_a_limit_of_zero() {
    let (_s, mut c) = items_server(vec![item(1, 0.0, "x")]);
    let q = || items::table.limit(0);
    assert!(q().load(&mut c).expect("load").is_empty());
    assert!(!q().exists(&mut c).expect("exists"));
    assert!(q().first(&mut c).optional().expect("first").is_none());
    // and a larger limit is still cut to one row by `first`
    let first = items::table.limit(5).first(&mut c).expect("first");
    assert_eq!(first.id, Some(1));
}

/// `pages` under a limit of 0 returned no page without checking the query, so
/// an invalid filter went unreported (every other terminal refuses it).
#[test]
fn pages_refuse_an_invalid_query_even_under_a_limit_of_zero() {
    let (_s, mut c) = items_server(vec![item(1, 0.0, "x")]);
    let q = items::table.filter(items::score.lt(f64::NAN)).limit(0);
    assert!(matches!(
        q.clone().pages(3).next_page(&mut c),
        Err(rom::Error::Validation { .. })
    ));
    assert!(matches!(q.load(&mut c), Err(rom::Error::Validation { .. })));
}

/// A sorted set past 128 members (skiplist encoding) keeps the sign of a
/// score -0 added from then on, replies "-0", and orders it among the zeros
/// by member text. The walk grouped ties by the score's text, so -0 and 0
/// made separate groups: keys out of order, and pages that repeated rows.
#[test]
fn minus_zero_and_zero_are_one_tie_group() {
    let n = 160u64;
    // the first 129 rows make the index a skiplist; the rest are -0, and the
    // 64th member in the server's order (by text among equal scores: "1",
    // "10", "100", ...) is "156", a -0: the end of the walk's first chunk
    let rows = (0..n)
        .map(|i| item(0, if i >= 129 { -0.0 } else { 0.0 }, "x"))
        .collect();
    let (_s, mut c) = items_server(rows);
    let z: Option<String> = redis::cmd("ZSCORE")
        .arg("{items}:num:score")
        .arg(n.to_string())
        .query(&mut c)
        .expect("zscore");
    assert_eq!(z.as_deref(), Some("-0"), "the server keeps -0 apart");
    let all: Vec<u64> = (1..=n).collect();
    for desc in [false, true] {
        let order = if desc {
            items::score.desc()
        } else {
            items::score.asc()
        };
        // a limit below the matches makes the script walk the order index
        let q = items::table.order_by(order).limit(n - 5);
        let want = all[..all.len() - 5].to_vec();
        assert_eq!(q.clone().ids(&mut c).expect("ids"), want);
        for size in [7, 64] {
            let mut pages = q.clone().pages(size);
            let mut seen = Vec::new();
            while let Some(p) = pages.next_page(&mut c).expect("page") {
                seen.extend(p.iter().map(|r| r.id.expect("id")));
            }
            assert_eq!(seen, want, "pages of {size}");
        }
    }
}
