//! repair: for each kind of damage from outside, verify reports it, a dry run
//! changes nothing, and applying fixes it so that verify is clean and every
//! query agrees; and a repair running beside a busy writer leaves clean data.
mod common;
use common::*;
use rom::verify::{Problem, verify};
use rom::{Repair, repair};

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = people, unique_together(first, last))]
struct Person {
    #[rom(primary_key)]
    id: Option<u64>,
    #[rom(index(text), index(prefix), index(suffix))]
    first: String,
    #[rom(index(prefix, case_insensitive), index(sort))]
    last: Option<String>,
    #[rom(index(numeric))]
    age: i32,
}

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = codes)]
struct Code {
    #[rom(primary_key)]
    code: String,
    #[rom(unique)]
    label: String,
    #[rom(index(prefix))]
    note: Option<String>,
}

fn cmd(c: &mut redis::Connection, args: &[&str]) {
    let mut k = redis::cmd(args[0]);
    for a in &args[1..] {
        k.arg(*a);
    }
    let _: redis::Value = k.query(c).expect("command");
}

/// Every key of the server with its DUMP, to compare before and after.
fn dump(c: &mut redis::Connection) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut keys: Vec<Vec<u8>> = redis::cmd("KEYS").arg("*").query(c).expect("keys");
    keys.sort();
    keys.into_iter()
        .map(|k| {
            let d: Vec<u8> = redis::cmd("DUMP").arg(&k).query(c).expect("dump");
            (k, d)
        })
        .collect()
}

fn seed(c: &mut redis::Connection) {
    for i in 0..5 {
        user(&format!("u{i}@x.io"), &format!("n{i}"), 20 + i, 1.0)
            .insert(c)
            .expect("insert user");
    }
    for (f, l) in [
        ("Ann Marie", Some("Lee")),
        ("Bob", None),
        ("Cy", Some("Ng")),
    ] {
        Person {
            id: None,
            first: f.into(),
            last: l.map(Into::into),
            age: 30,
        }
        .insert(c)
        .expect("insert person");
    }
    for (k, l) in [("fr", "France"), ("de", "Germany")] {
        Code {
            code: k.into(),
            label: l.into(),
            note: Some(format!("note {k}")),
        }
        .insert(c)
        .expect("insert code");
    }
}

/// The number of row keys of a namespace.
fn row_keys(c: &mut redis::Connection, ns: &str) -> usize {
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{{{ns}}}:row:*"))
        .query(c)
        .expect("keys");
    keys.len()
}

/// load, ids and count agree with the rows that exist.
fn queries_agree(c: &mut redis::Connection) {
    let n = row_keys(c, "users");
    assert_eq!(users::table.count(c).expect("count") as usize, n);
    assert_eq!(users::table.ids(c).expect("ids").len(), n);
    assert_eq!(users::table.load(c).expect("load").len(), n);
    let n = row_keys(c, "people");
    assert_eq!(people::table.count(c).expect("count") as usize, n);
    assert_eq!(people::table.load(c).expect("load").len(), n);
    let n = row_keys(c, "codes");
    assert_eq!(codes::table.load(c).expect("load").len(), n);
}

fn all_clean(c: &mut redis::Connection) {
    assert_clean::<User>(c);
    assert_clean::<Person>(c);
    assert_clean::<Code>(c);
}

fn repair_all(c: &mut redis::Connection, mode: Repair) -> u64 {
    let a = repair::<User, _>(c, mode).expect("repair users");
    let b = repair::<Person, _>(c, mode).expect("repair people");
    let d = repair::<Code, _>(c, mode).expect("repair codes");
    assert_eq!(a.skipped + b.skipped + d.skipped, 0, "{a:#?} {b:#?} {d:#?}");
    a.fixes() + b.fixes() + d.fixes()
}

/// Seeds, damages, checks verify's report, the dry run, then the repair.
fn case(name: &str, damage: &[&[&str]], reported: impl Fn(&Problem) -> bool) {
    let (_s, mut c) = server();
    seed(&mut c);
    all_clean(&mut c);
    for d in damage {
        cmd(&mut c, d);
    }
    let found: Vec<Problem> = [
        verify::<User, _>(&mut c).expect("verify").problems,
        verify::<Person, _>(&mut c).expect("verify").problems,
        verify::<Code, _>(&mut c).expect("verify").problems,
    ]
    .concat();
    assert!(found.iter().any(&reported), "{name}: {found:#?}");

    let before = dump(&mut c);
    let would = repair_all(&mut c, Repair::DryRun);
    assert!(would > 0, "{name}: the dry run finds nothing to fix");
    assert!(before == dump(&mut c), "{name}: the dry run changed data");

    let fixed = repair_all(&mut c, Repair::Apply);
    assert!(fixed > 0, "{name}");
    all_clean(&mut c);
    queries_agree(&mut c);
    assert_eq!(repair_all(&mut c, Repair::Apply), 0, "{name}: a second run");
}

#[test]
fn a_row_deleted_from_outside() {
    case(
        "row deleted",
        &[&["DEL", "{users}:row:3"], &["DEL", "{people}:row:1"]],
        |p| matches!(p, Problem::ListedWithoutRow { member } if member == "3"),
    );
}

#[test]
fn index_entries_deleted() {
    case(
        "entries deleted",
        &[
            &["SREM", "{users}:eq:name:n1", "2"],
            &["HDEL", "{users}:uniq:email", "u3@x.io"],
            &["ZREM", "{users}:num:age", "4"],
            &["DEL", "{people}:text:first:marie"],
            &["DEL", "{people}:sort:last"],
            &["DEL", "{codes}:uniq:label"],
        ],
        |p| matches!(p, Problem::Missing { index, member } if index == "{users}:eq:name:n1" && member == "2"),
    );
}

#[test]
fn orphan_entries_added() {
    case(
        "orphans",
        &[
            &["SADD", "{users}:eq:name:ghost", "3"],
            &["SADD", "{users}:eq:name:n0", "42"],
            &["ZADD", "{users}:num:age", "5", "42"],
            &["ZADD", "{people}:pre:first", "0", "zed\x00\x00\x0299"],
            &["ZADD", "{people}:pre:first", "0", "not-a-member"],
            &["SADD", "{people}:text:first:ghost", "1"],
            &["ZADD", "{codes}:pre:note", "0", "x\x00\x00it"],
        ],
        |p| matches!(p, Problem::Orphan { index, member } if index == "{users}:eq:name:ghost" && member == "3"),
    );
}

#[test]
fn a_corrupt_score() {
    case(
        "score",
        &[
            &["ZADD", "{users}:num:age", "99", "1"],
            &["ZADD", "{users}:num:score", "-inf", "2"],
        ],
        |p| matches!(p, Problem::Orphan { index, member } if index == "{users}:num:age" && member == "1"),
    );
}

#[test]
fn stale_unique_owners() {
    case(
        "unique",
        &[
            // a value nobody has, and a row's value pointing at another row
            &["HSET", "{users}:uniq:email", "stale@x.io", "4"],
            &["HSET", "{users}:uniq:email", "u3@x.io", "1"],
            &["HSET", "{codes}:uniq:label", "France", "de"],
        ],
        |p| matches!(p, Problem::Missing { index, member } if index.contains("u3@x.io") && member == "4"),
    );
}

#[test]
fn an_unlisted_row() {
    case(
        "unlisted",
        &[
            &["ZREM", "{users}:ids", "5"],
            &["ZREM", "{codes}:ids", "fr"],
        ],
        |p| matches!(p, Problem::RowNotListed { key } if key == "{users}:row:5"),
    );
}

#[test]
fn a_row_changed_from_outside() {
    // values and record disagree: the entries of the old value are orphans,
    // those of the new one missing
    case(
        "changed row",
        &[
            &["HSET", "{users}:row:2", "name", "zed", "age", "70"],
            &["HDEL", "{people}:row:3", "#i"],
        ],
        |p| matches!(p, Problem::Record { key } if key == "{users}:row:2"),
    );
    let (_s, mut c) = server();
    seed(&mut c);
    cmd(&mut c, &["HSET", "{users}:row:2", "name", "zed"]);
    repair::<User, _>(&mut c, Repair::Apply).expect("repair");
    let zed = users::table
        .filter(users::name.eq("zed"))
        .ids(&mut c)
        .expect("query");
    assert_eq!(zed, vec![2]);
    assert_eq!(
        users::table
            .filter(users::name.eq("n1"))
            .count(&mut c)
            .expect("count"),
        0
    );
}

/// A row that does not decode is reported and left alone.
#[test]
fn an_undecodable_row_is_left_alone() {
    let (_s, mut c) = server();
    seed(&mut c);
    cmd(&mut c, &["HSET", "{users}:row:3", "age", "old"]);
    let before = dump(&mut c);
    let r = repair::<User, _>(&mut c, Repair::Apply).expect("repair");
    // the row and its four entries
    assert_eq!(r.fixes(), 0, "{r:#?}");
    assert_eq!(r.skipped, 5, "{r:#?}");
    let dry = repair::<User, _>(&mut c, Repair::DryRun).expect("dry run");
    assert_eq!((dry.fixes(), dry.skipped), (0, 5), "{dry:#?}");
    assert!(before == dump(&mut c));
}

/// A repair running while a writer saves and deletes leaves clean data.
#[test]
fn repair_beside_a_writer() {
    let s = RedisServer::start().expect("server");
    let mut c = s.connection().expect("connect");
    let users: Vec<User> = (0..400)
        .map(|i| user(&format!("w{i}@x.io"), &format!("n{}", i % 9), i % 50, 1.0))
        .collect();
    for r in User::insert_all(&mut c, users).expect("insert") {
        r.expect("row");
    }
    // damage every tenth row in several ways
    for i in (1..=400).step_by(10) {
        let m = i.to_string();
        cmd(&mut c, &["ZADD", "{users}:num:age", "999", &m]);
        cmd(&mut c, &["HDEL", &format!("{{users}}:row:{i}"), "#i"]);
        cmd(&mut c, &["SADD", "{users}:eq:name:ghost", &m]);
    }
    cmd(&mut c, &["ZREM", "{users}:ids", "7", "8"]);
    cmd(&mut c, &["DEL", "{users}:row:9"]);
    assert!(!verify::<User, _>(&mut c).expect("verify").is_clean());

    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let done = std::sync::Arc::new(AtomicU64::new(0));
    let (started, wait) = std::sync::mpsc::channel();
    let writer = {
        let (stop, done) = (stop.clone(), done.clone());
        let mut w = s.connection().expect("connect");
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) || n < 200 {
                n += 1;
                done.store(n, Ordering::Relaxed);
                if n == 20 {
                    let _ = started.send(());
                }
                let id = 1 + n * 7 % 400;
                match User::get(&mut w, id).expect("get") {
                    Some(u) if n.is_multiple_of(5) => {
                        u.delete(&mut w).expect("delete");
                    }
                    Some(mut u) => {
                        u.age = (u.age + 1) % 60;
                        u.name = Some(format!("m{}", n % 4));
                        u.email = format!("w{id}.{n}@x.io");
                        match u.save(&mut w) {
                            Ok(()) | Err(Error::Conflict { .. }) => {}
                            Err(e) => panic!("save: {e}"),
                        }
                    }
                    None => {
                        user(&format!("new{n}@x.io"), "new", 1, 2.0)
                            .insert(&mut w)
                            .expect("insert");
                    }
                }
            }
        })
    };
    wait.recv().expect("the writer started");
    let first = done.load(Ordering::Relaxed);
    let report = repair::<User, _>(&mut c, Repair::Apply).expect("repair");
    let during = done.load(Ordering::Relaxed) - first;
    stop.store(true, Ordering::Relaxed);
    writer.join().expect("writer");
    assert!(during > 0, "the writer wrote while repair ran");
    assert!(report.fixes() > 0, "{report:#?}");
    assert_eq!(report.skipped, 0, "{report:#?}");
    let after = verify::<User, _>(&mut c).expect("verify");
    assert!(after.is_clean(), "{after:#?}\n{report:#?}");
    let n = row_keys(&mut c, "users");
    assert_eq!(users::table.count(&mut c).expect("count") as usize, n);
    assert_eq!(users::table.load(&mut c).expect("load").len(), n);
}

/// The same on an async connection.
#[test]
fn repair_async_on_a_connection_manager() {
    let (s, mut c) = server();
    seed(&mut c);
    cmd(&mut c, &["SREM", "{users}:eq:name:n1", "2"]);
    cmd(&mut c, &["ZADD", "{users}:ids", "77", "77"]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (dry, done) = rt.block_on(async {
        let mut m = s.manager().await.expect("manager");
        let dry = rom::repair_async::<User, _>(&mut m, Repair::DryRun)
            .await
            .expect("dry run");
        let done = rom::repair_async::<User, _>(&mut m, Repair::Apply)
            .await
            .expect("repair");
        (dry, done)
    });
    assert_eq!((dry.reindexed, dry.unlisted), (1, 1), "{dry:#?}");
    assert_eq!(dry.fixes(), done.fixes());
    assert_eq!(done.keys, ["{users}:row:2", "{users}:ids 77"]);
    assert_clean::<User>(&mut c);
}
