//! A query whose whole filter is one unique column's equality runs as
//! `unique_get` (the owner's HGET, then its row) instead of the query
//! interpreter. Its answers must be the interpreter's in every state a row
//! can be in: present, absent, its unique entry stale (row removed from
//! outside), expired, its key of the wrong type; for rows, keys, `first`
//! and pages. The interpreter's answer comes from the same query with its
//! filter given twice (an `and` of two lookups, which the fast path does not
//! take).
#![allow(clippy::unwrap_used, missing_docs)]
mod common;
use common::*;
use rom::query::Query;
use std::time::{Duration, SystemTime};

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = members, expires(ttl = "1h"))]
pub struct Member {
    #[rom(primary_key)]
    pub handle: String,
    #[rom(unique(case_insensitive))]
    pub email: String,
    pub note: Option<String>,
}

fn show<M: Model + std::fmt::Debug>(r: Result<Vec<Record<M>>>) -> String {
    match r {
        Ok(rows) => format!(
            "{:?}",
            rows.iter().map(|r| (r.key(), &**r)).collect::<Vec<_>>()
        ),
        Err(e) => format!("error: {e}"),
    }
}

/// `fast` (one lookup) and `slow` (the same, twice) answer alike; `fast`
/// runs as unique_get. Returns the rows' keys.
fn same<M>(c: &mut redis::Connection, fast: Query<M>, slow: Query<M>) -> String
where
    M: Model + std::fmt::Debug,
{
    assert!(
        fast.load_plan()
            .unwrap()
            .explain()
            .starts_with("FCALL unique_get")
    );
    assert!(
        slow.load_plan()
            .unwrap()
            .explain()
            .starts_with("FCALL query")
    );
    let a = show(fast.clone().load(c));
    assert_eq!(a, show(slow.clone().load(c)), "load");
    let ids = |q: Query<M>, c: &mut redis::Connection| {
        format!("{:?}", q.ids(c).map_err(|e| e.to_string()))
    };
    assert_eq!(ids(fast.clone(), c), ids(slow.clone(), c), "ids");
    let first = |q: Query<M>, c: &mut redis::Connection| {
        format!(
            "{:?}",
            q.first(c)
                .map(|r| r.key().clone())
                .map_err(|e| e.to_string())
        )
    };
    assert_eq!(first(fast.clone(), c), first(slow.clone(), c), "first");
    // pages of one row: the same rows, and the page after is empty for both
    let page = |q: Query<M>, c: &mut redis::Connection| {
        let p = q.clone().load_page(1, c).map_err(|e| e.to_string())?;
        let keys: Vec<_> = p.rows.iter().map(|r| r.key().clone()).collect();
        let next = match p.next {
            Some(t) => Some(q.after(&t).load(c).map_err(|e| e.to_string())?.len()),
            None => None,
        };
        Ok::<_, String>(format!("{keys:?} then {next:?}"))
    };
    assert_eq!(page(fast.clone(), c), page(slow, c), "pages");
    a
}

fn users_by(email: &str) -> (Query<User>, Query<User>) {
    (
        users::table.filter(users::email.eq(email)),
        users::table
            .filter(users::email.eq(email))
            .filter(users::email.eq(email)),
    )
}

fn members_by(email: &str) -> (Query<Member>, Query<Member>) {
    (
        members::table.filter(members::email.eq(email)),
        members::table
            .filter(members::email.eq(email))
            .filter(members::email.eq(email)),
    )
}

#[test]
fn a_unique_lookup_answers_as_the_interpreter_in_every_state() {
    let (_s, mut c) = server();
    let ann = user("Ann@Example.com", "ann", 30, 1.0)
        .insert(&mut c)
        .unwrap();
    user("bob@example.com", "bob", 40, 2.0)
        .insert(&mut c)
        .unwrap();

    // present, by any case of the folded value
    for e in ["ann@example.com", "ANN@example.COM"] {
        let (f, s) = users_by(e);
        let got = same(&mut c, f, s);
        assert!(got.contains("Ann@Example.com"), "{got}");
    }
    // absent
    let (f, s) = users_by("nobody@example.com");
    assert_eq!(same(&mut c, f, s), "[]");
    // limits and offsets other than the plain lookup take the interpreter
    let q = users::table.filter(users::email.eq("ann@example.com"));
    assert!(
        q.clone()
            .offset(1)
            .load_plan()
            .unwrap()
            .explain()
            .starts_with("FCALL query")
    );
    assert!(
        q.clone()
            .limit(0)
            .load_plan()
            .unwrap()
            .explain()
            .starts_with("FCALL query")
    );
    assert!(
        q.clone()
            .count_plan()
            .unwrap()
            .explain()
            .starts_with("FCALL query")
    );
    assert_eq!(q.clone().limit(5).load(&mut c).unwrap().len(), 1);

    // a stale entry: the row removed by another program
    let _: () = redis::cmd("DEL")
        .arg(format!("{{users}}:row:{}", ann.key()))
        .query(&mut c)
        .unwrap();
    let (f, s) = users_by("ann@example.com");
    assert_eq!(same(&mut c, f, s), "[]");

    // the owner's key holds another type: both fail, naming it
    let _: () = redis::cmd("SET")
        .arg(format!("{{users}}:row:{}", ann.key()))
        .arg("x")
        .query(&mut c)
        .unwrap();
    let (f, s) = users_by("ann@example.com");
    let got = same(&mut c, f, s);
    assert!(got.starts_with("error:"), "{got}");
}

#[test]
fn string_keys_and_expired_owners() {
    let (_s, mut c) = server();
    let m = Member {
        handle: "ann".into(),
        email: "Ann@Example.com".into(),
        note: None,
    };
    m.insert(&mut c).unwrap();
    let (f, s) = members_by("ann@example.com");
    assert!(same(&mut c, f, s).contains("\"ann\""));
    // an expired owner names no row
    assert!(
        Member::expire_at(
            &mut c,
            &"ann".to_string(),
            SystemTime::now() - Duration::from_secs(1)
        )
        .unwrap()
    );
    let (f, s) = members_by("ann@example.com");
    assert_eq!(same(&mut c, f, s), "[]");
    // its value is free again: a new owner is found
    let m2 = Member {
        handle: "ann2".into(),
        email: "ann@example.com".into(),
        note: Some("n".into()),
    };
    m2.insert(&mut c).unwrap();
    let (f, s) = members_by("ANN@example.com");
    assert!(same(&mut c, f, s).contains("\"ann2\""));
}

#[test]
fn a_unique_lookup_is_one_round_trip() {
    let s = RedisServer::start().unwrap();
    let mut c = CountingConnection::new(s.connection().unwrap());
    user("ann@example.com", "ann", 30, 1.0)
        .insert(&mut c)
        .unwrap();
    let before = c.round_trips();
    let r = users::table
        .filter(users::email.eq("ann@example.com"))
        .first(&mut c)
        .unwrap();
    assert_eq!(r.email, "ann@example.com");
    assert_eq!(c.round_trips() - before, 1);
}
