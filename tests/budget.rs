//! The per-call budget: a query whose one-call plan would examine more index
//! entries than its budget runs in steps, each one call, each resuming after
//! the last entry the previous one examined. The answers are the same as in
//! one call; a query that fits stays one round trip; under concurrent writes
//! every row that matches throughout comes back exactly once.
mod common;
use common::*;
use redis::{Cmd, RedisResult, Value};
use rom::query::Budget;
use std::collections::BTreeSet;

/// 600 users: ages 0..60 (ten of each), names `n0`..`n5`, scores by key.
fn fill(c: &mut redis::Connection) {
    let rows: Vec<User> = (0..600)
        .map(|i| {
            user(
                &format!("u{i}@x.io"),
                &format!("n{}", i % 6),
                i % 60,
                f64::from(i),
            )
        })
        .collect();
    for r in User::insert_all(c, rows).expect("insert") {
        r.expect("row");
    }
}

fn ids(rows: &[rom::Record<User>]) -> Vec<u64> {
    rows.iter().map(|r| r.id.expect("id")).collect()
}

#[test]
fn a_query_over_its_budget_runs_in_steps_with_the_same_answer() {
    let (_s, c) = server();
    let mut c = CountingConnection::new(c);
    fill(c.inner_mut());
    let small = Budget::units(40);
    // broad shapes: a `not`, an `or`, an `and` of two indexes, everything
    let queries = [
        users::table.filter(users::age.lt(10).not()),
        users::table.filter(users::name.eq("n1").or(users::age.ge(50))),
        users::table
            .filter(users::name.eq("n2"))
            .filter(users::score.ge(100.0)),
        users::table.filter(users::age.ge(0)),
    ];
    for q in queries {
        let whole = q.clone().budget(Budget::UNBOUNDED);
        c.reset();
        let want = whole.clone().load(&mut c).expect("one call");
        assert_eq!(c.round_trips(), 1, "unbounded: one call");
        assert!(want.len() > 40, "a broad query: {}", want.len());

        c.reset();
        let got = q.clone().budget(small).load(&mut c).expect("in steps");
        assert_eq!(ids(&got), ids(&want));
        assert!(c.round_trips() > 2, "several calls: {}", c.round_trips());

        let ordered = |q: rom::Query<User>| q.order_by(users::score.desc());
        assert_eq!(
            ids(&ordered(q.clone().budget(small))
                .load(&mut c)
                .expect("ordered")),
            ids(&ordered(whole.clone()).load(&mut c).expect("ordered")),
        );
        assert_eq!(
            q.clone().budget(small).count(&mut c).expect("count"),
            want.len() as u64
        );
        // offset and limit across steps
        let window = |q: rom::Query<User>| q.offset(7).limit(45);
        assert_eq!(
            ids(&window(q.clone().budget(small))
                .load(&mut c)
                .expect("window")),
            ids(&window(whole.clone()).load(&mut c).expect("window")),
        );
        assert_eq!(
            window(q.clone().budget(small))
                .count(&mut c)
                .expect("count"),
            45
        );
        assert_eq!(
            q.clone().budget(small).ids(&mut c).expect("ids"),
            want.iter().map(|r| r.id.expect("id")).collect::<Vec<_>>()
        );
        // pages of 25, each filled over several calls
        let mut pages = q.clone().budget(small).pages(25);
        let mut paged = Vec::new();
        while let Some(page) = pages.next_page(&mut c).expect("page") {
            assert!(page.len() <= 25);
            paged.extend(ids(&page));
        }
        assert_eq!(paged, ids(&want));
    }
}

#[test]
fn a_query_that_fits_its_budget_is_one_call() {
    let (_s, c) = server();
    let mut c = CountingConnection::new(c);
    fill(c.inner_mut());
    c.reset();
    // 600 keys walked and tested: 1,200 units, within the default 2,000
    let keys = users::table
        .filter(users::age.lt(10).not())
        .ids(&mut c)
        .expect("ids");
    assert_eq!(keys.len(), 500);
    assert_eq!(c.round_trips(), 1, "600 rows fit the default budget");
    // reading the 500 rows too costs 1,000 more: two calls or more
    c.reset();
    let rows = users::table
        .filter(users::age.lt(10).not())
        .load(&mut c)
        .expect("load");
    assert_eq!(rows.len(), 500);
    assert!(c.round_trips() > 1);
    c.reset();
    let n = users::table
        .filter(users::age.ge(5))
        .filter(users::name.eq("n3"))
        .budget(Budget::units(5_000))
        .count(&mut c)
        .expect("count");
    let want = (0..600).filter(|i| i % 6 == 3 && i % 60 >= 5).count();
    assert_eq!(n, want as u64);
    assert_eq!(c.round_trips(), 1);
    // a small page of a broad query walks its order index: one call
    c.reset();
    let top = users::table
        .filter(users::age.ge(0))
        .order_by(users::score.desc())
        .limit(5)
        .budget(Budget::units(40))
        .load(&mut c)
        .expect("top");
    assert_eq!(ids(&top), vec![600, 599, 598, 597, 596]);
    assert_eq!(c.round_trips(), 1);
}

#[test]
fn exists_and_first_search_in_steps() {
    let (_s, c) = server();
    let mut c = CountingConnection::new(c);
    fill(c.inner_mut());
    // the only match is the last row in key order
    let q = users::table
        .filter(users::age.eq(59))
        .filter(users::score.ge(599.0))
        .filter(users::name.eq("n5"));
    c.reset();
    assert!(
        q.clone()
            .budget(Budget::units(3))
            .exists(&mut c)
            .expect("exists")
    );
    let first = q
        .clone()
        .budget(Budget::units(3))
        .first(&mut c)
        .expect("first");
    assert_eq!(first.id, Some(600));
    let none = users::table
        .filter(users::age.eq(59).not())
        .filter(users::age.ge(59))
        .budget(Budget::units(7));
    assert!(!none.clone().exists(&mut c).expect("exists"));
    assert_eq!(none.count(&mut c).expect("count"), 0);
}

#[test]
fn a_delete_in_steps_deletes_every_match_and_leaves_clean_indexes() {
    let (_s, mut c) = server();
    fill(&mut c);
    let mut counted = CountingConnection::new(c);
    let n = users::table
        .filter(users::name.eq("n1").or(users::age.lt(6)))
        .budget(Budget::units(25))
        .delete(&mut counted)
        .expect("delete");
    // n1: 100 rows; ages 0..5: 60 rows, 10 of which are n1
    assert_eq!(n, 150);
    assert!(counted.round_trips() > 2, "{}", counted.round_trips());
    let mut c = counted.into_inner();
    assert_eq!(users::table.count(&mut c).expect("count"), 450);
    assert_eq!(
        users::table
            .filter(users::name.eq("n1"))
            .count(&mut c)
            .expect("n1"),
        0
    );
    let report = rom::verify::verify::<User, _>(&mut c).expect("verify");
    assert!(report.is_clean(), "{report:?}");
    // a delete with a limit in steps deletes the first rows in key order
    let n = users::table
        .filter(users::age.ge(30))
        .limit(17)
        .budget(Budget::units(4))
        .delete(&mut c)
        .expect("delete");
    assert_eq!(n, 17);
    assert!(
        rom::verify::verify::<User, _>(&mut c)
            .expect("verify")
            .is_clean()
    );
}

/// A connection that lets another client write before each request: the
/// writes land between the steps of a query.
struct Meddling<'a> {
    inner: redis::Connection,
    meddle: Box<dyn FnMut() + 'a>,
}

impl redis::ConnectionLike for Meddling<'_> {
    fn req_packed_command(&mut self, cmd: &[u8]) -> RedisResult<Value> {
        (self.meddle)();
        self.inner.req_packed_command(cmd)
    }
    fn req_packed_commands(
        &mut self,
        cmd: &[u8],
        offset: usize,
        count: usize,
    ) -> RedisResult<Vec<Value>> {
        (self.meddle)();
        self.inner.req_packed_commands(cmd, offset, count)
    }
    fn req_command(&mut self, cmd: &Cmd) -> RedisResult<Value> {
        (self.meddle)();
        self.inner.req_command(cmd)
    }
    fn get_db(&self) -> i64 {
        self.inner.get_db()
    }
    fn check_connection(&mut self) -> bool {
        self.inner.check_connection()
    }
    fn is_open(&self) -> bool {
        self.inner.is_open()
    }
}

#[test]
fn under_concurrent_writes_every_row_matching_throughout_comes_back_once() {
    let (s, mut c) = server();
    fill(&mut c);
    // the rows that stay: even keys; odd keys are deleted meanwhile, and
    // new rows are inserted, some before the walk's position, some after
    let stable: BTreeSet<u64> = (1..=600).filter(|k| k % 2 == 0).collect();
    let mut other = s.connection().expect("second client");
    let mut next_odd = 1u64;
    let mut fresh = 0u32;
    let meddle = move || {
        User::delete_many(&mut other, &[next_odd, next_odd + 2]).expect("delete");
        next_odd += 4;
        fresh += 1;
        user(&format!("new{fresh}@x.io"), "n0", (fresh % 60) as i32, -1.0)
            .insert(&mut other)
            .expect("insert");
    };
    let mut m = Meddling {
        inner: c,
        meddle: Box::new(meddle),
    };
    for q in [
        users::table.filter(users::score.ge(0.0)),
        users::table
            .filter(users::score.ge(0.0))
            .order_by(users::age.desc()),
    ] {
        let got = q.budget(Budget::units(30)).load(&mut m).expect("load");
        let keys = ids(&got);
        let unique: BTreeSet<u64> = keys.iter().copied().collect();
        assert_eq!(unique.len(), keys.len(), "no row twice");
        assert!(
            stable.is_subset(&unique),
            "missing: {:?}",
            stable.difference(&unique).collect::<Vec<_>>()
        );
    }
}

#[test]
fn steps_of_a_read_only_plan_stay_read_only() {
    let (s, mut c) = server();
    fill(&mut c);
    s.reset_stats().expect("reset");
    let plan = users::table
        .filter(users::age.lt(10).not())
        .budget(Budget::units(50))
        .load_plan()
        .expect("plan")
        .read_only();
    assert!(plan.explain().contains("budget: 50 units per call"));
    assert_eq!(plan.run(&mut c).expect("load").len(), 500);
    let calls = s.command_calls().expect("stats");
    assert!(calls.get("fcall_ro").is_some_and(|&n| n > 2), "{calls:?}");
    assert!(!calls.contains_key("fcall"), "{calls:?}");
}

#[cfg(feature = "tokio")]
#[tokio::test]
async fn async_queries_run_in_steps_too() {
    let s = RedisServer::start().expect("start");
    fill(&mut s.connection().expect("conn"));
    let mut a = s.multiplexed().await.expect("async");
    let q = users::table.filter(users::age.lt(10).not());
    let got = q
        .clone()
        .budget(Budget::units(30))
        .load_async(&mut a)
        .await
        .expect("load");
    let want = q
        .budget(Budget::UNBOUNDED)
        .load_async(&mut a)
        .await
        .expect("load");
    assert_eq!(ids(&got), ids(&want));
}

#[derive(rom::Model, Clone, Debug, PartialEq)]
#[rom(table = words)]
struct Word {
    #[rom(primary_key)]
    id: Option<u64>,
    #[rom(index(prefix))]
    text: String,
}

#[test]
fn a_leading_wildcard_is_read_in_steps_and_explain_names_its_index() {
    let e = words::table.filter(words::text.like("*12*")).explain();
    assert!(
        e.contains(
            "scan: the pattern has no fixed start, so it reads every value of {words}:pre:text"
        ),
        "{e}"
    );
    let fixed = words::table.filter(words::text.like("12*")).explain();
    assert!(!fixed.contains("scan:"), "{fixed}");

    let (_s, mut c) = server();
    let rows: Vec<Word> = (0..300)
        .map(|i| Word {
            id: None,
            text: format!("w{i}"),
        })
        .collect();
    for r in Word::insert_all(&mut c, rows).expect("insert") {
        r.expect("row");
    }
    let want: BTreeSet<u64> = (0..300u64)
        .filter(|i| format!("w{i}").contains("12"))
        .map(|i| i + 1)
        .collect();
    let mut c = CountingConnection::new(c);
    let q = words::table
        .filter(words::text.like("*12*"))
        .budget(Budget::units(20));
    assert_eq!(q.clone().count(&mut c).expect("count"), want.len() as u64);
    assert!(c.round_trips() >= 15, "300 entries in steps of 20");
    let got: BTreeSet<u64> = q.ids(&mut c).expect("ids").into_iter().collect();
    assert_eq!(got, want);
}
