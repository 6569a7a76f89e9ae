//! Model-based test of native structures: random sequences of writes recorded
//! on the `List`, `Set` (indexed), `Hash` and `SortedSet` fields of rows, run
//! against a real redis-server and against an in-memory model (a `Vec`, a
//! `BTreeSet`, a `BTreeMap`, and a map member -> score read in Redis' order:
//! by score, then by member bytes). After every step every row's structures
//! are read back through the typed reads (sync and plan forms) and compared
//! with the model, the `contains` filter of the indexed set is compared with
//! the model, the raw keys are audited (no structure or index key that the
//! model does not explain), and `verify` must be clean.
//!
//! The rules the model follows (`rom::structure`'s documentation):
//! - writes are recorded in the field and applied in order by the next save
//!   of the row (insert, upsert, `Record::save`, `save_all`, `save_forced`, a
//!   transaction's commit), atomically with its columns; a record dropped
//!   without saving changes nothing;
//! - reads do not see writes not yet saved;
//! - a failed save (a conflict, a row deleted meanwhile, a NaN score, a
//!   transaction conflict) applies nothing and keeps the recorded writes
//!   (`pending()` unchanged): a later successful save applies them once;
//! - a new row starts with empty structures; an upsert over a stored row
//!   keeps them and applies its writes on top;
//! - deleting a row (by key, by query) deletes its structures and its
//!   entries in the indexed set's index.
//!
//! The default seed is fixed (the run is deterministic); `PROPTEST_RNG_SEED`
//! runs another sequence, `PROPTEST_CASES` sets the number of sequences
//! (default 30, of 50 steps: 1,500 steps).
#![allow(clippy::unwrap_used, missing_docs)]

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};
use rom::plan::run_all;
use rom::prelude::*;
use rom::structure::{Hash, List, Set, SortedSet};
use rom::testing::RedisServer;
use rom::transaction::Transaction;
use rom::verify::verify;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = boxes)]
pub struct Bx {
    #[rom(primary_key)]
    pub id: u64,
    #[rom(index(eq))]
    pub owner: String,
    pub log: List<String>,
    #[rom(index(eq))]
    pub labels: Set<String>,
    pub attrs: Hash<String, i64>,
    pub ranks: SortedSet<String>,
}

// ------------------------------------------------------------ pools

const KEYS: u64 = 6;
const OWNERS: [&str; 3] = ["ann", "bob", "cy"];
const ITEMS: [&str; 5] = ["a", "b", "", "é", "x:y"];
const LABELS: [&str; 5] = ["red", "blue", "", "a:b", "{t}"];
const HKEYS: [&str; 4] = ["h1", "h2", "", "h:3"];
const HVALS: [i64; 4] = [-3, 0, 7, i64::MAX];
const MEMBERS: [&str; 5] = ["m1", "m2", "m3", "", "M"];
const SCORES: [f64; 7] = [-1.5, 0.0, -0.0, 1.0, 1.0, 2.5, 1e9];
const DELTAS: [f64; 3] = [-1.0, 0.5, 2.0];

// ------------------------------------------------------------ steps

/// One recorded write (indexes into the pools).
#[derive(Clone, Debug)]
enum Op {
    PushBack(usize),
    PushFront(usize),
    LRem(usize, i64),
    Trim(i64, i64),
    LClear,
    SAdd(usize),
    SRem(usize),
    SClear,
    HSet(usize, usize),
    HDel(usize),
    HClear,
    ZIns(usize, usize),
    ZAdd(usize, usize),
    ZRem(usize),
    ZClear,
}

fn op() -> impl Strategy<Value = Op> {
    let i = || 0..ITEMS.len();
    let l = || 0..LABELS.len();
    let h = || 0..HKEYS.len();
    let m = || 0..MEMBERS.len();
    prop_oneof![
        4 => i().prop_map(Op::PushBack),
        2 => i().prop_map(Op::PushFront),
        1 => (i(), -2i64..3).prop_map(|(v, n)| Op::LRem(v, n)),
        1 => (-4i64..4, -4i64..4).prop_map(|(a, b)| Op::Trim(a, b)),
        1 => Just(Op::LClear),
        4 => l().prop_map(Op::SAdd),
        2 => l().prop_map(Op::SRem),
        1 => Just(Op::SClear),
        3 => (h(), 0..HVALS.len()).prop_map(|(k, v)| Op::HSet(k, v)),
        1 => h().prop_map(Op::HDel),
        1 => Just(Op::HClear),
        3 => (m(), 0..SCORES.len()).prop_map(|(x, s)| Op::ZIns(x, s)),
        2 => (m(), 0..DELTAS.len()).prop_map(|(x, d)| Op::ZAdd(x, d)),
        1 => m().prop_map(Op::ZRem),
        1 => Just(Op::ZClear),
    ]
}

#[derive(Clone, Copy, Debug)]
enum Then {
    /// `Record::save`.
    Save,
    /// Dropped without saving: nothing changes.
    Drop,
    /// `Record::save_forced`.
    Forced,
}

#[derive(Clone, Debug)]
enum Step {
    /// Load row `k`, record writes (and maybe a new owner), then save or drop.
    Write {
        k: u64,
        ops: Vec<Op>,
        owner: Option<usize>,
        then: Then,
    },
    /// A new row with writes recorded before its insert.
    Insert { k: u64, owner: usize, ops: Vec<Op> },
    /// An upsert of a value with recorded writes.
    Upsert { k: u64, owner: usize, ops: Vec<Op> },
    /// `Bx::delete_many` of one key.
    Delete(u64),
    /// A query delete by owner.
    DeleteByOwner(usize),
    /// A query delete by the indexed set (`labels.contains`).
    DeleteByLabel(usize),
    /// A transaction writing rows `a` and `a + d` (inserting the absent);
    /// with `conflict`, another writer changes row `a` before the commit.
    Tx {
        a: u64,
        d: u64,
        ops_a: Vec<Op>,
        ops_b: Vec<Op>,
        conflict: bool,
    },
    /// A save that fails: another writer changed the column the record
    /// changes (or deleted the row); with `retry`, then `save_forced`.
    Conflict {
        k: u64,
        ops: Vec<Op>,
        deleted: bool,
        retry: bool,
    },
    /// A save whose writes hold a NaN score: refused before anything is sent.
    Nan { k: u64, ops: Vec<Op>, at: usize },
    /// `Record::save_all` of rows `a` and `a + d`; with `conflict`, the first
    /// fails (another writer changed it) and the second is saved.
    SaveAll {
        a: u64,
        d: u64,
        ops_a: Vec<Op>,
        ops_b: Vec<Op>,
        conflict: bool,
    },
}

fn step() -> impl Strategy<Value = Step> {
    let k = || 0..KEYS;
    let ops = || vec(op(), 0..7);
    let then = prop_oneof![4 => Just(Then::Save), 1 => Just(Then::Drop), 1 => Just(Then::Forced)];
    prop_oneof![
        8 => (k(), ops(), proptest::option::of(0..OWNERS.len()), then)
            .prop_map(|(k, ops, owner, then)| Step::Write { k, ops, owner, then }),
        4 => (k(), 0..OWNERS.len(), ops()).prop_map(|(k, owner, ops)| Step::Insert { k, owner, ops }),
        2 => (k(), 0..OWNERS.len(), ops()).prop_map(|(k, owner, ops)| Step::Upsert { k, owner, ops }),
        1 => k().prop_map(Step::Delete),
        1 => (0..OWNERS.len()).prop_map(Step::DeleteByOwner),
        1 => (0..LABELS.len()).prop_map(Step::DeleteByLabel),
        2 => (k(), 1..KEYS, ops(), ops(), any::<bool>())
            .prop_map(|(a, d, ops_a, ops_b, conflict)| Step::Tx { a, d, ops_a, ops_b, conflict }),
        2 => (k(), vec(op(), 1..7), any::<bool>(), any::<bool>())
            .prop_map(|(k, ops, deleted, retry)| Step::Conflict { k, ops, deleted, retry }),
        1 => (k(), ops(), 0usize..7).prop_map(|(k, ops, at)| Step::Nan { k, ops, at }),
        1 => (k(), 1..KEYS, ops(), ops(), any::<bool>())
            .prop_map(|(a, d, ops_a, ops_b, conflict)| Step::SaveAll { a, d, ops_a, ops_b, conflict }),
    ]
}

// ------------------------------------------------------------ the model

/// What a row should hold.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Row {
    pub owner: String,
    pub log: Vec<String>,
    pub labels: BTreeSet<String>,
    pub attrs: BTreeMap<String, i64>,
    pub ranks: BTreeMap<String, f64>,
}

impl Row {
    fn new(owner: &str) -> Self {
        Row {
            owner: owner.into(),
            ..Row::default()
        }
    }

    /// The sorted set in Redis' order: by score, then by member bytes.
    pub fn ranked(&self) -> Vec<(String, f64)> {
        let mut v: Vec<(String, f64)> = self.ranks.iter().map(|(m, s)| (m.clone(), *s)).collect();
        v.sort_by(|a, b| {
            a.1.partial_cmp(&b.1)
                .unwrap_or(Ordering::Equal)
                .then_with(|| a.0.as_bytes().cmp(b.0.as_bytes()))
        });
        v
    }

    fn apply(&mut self, op: &Op) {
        match *op {
            Op::PushBack(i) => self.log.push(ITEMS[i].into()),
            Op::PushFront(i) => self.log.insert(0, ITEMS[i].into()),
            Op::LRem(i, n) => lrem(&mut self.log, ITEMS[i], n),
            Op::Trim(a, b) => ltrim(&mut self.log, a, b),
            Op::LClear => self.log.clear(),
            Op::SAdd(i) => {
                self.labels.insert(LABELS[i].into());
            }
            Op::SRem(i) => {
                self.labels.remove(LABELS[i]);
            }
            Op::SClear => self.labels.clear(),
            Op::HSet(k, v) => {
                self.attrs.insert(HKEYS[k].into(), HVALS[v]);
            }
            Op::HDel(k) => {
                self.attrs.remove(HKEYS[k]);
            }
            Op::HClear => self.attrs.clear(),
            Op::ZIns(m, s) => {
                self.ranks.insert(MEMBERS[m].into(), SCORES[s]);
            }
            Op::ZAdd(m, d) => {
                *self.ranks.entry(MEMBERS[m].into()).or_insert(0.0) += DELTAS[d];
            }
            Op::ZRem(m) => {
                self.ranks.remove(MEMBERS[m]);
            }
            Op::ZClear => self.ranks.clear(),
        }
    }

    fn apply_all(&mut self, ops: &[Op]) {
        for o in ops {
            self.apply(o);
        }
    }
}

/// `LREM`: the first `n` from the front (`n > 0`), the last `-n` (`n < 0`),
/// every one (`n == 0`).
fn lrem(l: &mut Vec<String>, v: &str, n: i64) {
    let mut left = if n == 0 {
        usize::MAX
    } else {
        n.unsigned_abs() as usize
    };
    if n >= 0 {
        let mut out = Vec::with_capacity(l.len());
        for x in l.drain(..) {
            if x == v && left > 0 {
                left -= 1;
            } else {
                out.push(x);
            }
        }
        *l = out;
    } else {
        let mut out = Vec::with_capacity(l.len());
        for x in l.drain(..).rev() {
            if x == v && left > 0 {
                left -= 1;
            } else {
                out.push(x);
            }
        }
        out.reverse();
        *l = out;
    }
}

/// `LTRIM` as Redis computes it (t_list.c).
fn ltrim(l: &mut Vec<String>, start: i64, end: i64) {
    let len = l.len() as i64;
    let (mut s, mut e) = (start, end);
    if s < 0 {
        s += len;
    }
    if e < 0 {
        e += len;
    }
    if s < 0 {
        s = 0;
    }
    if s > e || s >= len {
        l.clear();
        return;
    }
    if e >= len {
        e = len - 1;
    }
    *l = l[s as usize..=e as usize].to_vec();
}

/// Records `op` on a value's structures.
fn record(b: &mut Bx, op: &Op) {
    match *op {
        Op::PushBack(i) => b.log.push_back(ITEMS[i]),
        Op::PushFront(i) => b.log.push_front(ITEMS[i]),
        Op::LRem(i, n) => b.log.remove(&ITEMS[i].to_string(), n),
        Op::Trim(a, c) => b.log.trim(a, c),
        Op::LClear => b.log.clear(),
        Op::SAdd(i) => b.labels.insert(LABELS[i]),
        Op::SRem(i) => b.labels.remove(&LABELS[i].to_string()),
        Op::SClear => b.labels.clear(),
        Op::HSet(k, v) => b.attrs.insert(HKEYS[k], HVALS[v]),
        Op::HDel(k) => b.attrs.remove(&HKEYS[k].to_string()),
        Op::HClear => b.attrs.clear(),
        Op::ZIns(m, s) => b.ranks.insert(MEMBERS[m], SCORES[s]),
        Op::ZAdd(m, d) => b.ranks.add(MEMBERS[m], DELTAS[d]),
        Op::ZRem(m) => b.ranks.remove(&MEMBERS[m].to_string()),
        Op::ZClear => b.ranks.clear(),
    }
}

fn record_all(b: &mut Bx, ops: &[Op]) {
    for o in ops {
        record(b, o);
    }
}

/// The writes each structure of `b` holds.
fn pending(b: &Bx) -> [usize; 4] {
    [
        b.log.pending(),
        b.labels.pending(),
        b.attrs.pending(),
        b.ranks.pending(),
    ]
}

/// How many writes `ops` record on each structure.
fn counts(ops: &[Op]) -> [usize; 4] {
    let mut n = [0; 4];
    for o in ops {
        let i = match o {
            Op::PushBack(_) | Op::PushFront(_) | Op::LRem(..) | Op::Trim(..) | Op::LClear => 0,
            Op::SAdd(_) | Op::SRem(_) | Op::SClear => 1,
            Op::HSet(..) | Op::HDel(_) | Op::HClear => 2,
            Op::ZIns(..) | Op::ZAdd(..) | Op::ZRem(_) | Op::ZClear => 3,
        };
        n[i] += 1;
    }
    n
}

fn fresh(k: u64, owner: &str, ops: &[Op]) -> Bx {
    let mut b = Bx {
        id: k,
        owner: owner.into(),
        log: List::new(),
        labels: Set::new(),
        attrs: Hash::new(),
        ranks: SortedSet::new(),
    };
    record_all(&mut b, ops);
    b
}

/// Another owner of the pool (the next one).
fn other_owner(o: &str) -> String {
    let i = OWNERS.iter().position(|x| *x == o).map_or(0, |i| i + 1);
    OWNERS[i % OWNERS.len()].into()
}

// ------------------------------------------------------------ running steps

/// The owner another writer sets: neither the stored one nor the one the
/// record being tested sets (`other_owner`), so both writes change the column.
fn intruder(o: &str) -> String {
    other_owner(&other_owner(o))
}

fn check(ok: bool, what: impl FnOnce() -> String) -> Result<(), TestCaseError> {
    if ok {
        Ok(())
    } else {
        Err(TestCaseError::fail(what()))
    }
}

fn fail(e: impl std::fmt::Display) -> TestCaseError {
    TestCaseError::fail(e.to_string())
}

type World = BTreeMap<u64, Row>;

fn load(c: &mut redis::Connection, k: u64) -> Result<Option<Record<Bx>>, TestCaseError> {
    Bx::get(c, k).map_err(fail)
}

fn run_step(w: &mut World, c: &mut redis::Connection, s: &Step) -> Result<(), TestCaseError> {
    match s {
        Step::Write {
            k,
            ops,
            owner,
            then,
        } => {
            let Some(mut r) = load(c, *k)? else {
                return check(!w.contains_key(k), || format!("row {k} not found"));
            };
            record_all(&mut r, ops);
            if let Some(o) = owner {
                r.owner = OWNERS[*o].into();
            }
            check(pending(&r) == counts(ops), || {
                format!("pending {:?}, want {:?}", pending(&r), counts(ops))
            })?;
            // reads do not see the writes recorded
            let want = &w[k];
            compare(c, &r, want).map_err(|e| fail(format!("before save: {e}")))?;
            match then {
                Then::Drop => drop(r),
                Then::Save | Then::Forced => {
                    if matches!(then, Then::Save) {
                        r.save(c).map_err(fail)?;
                    } else {
                        r.save_forced(c).map_err(fail)?;
                    }
                    check(pending(&r) == [0; 4], || {
                        format!("pending after save {:?}", pending(&r))
                    })?;
                    let row = w.get_mut(k).unwrap();
                    row.apply_all(ops);
                    row.owner = r.owner.clone();
                    // the saved record reads what is stored
                    compare(c, &r, row).map_err(|e| fail(format!("after save: {e}")))?;
                }
            }
        }
        Step::Insert { k, owner, ops } => {
            let got = fresh(*k, OWNERS[*owner], ops).insert(c);
            match got {
                Ok(r) if !w.contains_key(k) => {
                    check(pending(&r) == [0; 4], || "pending after insert".into())?;
                    let mut row = Row::new(OWNERS[*owner]);
                    row.apply_all(ops);
                    w.insert(*k, row);
                }
                Err(Error::UniqueViolation { .. }) if w.contains_key(k) => {}
                other => check(false, || format!("insert {k}: {other:?}"))?,
            }
        }
        Step::Upsert { k, owner, ops } => {
            let r = fresh(*k, OWNERS[*owner], ops).upsert(c).map_err(fail)?;
            check(pending(&r) == [0; 4], || "pending after upsert".into())?;
            let row = w.entry(*k).or_default();
            row.owner = OWNERS[*owner].into();
            row.apply_all(ops);
        }
        Step::Delete(k) => {
            let n = Bx::delete_many(c, &[*k]).map_err(fail)?;
            let want = u64::from(w.remove(k).is_some());
            check(n == want, || format!("delete {k}: {n}, want {want}"))?;
        }
        Step::DeleteByOwner(o) => {
            let n = boxes::table
                .filter(boxes::owner.eq(OWNERS[*o]))
                .delete(c)
                .map_err(fail)?;
            let before = w.len();
            w.retain(|_, r| r.owner != OWNERS[*o]);
            let want = (before - w.len()) as u64;
            check(n == want, || format!("delete by owner: {n}, want {want}"))?;
        }
        Step::DeleteByLabel(l) => {
            let n = boxes::table
                .filter(boxes::labels.contains(LABELS[*l]))
                .delete(c)
                .map_err(fail)?;
            let before = w.len();
            w.retain(|_, r| !r.labels.contains(LABELS[*l]));
            let want = (before - w.len()) as u64;
            check(n == want, || format!("delete by label: {n}, want {want}"))?;
        }
        Step::Tx {
            a,
            d,
            ops_a,
            ops_b,
            conflict,
        } => {
            let b = (a + d) % KEYS;
            let mut tx = Transaction::new();
            tx.get_many::<Bx, _>(c, &[*a, b]).map_err(fail)?;
            let mut plan: Vec<(u64, &Vec<Op>, String)> = Vec::new();
            for (k, ops) in [(*a, ops_a), (b, ops_b)] {
                match tx.row::<Bx>(k) {
                    Some(r) => {
                        record_all(r, ops);
                        r.owner = other_owner(&r.owner);
                        plan.push((k, ops, r.owner.clone()));
                    }
                    None => {
                        tx.insert(fresh(k, OWNERS[0], ops)).map_err(fail)?;
                        plan.push((k, ops, OWNERS[0].into()));
                    }
                }
            }
            // another writer changes row a (or creates it) before the commit
            let conflict = *conflict;
            if conflict {
                match load(c, *a)? {
                    Some(mut r) => {
                        r.owner = intruder(&r.owner);
                        r.labels.insert("red");
                        r.save(c).map_err(fail)?;
                        let row = w.get_mut(a).unwrap();
                        row.owner = r.owner.clone();
                        row.labels.insert("red".into());
                    }
                    None => {
                        fresh(*a, OWNERS[1], &[Op::PushBack(0)])
                            .insert(c)
                            .map_err(fail)?;
                        let mut row = Row::new(OWNERS[1]);
                        row.log.push(ITEMS[0].into());
                        w.insert(*a, row);
                    }
                }
                // the failure is checked by the world: nothing of the
                // transaction may be stored
                compare_world(w, c)?;
            }
            match tx.commit(c) {
                Ok(_) if !conflict => {
                    for (k, ops, owner) in plan {
                        let row = w.entry(k).or_default();
                        row.owner = owner;
                        row.apply_all(ops);
                    }
                }
                Err(Error::TransactionConflict { .. }) if conflict => {}
                Err(Error::UniqueViolation { .. }) if conflict => {
                    // the transaction inserted row a, the other writer too
                }
                other => check(false, || format!("commit: {other:?}"))?,
            }
        }
        Step::Conflict {
            k,
            ops,
            deleted,
            retry,
        } => {
            let Some(mut r) = load(c, *k)? else {
                return check(!w.contains_key(k), || format!("row {k} not found"));
            };
            record_all(&mut r, ops);
            r.owner = other_owner(&r.owner);
            let before = pending(&r);
            if *deleted {
                Bx::delete_many(c, &[*k]).map_err(fail)?;
                w.remove(k);
            } else {
                let mut o = load(c, *k)?.unwrap();
                o.owner = intruder(&o.owner);
                o.save(c).map_err(fail)?;
                w.get_mut(k).unwrap().owner = o.owner.clone();
            }
            let got = r.save(c);
            check(matches!(got, Err(Error::Conflict { .. })), || {
                format!("save after another writer: {got:?}")
            })?;
            check(pending(&r) == before, || {
                format!("pending after conflict {:?}, want {before:?}", pending(&r))
            })?;
            compare_world(w, c).map_err(|e| fail(format!("after conflict: {e}")))?;
            if *retry {
                let got = r.save_forced(c);
                if *deleted {
                    check(matches!(got, Err(Error::Conflict { .. })), || {
                        format!("forced save of a deleted row: {got:?}")
                    })?;
                    check(pending(&r) == before, || "pending after forced".into())?;
                } else {
                    got.map_err(fail)?;
                    check(pending(&r) == [0; 4], || "pending after forced".into())?;
                    let row = w.get_mut(k).unwrap();
                    row.owner = r.owner.clone();
                    row.apply_all(ops);
                }
            }
        }
        Step::Nan { k, ops, at } => {
            let Some(mut r) = load(c, *k)? else {
                return check(!w.contains_key(k), || format!("row {k} not found"));
            };
            let at = (*at).min(ops.len());
            record_all(&mut r, &ops[..at]);
            r.ranks.insert("nan", f64::NAN);
            record_all(&mut r, &ops[at..]);
            r.owner = other_owner(&r.owner);
            let before = pending(&r);
            let got = r.save(c);
            check(
                matches!(&got, Err(Error::Validation { column, .. }) if column == "ranks"),
                || format!("save with a NaN score: {got:?}"),
            )?;
            check(pending(&r) == before, || "pending after NaN".into())?;
        }
        Step::SaveAll {
            a,
            d,
            ops_a,
            ops_b,
            conflict,
        } => {
            let b = (a + d) % KEYS;
            let (Some(mut ra), Some(mut rb)) = (load(c, *a)?, load(c, b)?) else {
                return Ok(());
            };
            record_all(&mut ra, ops_a);
            record_all(&mut rb, ops_b);
            ra.owner = other_owner(&ra.owner);
            let before_a = pending(&ra);
            if *conflict {
                let mut o = load(c, *a)?.unwrap();
                o.owner = intruder(&o.owner);
                o.save(c).map_err(fail)?;
                w.get_mut(a).unwrap().owner = o.owner.clone();
            }
            let mut recs = [ra, rb];
            let res = Record::save_all(c, &mut recs).map_err(fail)?;
            let [ra, rb] = &recs;
            match (&res[0], *conflict) {
                (Ok(()), false) => {
                    let row = w.get_mut(a).unwrap();
                    row.owner = ra.owner.clone();
                    row.apply_all(ops_a);
                }
                (Err(Error::Conflict { .. }), true) => {
                    check(pending(ra) == before_a, || "pending after conflict".into())?;
                }
                (other, _) => check(false, || format!("save_all first: {other:?}"))?,
            }
            res[1].as_ref().map_err(fail)?;
            check(pending(rb) == [0; 4], || "pending after save_all".into())?;
            w.get_mut(&b).unwrap().apply_all(ops_b);
        }
    }
    Ok(())
}

// ------------------------------------------------------------ comparing

/// Compares the stored structures of `r` with `want`, through the typed
/// reads. `Err` names the first difference.
pub fn compare(c: &mut redis::Connection, r: &Bx, want: &Row) -> Result<(), String> {
    let e = |e: Error| e.to_string();
    // the list
    let n = r.log.len(c).map_err(e)?;
    if n != want.log.len() as u64 {
        return Err(format!("log len {n}, want {}", want.log.len()));
    }
    let all = r.log.range(0, -1, c).map_err(e)?;
    if all != want.log {
        return Err(format!("log {all:?}, want {:?}", want.log));
    }
    // probes, pipelined: the plan forms in one round trip
    let len = want.log.len() as i64;
    let probes = [0, -1, 1, len, -len - 1];
    let plans = probes
        .iter()
        .map(|&i| r.log.get_plan(i))
        .collect::<rom::Result<Vec<_>>>();
    let got = run_all(plans.map_err(e)?, c).map_err(e)?;
    for (&i, got) in probes.iter().zip(got) {
        let got = got.map_err(e)?;
        let at = if i < 0 { len + i } else { i };
        let exp = (0..len)
            .contains(&at)
            .then(|| want.log[at as usize].clone());
        if got != exp {
            return Err(format!("log[{i}] {got:?}, want {exp:?}"));
        }
    }
    if r.log.get(-1, c).map_err(e)? != want.log.last().cloned() {
        return Err("log[-1]".into());
    }
    let part = r.log.range(1, 2, c).map_err(e)?;
    let exp: Vec<String> = want.log.iter().skip(1).take(2).cloned().collect();
    if part != exp {
        return Err(format!("log range(1, 2) {part:?}, want {exp:?}"));
    }

    // the set
    let n = r.labels.len(c).map_err(e)?;
    if n != want.labels.len() as u64 {
        return Err(format!("labels len {n}, want {}", want.labels.len()));
    }
    let mut seen = BTreeSet::new();
    let mut cursor = 0;
    loop {
        let page = r.labels.scan(cursor, 2, c).map_err(e)?;
        let last = page.is_last();
        cursor = page.cursor;
        seen.extend(page.items);
        if last {
            break;
        }
    }
    if seen != want.labels {
        return Err(format!("labels {seen:?}, want {:?}", want.labels));
    }
    let plans = LABELS
        .iter()
        .map(|l| r.labels.contains_plan(&l.to_string()))
        .collect::<rom::Result<Vec<_>>>();
    let got = run_all(plans.map_err(e)?, c).map_err(e)?;
    for (l, got) in LABELS.iter().zip(got) {
        let got = got.map_err(e)?;
        if got != want.labels.contains(*l) {
            return Err(format!("labels contains {l:?}: {got}"));
        }
    }
    // one probe in the sync form
    let l = LABELS[want.labels.len() % LABELS.len()].to_string();
    if r.labels.contains(&l, c).map_err(e)? != want.labels.contains(&l) {
        return Err(format!("labels contains {l:?}"));
    }

    // the hash
    let n = r.attrs.len(c).map_err(e)?;
    if n != want.attrs.len() as u64 {
        return Err(format!("attrs len {n}, want {}", want.attrs.len()));
    }
    let mut seen = BTreeMap::new();
    let mut cursor = 0;
    loop {
        let page = r.attrs.scan(cursor, 2, c).map_err(e)?;
        let last = page.is_last();
        cursor = page.cursor;
        seen.extend(page.items);
        if last {
            break;
        }
    }
    if seen != want.attrs {
        return Err(format!("attrs {seen:?}, want {:?}", want.attrs));
    }
    let keys: Vec<String> = HKEYS.iter().map(|k| k.to_string()).collect();
    let plans = keys
        .iter()
        .map(|k| r.attrs.get_plan(k))
        .collect::<rom::Result<Vec<_>>>();
    let got = run_all(plans.map_err(e)?, c).map_err(e)?;
    let plans = keys
        .iter()
        .map(|k| r.attrs.contains_key_plan(k))
        .collect::<rom::Result<Vec<_>>>();
    let has = run_all(plans.map_err(e)?, c).map_err(e)?;
    for ((k, got), has) in keys.iter().zip(got).zip(has) {
        let got = got.map_err(e)?;
        if got != want.attrs.get(k).copied() {
            return Err(format!("attrs[{k:?}] {got:?}"));
        }
        if has.map_err(e)? != want.attrs.contains_key(k) {
            return Err(format!("attrs contains_key {k:?}"));
        }
    }
    let k = keys[want.attrs.len() % keys.len()].clone();
    if r.attrs.get(&k, c).map_err(e)? != want.attrs.get(&k).copied()
        || r.attrs.contains_key(&k, c).map_err(e)? != want.attrs.contains_key(&k)
    {
        return Err(format!("attrs[{k:?}]"));
    }

    // the sorted set
    let ranked = want.ranked();
    let n = r.ranks.len(c).map_err(e)?;
    if n != ranked.len() as u64 {
        return Err(format!("ranks len {n}, want {}", ranked.len()));
    }
    let all = r.ranks.range(0, -1, c).map_err(e)?;
    if all != ranked {
        return Err(format!("ranks {all:?}, want {ranked:?}"));
    }
    let rev = r.ranks.rev_range(0, 1, c).map_err(e)?;
    let exp: Vec<(String, f64)> = ranked.iter().rev().take(2).cloned().collect();
    if rev != exp {
        return Err(format!("ranks rev_range(0, 1) {rev:?}, want {exp:?}"));
    }
    let by = r.ranks.range_by_score(0.0, 2.0, 1, 2, c).map_err(e)?;
    let exp: Vec<(String, f64)> = ranked
        .iter()
        .filter(|(_, s)| (0.0..=2.0).contains(s))
        .skip(1)
        .take(2)
        .cloned()
        .collect();
    if by != exp {
        return Err(format!("ranks range_by_score {by:?}, want {exp:?}"));
    }
    let between = r.ranks.count_between(-1.0, 1.0, c).map_err(e)?;
    let exp = ranked
        .iter()
        .filter(|(_, s)| (-1.0..=1.0).contains(s))
        .count() as u64;
    if between != exp {
        return Err(format!("ranks count_between {between}, want {exp}"));
    }
    let members: Vec<String> = MEMBERS.iter().map(|m| m.to_string()).collect();
    let plans = members
        .iter()
        .map(|m| r.ranks.score_plan(m))
        .collect::<rom::Result<Vec<_>>>();
    let scores = run_all(plans.map_err(e)?, c).map_err(e)?;
    let plans = members
        .iter()
        .map(|m| r.ranks.rank_plan(m))
        .collect::<rom::Result<Vec<_>>>();
    let ranks = run_all(plans.map_err(e)?, c).map_err(e)?;
    for ((m, got), rank) in members.iter().zip(scores).zip(ranks) {
        let got = got.map_err(e)?;
        if got != want.ranks.get(m).copied() {
            return Err(format!("ranks score {m:?}: {got:?}"));
        }
        let got = rank.map_err(e)?;
        let exp = ranked.iter().position(|(x, _)| x == m).map(|p| p as u64);
        if got != exp {
            return Err(format!("ranks rank {m:?}: {got:?}, want {exp:?}"));
        }
    }
    let m = members[ranked.len() % members.len()].clone();
    let exp = ranked.iter().position(|(x, _)| *x == m).map(|p| p as u64);
    if r.ranks.rank(&m, c).map_err(e)? != exp
        || r.ranks.score(&m, c).map_err(e)? != want.ranks.get(&m).copied()
    {
        return Err(format!("ranks rank or score {m:?}"));
    }
    Ok(())
}

/// Which label `compare_world` checks in full (it turns, call after call).
static TURN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Compares every row, the `contains` filter, the raw keys and `verify`.
fn compare_world(w: &World, c: &mut redis::Connection) -> Result<(), TestCaseError> {
    let keys: Vec<u64> = (0..KEYS).collect();
    let rows = Bx::get_many(c, &keys).map_err(fail)?;
    let found: Vec<u64> = rows.iter().map(|r| r.id).collect();
    let want: Vec<u64> = w.keys().copied().collect();
    check(found == want, || format!("rows {found:?}, want {want:?}"))?;
    for r in &rows {
        let m = &w[&r.id];
        check(r.owner == m.owner, || {
            format!("row {} owner {:?}, want {:?}", r.id, r.owner, m.owner)
        })?;
        check(pending(r) == [0; 4], || {
            "a loaded row has pending writes".into()
        })?;
        compare(c, r, m).map_err(|e| fail(format!("row {}: {e}", r.id)))?;
    }
    // the filter of the indexed set: the keys of every label; for one label
    // in turn, count, load and an AND with another index too
    let turn = TURN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    for (i, l) in LABELS.iter().enumerate() {
        let want: Vec<u64> = w
            .iter()
            .filter(|(_, r)| r.labels.contains(*l))
            .map(|(k, _)| *k)
            .collect();
        let q = boxes::table.filter(boxes::labels.contains(*l));
        let mut got = q.clone().ids(c).map_err(fail)?;
        got.sort_unstable();
        check(got == want, || {
            format!("ids contains {l:?}: {got:?}, want {want:?}")
        })?;
        if i != turn % LABELS.len() {
            continue;
        }
        let n = q.clone().count(c).map_err(fail)?;
        check(n == want.len() as u64, || {
            format!("count contains {l:?}: {n}, want {}", want.len())
        })?;
        let mut got: Vec<u64> = q.load(c).map_err(fail)?.iter().map(|r| r.id).collect();
        got.sort_unstable();
        check(got == want, || {
            format!("load contains {l:?}: {got:?}, want {want:?}")
        })?;
        let o = OWNERS[turn % OWNERS.len()];
        let want: Vec<u64> = w
            .iter()
            .filter(|(_, r)| r.labels.contains(*l) && r.owner == o)
            .map(|(k, _)| *k)
            .collect();
        let mut got = boxes::table
            .filter(boxes::labels.contains(*l).and(boxes::owner.eq(o)))
            .ids(c)
            .map_err(fail)?;
        got.sort_unstable();
        check(got == want, || {
            format!("contains {l:?} and owner {o}: {got:?}, want {want:?}")
        })?;
    }
    // raw keys: a structure key exactly for each non-empty structure, an
    // index set exactly for each label held, naming its rows
    let mut st: Vec<String> = redis::cmd("KEYS")
        .arg("{boxes}:st:*")
        .query(c)
        .map_err(fail)?;
    st.sort();
    let mut want_st = Vec::new();
    for (k, r) in w {
        for (field, empty) in [
            ("log", r.log.is_empty()),
            ("labels", r.labels.is_empty()),
            ("attrs", r.attrs.is_empty()),
            ("ranks", r.ranks.is_empty()),
        ] {
            if !empty {
                want_st.push(format!("{{boxes}}:st:{field}:{k}"));
            }
        }
    }
    want_st.sort();
    check(st == want_st, || {
        format!("structure keys {st:?}, want {want_st:?}")
    })?;
    let mut idx: Vec<String> = redis::cmd("KEYS")
        .arg("{boxes}:eq:labels:*")
        .query(c)
        .map_err(fail)?;
    idx.sort();
    let mut held: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (k, r) in w {
        for l in &r.labels {
            held.entry(format!("{{boxes}}:eq:labels:{l}"))
                .or_default()
                .insert(k.to_string());
        }
    }
    let want_idx: Vec<String> = held.keys().cloned().collect();
    check(idx == want_idx, || {
        format!("index keys {idx:?}, want {want_idx:?}")
    })?;
    for (key, rows) in &held {
        let got: BTreeSet<String> = redis::cmd("SMEMBERS").arg(key).query(c).map_err(fail)?;
        check(&got == rows, || format!("{key}: {got:?}, want {rows:?}"))?;
    }
    let report = verify::<Bx, _>(c).map_err(fail)?;
    check(report.is_clean(), || format!("verify: {report:?}"))?;
    check(report.rows == w.len() as u64, || {
        format!("verify counted {} rows, want {}", report.rows, w.len())
    })?;
    Ok(())
}

// ------------------------------------------------------------ the tests

#[test]
fn random_structure_writes_match_the_model() {
    let server = RedisServer::start().expect("start redis-server");
    let conn = std::cell::RefCell::new(server.connection().expect("connect"));
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    // fixed unless given: the run is deterministic
    let seed = std::env::var("PROPTEST_RNG_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5EED_57C7);
    let config = Config {
        cases,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(seed),
        max_shrink_iters: 128,
        ..Config::default()
    };
    let steps = std::cell::Cell::new(0usize);
    let result = TestRunner::new(config).run(&vec(step(), 50..51), |seq| {
        let mut c = conn.borrow_mut();
        redis::cmd("FLUSHALL").exec(&mut *c).map_err(fail)?;
        let mut w = World::new();
        for (i, s) in seq.iter().enumerate() {
            run_step(&mut w, &mut c, s)
                .and_then(|()| compare_world(&w, &mut c))
                .map_err(|e| TestCaseError::fail(format!("step {i}: {s:?}\n{e}")))?;
            steps.set(steps.get() + 1);
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}\nrerun with PROPTEST_RNG_SEED={seed}");
    }
    println!(
        "structures state machine: {} steps (PROPTEST_RNG_SEED={seed})",
        steps.get()
    );
    assert!(
        steps.get() >= cases as usize * 50,
        "ran only {} steps",
        steps.get()
    );
}

/// The comparison can fail: a model that differs from Redis by one element
/// of any structure, or by its order, is caught.
#[test]
fn the_comparison_detects_a_wrong_model() {
    let server = RedisServer::start().expect("start redis-server");
    let mut c = server.connection().expect("connect");
    let ops = [
        Op::PushBack(0),
        Op::PushBack(1),
        Op::SAdd(0),
        Op::HSet(0, 2),
        Op::ZIns(0, 3),
        Op::ZIns(1, 3),
    ];
    let r = fresh(1, "ann", &ops).insert(&mut c).unwrap();
    let mut right = Row::new("ann");
    right.apply_all(&ops);
    assert_eq!(compare(&mut c, &r, &right), Ok(()));
    let wrong: [fn(&mut Row); 8] = [
        |m| m.log.reverse(),
        |m| m.log.push("a".into()),
        |m| {
            m.labels.insert("blue".into());
        },
        |m| {
            m.labels.clear();
        },
        |m| {
            m.attrs.insert("h1".into(), 8);
        },
        |m| {
            m.ranks.insert("m1".into(), 1.5);
        },
        // same members and scores, a different tie order: by member bytes
        |m| {
            m.ranks.insert("m2".into(), 0.999_999);
        },
        |m| {
            m.ranks.remove("m2");
        },
    ];
    for (i, f) in wrong.iter().enumerate() {
        let mut m = right.clone();
        f(&mut m);
        assert!(
            compare(&mut c, &r, &m).is_err(),
            "wrong model {i} was not detected"
        );
    }
    // and the ranked order of the model itself: ties by member bytes
    let mut m = Row::default();
    m.ranks.insert("b".into(), 1.0);
    m.ranks.insert("a".into(), 1.0);
    m.ranks.insert("c".into(), -0.0);
    m.ranks.insert("d".into(), 0.0);
    assert_eq!(
        m.ranked(),
        vec![
            ("c".into(), -0.0),
            ("d".into(), 0.0),
            ("a".into(), 1.0),
            ("b".into(), 1.0)
        ]
    );
}

/// The model's list rules agree with Redis on every small case.
#[test]
fn the_list_model_matches_redis() {
    let server = RedisServer::start().expect("start redis-server");
    let mut c = server.connection().expect("connect");
    let base = ["a", "b", "a", "c", "a"];
    for n in -3i64..4 {
        let _: () = redis::cmd("DEL").arg("l").query(&mut c).unwrap();
        let _: () = redis::cmd("RPUSH")
            .arg("l")
            .arg(&base)
            .query(&mut c)
            .unwrap();
        let _: () = redis::cmd("LREM")
            .arg("l")
            .arg(n)
            .arg("a")
            .query(&mut c)
            .unwrap();
        let got: Vec<String> = redis::cmd("LRANGE")
            .arg("l")
            .arg(0)
            .arg(-1)
            .query(&mut c)
            .unwrap();
        let mut m: Vec<String> = base.iter().map(|s| s.to_string()).collect();
        lrem(&mut m, "a", n);
        assert_eq!(got, m, "LREM {n}");
    }
    for a in -7i64..7 {
        for b in -7i64..7 {
            let _: () = redis::cmd("DEL").arg("l").query(&mut c).unwrap();
            let _: () = redis::cmd("RPUSH")
                .arg("l")
                .arg(&base)
                .query(&mut c)
                .unwrap();
            let _: () = redis::cmd("LTRIM")
                .arg("l")
                .arg(a)
                .arg(b)
                .query(&mut c)
                .unwrap();
            let got: Vec<String> = redis::cmd("LRANGE")
                .arg("l")
                .arg(0)
                .arg(-1)
                .query(&mut c)
                .unwrap();
            let mut m: Vec<String> = base.iter().map(|s| s.to_string()).collect();
            ltrim(&mut m, a, b);
            assert_eq!(got, m, "LTRIM {a} {b}");
        }
    }
}
