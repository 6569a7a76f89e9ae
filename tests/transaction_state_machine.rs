//! Model-based test of transactions: random transactions (reads, changes,
//! inserts, deletes, attached query results, and writes by another connection
//! between the reads and the commit) and plain single-row writes run against a
//! real redis-server and against an in-memory model of the rules the book's
//! "Units of work" chapter documents; every outcome is compared, and `verify`
//! must be clean after every step, with queries by the unique columns and the
//! numeric index agreeing with the model.
//!
//! The rules the model follows at commit: every row read (changed or not)
//! still holds every column as read, and rows read as absent are still absent,
//! else `TransactionConflict` names every such row, in the order the
//! transaction first touched its rows, with the first changed column in schema
//! order; otherwise an insert of a key that exists (not read) is a
//! `UniqueViolation` on the key; otherwise the first row (in touch order) that
//! claims a unique value held by a row outside the commit, or by another row
//! of it that keeps the value, or claimed by an earlier row of it, fails with
//! `UniqueViolation` on that column. Values may move between rows of one
//! commit. Auto-increment keys are the counter's next values that name no row
//! (stored or named by the commit), in insert order; a failed commit writes
//! and allocates nothing.
//!
//! `PROPTEST_CASES` sets the number of sequences (default 40, of 45 to 55
//! steps: about 2,000 steps a run); a failure prints the seed to rerun with
//! `PROPTEST_RNG_SEED`.

use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};
use rom::error::{RowChange, RowConflict};
use rom::prelude::*;
use rom::testing::RedisServer;
use rom::transaction::{Inserted, Transaction};
use std::collections::{BTreeMap, HashMap, HashSet};

rom::group!(G = "g");

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = items, group = G)]
struct Item {
    #[rom(primary_key)]
    id: Option<u64>,
    #[rom(unique)]
    code: u32,
    #[rom(unique(case_insensitive))]
    handle: Option<String>,
    #[rom(index(numeric))]
    n: i64,
    #[rom(index(eq))]
    tag: Option<String>,
}

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = labels, group = G)]
struct Label {
    #[rom(primary_key)]
    slug: String,
    #[rom(unique)]
    serial: String,
    weight: i64,
}

// ------------------------------------------------------------ generators

const CODES: [u32; 6] = [1, 2, 3, 4, 5, 6];
const HANDLES: [&str; 5] = ["ann", "Ann", "bob", "BOB", ""];
const NS: [i64; 5] = [-(1 << 53), -1, 0, 7, 1 << 53];
const TAGS: [&str; 2] = ["x", ""];
const SLUGS: [&str; 3] = ["p", "q", "r"];
const SERIALS: [&str; 3] = ["s1", "s2", "s3"];

fn opt<T: Clone + std::fmt::Debug + 'static>(
    s: impl Strategy<Value = T> + 'static,
) -> BoxedStrategy<Option<T>> {
    prop_oneof![1 => Just(None), 2 => s.prop_map(Some)].boxed()
}

fn string(pool: &[&'static str]) -> impl Strategy<Value = String> + use<> {
    select(pool.to_vec()).prop_map(String::from)
}

fn item() -> impl Strategy<Value = Item> {
    (
        select(CODES.to_vec()),
        opt(string(&HANDLES)),
        select(NS.to_vec()),
        opt(string(&TAGS)),
    )
        .prop_map(|(code, handle, n, tag)| Item {
            id: None,
            code,
            handle,
            n,
            tag,
        })
}

fn label() -> impl Strategy<Value = Label> {
    (string(&SLUGS), string(&SERIALS), 0i64..2).prop_map(|(slug, serial, weight)| Label {
        slug,
        serial,
        weight,
    })
}

fn key() -> impl Strategy<Value = u64> {
    1u64..6
}

fn slug() -> impl Strategy<Value = String> {
    string(&SLUGS)
}

/// Columns of an `Item` to change (`None`: left as is).
#[derive(Clone, Debug)]
struct Edit {
    code: Option<u32>,
    handle: Option<Option<String>>,
    n: Option<i64>,
    tag: Option<Option<String>>,
}

impl Edit {
    fn apply(&self, it: &mut Item) {
        if let Some(c) = self.code {
            it.code = c;
        }
        if let Some(h) = &self.handle {
            it.handle.clone_from(h);
        }
        if let Some(n) = self.n {
            it.n = n;
        }
        if let Some(t) = &self.tag {
            it.tag.clone_from(t);
        }
    }
}

fn edit() -> impl Strategy<Value = Edit> {
    (
        opt(select(CODES.to_vec())),
        opt(opt(string(&HANDLES))),
        opt(select(NS.to_vec())),
        opt(opt(string(&TAGS))),
    )
        .prop_map(|(code, handle, n, tag)| Edit {
            code,
            handle,
            n,
            tag,
        })
}

/// Columns of a `Label` to change.
#[derive(Clone, Debug)]
struct LEdit {
    serial: Option<String>,
    weight: Option<i64>,
}

impl LEdit {
    fn apply(&self, l: &mut Label) {
        if let Some(s) = &self.serial {
            l.serial.clone_from(s);
        }
        if let Some(w) = self.weight {
            l.weight = w;
        }
    }
}

fn ledit() -> impl Strategy<Value = LEdit> {
    (opt(string(&SERIALS)), opt(0i64..2)).prop_map(|(serial, weight)| LEdit { serial, weight })
}

/// A single-row write outside any transaction.
#[derive(Clone, Debug)]
enum Plain {
    /// `Crud::insert`, under an auto key or a chosen one
    ItemInsert(Option<u64>, Item),
    /// `get`, change, `Record::save`
    ItemSave(u64, Edit),
    ItemDelete(u64),
    LabelPut(Label),
    LabelInsert(Label),
    LabelSave(String, LEdit),
    LabelDelete(String),
}

fn plain() -> impl Strategy<Value = Plain> {
    prop_oneof![
        2 => (opt(key()), item()).prop_map(|(k, v)| Plain::ItemInsert(k, v)),
        3 => (key(), edit()).prop_map(|(k, e)| Plain::ItemSave(k, e)),
        1 => key().prop_map(Plain::ItemDelete),
        1 => label().prop_map(Plain::LabelPut),
        1 => label().prop_map(Plain::LabelInsert),
        1 => (slug(), ledit()).prop_map(|(s, e)| Plain::LabelSave(s, e)),
        1 => slug().prop_map(Plain::LabelDelete),
    ]
}

/// A query whose first row (in key order) a transaction attaches.
#[derive(Clone, Debug)]
enum By {
    Code(u32),
    Handle(String),
    NGe(i64),
}

/// One action inside a transaction.
#[derive(Clone, Debug)]
enum Act {
    Get(u64),
    GetMany(Vec<u64>),
    LGet(String),
    LGetMany(Vec<String>),
    /// change the held row through `Transaction::row`
    Edit(u64, Edit),
    LEdit(String, LEdit),
    Insert(Option<u64>, Item),
    LInsert(Label),
    Delete(u64),
    LDelete(String),
    Attach(By),
    /// another connection writes, between the transaction's reads and its commit
    Outside(Plain),
}

fn action() -> impl Strategy<Value = Act> {
    prop_oneof![
        3 => key().prop_map(Act::Get),
        2 => proptest::collection::vec(key(), 0..4).prop_map(Act::GetMany),
        1 => slug().prop_map(Act::LGet),
        1 => proptest::collection::vec(slug(), 0..3).prop_map(Act::LGetMany),
        4 => (key(), edit()).prop_map(|(k, e)| Act::Edit(k, e)),
        2 => (slug(), ledit()).prop_map(|(s, e)| Act::LEdit(s, e)),
        2 => item().prop_map(|v| Act::Insert(None, v)),
        1 => (key(), item()).prop_map(|(k, v)| Act::Insert(Some(k), v)),
        1 => label().prop_map(Act::LInsert),
        2 => key().prop_map(Act::Delete),
        1 => slug().prop_map(Act::LDelete),
        2 => prop_oneof![
            select(CODES.to_vec()).prop_map(By::Code),
            string(&HANDLES).prop_map(By::Handle),
            select(NS.to_vec()).prop_map(By::NGe),
        ]
        .prop_map(Act::Attach),
        1 => plain().prop_map(Act::Outside),
    ]
}

#[derive(Clone, Debug)]
enum Step {
    /// a transaction's actions, maybe a write by another connection, then
    /// commit (`true`) or rollback
    Tx(Vec<Act>, Option<Plain>, bool),
    Plain(Plain),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (
            proptest::collection::vec(action(), 1..7),
            opt(plain()),
            prop_oneof![5 => Just(true), 1 => Just(false)],
        )
            .prop_map(|(a, p, c)| Step::Tx(a, p, c)),
        1 => plain().prop_map(Step::Plain),
    ]
}

// ------------------------------------------------------------ the model

fn fold(s: &str) -> String {
    // every case-insensitive value in this test is ASCII
    s.to_ascii_lowercase()
}

/// A row of either model.
#[derive(Clone, Debug, PartialEq)]
enum V {
    I(Item),
    L(Label),
}

/// A row's key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum K {
    I(u64),
    L(String),
}

impl K {
    fn model(&self) -> &'static str {
        match self {
            K::I(_) => "Item",
            K::L(_) => "Label",
        }
    }

    /// The key as `Debug` shows it (what `RowConflict::key` documents).
    fn shown(&self) -> String {
        match self {
            K::I(k) => format!("{k:?}"),
            K::L(s) => format!("{s:?}"),
        }
    }
}

/// A unique value (folded where the column is case-insensitive).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum U {
    Code(u32),
    Handle(String),
    Serial(String),
}

/// The unique values a row holds, each with its column, in schema order.
fn uniques(v: &V) -> Vec<(U, &'static str)> {
    match v {
        V::I(it) => {
            let mut out = vec![(U::Code(it.code), "code")];
            if let Some(h) = &it.handle {
                out.push((U::Handle(fold(h)), "handle"));
            }
            out
        }
        V::L(l) => vec![(U::Serial(l.serial.clone()), "serial")],
    }
}

/// The unique columns whose stored value differs from `old` to `new`: the
/// values given up and the values claimed (non-null only).
fn moved(old: &V, new: &V) -> (Vec<U>, Vec<(U, &'static str)>) {
    let (mut gone, mut claimed) = (Vec::new(), Vec::new());
    match (old, new) {
        (V::I(a), V::I(b)) => {
            if a.code != b.code {
                gone.push(U::Code(a.code));
                claimed.push((U::Code(b.code), "code"));
            }
            if a.handle != b.handle {
                gone.extend(a.handle.as_deref().map(|h| U::Handle(fold(h))));
                claimed.extend(b.handle.as_deref().map(|h| (U::Handle(fold(h)), "handle")));
            }
        }
        (V::L(a), V::L(b)) => {
            if a.serial != b.serial {
                gone.push(U::Serial(a.serial.clone()));
                claimed.push((U::Serial(b.serial.clone()), "serial"));
            }
        }
        _ => unreachable!("a row keeps its model"),
    }
    (gone, claimed)
}

/// The first column, in schema order, whose value differs.
fn first_diff(a: &V, b: &V) -> Option<&'static str> {
    match (a, b) {
        (V::I(a), V::I(b)) => [
            ("code", a.code != b.code),
            ("handle", a.handle != b.handle),
            ("n", a.n != b.n),
            ("tag", a.tag != b.tag),
        ]
        .into_iter()
        .find(|c| c.1)
        .map(|c| c.0),
        (V::L(a), V::L(b)) => [
            ("serial", a.serial != b.serial),
            ("weight", a.weight != b.weight),
        ]
        .into_iter()
        .find(|c| c.1)
        .map(|c| c.0),
        _ => unreachable!("a row keeps its model"),
    }
}

#[derive(Clone, Default, Debug)]
struct World {
    items: BTreeMap<u64, Item>,
    seq: u64,
    labels: BTreeMap<String, Label>,
}

impl World {
    fn get(&self, k: &K) -> Option<V> {
        match k {
            K::I(k) => self.items.get(k).cloned().map(V::I),
            K::L(s) => self.labels.get(s).cloned().map(V::L),
        }
    }

    fn set(&mut self, k: &K, v: Option<V>) {
        match (k, v) {
            (K::I(k), Some(V::I(mut it))) => {
                it.id = Some(*k);
                self.items.insert(*k, it);
            }
            (K::L(s), Some(V::L(l))) => {
                self.labels.insert(s.clone(), l);
            }
            (K::I(k), None) => {
                self.items.remove(k);
            }
            (K::L(s), None) => {
                self.labels.remove(s);
            }
            _ => unreachable!("a row keeps its model"),
        }
    }

    /// The row that holds a unique value.
    fn owner(&self, u: &U) -> Option<K> {
        let rows = self
            .items
            .iter()
            .map(|(k, v)| (K::I(*k), V::I(v.clone())))
            .chain(
                self.labels
                    .iter()
                    .map(|(k, v)| (K::L(k.clone()), V::L(v.clone()))),
            );
        for (k, v) in rows {
            if uniques(&v).iter().any(|(x, _)| x == u) {
                return Some(k);
            }
        }
        None
    }

    /// Whether a row with these values under key `k` would take a unique
    /// value another row holds.
    fn clash(&self, k: &K, v: &V) -> bool {
        uniques(v)
            .iter()
            .any(|(u, _)| self.owner(u).is_some_and(|o| o != *k))
    }

    /// The counter's next value that names no row.
    fn allocate(&self) -> u64 {
        let mut k = self.seq + 1;
        while self.items.contains_key(&k) {
            k += 1;
        }
        k
    }
}

/// What the transaction knows of a row it read.
#[derive(Clone, Debug)]
enum MRead {
    Not,
    Absent,
    Present(V),
}

/// The transaction's view of a row.
#[derive(Clone, Debug)]
enum MState {
    Absent,
    Row(V),
    Auto(Item),
}

#[derive(Clone, Debug)]
struct MRow {
    key: Option<K>,
    read: MRead,
    state: MState,
}

/// The model of one transaction: its rows in the order it first touched them.
#[derive(Default, Debug)]
struct Tx {
    rows: Vec<MRow>,
    /// each auto-increment insert's handle and row
    autos: Vec<(Inserted<Item>, usize)>,
}

impl Tx {
    fn slot(&self, k: &K) -> Option<usize> {
        self.rows.iter().position(|r| r.key.as_ref() == Some(k))
    }

    /// The held row (`None` when not held, `Some(None)` when held as absent).
    fn view(&self, k: &K) -> Option<Option<V>> {
        let i = self.slot(k)?;
        Some(match &self.rows[i].state {
            MState::Row(v) => Some(v.clone()),
            _ => None,
        })
    }

    fn view_mut(&mut self, k: &K) -> Option<&mut V> {
        let i = self.slot(k)?;
        match &mut self.rows[i].state {
            MState::Row(v) => Some(v),
            _ => None,
        }
    }

    /// Reads a row it does not hold.
    fn read(&mut self, w: &World, k: K) {
        if self.slot(&k).is_some() {
            return;
        }
        let row = match w.get(&k) {
            Some(v) => MRow {
                key: Some(k),
                read: MRead::Present(v.clone()),
                state: MState::Row(v),
            },
            None => MRow {
                key: Some(k),
                read: MRead::Absent,
                state: MState::Absent,
            },
        };
        self.rows.push(row);
    }

    /// `insert` of a row with a key: `false` when refused (the transaction
    /// holds the row, unless it read it as absent).
    fn insert(&mut self, k: K, v: V) -> bool {
        match self.slot(&k) {
            Some(i) => {
                let r = &mut self.rows[i];
                if !matches!((&r.read, &r.state), (MRead::Absent, MState::Absent)) {
                    return false;
                }
                r.state = MState::Row(v);
            }
            None => self.rows.push(MRow {
                key: Some(k),
                read: MRead::Not,
                state: MState::Row(v),
            }),
        }
        true
    }

    /// `delete`: `false` when refused.
    fn delete(&mut self, k: K) -> bool {
        match self.slot(&k) {
            Some(i) => {
                let r = &mut self.rows[i];
                if !matches!(r.read, MRead::Present(_)) && matches!(r.state, MState::Row(_)) {
                    return false;
                }
                r.state = MState::Absent;
            }
            None => self.rows.push(MRow {
                key: Some(k),
                read: MRead::Not,
                state: MState::Absent,
            }),
        }
        true
    }
}

/// A commit's expected failure.
#[derive(Debug, PartialEq)]
enum Want {
    Conflicts(Vec<RowConflict>),
    Unique(&'static str, String),
}

/// The outcome the documented rules give a commit of `tx` on `w`: the world
/// after it and the key allocated to each auto-increment row, or the error.
fn expect_commit(w: &World, tx: &Tx) -> Result<(World, HashMap<usize, u64>), Want> {
    // 1. every row as read, all reported; an insert of a key that exists.
    // One phase finds both, before unique values are checked, so a taken key
    // is reported before a taken unique value of a row touched earlier (the
    // book's "What commit checks" lists the phases)
    let mut conflicts = Vec::new();
    let mut taken = None;
    for r in &tx.rows {
        let Some(k) = &r.key else { continue };
        let cur = w.get(k);
        let change = match (&r.read, &r.state) {
            (MRead::Present(snap), _) => match &cur {
                None => Some(RowChange::Deleted),
                Some(c) => first_diff(snap, c).map(|col| RowChange::Column(col.into())),
            },
            (MRead::Absent, _) => cur.is_some().then_some(RowChange::Created),
            (MRead::Not, MState::Row(_)) => {
                if cur.is_some() && taken.is_none() {
                    let col = match k {
                        K::I(_) => "id",
                        K::L(_) => "slug",
                    };
                    taken = Some(Want::Unique(k.model(), col.into()));
                }
                None
            }
            _ => None,
        };
        if let Some(change) = change {
            conflicts.push(RowConflict {
                model: k.model(),
                key: k.shown(),
                change,
            });
        }
    }
    if !conflicts.is_empty() {
        return Err(Want::Conflicts(conflicts));
    }
    if let Some(t) = taken {
        return Err(t);
    }
    // 2. the unique values given up by deleted and changed rows
    let mut released: HashMap<U, K> = HashMap::new();
    for r in &tx.rows {
        let Some(k) = &r.key else { continue };
        match (&r.read, &r.state) {
            (_, MState::Absent) => {
                for (u, _) in w.get(k).iter().flat_map(uniques) {
                    released.insert(u, k.clone());
                }
            }
            (MRead::Present(snap), MState::Row(v)) => {
                for u in moved(snap, v).0 {
                    released.insert(u, k.clone());
                }
            }
            _ => {}
        }
    }
    // 3. auto-increment keys: the counter's next values naming no row
    let mut named: HashSet<u64> = tx
        .rows
        .iter()
        .filter_map(|r| match r.key {
            Some(K::I(k)) => Some(k),
            _ => None,
        })
        .collect();
    let mut seq = w.seq;
    let mut alloc = HashMap::new();
    for (i, r) in tx.rows.iter().enumerate() {
        if matches!(r.state, MState::Auto(_)) {
            seq += 1;
            while w.items.contains_key(&seq) || named.contains(&seq) {
                seq += 1;
            }
            named.insert(seq);
            alloc.insert(i, seq);
        }
    }
    // 4. the unique values claimed, row by row
    let mut claimed: HashMap<U, K> = HashMap::new();
    for (i, r) in tx.rows.iter().enumerate() {
        let me = r.key.clone().unwrap_or_else(|| K::I(alloc[&i]));
        let claims = match (&r.read, &r.state) {
            (MRead::Present(snap), MState::Row(v)) => moved(snap, v).1,
            (_, MState::Row(v)) => uniques(v),
            (_, MState::Auto(it)) => uniques(&V::I(it.clone())),
            _ => Vec::new(),
        };
        for (u, col) in claims {
            if claimed.get(&u).is_some_and(|o| *o != me) {
                return Err(Want::Unique(me.model(), col.into()));
            }
            claimed.insert(u.clone(), me.clone());
            if let Some(o) = w.owner(&u).filter(|o| *o != me) {
                if released.get(&u) != Some(&o) {
                    return Err(Want::Unique(me.model(), col.into()));
                }
                count(Moved);
            }
        }
    }
    // 5. the writes
    let mut out = w.clone();
    for (i, r) in tx.rows.iter().enumerate() {
        match (&r.key, &r.state) {
            (Some(k), MState::Absent) => out.set(k, None),
            (Some(k), MState::Row(v)) => out.set(k, Some(v.clone())),
            (_, MState::Auto(it)) => out.set(&K::I(alloc[&i]), Some(V::I(it.clone()))),
            (None, _) => unreachable!("only auto-increment rows have no key"),
        }
    }
    if let Some(last) = alloc.values().max() {
        out.seq = *last;
    }
    Ok((out, alloc))
}

// ------------------------------------------------------------ running

/// What the runs reached, counted (printed at the end).
#[derive(Clone, Copy, Debug)]
enum Count {
    Committed,
    Conflict,
    TakenKey,
    TakenValue,
    Refused,
    AutoKey,
    Moved,
    Outside,
}
use Count::*;

static COUNTS: [std::sync::atomic::AtomicUsize; 8] =
    [const { std::sync::atomic::AtomicUsize::new(0) }; 8];

fn count(c: Count) {
    COUNTS[c as usize].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

/// An action the model refuses is `Error::Validation`; one it takes is `Ok`.
fn refused<T: std::fmt::Debug>(
    ok: bool,
    got: &rom::Result<T>,
    a: &Act,
) -> Result<(), TestCaseError> {
    if !ok {
        count(Refused);
    }
    check(
        ok == got.is_ok() && (ok || matches!(got, Err(Error::Validation { .. }))),
        || format!("{a:?}: {got:?}"),
    )
}

fn check(cond: bool, what: impl FnOnce() -> String) -> Result<(), TestCaseError> {
    if cond {
        Ok(())
    } else {
        Err(TestCaseError::fail(what()))
    }
}

fn fail(what: impl std::fmt::Debug) -> impl Fn(rom::Error) -> TestCaseError {
    move |e| TestCaseError::fail(format!("{what:?}: unexpected error {e:?}"))
}

fn unique_err<T: std::fmt::Debug>(got: &rom::Result<T>) -> bool {
    matches!(got, Err(Error::UniqueViolation { .. }))
}

/// A single-row write, on the model and on Redis.
fn plain_write(w: &mut World, c: &mut redis::Connection, p: &Plain) -> Result<(), TestCaseError> {
    match p {
        Plain::ItemInsert(k, v) => {
            let v = Item {
                id: *k,
                ..v.clone()
            };
            let got = v.clone().insert(c);
            let key = k.unwrap_or_else(|| w.allocate());
            let clash = k.is_some_and(|k| w.items.contains_key(&k))
                || w.clash(&K::I(key), &V::I(v.clone()));
            if clash {
                check(unique_err(&got), || format!("{p:?}: {got:?}"))?;
            } else {
                let r = got.map_err(fail(p))?;
                check(r.id == Some(key), || format!("{p:?}: key {:?}", r.id))?;
                if k.is_none() {
                    w.seq = key;
                }
                w.set(&K::I(key), Some(V::I(v)));
            }
        }
        Plain::ItemSave(k, e) => {
            let got = Item::get(c, *k).map_err(fail(p))?;
            check(got.as_deref() == w.items.get(k), || {
                format!("{p:?}: {got:?}")
            })?;
            if let Some(mut r) = got {
                e.apply(&mut r);
                let new = V::I((*r).clone());
                let got = r.save(c);
                if w.clash(&K::I(*k), &new) {
                    check(unique_err(&got), || format!("{p:?}: {got:?}"))?;
                } else {
                    got.map_err(fail(p))?;
                    w.set(&K::I(*k), Some(new));
                }
            }
        }
        Plain::ItemDelete(k) => {
            let got = Item::delete_many(c, &[*k]).map_err(fail(p))?;
            check(got == u64::from(w.items.remove(k).is_some()), || {
                format!("{p:?}: {got}")
            })?;
        }
        Plain::LabelPut(l) | Plain::LabelInsert(l) => {
            let k = K::L(l.slug.clone());
            let insert = matches!(p, Plain::LabelInsert(_));
            let got = if insert {
                l.clone().insert(c).map(|_| ())
            } else {
                l.clone().upsert(c).map(|_| ())
            };
            if (insert && w.labels.contains_key(&l.slug)) || w.clash(&k, &V::L(l.clone())) {
                check(unique_err(&got), || format!("{p:?}: {got:?}"))?;
            } else {
                got.map_err(fail(p))?;
                w.set(&k, Some(V::L(l.clone())));
            }
        }
        Plain::LabelSave(s, e) => {
            let got = Label::get(c, s.clone()).map_err(fail(p))?;
            check(got.as_deref() == w.labels.get(s), || {
                format!("{p:?}: {got:?}")
            })?;
            if let Some(mut r) = got {
                e.apply(&mut r);
                let new = V::L((*r).clone());
                let got = r.save(c);
                if w.clash(&K::L(s.clone()), &new) {
                    check(unique_err(&got), || format!("{p:?}: {got:?}"))?;
                } else {
                    got.map_err(fail(p))?;
                    w.set(&K::L(s.clone()), Some(new));
                }
            }
        }
        Plain::LabelDelete(s) => {
            let got = Label::delete_many(c, std::slice::from_ref(s)).map_err(fail(p))?;
            check(got == u64::from(w.labels.remove(s).is_some()), || {
                format!("{p:?}: {got}")
            })?;
        }
    }
    Ok(())
}

/// The first row (in key order) a query `By` loads.
fn first_by(w: &World, by: &By) -> Option<Item> {
    w.items
        .values()
        .find(|it| match by {
            By::Code(c) => it.code == *c,
            By::Handle(h) => it.handle.as_deref().map(fold) == Some(fold(h)),
            By::NGe(x) => it.n >= *x,
        })
        .cloned()
}

fn query_by(by: &By) -> rom::Query<Item> {
    items::table.filter(match by {
        By::Code(c) => items::code.eq(*c),
        By::Handle(h) => items::handle.eq(h.as_str()),
        By::NGe(x) => items::n.ge(*x),
    })
}

/// The rows of a transaction in Redis, as the model shows them.
fn shown(r: Option<&mut Record<Item>>) -> Option<V> {
    r.map(|r| V::I((**r).clone()))
}

fn lshown(r: Option<&mut Record<Label>>) -> Option<V> {
    r.map(|r| V::L((**r).clone()))
}

/// A write by another connection aimed at a row the transaction holds, when
/// it holds one of the write's model (so that conflicts are frequent).
fn aim(p: &Plain, m: &Tx) -> Plain {
    let items: Vec<u64> = m
        .rows
        .iter()
        .filter_map(|r| match r.key {
            Some(K::I(k)) => Some(k),
            _ => None,
        })
        .collect();
    let labels: Vec<String> = m
        .rows
        .iter()
        .filter_map(|r| match &r.key {
            Some(K::L(s)) => Some(s.clone()),
            _ => None,
        })
        .collect();
    let item = |k: u64| {
        items
            .get(k as usize % items.len().max(1))
            .copied()
            .unwrap_or(k)
    };
    let label = |s: &String| labels.first().cloned().unwrap_or_else(|| s.clone());
    match p {
        Plain::ItemSave(k, e) => Plain::ItemSave(item(*k), e.clone()),
        Plain::ItemDelete(k) => Plain::ItemDelete(item(*k)),
        Plain::ItemInsert(Some(k), v) => Plain::ItemInsert(Some(item(*k)), v.clone()),
        Plain::LabelSave(s, e) => Plain::LabelSave(label(s), e.clone()),
        Plain::LabelDelete(s) => Plain::LabelDelete(label(s)),
        other => other.clone(),
    }
}

/// One action of a transaction, on the model and on Redis.
fn run_act(
    w: &mut World,
    (c, c2): (&mut redis::Connection, &mut redis::Connection),
    tx: &mut Transaction<G>,
    m: &mut Tx,
    a: &Act,
) -> Result<(), TestCaseError> {
    let f = fail(a);
    match a {
        Act::Get(k) => {
            let want = m.view(&K::I(*k)).unwrap_or_else(|| w.get(&K::I(*k)));
            m.read(w, K::I(*k));
            let got = shown(tx.get::<Item, _>(c, *k).map_err(f)?);
            check(got == want, || format!("{a:?}: {got:?}, want {want:?}"))?;
        }
        Act::GetMany(ks) => {
            tx.get_many::<Item, _>(c, ks).map_err(f)?;
            for k in ks {
                m.read(w, K::I(*k));
            }
            for k in ks {
                let want = m.view(&K::I(*k)).flatten();
                let got = shown(tx.row::<Item>(*k));
                check(got == want, || {
                    format!("{a:?}: {k}: {got:?}, want {want:?}")
                })?;
            }
        }
        Act::LGet(s) => {
            let k = K::L(s.clone());
            let want = m.view(&k).unwrap_or_else(|| w.get(&k));
            m.read(w, k);
            let got = lshown(tx.get::<Label, _>(c, s.clone()).map_err(f)?);
            check(got == want, || format!("{a:?}: {got:?}, want {want:?}"))?;
        }
        Act::LGetMany(ss) => {
            tx.get_many::<Label, _>(c, ss).map_err(f)?;
            for s in ss {
                m.read(w, K::L(s.clone()));
            }
            for s in ss {
                let want = m.view(&K::L(s.clone())).flatten();
                let got = lshown(tx.row::<Label>(s.clone()));
                check(got == want, || {
                    format!("{a:?}: {s}: {got:?}, want {want:?}")
                })?;
            }
        }
        Act::Edit(k, e) => {
            let got = tx.row::<Item>(*k);
            let want = m.view_mut(&K::I(*k));
            check(got.is_some() == want.is_some(), || format!("{a:?}: held?"))?;
            if let (Some(r), Some(V::I(v))) = (got, want) {
                e.apply(r);
                e.apply(v);
            }
        }
        Act::LEdit(s, e) => {
            let got = tx.row::<Label>(s.clone());
            let want = m.view_mut(&K::L(s.clone()));
            check(got.is_some() == want.is_some(), || format!("{a:?}: held?"))?;
            if let (Some(r), Some(V::L(v))) = (got, want) {
                e.apply(r);
                e.apply(v);
            }
        }
        Act::Insert(k, v) => {
            let v = Item {
                id: *k,
                ..v.clone()
            };
            let got = tx.insert(v.clone());
            match k {
                None => {
                    let h = got.map_err(f)?;
                    m.autos.push((h, m.rows.len()));
                    m.rows.push(MRow {
                        key: None,
                        read: MRead::Not,
                        state: MState::Auto(v),
                    });
                }
                Some(k) => {
                    let ok = m.insert(K::I(*k), V::I(v));
                    refused(ok, &got, a)?;
                }
            }
        }
        Act::LInsert(l) => {
            let got = tx.insert(l.clone());
            let ok = m.insert(K::L(l.slug.clone()), V::L(l.clone()));
            refused(ok, &got, a)?;
        }
        Act::Delete(k) => {
            let got = tx.delete::<Item>(*k);
            let ok = m.delete(K::I(*k));
            refused(ok, &got, a)?;
        }
        Act::LDelete(s) => {
            let got = tx.delete::<Label>(s.clone());
            let ok = m.delete(K::L(s.clone()));
            refused(ok, &got, a)?;
        }
        Act::Attach(by) => {
            let loaded = query_by(by).first(c).optional().map_err(f)?;
            let want = first_by(w, by);
            check(loaded.as_deref() == want.as_ref(), || {
                format!("{a:?}: loaded {loaded:?}, want {want:?}")
            })?;
            let Some(rec) = loaded else { return Ok(()) };
            let k = K::I(rec.id.expect("a loaded row has its key"));
            let got = tx.attach(rec).map(|r| V::I((**r).clone()));
            let want = match m.view(&k) {
                None => {
                    let v = w.get(&k).expect("loaded");
                    m.rows.push(MRow {
                        key: Some(k),
                        read: MRead::Present(v.clone()),
                        state: MState::Row(v.clone()),
                    });
                    Some(v)
                }
                Some(held) => held,
            };
            match want {
                Some(v) => check(got.as_ref().ok() == Some(&v), || {
                    format!("{a:?}: {got:?}, want {v:?}")
                })?,
                None => check(matches!(got, Err(Error::Validation { .. })), || {
                    format!("{a:?}: {got:?}")
                })?,
            }
        }
        Act::Outside(p) => {
            count(Outside);
            plain_write(w, c2, p)?;
        }
    }
    Ok(())
}

fn run_step(
    w: &mut World,
    c: &mut redis::Connection,
    c2: &mut redis::Connection,
    s: &Step,
) -> Result<(), TestCaseError> {
    let (acts, outside, commit) = match s {
        Step::Plain(p) => return plain_write(w, c, p),
        Step::Tx(acts, outside, commit) => (acts, outside, *commit),
    };
    let mut tx = Transaction::<G>::new();
    let mut m = Tx::default();
    for a in acts {
        run_act(w, (&mut *c, &mut *c2), &mut tx, &mut m, a)?;
    }
    if let Some(p) = outside {
        count(Outside);
        plain_write(w, c2, &aim(p, &m))?;
    }
    if !commit {
        tx.rollback();
        return Ok(());
    }
    let want = expect_commit(w, &m);
    let got = tx.commit(c);
    match (want, got) {
        (Ok((next, alloc)), Ok(done)) => {
            count(Committed);
            for (h, row) in &m.autos {
                let (got, want) = (done.key(*h), alloc[row]);
                check(got == want, || format!("auto key {got}, want {want}"))?;
                check(done.record(*h).id == Some(want), || "record key".into())?;
                count(AutoKey);
            }
            *w = next;
        }
        (Err(Want::Conflicts(want)), Err(Error::TransactionConflict { conflicts })) => {
            count(Conflict);
            check(conflicts == want, || {
                format!("conflicts {conflicts:#?}\nwant {want:#?}")
            })?;
        }
        (
            Err(Want::Unique(model, column)),
            Err(Error::UniqueViolation {
                model: m2,
                column: c2,
                ..
            }),
        ) => {
            count(if column == "id" || column == "slug" {
                TakenKey
            } else {
                TakenValue
            });
            check((model, &column) == (m2, &c2), || {
                format!("unique violation on {m2}.{c2}, want {model}.{column}")
            })?;
        }
        (want, got) => {
            return Err(TestCaseError::fail(format!(
                "commit: got {got:?}\nwant {want:?}\ntx {m:#?}"
            )));
        }
    }
    Ok(())
}

/// `verify` is clean, and the tables, the unique columns and the numeric
/// index answer as the model does.
fn check_store(w: &World, c: &mut redis::Connection) -> Result<(), TestCaseError> {
    let e = |e: rom::Error| TestCaseError::fail(format!("check: {e}"));
    let a = rom::verify::verify::<Item, _>(c).map_err(e)?;
    check(a.is_clean(), || format!("items verify {:#?}", a.problems))?;
    let b = rom::verify::verify::<Label, _>(c).map_err(e)?;
    check(b.is_clean(), || format!("labels verify {:#?}", b.problems))?;
    let all: Vec<Item> = items::table
        .load(c)
        .map_err(e)?
        .into_iter()
        .map(|r| (*r).clone())
        .collect();
    let want: Vec<Item> = w.items.values().cloned().collect();
    check(all == want, || format!("items {all:?}\nwant {want:?}"))?;
    let mut all: Vec<Label> = labels::table
        .load(c)
        .map_err(e)?
        .into_iter()
        .map(|r| (*r).clone())
        .collect();
    all.sort_by(|a, b| a.slug.cmp(&b.slug));
    let want: Vec<Label> = w.labels.values().cloned().collect();
    check(all == want, || format!("labels {all:?}\nwant {want:?}"))?;
    let ids = |f: &dyn Fn(&Item) -> bool| -> Vec<u64> {
        w.items
            .iter()
            .filter(|(_, v)| f(v))
            .map(|(k, _)| *k)
            .collect()
    };
    for code in CODES {
        let got = items::table
            .filter(items::code.eq(code))
            .ids(c)
            .map_err(e)?;
        let want = ids(&|v| v.code == code);
        check(got == want, || {
            format!("code = {code}: {got:?}, want {want:?}")
        })?;
    }
    for h in ["ANN", "bob", ""] {
        let got = items::table.filter(items::handle.eq(h)).ids(c).map_err(e)?;
        let want = ids(&|v| v.handle.as_deref().map(fold) == Some(fold(h)));
        check(got == want, || {
            format!("handle = {h:?}: {got:?}, want {want:?}")
        })?;
    }
    let got = items::table
        .filter(items::n.ge(-1))
        .order_by(items::n.desc())
        .ids(c)
        .map_err(e)?;
    let mut want: Vec<(i64, u64)> = w
        .items
        .iter()
        .filter(|(_, v)| v.n >= -1)
        .map(|(k, v)| (-v.n, *k))
        .collect();
    want.sort_unstable();
    let want: Vec<u64> = want.into_iter().map(|(_, k)| k).collect();
    check(got == want, || {
        format!("n >= -1 desc: {got:?}, want {want:?}")
    })?;
    let got = items::table.filter(items::tag.eq("x")).ids(c).map_err(e)?;
    let want = ids(&|v| v.tag.as_deref() == Some("x"));
    check(got == want, || format!("tag = x: {got:?}, want {want:?}"))?;
    for s in SERIALS {
        let got = labels::table
            .filter(labels::serial.eq(s))
            .ids(c)
            .map_err(e)?;
        let want: Vec<String> = w
            .labels
            .values()
            .filter(|l| l.serial == s)
            .map(|l| l.slug.clone())
            .collect();
        check(got == want, || {
            format!("serial = {s}: {got:?}, want {want:?}")
        })?;
    }
    Ok(())
}

#[test]
fn random_transactions_match_the_model() {
    let server = RedisServer::start().expect("start redis-server");
    let conns = std::cell::RefCell::new((
        server.connection().expect("connect"),
        server.connection().expect("connect"),
    ));
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(40);
    let mut config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    // a seed of our own, printed on failure, unless one is given
    let seed = std::env::var("PROPTEST_RNG_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
            t.map_or(1, |d| d.as_nanos() as u64)
        });
    config.rng_seed = RngSeed::Fixed(seed);
    let mut runner = TestRunner::new(config);
    let steps = std::cell::Cell::new(0usize);
    let result = runner.run(&proptest::collection::vec(step(), 45..56), |seq| {
        let mut guard = conns.borrow_mut();
        let (c, c2) = &mut *guard;
        redis::cmd("FLUSHALL")
            .exec(c)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut w = World::default();
        for (i, s) in seq.iter().enumerate() {
            run_step(&mut w, c, c2, s)
                .and_then(|()| check_store(&w, c))
                .map_err(|e| TestCaseError::fail(format!("step {i}: {s:?}\n{e}")))?;
            steps.set(steps.get() + 1);
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}\nrerun with PROPTEST_RNG_SEED={seed}");
    }
    let counts: Vec<String> = [
        Committed, Conflict, TakenKey, TakenValue, Refused, AutoKey, Moved, Outside,
    ]
    .iter()
    .map(|c| {
        format!(
            "{c:?} {}",
            COUNTS[*c as usize].load(std::sync::atomic::Ordering::Relaxed)
        )
    })
    .collect();
    println!(
        "transaction state machine: {} steps (PROPTEST_RNG_SEED={seed}): {}",
        steps.get(),
        counts.join(", ")
    );
    assert!(
        steps.get() >= cases as usize * 45,
        "ran only {} steps",
        steps.get()
    );
}
