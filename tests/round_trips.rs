//! Each operation is exactly one round trip (counted at the connection), and
//! the server sees one script call for it.
mod common;
use common::*;

#[test]
fn every_operation_is_one_round_trip() {
    let (s, c) = server();
    let mut c = CountingConnection::new(c);
    // warm the script cache so that the counts below are the steady state
    let mut warm = user("w@x.io", "W", 1, 0.0).insert(&mut c).expect("insert");
    warm.age = 2;
    warm.save(&mut c).expect("save");
    users::table
        .filter(users::age.eq(2))
        .first(&mut c)
        .expect("first");
    User::get(&mut c, 1u64).expect("get");
    User::get_many(&mut c, &[1, 2]).expect("get many");
    users::table
        .filter(users::age.eq(2).or(users::age.eq(3)))
        .count(&mut c)
        .expect("count");
    warm.delete(&mut c).expect("delete");

    let mut check = |what: &str, f: &mut dyn FnMut(&mut CountingConnection<redis::Connection>)| {
        c.reset();
        s.reset_stats().expect("reset");
        f(&mut c);
        assert_eq!(c.round_trips(), 1, "{what}: round trips");
        let calls = s.command_calls().expect("stats");
        // one call on the server: a function or script (commandstats also counts the
        // commands a script runs, so count script calls), or a single plain
        // command where one index or one row answers
        let scripts: u64 = calls
            .iter()
            .filter(|(k, _)| k.starts_with("eval") || k.starts_with("fcall"))
            .map(|(_, v)| v)
            .sum();
        let total: u64 = calls.values().sum();
        assert!(
            scripts == 1 || (scripts == 0 && total == 1),
            "{what}: server saw {calls:?}"
        );
    };
    let mut rec = None;
    check("insert", &mut |c| {
        rec = Some(user("a@x.io", "A", 30, 1.0).insert(c).expect("insert"))
    });
    let mut rec = rec.expect("inserted");
    check("get", &mut |c| {
        assert!(User::get(c, rec.id.expect("id")).expect("get").is_some())
    });
    check("unique lookup", &mut |c| {
        users::table
            .filter(users::email.eq("A@X.IO"))
            .first(c)
            .expect("lookup");
    });
    check("query with rows", &mut |c| {
        let rows = users::table
            .filter(users::age.between(20..40))
            .order_by(users::score.desc())
            .limit(10)
            .load(c)
            .expect("load");
        assert_eq!(rows.len(), 1);
    });
    check("count", &mut |c| {
        assert_eq!(
            users::table
                .filter(users::age.ge(30))
                .count(c)
                .expect("count"),
            1
        )
    });
    check("update", &mut |c| {
        rec.age = 31;
        rec.save(c).expect("update");
    });
    check("get many", &mut |c| {
        assert_eq!(User::get_many(c, &[1, 2, 3]).expect("get many").len(), 1)
    });
    check("delete", &mut |c| {
        assert!(rec.clone().delete(c).expect("delete"))
    });
}

#[test]
fn reads_run_as_read_only_scripts() {
    let (s, mut c) = server();
    user("a@x.io", "A", 30, 1.0).insert(&mut c).expect("insert");
    s.reset_stats().expect("reset");
    let plan = users::table
        .filter(users::age.gt(20))
        .load_plan()
        .expect("plan")
        .read_only();
    assert!(plan.explain().starts_with("FCALL_RO query"));
    assert_eq!(plan.run(&mut c).expect("read-only query").len(), 1);
    let calls = s.command_calls().expect("stats");
    assert!(calls.contains_key("fcall_ro"), "{calls:?}");
    assert!(!calls.contains_key("fcall"), "{calls:?}");
    // a write plan stays a normal script call
    let w = user("b@x.io", "B", 1, 0.0)
        .insert_plan()
        .expect("plan")
        .read_only();
    assert!(w.explain().starts_with("FCALL save"));
}
