//! verify finds each kind of inconsistency (so a clean report means something).
mod common;
use common::*;
use rom::verify::{Problem, verify};

fn cmd(c: &mut redis::Connection, args: &[&str]) {
    let mut k = redis::cmd(args[0]);
    for a in &args[1..] {
        k.arg(*a);
    }
    let _: redis::Value = k.query(c).expect("command");
}

#[test]
fn verify_reports_every_kind_of_damage() {
    let (_s, mut c) = server();
    for i in 0..5 {
        user(&format!("u{i}@x.io"), &format!("n{i}"), 20 + i, 1.0)
            .insert(&mut c)
            .expect("insert");
    }
    assert!(verify::<User, _>(&mut c).expect("verify").is_clean());

    cmd(&mut c, &["ZADD", "{users}:num:age", "99", "1"]); // wrong score
    // user i has id i + 1
    cmd(&mut c, &["SREM", "{users}:eq:name:n1", "2"]); // missing set entry
    cmd(&mut c, &["SADD", "{users}:eq:name:ghost", "3"]); // orphan set entry
    cmd(&mut c, &["HSET", "{users}:uniq:email", "stale@x.io", "4"]); // orphan unique entry
    cmd(&mut c, &["HDEL", "{users}:uniq:email", "u3@x.io"]); // missing unique entry
    cmd(&mut c, &["ZREM", "{users}:ids", "5"]); // row not listed
    cmd(&mut c, &["ZADD", "{users}:ids", "77", "77"]); // listed without a row
    cmd(&mut c, &["HSET", "{users}:row:3", "age", "old"]); // undecodable row

    let r = verify::<User, _>(&mut c).expect("verify");
    let has = |f: &dyn Fn(&Problem) -> bool| r.problems.iter().any(f);
    assert!(
        has(
            &|p| matches!(p, Problem::Missing { index, member } if index == "{users}:num:age" && member == "1")
        ),
        "{r:#?}"
    );
    assert!(
        has(
            &|p| matches!(p, Problem::Orphan { index, member } if index == "{users}:num:age" && member == "1")
        ),
        "{r:#?}"
    );
    assert!(
        has(
            &|p| matches!(p, Problem::Missing { index, member } if index == "{users}:eq:name:n1" && member == "2")
        ),
        "{r:#?}"
    );
    assert!(
        has(&|p| matches!(p, Problem::Orphan { index, .. } if index == "{users}:eq:name:ghost")),
        "{r:#?}"
    );
    assert!(
        has(&|p| matches!(p, Problem::Orphan { index, .. } if index.contains("stale@x.io"))),
        "{r:#?}"
    );
    assert!(
        has(
            &|p| matches!(p, Problem::Missing { index, member } if index.contains("u3@x.io") && member == "4")
        ),
        "{r:#?}"
    );
    assert!(
        has(&|p| matches!(p, Problem::RowNotListed { key } if key == "{users}:row:5")),
        "{r:#?}"
    );
    assert!(
        has(&|p| matches!(p, Problem::ListedWithoutRow { member } if member == "77")),
        "{r:#?}"
    );
    assert!(
        has(&|p| matches!(p, Problem::Undecodable { key, .. } if key == "{users}:row:3")),
        "{r:#?}"
    );
}

/// The damage of `verify_reports_every_kind_of_damage`, through any connection.
fn damage(c: &mut dyn redis::ConnectionLike) {
    for args in [
        &["ZADD", "{users}:num:age", "99", "1"][..],
        &["SREM", "{users}:eq:name:n1", "2"],
        &["SADD", "{users}:eq:name:ghost", "3"],
        &["HSET", "{users}:uniq:email", "stale@x.io", "4"],
        &["ZREM", "{users}:ids", "5"],
        &["ZADD", "{users}:ids", "77", "77"],
    ] {
        let mut k = redis::cmd(args[0]);
        for a in &args[1..] {
            k.arg(*a);
        }
        let _: redis::Value = k.query(c).expect("damage");
    }
}

/// The problems `damage` causes, in a canonical order.
fn expected() -> Vec<String> {
    let mut v: Vec<String> = [
        "Missing { index: \"{users}:num:age\", member: \"1\" }",
        "Orphan { index: \"{users}:num:age\", member: \"1\" }",
        "Missing { index: \"{users}:eq:name:n1\", member: \"2\" }",
        "Orphan { index: \"{users}:eq:name:ghost\", member: \"3\" }",
        "Orphan { index: \"{users}:uniq:email stale@x.io\", member: \"4\" }",
        "RowNotListed { key: \"{users}:row:5\" }",
        "ListedWithoutRow { member: \"77\" }",
    ]
    .map(String::from)
    .to_vec();
    v.sort();
    v
}

fn sorted(r: &rom::verify::Report) -> Vec<String> {
    let mut v: Vec<String> = r.problems.iter().map(|p| format!("{p:?}")).collect();
    v.sort();
    v
}

fn five(c: &mut dyn redis::ConnectionLike) {
    for i in 0..5 {
        user(&format!("u{i}@x.io"), &format!("n{i}"), 20 + i, 1.0)
            .insert(c)
            .expect("insert");
    }
}

#[test]
fn verify_reports_exactly_the_damage() {
    let (_s, mut c) = server();
    five(&mut c);
    damage(&mut c);
    let r = verify::<User, _>(&mut c).expect("verify");
    assert_eq!(sorted(&r), expected(), "{r:#?}");
    assert_eq!(r.rows, 5, "four listed rows and the unlisted one");
}

#[test]
fn verify_on_a_cluster() {
    let cluster = rom::testing::RedisCluster::start(3).expect("cluster");
    let mut c = cluster.connection().expect("connect");
    five(&mut c);
    assert!(verify::<User, _>(&mut c).expect("verify").is_clean());
    damage(&mut c);
    let r = verify::<User, _>(&mut c).expect("verify");
    assert_eq!(sorted(&r), expected(), "{r:#?}");
    // the async cluster connection sees the same
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (again, dry) = rt.block_on(async {
        let mut ac = cluster.async_connection().await.expect("async connect");
        let again = rom::verify_async::<User, _>(&mut ac)
            .await
            .expect("verify_async");
        let dry = rom::repair_async::<User, _>(&mut ac, rom::Repair::DryRun)
            .await
            .expect("repair_async");
        (again, dry)
    });
    assert_eq!(again, r);
    assert_eq!(dry.found, r);
    assert_eq!((dry.listed, dry.unlisted), (1, 1), "{dry:#?}");
    assert!(dry.orphans_removed >= 2, "ghost and stale: {dry:#?}");
    // and repair fixes it there
    let fixed = rom::repair::<User, _>(&mut c, rom::Repair::Apply).expect("repair");
    assert!(fixed.fixes() >= 6, "{fixed:#?}");
    assert!(verify::<User, _>(&mut c).expect("verify").is_clean());
}

#[test]
fn verify_async_on_a_connection_manager() {
    let (s, mut c) = server();
    five(&mut c);
    damage(&mut c);
    let sync = verify::<User, _>(&mut c).expect("verify");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let r = rt.block_on(async {
        let mut m = s.manager().await.expect("manager");
        rom::verify_async::<User, _>(&mut m)
            .await
            .expect("verify_async")
    });
    assert_eq!(sorted(&r), expected(), "{r:#?}");
    assert_eq!(r, sync);
}

/// More rows than a page: every cursor is followed, and damage far from the
/// first page is found.
#[test]
fn verify_walks_every_page() {
    let (_s, mut c) = server();
    let users: Vec<User> = (0..1500)
        .map(|i| user(&format!("p{i}@x.io"), &format!("n{}", i % 7), i % 90, 0.5))
        .collect();
    for r in User::insert_all(&mut c, users).expect("insert") {
        r.expect("row");
    }
    assert_clean::<User>(&mut c);
    cmd(&mut c, &["SREM", "{users}:eq:name:n3", "1404"]);
    cmd(&mut c, &["SADD", "{users}:eq:name:n3", "1405"]);
    cmd(&mut c, &["ZADD", "{users}:num:age", "5", "1499"]);
    cmd(&mut c, &["DEL", "{users}:row:1200"]);
    let r = verify::<User, _>(&mut c).expect("verify");
    assert_eq!(r.rows, 1499);
    let mut got = sorted(&r);
    got.retain(|p| !p.contains("member: \"1200\""));
    assert_eq!(
        got,
        [
            "Missing { index: \"{users}:eq:name:n3\", member: \"1404\" }",
            "Missing { index: \"{users}:num:age\", member: \"1499\" }",
            "Orphan { index: \"{users}:eq:name:n3\", member: \"1405\" }",
            "Orphan { index: \"{users}:num:age\", member: \"1499\" }",
        ],
        "{r:#?}"
    );
    // the deleted row: listed without a row, and each of its entries an orphan
    let gone: Vec<&rom::verify::Problem> = r
        .problems
        .iter()
        .filter(|p| format!("{p:?}").contains("\"1200\""))
        .collect();
    assert_eq!(gone.len(), 5, "{gone:#?}");
}

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = notes)]
struct Note {
    #[rom(primary_key)]
    id: Option<u64>,
    #[rom(index(eq))]
    tag: Option<String>,
    #[rom(index(numeric))]
    n: Option<i64>,
}

/// A row hash holding only its (empty) `#i` record is a valid all-null row.
#[test]
fn a_row_with_only_its_record_is_valid() {
    let (_s, mut c) = server();
    cmd(&mut c, &["HSET", "{notes}:row:1", "#i", ""]);
    cmd(&mut c, &["ZADD", "{notes}:ids", "1", "1"]);
    let r = verify::<Note, _>(&mut c).expect("verify");
    assert!(r.is_clean(), "{r:#?}");
    assert_eq!(r.rows, 1);
    let fix = rom::repair::<Note, _>(&mut c, rom::Repair::Apply).expect("repair");
    assert_eq!(fix.fixes(), 0, "{fix:#?}");
}

/// The async twins can be spawned on a multi-threaded runtime.
#[allow(dead_code)]
fn futures_are_send(m: &mut redis::aio::ConnectionManager) {
    fn send<T: Send>(_: T) {}
    send(rom::verify_async::<User, _>(m));
    send(rom::repair_async::<User, _>(m, rom::Repair::Apply));
}

/// Records the largest command (in arguments) and reply (in values) it carries.
struct Measuring {
    inner: redis::Connection,
    biggest_call: usize,
    biggest_reply: usize,
}

fn values(v: &redis::Value) -> usize {
    match v {
        redis::Value::Array(a) | redis::Value::Set(a) => 1 + a.iter().map(values).sum::<usize>(),
        redis::Value::Map(m) => 1 + m.iter().map(|(k, v)| values(k) + values(v)).sum::<usize>(),
        _ => 1,
    }
}

impl redis::ConnectionLike for Measuring {
    fn req_packed_command(&mut self, cmd: &[u8]) -> redis::RedisResult<redis::Value> {
        self.inner.req_packed_command(cmd)
    }
    fn req_packed_commands(
        &mut self,
        cmd: &[u8],
        offset: usize,
        count: usize,
    ) -> redis::RedisResult<Vec<redis::Value>> {
        self.inner.req_packed_commands(cmd, offset, count)
    }
    fn req_command(&mut self, cmd: &redis::Cmd) -> redis::RedisResult<redis::Value> {
        self.biggest_call = self.biggest_call.max(cmd.args_iter().count());
        let v = self.inner.req_command(cmd)?;
        self.biggest_reply = self.biggest_reply.max(values(&v));
        Ok(v)
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

/// No call or reply of verify grows with the size of an index: four times the
/// rows (all in one equality set) leave the largest call and reply about the
/// same, each bounded by a page of about 200 entries.
#[test]
fn verify_reads_in_bounded_pages() {
    let (s, mut c) = server();
    let mut m = Measuring {
        inner: s.connection().expect("connect"),
        biggest_call: 0,
        biggest_reply: 0,
    };
    let add = |c: &mut redis::Connection, from: i32, to: i32| {
        let users: Vec<User> = (from..to)
            .map(|i| user(&format!("b{i}@x.io"), "same", i, 0.5))
            .collect();
        for r in User::insert_all(c, users).expect("insert") {
            r.expect("row");
        }
    };
    add(&mut c, 0, 1000);
    assert!(verify::<User, _>(&mut m).expect("verify").is_clean());
    let (call, reply) = (m.biggest_call, m.biggest_reply);
    add(&mut c, 1000, 4000);
    m.biggest_call = 0;
    m.biggest_reply = 0;
    let r = verify::<User, _>(&mut m).expect("verify");
    assert!(r.is_clean() && r.rows == 4000, "{r:#?}");
    assert!(
        m.biggest_call <= call * 3 / 2,
        "{} vs {call}",
        m.biggest_call
    );
    assert!(
        m.biggest_reply <= reply * 3 / 2,
        "{} vs {reply}",
        m.biggest_reply
    );
    eprintln!(
        "largest call {call} -> {} args, largest reply {reply} -> {} values",
        m.biggest_call, m.biggest_reply
    );
    // a page of rows: a few fields each
    assert!(m.biggest_reply < 300 * 16, "{}", m.biggest_reply);
}
