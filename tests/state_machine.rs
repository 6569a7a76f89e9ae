//! Model-based test: random sequences of every public operation run against a
//! real redis-server and against an in-memory model of what rom documents;
//! every result is compared, and `verify` must be clean after every step.
//!
//! The model has a column of every index kind, all nullable, so rows whose
//! columns are all null (inserted so, or updated to it) are reached often; a
//! second model with required columns and a natural `String` key covers the
//! other key kind. Values come from small pools, so duplicates, unique
//! collisions (case-insensitive ones too), ties and extremes are frequent.
//!
//! The documented rules the model follows: a unique value (folded for
//! `case_insensitive`) belongs to one row, a clash is `UniqueViolation` and
//! writes nothing; auto-increment keys are the counter's next value that names
//! no row, and a failed insert burns none; `Record::save` sends only changed
//! columns, each checked against the value it was loaded with (`Conflict`
//! otherwise, and `Conflict` when the row is gone); `save_forced` skips those
//! checks but not the row's existence; `not` is the complement over all rows;
//! ties order by key, nulls last in both directions; `count` honours offset
//! and limit; `delete` by query removes exactly what `load` returns.
//!
//! `PROPTEST_CASES` sets the number of sequences (default 50, of 40 to 60
//! steps: at least 2,000 steps a run); a failure prints the seed to rerun with
//! `PROPTEST_RNG_SEED`.

use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};
use rom::prelude::*;
use rom::testing::RedisServer;
use rom::{Filter, Query};
use std::cmp::Ordering;
use std::collections::BTreeMap;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = notes)]
struct Note {
    #[rom(primary_key)]
    id: Option<u64>,
    #[rom(unique(case_insensitive))]
    handle: Option<String>,
    #[rom(unique)]
    code: Option<u32>,
    #[rom(index(eq))]
    tag: Option<String>,
    #[rom(index(eq, case_insensitive))]
    label: Option<String>,
    #[rom(index(numeric))]
    n: Option<i64>,
    #[rom(index(numeric))]
    score: Option<f64>,
    #[rom(index(text))]
    body: Option<String>,
    #[rom(index(prefix, case_insensitive))]
    title: Option<String>,
    #[rom(index(sort))]
    name: Option<String>,
    blob: Option<Vec<u8>>,
}

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = pins)]
struct Pin {
    #[rom(primary_key)]
    slug: String,
    #[rom(index(numeric))]
    rank: i64,
    #[rom(unique)]
    serial: String,
    #[rom(index(eq))]
    flag: bool,
}

// ------------------------------------------------------------ generators

const N_POOL: [i64; 7] = [-(1 << 53), -1, 0, 0, 7, 7, 1 << 53];
// -0.0 is left out: it is stored as "-0", so a record sees it as a change
// from 0.0 that the model's `==` does not (tests/differential.rs covers it)
const SCORE_POOL: [f64; 6] = [-1e300, 0.0, 0.5, 0.5, 2.0, f64::MAX];
const WORDS: [&str; 4] = ["red", "Blue", "RED", "green"];

fn opt<T: Clone + std::fmt::Debug + 'static>(
    s: impl Strategy<Value = T> + 'static,
) -> BoxedStrategy<Option<T>> {
    prop_oneof![1 => Just(None), 2 => s.prop_map(Some)].boxed()
}

fn note_values() -> impl Strategy<Value = Note> {
    let all_null = Just(Note {
        id: None,
        handle: None,
        code: None,
        tag: None,
        label: None,
        n: None,
        score: None,
        body: None,
        title: None,
        name: None,
        blob: None,
    });
    let some = (
        (
            opt(select(vec!["ann", "Ann", "bob", "a:b{c}", ""]).prop_map(String::from)),
            opt(select(vec![1u32, 2, u32::MAX])),
            opt(select(vec!["x", "y", "é", ""]).prop_map(String::from)),
            opt(select(vec!["Hi", "hi", "HO"]).prop_map(String::from)),
        ),
        (
            opt(select(N_POOL.to_vec())),
            opt(select(SCORE_POOL.to_vec())),
            opt(proptest::collection::vec(select(WORDS.to_vec()), 0..3).prop_map(|w| w.join(" "))),
            opt(select(vec!["Alpha", "alps", "beta", ""]).prop_map(String::from)),
            opt(select(vec!["b", "a", "ab", "", "a\u{0}"]).prop_map(String::from)),
            opt(select(vec![vec![], vec![0u8, 255], b"#i".to_vec()])),
        ),
    )
        .prop_map(
            |((handle, code, tag, label), (n, score, body, title, name, blob))| Note {
                id: None,
                handle,
                code,
                tag,
                label,
                n,
                score,
                body,
                title,
                name,
                blob,
            },
        );
    prop_oneof![1 => all_null, 3 => some]
}

fn pin_values() -> impl Strategy<Value = Pin> {
    (
        select(vec!["p", "q", "r", "pq"]),
        select(vec![i64::from(i32::MIN), 0, 3, 3]),
        select(vec!["s1", "s2", "s3"]),
        any::<bool>(),
    )
        .prop_map(|(slug, rank, serial, flag)| Pin {
            slug: slug.into(),
            rank,
            serial: serial.into(),
            flag,
        })
}

/// A filter over `Note`, kept as data so the model can evaluate it.
#[derive(Clone, Debug)]
enum F {
    Handle(String),
    Code(u32),
    Tag(String),
    Label(String),
    NGe(i64),
    NBetween(i64, i64),
    ScoreLt(f64),
    Word(String),
    Prefix(String),
    Not(Box<F>),
    And(Box<F>, Box<F>),
    Or(Box<F>, Box<F>),
}

fn leaf() -> impl Strategy<Value = F> {
    prop_oneof![
        select(vec!["ann", "ANN", "bob"]).prop_map(|s| F::Handle(s.into())),
        select(vec![1u32, u32::MAX]).prop_map(F::Code),
        select(vec!["x", "é", ""]).prop_map(|s| F::Tag(s.into())),
        select(vec!["hi", "HO"]).prop_map(|s| F::Label(s.into())),
        select(N_POOL.to_vec()).prop_map(F::NGe),
        (select(N_POOL.to_vec()), select(N_POOL.to_vec())).prop_map(|(a, b)| F::NBetween(a, b)),
        select(SCORE_POOL.to_vec()).prop_map(F::ScoreLt),
        select(vec!["red", "BLUE", "green"]).prop_map(|s| F::Word(s.into())),
        select(vec!["al", "ALP", "b", ""]).prop_map(|s| F::Prefix(s.into())),
    ]
}

fn filter() -> impl Strategy<Value = F> {
    leaf().prop_recursive(2, 6, 2, |inner| {
        prop_oneof![
            inner.clone().prop_map(|f| F::Not(Box::new(f))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| F::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner).prop_map(|(a, b)| F::Or(Box::new(a), Box::new(b))),
        ]
    })
}

#[derive(Clone, Copy, Debug)]
enum Ord_ {
    Key,
    N(bool),
    Score(bool),
    Name(bool),
}

#[derive(Clone, Debug)]
struct Q {
    filter: Option<F>,
    order: Ord_,
    offset: u64,
    limit: Option<u64>,
}

fn query() -> impl Strategy<Value = Q> {
    (
        opt(filter()),
        prop_oneof![
            Just(Ord_::Key),
            any::<bool>().prop_map(Ord_::N),
            any::<bool>().prop_map(Ord_::Score),
            any::<bool>().prop_map(Ord_::Name),
        ],
        prop_oneof![3 => Just(0u64), 1 => 1u64..3],
        opt(0u64..4),
    )
        .prop_map(|(filter, order, offset, limit)| Q {
            filter,
            order,
            offset,
            limit,
        })
}

#[derive(Clone, Debug)]
enum Op {
    Insert(Note),
    /// `Crud::upsert` under an auto key or a chosen key
    Put(Option<u64>, Note),
    /// load a record into the held pool
    Hold(u64),
    /// change a held record and `Record::save` (or `save_forced`) it
    SaveHeld(usize, Note, bool),
    DeleteHeld(usize),
    RefreshHeld(usize),
    Get(u64),
    GetMany(Vec<u64>),
    Exists(u64),
    DeleteMany(Vec<u64>),
    Load(Q),
    Ids(Q),
    Count(Q),
    ExistsQ(Q),
    First(Q),
    Select(Q),
    Pages(Option<F>, u64),
    DeleteQ(Q),
    PinPut(Pin),
    PinInsert(Pin),
    PinDelete(String),
    PinLoad(Option<bool>, bool),
}

fn key() -> impl Strategy<Value = u64> {
    1u64..8
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => note_values().prop_map(Op::Insert),
        2 => (opt(key()), note_values()).prop_map(|(k, v)| Op::Put(k, v)),
        2 => key().prop_map(Op::Hold),
        3 => (0usize..4, note_values(), any::<bool>()).prop_map(|(i, v, f)| Op::SaveHeld(i, v, f)),
        1 => (0usize..4).prop_map(Op::DeleteHeld),
        1 => (0usize..4).prop_map(Op::RefreshHeld),
        1 => key().prop_map(Op::Get),
        1 => proptest::collection::vec(key(), 0..4).prop_map(Op::GetMany),
        1 => key().prop_map(Op::Exists),
        1 => proptest::collection::vec(key(), 0..3).prop_map(Op::DeleteMany),
        2 => query().prop_map(Op::Load),
        1 => query().prop_map(Op::Ids),
        1 => query().prop_map(Op::Count),
        1 => query().prop_map(Op::ExistsQ),
        1 => query().prop_map(Op::First),
        1 => query().prop_map(Op::Select),
        1 => (opt(filter()), 1u64..3).prop_map(|(f, n)| Op::Pages(f, n)),
        1 => query().prop_map(Op::DeleteQ),
        1 => pin_values().prop_map(Op::PinPut),
        1 => pin_values().prop_map(Op::PinInsert),
        1 => select(vec!["p", "q", "zz"]).prop_map(|s| Op::PinDelete(s.into())),
        1 => (opt(any::<bool>()), any::<bool>()).prop_map(|(f, d)| Op::PinLoad(f, d)),
    ]
}

// ------------------------------------------------------------ the model

fn fold(s: &str) -> String {
    // every case-insensitive value in this test is ASCII
    s.to_ascii_lowercase()
}

fn words(s: &str) -> Vec<String> {
    s.split(' ').filter(|w| !w.is_empty()).map(fold).collect()
}

fn matches(f: &F, r: &Note) -> bool {
    match f {
        F::Handle(h) => r.handle.as_deref().map(fold) == Some(fold(h)),
        F::Code(c) => r.code == Some(*c),
        F::Tag(t) => r.tag.as_deref() == Some(t),
        F::Label(l) => r.label.as_deref().map(fold) == Some(fold(l)),
        F::NGe(x) => r.n.is_some_and(|n| n >= *x),
        F::NBetween(a, b) => r.n.is_some_and(|n| *a <= n && n <= *b),
        F::ScoreLt(x) => r.score.is_some_and(|s| s < *x),
        F::Word(w) => r
            .body
            .as_deref()
            .is_some_and(|b| words(b).contains(&fold(w))),
        F::Prefix(p) => r
            .title
            .as_deref()
            .is_some_and(|t| fold(t).starts_with(&fold(p))),
        F::Not(a) => !matches(a, r),
        F::And(a, b) => matches(a, r) && matches(b, r),
        F::Or(a, b) => matches(a, r) || matches(b, r),
    }
}

fn to_filter(f: &F) -> Filter<Note> {
    match f {
        F::Handle(h) => notes::handle.eq(h.as_str()),
        F::Code(c) => notes::code.eq(*c),
        F::Tag(t) => notes::tag.eq(t.as_str()),
        F::Label(l) => notes::label.eq(l.as_str()),
        F::NGe(x) => notes::n.ge(*x),
        F::NBetween(a, b) => notes::n.between(*a..=*b),
        F::ScoreLt(x) => notes::score.lt(*x),
        F::Word(w) => notes::body.has_word(w),
        F::Prefix(p) => notes::title.starts_with(p),
        F::Not(a) => to_filter(a).not(),
        F::And(a, b) => to_filter(a).and(to_filter(b)),
        F::Or(a, b) => to_filter(a).or(to_filter(b)),
    }
}

fn to_query(q: &Q) -> Query<Note> {
    let mut out: Query<Note> = notes::table.into_query();
    if let Some(f) = &q.filter {
        out = out.filter(to_filter(f));
    }
    out = match q.order {
        Ord_::Key => out,
        Ord_::N(d) => out.order_by(if d { notes::n.desc() } else { notes::n.asc() }),
        Ord_::Score(d) => out.order_by(if d {
            notes::score.desc()
        } else {
            notes::score.asc()
        }),
        Ord_::Name(d) => out.order_by(if d {
            notes::name.desc()
        } else {
            notes::name.asc()
        }),
    };
    out = out.offset(q.offset);
    if let Some(l) = q.limit {
        out = out.limit(l);
    }
    out
}

/// Values of one order column, nulls last in both directions, ties by key.
fn cmp_opt<T: PartialOrd>(a: &Option<T>, b: &Option<T>, desc: bool) -> Ordering {
    match (a, b) {
        (Some(x), Some(y)) => {
            let o = x.partial_cmp(y).unwrap_or(Ordering::Equal);
            if desc { o.reverse() } else { o }
        }
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

#[derive(Default, Debug)]
struct World {
    notes: BTreeMap<u64, Note>,
    seq: u64,
    held: Vec<(Record<Note>, Note)>,
    pins: BTreeMap<String, Pin>,
}

impl World {
    fn answer(&self, q: &Q) -> Vec<Note> {
        let mut rows: Vec<&Note> = self
            .notes
            .values()
            .filter(|r| q.filter.as_ref().is_none_or(|f| matches(f, r)))
            .collect();
        rows.sort_by(|a, b| {
            let o = match q.order {
                Ord_::Key => Ordering::Equal,
                Ord_::N(d) => cmp_opt(&a.n, &b.n, d),
                Ord_::Score(d) => cmp_opt(&a.score, &b.score, d),
                Ord_::Name(d) => cmp_opt(
                    &a.name.as_ref().map(|s| s.as_bytes()),
                    &b.name.as_ref().map(|s| s.as_bytes()),
                    d,
                ),
            };
            o.then(a.id.cmp(&b.id))
        });
        rows.into_iter()
            .skip(q.offset as usize)
            .take(q.limit.map_or(usize::MAX, |l| l as usize))
            .cloned()
            .collect()
    }

    /// The key holding a unique value other than `except`, if any.
    fn unique_clash(&self, v: &Note, except: Option<u64>) -> bool {
        self.notes.iter().any(|(k, r)| {
            Some(*k) != except
                && ((v.handle.is_some()
                    && r.handle.as_deref().map(fold) == v.handle.as_deref().map(fold))
                    || (v.code.is_some() && r.code == v.code))
        })
    }

    fn allocate(&mut self) -> u64 {
        let mut k = self.seq + 1;
        while self.notes.contains_key(&k) {
            k += 1;
        }
        k
    }
}

fn with_key(mut v: Note, k: u64) -> Note {
    v.id = Some(k);
    v
}

/// Applies the changed columns of `new` over `snap` (what a record sends).
fn changed(snap: &Note, new: &Note) -> Vec<&'static str> {
    let mut out = Vec::new();
    macro_rules! c {
        ($($f:ident),*) => { $( if snap.$f != new.$f { out.push(stringify!($f)); } )* };
    }
    c!(handle, code, tag, label, n, score, body, title, name, blob);
    out
}

fn merge(cur: &Note, new: &Note, cols: &[&str]) -> Note {
    let mut out = cur.clone();
    macro_rules! m {
        ($($f:ident),*) => { $( if cols.contains(&stringify!($f)) { out.$f = new.$f.clone(); } )* };
    }
    m!(handle, code, tag, label, n, score, body, title, name, blob);
    out
}

/// Whether column `col` holds the same value in `a` and `b`.
fn same_col(a: &Note, b: &Note, col: &str) -> bool {
    macro_rules! s {
        ($($f:ident),*) => { $( if col == stringify!($f) { return a.$f == b.$f; } )* };
    }
    s!(handle, code, tag, label, n, score, body, title, name, blob);
    unreachable!("unknown column {col}")
}

fn check(cond: bool, what: impl FnOnce() -> String) -> Result<(), TestCaseError> {
    if cond {
        Ok(())
    } else {
        Err(TestCaseError::fail(what()))
    }
}

fn step(w: &mut World, c: &mut redis::Connection, op: &Op) -> Result<(), TestCaseError> {
    let fail = |e: rom::Error| TestCaseError::fail(format!("{op:?}: unexpected error {e:?}"));
    match op {
        Op::Insert(v) => {
            let got = v.clone().insert(c);
            if w.unique_clash(v, None) {
                check(matches!(got, Err(Error::UniqueViolation { .. })), || {
                    format!("{op:?}: {got:?}")
                })?;
            } else {
                let k = w.allocate();
                let r = got.map_err(fail)?;
                check(r.id == Some(k), || {
                    format!("{op:?}: key {:?}, want {k}", r.id)
                })?;
                w.seq = k;
                w.notes.insert(k, with_key(v.clone(), k));
            }
        }
        Op::Put(k, v) => {
            let v = Note {
                id: *k,
                ..v.clone()
            };
            let got = v.clone().upsert(c);
            if w.unique_clash(&v, *k) {
                check(matches!(got, Err(Error::UniqueViolation { .. })), || {
                    format!("{op:?}: {got:?}")
                })?;
            } else {
                let r = got.map_err(fail)?;
                let k = match k {
                    Some(k) => *k,
                    None => {
                        let k = w.allocate();
                        w.seq = k;
                        k
                    }
                };
                check(r.id == Some(k), || format!("{op:?}: key {:?}", r.id))?;
                w.notes.insert(k, with_key(v, k));
            }
        }
        Op::Hold(k) => {
            let got = Note::get(c, *k).map_err(fail)?;
            check(got.as_deref() == w.notes.get(k), || {
                format!("{op:?}: {got:?}")
            })?;
            if let Some(r) = got {
                let snap = (*r).clone();
                w.held.push((r, snap));
                if w.held.len() > 4 {
                    w.held.remove(0);
                }
            }
        }
        Op::SaveHeld(i, new, force) => {
            let Some((rec, snap)) = w.held.get_mut(*i) else {
                return Ok(());
            };
            let k = rec.id.expect("held records have keys");
            let new = with_key(new.clone(), k);
            let cols = changed(snap, &new);
            **rec = new.clone();
            let got = if *force {
                rec.save_forced(c)
            } else {
                rec.save(c)
            };
            let cur = w.notes.get(&k).cloned();
            let expect_conflict = match &cur {
                None => true,
                Some(cur) => !*force && cols.iter().any(|col| !same_col(cur, snap, col)),
            };
            let merged = cur.as_ref().map(|cur| merge(cur, &new, &cols));
            // a record with nothing changed sends nothing at all
            // (`save_forced` always sends, and finds a deleted row gone)
            if cols.is_empty() && !(*force && cur.is_none()) {
                check(got.is_ok(), || {
                    format!("{op:?}: nothing changed, got {got:?}")
                })?;
                *snap = new;
                return Ok(());
            }
            if expect_conflict {
                check(matches!(got, Err(Error::Conflict { .. })), || {
                    format!("{op:?}: {got:?} (model {cur:?})")
                })?;
                **rec = snap.clone();
                return Ok(());
            }
            let merged = merged.expect("present");
            let others = World {
                notes: w.notes.clone(),
                ..World::default()
            };
            if others.unique_clash(&merged, Some(k)) {
                check(matches!(got, Err(Error::UniqueViolation { .. })), || {
                    format!("{op:?}: {got:?}")
                })?;
                **rec = snap.clone();
            } else {
                got.map_err(fail)?;
                *snap = new;
                w.notes.insert(k, merged);
            }
        }
        Op::DeleteHeld(i) => {
            if *i < w.held.len() {
                let (rec, _) = w.held.remove(*i);
                let k = rec.id.expect("key");
                let got = rec.delete(c).map_err(fail)?;
                check(got == w.notes.remove(&k).is_some(), || {
                    format!("{op:?}: {got}")
                })?;
            }
        }
        Op::RefreshHeld(i) => {
            if let Some((rec, snap)) = w.held.get_mut(*i) {
                let k = rec.id.expect("key");
                let got = rec.refresh(c);
                match w.notes.get(&k) {
                    Some(cur) => {
                        got.map_err(fail)?;
                        check(&**rec == cur, || format!("{op:?}: {rec:?} vs {cur:?}"))?;
                        *snap = cur.clone();
                    }
                    None => check(matches!(got, Err(Error::NotFound { .. })), || {
                        format!("{op:?}: {got:?}")
                    })?,
                }
            }
        }
        Op::Get(k) => {
            let got = Note::get(c, *k).map_err(fail)?;
            check(got.as_deref() == w.notes.get(k), || {
                format!("{op:?}: {got:?} vs {:?}", w.notes.get(k))
            })?;
        }
        Op::GetMany(ks) => {
            let got: Vec<Note> = Note::get_many(c, ks)
                .map_err(fail)?
                .into_iter()
                .map(|r| (*r).clone())
                .collect();
            let want: Vec<Note> = ks.iter().filter_map(|k| w.notes.get(k).cloned()).collect();
            check(got == want, || format!("{op:?}: {got:?} vs {want:?}"))?;
        }
        Op::Exists(k) => {
            let got = Note::exists(c, *k).map_err(fail)?;
            check(got == w.notes.contains_key(k), || format!("{op:?}: {got}"))?;
        }
        Op::DeleteMany(ks) => {
            let got = Note::delete_many(c, ks).map_err(fail)?;
            let mut uniq = ks.clone();
            uniq.sort_unstable();
            uniq.dedup();
            let want = uniq.iter().filter(|k| w.notes.remove(k).is_some()).count() as u64;
            check(got == want, || format!("{op:?}: {got} vs {want}"))?;
        }
        Op::Load(q) => {
            let got: Vec<Note> = to_query(q)
                .load(c)
                .map_err(fail)?
                .into_iter()
                .map(|r| (*r).clone())
                .collect();
            let want = w.answer(q);
            check(got == want, || {
                format!("{op:?}:\n got {got:?}\nwant {want:?}")
            })?;
        }
        Op::Ids(q) => {
            let got = to_query(q).ids(c).map_err(fail)?;
            let want: Vec<Option<u64>> = w.answer(q).iter().map(|r| r.id).collect();
            check(
                got.iter().map(|k| Some(*k)).collect::<Vec<_>>() == want,
                || format!("{op:?}: {got:?} vs {want:?}"),
            )?;
        }
        Op::Count(q) => {
            let got = to_query(q).count(c).map_err(fail)?;
            let want = w.answer(q).len() as u64;
            check(got == want, || format!("{op:?}: {got} vs {want}"))?;
        }
        Op::ExistsQ(q) => {
            let got = to_query(q).exists(c).map_err(fail)?;
            check(got != w.answer(q).is_empty(), || format!("{op:?}: {got}"))?;
        }
        Op::First(q) => {
            let got = to_query(q)
                .first(c)
                .optional()
                .map_err(fail)?
                .map(|r| (*r).clone());
            let want = w
                .answer(&Q {
                    limit: Some(q.limit.unwrap_or(1).min(1)),
                    ..q.clone()
                })
                .into_iter()
                .next();
            check(got == want, || format!("{op:?}: {got:?} vs {want:?}"))?;
        }
        Op::Select(q) => {
            let got = to_query(q)
                .select((notes::tag, notes::n, notes::blob))
                .load(c)
                .map_err(fail)?;
            let want: Vec<_> = w
                .answer(q)
                .into_iter()
                .map(|r| (r.tag, r.n, r.blob))
                .collect();
            check(got == want, || format!("{op:?}: {got:?} vs {want:?}"))?;
        }
        Op::Pages(f, n) => {
            let q = Q {
                filter: f.clone(),
                order: Ord_::Key,
                offset: 0,
                limit: None,
            };
            let mut pages = to_query(&q).pages(*n);
            let mut got = Vec::new();
            while let Some(page) = pages.next_page(c).map_err(fail)? {
                check(!page.is_empty() && page.len() as u64 <= *n, || {
                    format!("{op:?}: page of {}", page.len())
                })?;
                got.extend(page.into_iter().map(|r| (*r).clone()));
            }
            let want = w.answer(&q);
            check(got == want, || format!("{op:?}: {got:?} vs {want:?}"))?;
        }
        Op::DeleteQ(q) => {
            let got = to_query(q).delete(c).map_err(fail)?;
            let want = w.answer(q);
            for r in &want {
                w.notes.remove(&r.id.expect("key"));
            }
            check(got == want.len() as u64, || {
                format!("{op:?}: {got} vs {}", want.len())
            })?;
        }
        Op::PinPut(p) => {
            let clash = w
                .pins
                .iter()
                .any(|(k, r)| *k != p.slug && r.serial == p.serial);
            let got = p.clone().upsert(c);
            if clash {
                check(matches!(got, Err(Error::UniqueViolation { .. })), || {
                    format!("{op:?}: {got:?}")
                })?;
            } else {
                got.map_err(fail)?;
                w.pins.insert(p.slug.clone(), p.clone());
            }
        }
        Op::PinInsert(p) => {
            let clash =
                w.pins.contains_key(&p.slug) || w.pins.values().any(|r| r.serial == p.serial);
            let got = p.clone().insert(c);
            if clash {
                check(matches!(got, Err(Error::UniqueViolation { .. })), || {
                    format!("{op:?}: {got:?}")
                })?;
            } else {
                got.map_err(fail)?;
                w.pins.insert(p.slug.clone(), p.clone());
            }
        }
        Op::PinDelete(k) => {
            let got = Pin::delete_many(c, std::slice::from_ref(k)).map_err(fail)?;
            check(got == u64::from(w.pins.remove(k).is_some()), || {
                format!("{op:?}: {got}")
            })?;
        }
        Op::PinLoad(flag, desc) => {
            let mut q: Query<Pin> = pins::table.into_query();
            if let Some(f) = flag {
                q = q.filter(pins::flag.eq(*f));
            }
            q = q.order_by(if *desc {
                pins::rank.desc()
            } else {
                pins::rank.asc()
            });
            let got: Vec<Pin> = q
                .load(c)
                .map_err(fail)?
                .into_iter()
                .map(|r| (*r).clone())
                .collect();
            let mut want: Vec<Pin> = w
                .pins
                .values()
                .filter(|p| flag.is_none_or(|f| p.flag == f))
                .cloned()
                .collect();
            want.sort_by(|a, b| {
                let o = a.rank.cmp(&b.rank);
                (if *desc { o.reverse() } else { o }).then(a.slug.as_bytes().cmp(b.slug.as_bytes()))
            });
            check(got == want, || format!("{op:?}: {got:?} vs {want:?}"))?;
        }
    }
    Ok(())
}

fn verify_clean(c: &mut redis::Connection, after: &Op) -> Result<(), TestCaseError> {
    let a = rom::verify::verify::<Note, _>(c)
        .map_err(|e| TestCaseError::fail(format!("verify: {e}")))?;
    check(a.is_clean(), || {
        format!("after {after:?}: notes verify {:#?}", a.problems)
    })?;
    let b = rom::verify::verify::<Pin, _>(c)
        .map_err(|e| TestCaseError::fail(format!("verify: {e}")))?;
    check(b.is_clean(), || {
        format!("after {after:?}: pins verify {:#?}", b.problems)
    })
}

#[test]
fn random_operation_sequences_match_the_model() {
    let server = RedisServer::start().expect("start redis-server");
    let c = std::cell::RefCell::new(server.connection().expect("connect"));
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(50);
    let mut config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    if let Some(seed) = std::env::var("PROPTEST_RNG_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        config.rng_seed = RngSeed::Fixed(seed);
    }
    let mut runner = TestRunner::new(config);
    let steps = std::cell::Cell::new(0usize);
    let result = runner.run(&proptest::collection::vec(op(), 40..60), |ops| {
        let mut guard = c.borrow_mut();
        let c = &mut *guard;
        redis::cmd("FLUSHALL")
            .exec(c)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut w = World::default();
        for op in &ops {
            step(&mut w, c, op)?;
            verify_clean(c, op)?;
            steps.set(steps.get() + 1);
        }
        // every row the model holds reads back, and nothing else exists
        let all: Vec<Note> = notes::table
            .load(c)
            .map_err(|e| TestCaseError::fail(e.to_string()))?
            .into_iter()
            .map(|r| (*r).clone())
            .collect();
        let want: Vec<Note> = w.notes.values().cloned().collect();
        check(all == want, || format!("final state: {all:?} vs {want:?}"))
    });
    if let Err(e) = result {
        panic!("{e}\n(rerun with PROPTEST_RNG_SEED and the seed proptest printed)");
    }
    println!("state machine: {} steps", steps.get());
    assert!(
        steps.get() >= cases as usize * 40,
        "ran only {} steps",
        steps.get()
    );
}

/// The all-null row (the defect that started this test), on its own.
#[test]
fn all_null_rows_exist_read_back_and_delete() {
    let server = RedisServer::start().expect("start redis-server");
    let mut c = server.connection().expect("connect");
    let blank = Note {
        id: None,
        handle: None,
        code: None,
        tag: None,
        label: None,
        n: None,
        score: None,
        body: None,
        title: None,
        name: None,
        blob: None,
    };
    let a = blank.clone().insert(&mut c).expect("insert");
    let k = a.id.expect("key");
    assert_eq!(
        Note::get(&mut c, k).expect("get").as_deref(),
        Some(&with_key(blank.clone(), k))
    );
    assert_eq!(notes::table.count(&mut c).expect("count"), 1);
    assert_eq!(notes::table.load(&mut c).expect("load").len(), 1);
    // a row whose last non-null column becomes null still exists
    let mut b = Note {
        tag: Some("x".into()),
        ..blank.clone()
    }
    .insert(&mut c)
    .expect("insert");
    b.tag = None;
    b.save(&mut c).expect("save");
    let kb = b.id.expect("key");
    assert_eq!(
        Note::get(&mut c, kb).expect("get").as_deref(),
        Some(&with_key(blank.clone(), kb))
    );
    let mut c2 = Note {
        n: Some(3),
        ..blank.clone()
    }
    .insert(&mut c)
    .expect("insert");
    c2.n = None;
    c2.save(&mut c).expect("save");
    assert!(Note::exists(&mut c, c2.id.expect("key")).expect("exists"));
    assert_eq!(
        notes::table
            .filter(notes::n.ge(i64::from(i32::MIN)).not())
            .count(&mut c)
            .expect("count"),
        3
    );
    verify_clean(&mut c, &Op::Get(0)).expect("clean");
    assert_eq!(notes::table.delete(&mut c).expect("delete"), 3);
    assert_eq!(notes::table.count(&mut c).expect("count"), 0);
    verify_clean(&mut c, &Op::Get(0)).expect("clean");
}
