//! Model-based test of expiry: random inserts, upserts, saves, increments,
//! deletes, deadline moves (`touch`, `persist`, `expire_at` in the past, which
//! expires a row at once) and sweeps, run against a real redis-server and an
//! in-memory model; every read is compared after every step, and `verify`
//! must be clean with exactly the model's count of expired rows awaiting a
//! sweep. Deadlines are either an hour away or in the past, so no step
//! depends on timing.
//!
//! The rules the model follows (the book's "Expiry" chapter):
//! - an expired row is absent to every read, to `touch`, `persist`,
//!   `expire_at`, `ttl`, increments and deletes (a delete still removes it
//!   and counts 0); its key and unique values are free;
//! - an insert or upsert writes over an expired row with the same key;
//!   an upsert without a time to live clears the deadline;
//! - every successful insert, upsert or save that sends a write (a save
//!   with nothing changed sends none) also reclaims expired rows: of
//!   the first three due (deadline order, then key order), the first two
//!   that are not the row it writes;
//! - a sweep reclaims every expired row.
//!
//! `PROPTEST_CASES` sets the number of sequences (default 30, of 40 to 60
//! steps); a failure prints the seed to rerun with `PROPTEST_RNG_SEED`.
#![allow(clippy::unwrap_used, missing_docs)]

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};
use rom::expiry::{self, ExpiryMethods as _};
use rom::prelude::*;
use rom::testing::RedisServer;
use rom::verify::verify;
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = items, expires)]
struct Item {
    #[rom(primary_key)]
    key: String,
    #[rom(unique)]
    code: String,
    #[rom(index(eq))]
    tag: String,
    #[rom(index(numeric))]
    n: i64,
}

const HOUR: Duration = Duration::from_secs(3600);
const KEYS: u8 = 8;

#[derive(Clone, Debug, PartialEq)]
struct Row {
    code: String,
    tag: String,
    n: i64,
    /// Deadline an hour away (`Some(true)`), passed (`Some(false)`), none.
    deadline: Option<bool>,
}

impl Row {
    fn live(&self) -> bool {
        self.deadline != Some(false)
    }
}

#[derive(Clone, Debug)]
enum Step {
    Insert(u8, u8, u8, bool),
    Upsert(u8, u8, u8),
    Save(u8, i64),
    Increment(u8),
    Delete(u8),
    ExpireNow(u8),
    Touch(u8),
    Persist(u8),
    Sweep,
    Read(u8),
}

fn step() -> impl Strategy<Value = Step> {
    let k = || 0..KEYS;
    prop_oneof![
        5 => (k(), 0u8..6, 0u8..3, any::<bool>()).prop_map(|(k, c, t, ttl)| Step::Insert(k, c, t, ttl)),
        2 => (k(), 0u8..6, 0u8..3).prop_map(|(k, c, t)| Step::Upsert(k, c, t)),
        2 => (k(), -5i64..5).prop_map(|(k, n)| Step::Save(k, n)),
        1 => k().prop_map(Step::Increment),
        1 => k().prop_map(Step::Delete),
        4 => k().prop_map(Step::ExpireNow),
        2 => k().prop_map(Step::Touch),
        1 => k().prop_map(Step::Persist),
        1 => Just(Step::Sweep),
        3 => k().prop_map(Step::Read),
    ]
}

fn key(k: u8) -> String {
    format!("k{k}")
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

/// The stored rows, live or expired (awaiting a sweep), by key.
#[derive(Default, Debug)]
struct World(BTreeMap<String, Row>);

impl World {
    fn live(&self, k: &str) -> Option<&Row> {
        self.0.get(k).filter(|r| r.live())
    }
    /// Whether another live row holds `code`.
    fn code_taken(&self, code: &str, by: &str) -> bool {
        self.0
            .iter()
            .any(|(k, r)| r.live() && r.code == code && k != by)
    }
    /// The reclaiming of a successful write of row `k`.
    fn reclaim(&mut self, k: &str) {
        // due: every expired row has a deadline in the past (score 0 for
        // `expire_at(UNIX_EPOCH)`), so deadline order is key order
        let due: Vec<String> = self
            .0
            .iter()
            .filter(|(_, r)| !r.live())
            .map(|(k, _)| k.clone())
            .take(3)
            .filter(|m| m != k)
            .take(2)
            .collect();
        for m in due {
            self.0.remove(&m);
        }
    }
}

fn run_step(w: &mut World, c: &mut redis::Connection, s: &Step) -> Result<(), TestCaseError> {
    match s {
        Step::Insert(k, code, tag, ttl) => {
            let (k, code) = (key(*k), format!("c{code}"));
            let item = Item {
                key: k.clone(),
                code: code.clone(),
                tag: format!("t{tag}"),
                n: 0,
            };
            let got = if *ttl {
                item.clone().insert_with_ttl(c, HOUR)
            } else {
                item.clone().insert(c)
            };
            let refused = w.live(&k).is_some() || w.code_taken(&code, &k);
            match got {
                Ok(_) if !refused => {
                    let row = Row {
                        code,
                        tag: item.tag,
                        n: 0,
                        deadline: ttl.then_some(true),
                    };
                    w.0.insert(k.clone(), row);
                    w.reclaim(&k);
                }
                Err(Error::UniqueViolation { .. }) if refused => {}
                other => check(false, || format!("insert {k}: {other:?}"))?,
            }
        }
        Step::Upsert(k, code, tag) => {
            let (k, code) = (key(*k), format!("c{code}"));
            let item = Item {
                key: k.clone(),
                code: code.clone(),
                tag: format!("t{tag}"),
                n: 1,
            };
            let refused = w.code_taken(&code, &k);
            match item.clone().upsert(c) {
                Ok(_) if !refused => {
                    w.0.insert(
                        k.clone(),
                        Row {
                            code,
                            tag: item.tag,
                            n: 1,
                            deadline: None,
                        },
                    );
                    w.reclaim(&k);
                }
                Err(Error::UniqueViolation { .. }) if refused => {}
                other => check(false, || format!("upsert {k}: {other:?}"))?,
            }
        }
        Step::Save(k, n) => {
            let k = key(*k);
            let Some(mut rec) = Item::get(c, k.clone()).map_err(fail)? else {
                return check(w.live(&k).is_none(), || format!("{k} not read"));
            };
            // a save with nothing changed sends nothing (and reclaims nothing)
            let changed = rec.n != *n;
            rec.n = *n;
            rec.save(c).map_err(fail)?;
            w.0.get_mut(&k).unwrap().n = *n;
            if changed {
                w.reclaim(&k);
            }
        }
        Step::Increment(k) => {
            let k = key(*k);
            let got = Item::increment(c, k.clone(), items::n.add(1));
            match (got, w.live(&k).is_some()) {
                (Ok(v), true) => {
                    let row = w.0.get_mut(&k).unwrap();
                    row.n += 1;
                    check(v == row.n, || format!("increment {k}: {v}"))?;
                }
                (Err(_), false) => {}
                (other, _) => check(false, || format!("increment {k}: {other:?}"))?,
            }
        }
        Step::Delete(k) => {
            let k = key(*k);
            let n = Item::delete_many(c, std::slice::from_ref(&k)).map_err(fail)?;
            let want = u64::from(w.live(&k).is_some());
            check(n == want, || format!("delete {k}: {n}, want {want}"))?;
            w.0.remove(&k);
        }
        Step::ExpireNow(k) => {
            let k = key(*k);
            let got = Item::expire_at(c, &k, SystemTime::UNIX_EPOCH).map_err(fail)?;
            let live = w.live(&k).is_some();
            check(got == live, || format!("expire {k}: {got}"))?;
            if live {
                w.0.get_mut(&k).unwrap().deadline = Some(false);
            }
        }
        Step::Touch(k) | Step::Persist(k) => {
            let k = key(*k);
            let got = if matches!(s, Step::Touch(_)) {
                Item::touch(c, &k, HOUR)
            } else {
                Item::persist(c, &k)
            }
            .map_err(fail)?;
            let live = w.live(&k).is_some();
            check(got == live, || format!("{s:?}: {got}"))?;
            if live {
                w.0.get_mut(&k).unwrap().deadline = matches!(s, Step::Touch(_)).then_some(true);
            }
        }
        Step::Sweep => {
            let swept = expiry::sweep::<Item, _>(c).map_err(fail)?;
            let want = w.0.values().filter(|r| !r.live()).count() as u64;
            check(swept.expired == want, || {
                format!("swept {swept:?}, want {want}")
            })?;
            w.0.retain(|_, r| r.live());
        }
        Step::Read(k) => {
            let k = key(*k);
            let want = w.live(&k);
            let ttl = Item::ttl(c, &k);
            match (ttl, want) {
                (Ok(None), Some(r)) if r.deadline.is_none() => {}
                (Ok(Some(d)), Some(r)) if r.deadline == Some(true) && d <= HOUR => {}
                (Err(Error::NotFound { .. }), None) => {}
                (other, _) => check(false, || format!("ttl {k}: {other:?}, want {want:?}"))?,
            }
            let exists = Item::exists(c, k.clone()).map_err(fail)?;
            check(exists == want.is_some(), || format!("exists {k}: {exists}"))?;
        }
    }
    Ok(())
}

/// Every read agrees with the model, and verify is clean.
fn check_store(w: &World, c: &mut redis::Connection) -> Result<(), TestCaseError> {
    let live: BTreeMap<String, Row> =
        w.0.iter()
            .filter(|(_, r)| r.live())
            .map(|(k, r)| (k.clone(), r.clone()))
            .collect();
    let got: Vec<(String, String, String, i64)> = items::table
        .load(c)
        .map_err(fail)?
        .iter()
        .map(|r| (r.key.clone(), r.code.clone(), r.tag.clone(), r.n))
        .collect();
    let want: Vec<(String, String, String, i64)> = live
        .iter()
        .map(|(k, r)| (k.clone(), r.code.clone(), r.tag.clone(), r.n))
        .collect();
    check(got == want, || format!("rows {got:?}\nwant {want:?}"))?;
    let count = items::table.count(c).map_err(fail)?;
    check(count == live.len() as u64, || format!("count {count}"))?;
    // the same in steps (a budget of 2 units): expired rows stay out
    let tiny = rom::query::Budget::units(2);
    let stepped: Vec<String> = items::table
        .budget(tiny)
        .load(c)
        .map_err(fail)?
        .iter()
        .map(|r| r.key.clone())
        .collect();
    let keys: Vec<String> = live.keys().cloned().collect();
    check(stepped == keys, || format!("rows in steps {stepped:?}"))?;
    for t in 0..3 {
        let tag = format!("t{t}");
        let n = items::table
            .filter(items::tag.eq(tag.as_str()))
            .count(c)
            .map_err(fail)?;
        let want = live.values().filter(|r| r.tag == tag).count() as u64;
        check(n == want, || format!("count {tag}: {n}, want {want}"))?;
        let neg = items::table
            .filter(items::tag.eq(tag.as_str()).not().and(items::n.ge(0)))
            .count(c)
            .map_err(fail)?;
        let want = live.values().filter(|r| r.tag != tag && r.n >= 0).count() as u64;
        check(neg == want, || {
            format!("count not {tag}: {neg}, want {want}")
        })?;
        let stepped = items::table
            .filter(items::tag.eq(tag.as_str()).not().and(items::n.ge(0)))
            .budget(tiny)
            .count(c)
            .map_err(fail)?;
        check(stepped == want, || {
            format!("count not {tag} in steps: {stepped}, want {want}")
        })?;
    }
    for code in 0..6 {
        let code = format!("c{code}");
        let got = items::table
            .filter(items::code.eq(code.as_str()))
            .first(c)
            .optional()
            .map_err(fail)?
            .map(|r| r.key.clone());
        let want = live
            .iter()
            .find(|(_, r)| r.code == code)
            .map(|(k, _)| k.clone());
        check(got == want, || {
            format!("code {code}: {got:?}, want {want:?}")
        })?;
    }
    let keys: Vec<String> = (0..KEYS).map(key).collect();
    let many: Vec<String> = Item::get_many(c, &keys)
        .map_err(fail)?
        .iter()
        .map(|r| r.key.clone())
        .collect();
    check(many == live.keys().cloned().collect::<Vec<_>>(), || {
        format!("get_many {many:?}")
    })?;
    let report = verify::<Item, _>(c).map_err(fail)?;
    let expired = w.0.values().filter(|r| !r.live()).count() as u64;
    check(report.is_clean(), || format!("verify: {report:?}"))?;
    check(
        report.expired == expired && report.rows == live.len() as u64,
        || {
            format!(
                "verify counted {} live, {} expired; want {}, {expired}",
                report.rows,
                report.expired,
                live.len()
            )
        },
    )?;
    Ok(())
}

#[test]
fn random_operations_on_expiring_rows_match_the_model() {
    let server = RedisServer::start().expect("start redis-server");
    let conn = std::cell::RefCell::new(server.connection().expect("connect"));
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let seed = std::env::var("PROPTEST_RNG_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            let t = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH);
            t.map_or(1, |d| d.as_nanos() as u64)
        });
    let config = Config {
        cases,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(seed),
        ..Config::default()
    };
    let steps = std::cell::Cell::new(0usize);
    let result = TestRunner::new(config).run(&proptest::collection::vec(step(), 40..61), |seq| {
        let mut c = conn.borrow_mut();
        redis::cmd("FLUSHALL").exec(&mut *c).map_err(fail)?;
        let mut w = World::default();
        for (i, s) in seq.iter().enumerate() {
            run_step(&mut w, &mut c, s)
                .and_then(|()| check_store(&w, &mut c))
                .map_err(|e| TestCaseError::fail(format!("step {i}: {s:?}\n{e}")))?;
            steps.set(steps.get() + 1);
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}\nrerun with PROPTEST_RNG_SEED={seed}");
    }
    println!(
        "expiry state machine: {} steps (PROPTEST_RNG_SEED={seed})",
        steps.get()
    );
    assert!(
        steps.get() >= cases as usize * 40,
        "ran only {} steps",
        steps.get()
    );
}
