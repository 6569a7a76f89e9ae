//! rom under Redis ACLs and AUTH: the permissions the book's "Connecting in
//! production" chapter lists are enough for every operation, a user without
//! them gets a typed `Error::Redis` naming the refusal, and a refused write
//! leaves nothing behind.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use rom::verify::verify;

/// The ACL rule of the book's "Connecting in production" chapter, for an
/// application whose models live in the namespaces `users`.
const APP_RULES: &[&str] = &[
    "on",
    ">app-secret",
    "resetkeys",
    "~{users}:*",
    "resetchannels",
    "-@all",
    // calling rom's server code, and loading it on first use
    "+fcall",
    "+fcall_ro",
    "+function|load",
    // the script fallback, when FUNCTION LOAD is refused
    "+evalsha",
    "+evalsha_ro",
    "+eval",
    "+eval_ro",
    // what rom's server code runs
    "+del",
    "+exists",
    "+get",
    "+set",
    "+hdel",
    "+hget",
    "+hgetall",
    "+hset",
    "+hsetnx",
    "+sadd",
    "+scard",
    "+sismember",
    "+smembers",
    "+smismember",
    "+srem",
    "+type",
    "+zadd",
    "+zcard",
    "+zcount",
    "+zlexcount",
    "+zmscore",
    "+zrange",
    "+zrank",
    "+zrem",
    "+zscore",
    "+scan",
    // what verify and repair read page by page, and counts answered directly
    "+zscan",
    "+hscan",
    "+sscan",
    // connection checks
    "+ping",
];

fn acl_user(admin: &mut redis::Connection, name: &str, rules: &[&str]) {
    let mut cmd = redis::cmd("ACL");
    cmd.arg("SETUSER").arg(name);
    for r in rules {
        cmd.arg(*r);
    }
    let _: () = cmd.query(admin).unwrap();
}

/// A connection to `server` as `user` with `password`, over its unix socket.
fn connect_as(server: &RedisServer, user: &str, password: &str) -> rom::Result<redis::Connection> {
    let url = format!(
        "{}?user={user}&pass={password}",
        server.url().trim_end_matches('/')
    );
    rom::connect::connection(url.as_str())
}

fn is_noperm(e: &redis::RedisError) -> bool {
    e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoPerm)
}

/// Runs every kind of operation as a user, checking the results.
fn every_operation(c: &mut redis::Connection) {
    let mut ann = user("ann@example.com", "Ann", 30, 1.0).insert(c).unwrap();
    user("bob@example.com", "Bob", 40, 2.0).insert(c).unwrap();
    user("cy@example.com", "Cy", 50, 3.0).insert(c).unwrap();
    assert!(matches!(
        user("ANN@example.com", "Again", 1, 0.0).insert(c),
        Err(Error::UniqueViolation { .. })
    ));
    ann.age = 31;
    ann.save(c).unwrap();
    assert_eq!(User::get(c, 1u64).unwrap().unwrap().age, 31);
    let found = users::table
        .filter(users::email.eq("Ann@Example.com"))
        .first(c)
        .unwrap();
    assert_eq!(found.id, Some(1));
    let older = users::table
        .filter(users::age.gt(35))
        .order_by(users::score.desc())
        .load(c)
        .unwrap();
    assert_eq!(older.len(), 2);
    assert_eq!(
        users::table.filter(users::name.eq("Bob")).count(c).unwrap(),
        1
    );
    // queries in steps (a budget of one unit: every walk, resumed)
    let tiny = rom::query::Budget::units(1);
    for q in [
        users::table.filter(users::age.gt(35)).budget(tiny),
        users::table.filter(users::name.eq("Cy").not()).budget(tiny),
    ] {
        assert_eq!(q.clone().load(c).unwrap().len(), 2);
        assert_eq!(q.clone().count(c).unwrap(), 2);
        assert_eq!(q.order_by(users::score.desc()).ids(c).unwrap().len(), 2);
    }
    // a count walking a range part by rank (ZRANK on resuming)
    assert_eq!(
        users::table
            .filter(users::age.gt(25))
            .filter(users::name.eq("Bob").not())
            .budget(tiny)
            .count(c)
            .unwrap(),
        2
    );
    assert_eq!(
        users::table.filter(users::name.eq("Cy")).delete(c).unwrap(),
        1
    );
    assert!(ann.delete(c).unwrap());
    assert_eq!(users::table.count(c).unwrap(), 1);
    assert!(verify::<User, _>(c).unwrap().is_clean());
}

#[test]
fn the_documented_permissions_are_enough_for_every_operation() {
    let server = RedisServer::start().unwrap();
    let mut admin = server.connection().unwrap();
    acl_user(&mut admin, "app", APP_RULES);
    let mut app = connect_as(&server, "app", "app-secret").unwrap();
    every_operation(&mut app);
    // the library was loaded by the application user, on first use
    let libs: Vec<redis::Value> = redis::cmd("FUNCTION")
        .arg("LIST")
        .query(&mut admin)
        .unwrap();
    assert_eq!(libs.len(), 1, "one rom library loaded");
}

#[test]
fn a_wrong_password_is_a_redis_error_from_connect() {
    let server = RedisServer::start().unwrap();
    let mut admin = server.connection().unwrap();
    acl_user(&mut admin, "app", APP_RULES);
    match connect_as(&server, "app", "not-the-password") {
        Err(Error::Redis(e)) => assert_eq!(e.kind(), redis::ErrorKind::AuthenticationFailed, "{e}"),
        Err(other) => panic!("expected Error::Redis, got {other:?}"),
        Ok(_) => panic!("a wrong password connected"),
    }
}

#[test]
fn requirepass_with_the_password_in_the_url() {
    let server = RedisServer::start().unwrap();
    let mut admin = server.connection().unwrap();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("requirepass")
        .arg("s3cret")
        .query(&mut admin)
        .unwrap();
    let url = format!("{}?pass=s3cret", server.url().trim_end_matches('/'));
    let mut c = rom::connect::connection(url.as_str()).unwrap();
    every_operation(&mut c);
    let url = format!("{}?pass=wrong", server.url().trim_end_matches('/'));
    assert!(matches!(
        rom::connect::connection(url.as_str()),
        Err(Error::Redis(_))
    ));
}

#[test]
fn a_user_who_may_not_write_gets_noperm_and_nothing_is_written() {
    let server = RedisServer::start().unwrap();
    let mut admin = server.connection().unwrap();
    // load the library as the admin, so the reader needs no FUNCTION LOAD
    user("ann@example.com", "Ann", 30, 1.0)
        .insert(&mut admin)
        .unwrap();
    let before: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut admin).unwrap();
    let reader: Vec<&str> = APP_RULES
        .iter()
        .copied()
        .filter(|r| {
            !matches!(
                *r,
                "+del"
                    | "+set"
                    | "+hdel"
                    | "+hset"
                    | "+hsetnx"
                    | "+sadd"
                    | "+srem"
                    | "+zadd"
                    | "+zrem"
                    | "+fcall"
                    | "+evalsha"
                    | "+eval"
            )
        })
        .collect();
    acl_user(&mut admin, "reader", &reader);
    let mut c = connect_as(&server, "reader", "app-secret").unwrap();
    // reads work
    assert_eq!(users::table.count(&mut c).unwrap(), 1);
    assert!(User::get(&mut c, 1u64).unwrap().is_some());
    // writes are refused with the server's NOPERM, as Error::Redis
    match user("bob@example.com", "Bob", 40, 2.0).insert(&mut c) {
        Err(Error::Redis(e)) => assert!(is_noperm(&e), "{e}"),
        other => panic!("expected NOPERM, got {other:?}"),
    }
    let mut ann = User::get(&mut c, 1u64).unwrap().unwrap();
    ann.age = 99;
    assert!(matches!(ann.save(&mut c), Err(Error::Redis(_))));
    assert!(matches!(
        users::table.filter(users::name.eq("Ann")).delete(&mut c),
        Err(Error::Redis(_))
    ));
    let mut after: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut admin).unwrap();
    let mut before = before;
    before.sort();
    after.sort();
    assert_eq!(before, after);
    assert_eq!(User::get(&mut admin, 1u64).unwrap().unwrap().age, 30);
    assert!(verify::<User, _>(&mut admin).unwrap().is_clean());
}

#[test]
fn keys_outside_the_users_key_pattern_are_refused() {
    let server = RedisServer::start().unwrap();
    let mut admin = server.connection().unwrap();
    let rules: Vec<&str> = APP_RULES
        .iter()
        .map(|r| if *r == "~{users}:*" { "~{posts}:*" } else { *r })
        .collect();
    acl_user(&mut admin, "other", &rules);
    let mut c = connect_as(&server, "other", "app-secret").unwrap();
    match user("ann@example.com", "Ann", 30, 1.0).insert(&mut c) {
        Err(Error::Redis(e)) => assert!(is_noperm(&e), "{e}"),
        other => panic!("expected NOPERM, got {other:?}"),
    }
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut admin).unwrap();
    assert!(keys.is_empty(), "{keys:?}");
}
/// A user allowed some of rom's write commands but not all: every write that
/// needs a refused command fails with `NoPerm` before writing anything (rom
/// checks the commands a call will run before its first write), and the
/// writes that need none of them succeed.
#[test]
fn a_user_missing_one_write_command_leaves_nothing_half_written() {
    for missing in [
        "+hset", "+zadd", "+sadd", "+set", "+hdel", "+zrem", "+srem", "+del",
    ] {
        let server = RedisServer::start().unwrap();
        let mut admin = server.connection().unwrap();
        user("ann@example.com", "Ann", 30, 1.0)
            .insert(&mut admin)
            .unwrap();
        let rules: Vec<&str> = APP_RULES
            .iter()
            .copied()
            .filter(|r| *r != missing)
            .collect();
        acl_user(&mut admin, "partial", &rules);
        let mut c = connect_as(&server, "partial", "app-secret").unwrap();
        let mut refused = 0;
        let mut check =
            |what: &str, admin: &mut redis::Connection, r: rom::Result<()>, before| match r {
                Ok(()) => {}
                Err(Error::Redis(e)) if is_noperm(&e) => {
                    refused += 1;
                    assert_eq!(
                        dump(admin),
                        before,
                        "without {missing}: {what} wrote before failing"
                    );
                }
                Err(other) => panic!("without {missing}: {what}: expected NoPerm, got {other:?}"),
            };
        let before = dump(&mut admin);
        let r = user("bob@example.com", "Bob", 40, 2.0)
            .insert(&mut c)
            .map(drop);
        check("insert", &mut admin, r, before);
        // a batch (one pipeline): each refused row is as alone
        let before = dump(&mut admin);
        let rows = vec![
            user("cy@example.com", "Cy", 41, 2.0),
            user("dee@example.com", "Dee", 42, 2.0),
        ];
        for r in User::insert_all(&mut c, rows).unwrap() {
            check("insert_all", &mut admin, r.map(drop), before.clone());
        }
        if missing != "+hset" && missing != "+zadd" && missing != "+sadd" && missing != "+set" {
            // the batch wrote its rows: remove them for the next checks
            users::table
                .filter(users::age.gt(40))
                .delete(&mut admin)
                .unwrap();
        }
        let before = dump(&mut admin);
        let mut ann = User::get(&mut admin, 1u64).unwrap().unwrap();
        ann.age = 99;
        ann.name = Some("Anne".into());
        ann.bio = None;
        let r = ann.save(&mut c).map(drop);
        check("update", &mut admin, r, before);
        let before = dump(&mut admin);
        let r = users::table
            .filter(users::age.gt(0))
            .delete(&mut c)
            .map(drop);
        check("delete by query", &mut admin, r, before);
        let before = dump(&mut admin);
        let r = User::get(&mut admin, 1u64)
            .unwrap()
            .map(|a| a.delete(&mut c).map(drop))
            .unwrap_or(Ok(()));
        check("delete", &mut admin, r, before);
        assert!(refused > 0, "without {missing}: no write needed it");
        assert!(
            verify::<User, _>(&mut admin).unwrap().is_clean(),
            "without {missing}"
        );
    }
}

/// Every key and its contents, as text, for before/after comparisons.
fn dump(c: &mut redis::Connection) -> std::collections::BTreeMap<String, String> {
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(c).unwrap();
    keys.into_iter()
        .map(|k| {
            let v: Vec<u8> = redis::cmd("DUMP").arg(&k).query(c).unwrap();
            (k, format!("{v:?}"))
        })
        .collect()
}

/// What a model with structure fields needs beyond `APP_RULES` (the book's
/// "Connecting in production" chapter).
const STRUCTURE_RULES: &[&str] = &[
    "+rpush", "+lpush", "+lrem", "+ltrim", "+llen", "+lindex", "+lrange", "+hlen", "+hexists",
    "+zincrby", "+hincrby",
];

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = boards, namespace = "users")]
struct Board {
    #[rom(primary_key)]
    id: Option<u64>,
    name: String,
    log: rom::structure::List<String>,
    #[rom(index(eq))]
    tags: rom::structure::Set<String>,
    settings: rom::structure::Hash<String, i64>,
    ranks: rom::structure::SortedSet<String>,
}

fn board() -> Board {
    let mut b = Board {
        id: None,
        name: "b".into(),
        log: Default::default(),
        tags: Default::default(),
        settings: Default::default(),
        ranks: Default::default(),
    };
    b.log.push_back("a");
    b.log.push_front("z");
    b.tags.insert("t");
    b.settings.insert("k", 1);
    b.ranks.insert("m", 1.0);
    b.ranks.add("m", 2.0);
    b
}

#[test]
fn structures_need_the_documented_extra_permissions() {
    let server = RedisServer::start().unwrap();
    let mut admin = server.connection().unwrap();
    let rules: Vec<&str> = APP_RULES.iter().chain(STRUCTURE_RULES).copied().collect();
    acl_user(&mut admin, "app", &rules);
    let c = &mut connect_as(&server, "app", "app-secret").unwrap();
    let mut b = board().insert(c).unwrap();
    b.log.remove(&"a".into(), 0);
    b.log.trim(0, 10);
    b.tags.remove(&"t".into());
    b.settings.remove(&"k".into());
    b.ranks.remove(&"m".into());
    b.save(c).unwrap();
    assert_eq!(b.log.len(c).unwrap(), 1);
    assert_eq!(b.log.get(0, c).unwrap().as_deref(), Some("z"));
    assert_eq!(b.log.range(0, -1, c).unwrap(), vec!["z"]);
    assert!(!b.tags.contains(&"t".into(), c).unwrap());
    assert_eq!(b.tags.scan(0, 10, c).unwrap().items.len(), 0);
    assert_eq!(b.settings.len(c).unwrap(), 0);
    assert!(!b.settings.contains_key(&"k".into(), c).unwrap());
    assert_eq!(b.settings.scan(0, 10, c).unwrap().items.len(), 0);
    assert_eq!(b.ranks.count_between(0.0, 9.0, c).unwrap(), 0);
    assert_eq!(b.ranks.rank(&"m".into(), c).unwrap(), None);
    assert_eq!(
        boards::table
            .filter(boards::tags.contains("t"))
            .count(c)
            .unwrap(),
        0
    );
    b.delete(c).unwrap();
    // without one of them, a save that needs it writes nothing
    for missing in ["+rpush", "+lpush", "+zincrby", "+hincrby"] {
        let rules: Vec<&str> = rules.iter().copied().filter(|r| *r != missing).collect();
        acl_user(&mut admin, "partial", &rules);
        let c = &mut connect_as(&server, "partial", "app-secret").unwrap();
        let before = dump(&mut admin);
        match board().insert(c) {
            Err(Error::Redis(e)) if is_noperm(&e) => {}
            other => panic!("without {missing}: expected NoPerm, got {other:?}"),
        }
        assert_eq!(dump(&mut admin), before, "without {missing}");
    }
}

/// A partitioned model with a unique claimed across partitions, under the
/// documented rules for one (book, connecting: both key patterns,
/// `+incrby +hexists +hlen +time`): every operation works, stale claims and
/// fences included.
#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = members, partition(by = id, buckets = 8))]
struct Member {
    #[rom(primary_key)]
    id: Option<u64>,
    #[rom(unique)]
    email: String,
}

#[test]
fn the_documented_permissions_cover_a_partitioned_model() {
    let server = RedisServer::start().unwrap();
    let mut admin = server.connection().unwrap();
    let mut rules: Vec<&str> = APP_RULES
        .iter()
        .copied()
        .filter(|r| !r.starts_with('~'))
        .collect();
    rules.extend([
        "~{members}:*",
        "~{members#*}:*",
        "+incrby",
        "+hexists",
        "+hlen",
        "+time",
    ]);
    acl_user(&mut admin, "app", &rules);
    let mut c = connect_as(&server, "app", "app-secret").unwrap();
    rom::placement::set_claim_lease(std::time::Duration::from_millis(300));
    let a = Member {
        id: None,
        email: "a@x".into(),
    }
    .insert(&mut c)
    .unwrap();
    let taken = Member {
        id: None,
        email: "a@x".into(),
    }
    .insert(&mut c);
    assert!(
        matches!(taken, Err(Error::UniqueViolation { .. })),
        "{taken:?}"
    );
    let mut a = Member::get(&mut c, a.id.unwrap()).unwrap().unwrap();
    a.email = "b@x".into();
    a.save(&mut c).unwrap();
    // the value given up is taken over (a probe of its old owner)
    Member {
        id: None,
        email: "a@x".into(),
    }
    .insert(&mut c)
    .unwrap();
    assert_eq!(
        members::table
            .across_partitions()
            .filter(members::email.eq("b@x"))
            .count(&mut c)
            .unwrap(),
        1
    );
    Member::delete_many(&mut c, &[a.id.unwrap()]).unwrap();
    rom::verify::repair_claims::<Member, _>(&mut c, rom::Repair::Apply).unwrap();
    assert!(rom::verify::verify::<Member, _>(&mut c).unwrap().is_clean());
}
