//! Rows that expire: gone for every read at their deadline (server time),
//! their key and unique values free at once, reclaimed with their index
//! entries by sweeps and by writes, and the on_delete rules of the rows that
//! reference them applied when they are reclaimed.
#![allow(clippy::unwrap_used, missing_docs)]

use rom::expiry::{self, ExpiryMethods as _};
use rom::prelude::*;
use rom::testing::RedisServer;
use rom::verify::verify;
use std::thread::sleep;
use std::time::{Duration, SystemTime};

rom::group!(pub Web = "web");

const TTL: Duration = Duration::from_millis(150);
/// Past every deadline set with TTL.
const PAST: Duration = Duration::from_millis(250);

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = sessions, group = Web, expires(ttl = "150ms"), has_many(carts::session))]
pub struct Session {
    #[rom(primary_key)]
    pub token: String,
    #[rom(unique)]
    pub handle: String,
    #[rom(index(numeric))]
    pub user: i64,
}

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = carts, group = Web)]
pub struct Cart {
    #[rom(primary_key)]
    pub id: Option<u64>,
    #[rom(belongs_to(Session, on_delete = cascade))]
    pub session: String,
}

/// No default: rows expire only when given a time to live.
#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = codes, expires)]
pub struct Code {
    #[rom(primary_key)]
    pub id: Option<u64>,
    #[rom(index(eq))]
    pub kind: String,
}

fn session(token: &str, handle: &str, user: i64) -> Session {
    Session {
        token: token.into(),
        handle: handle.into(),
        user,
    }
}

fn keys(c: &mut redis::Connection) -> Vec<String> {
    let mut k: Vec<String> = redis::cmd("KEYS").arg("*").query(c).unwrap();
    k.sort();
    k
}

fn clean<C: rom::Connection>(c: &mut C) {
    for r in [
        verify::<Session, _>(c).unwrap(),
        verify::<Cart, _>(c).unwrap(),
        verify::<Code, _>(c).unwrap(),
    ] {
        assert!(r.is_clean(), "{r:?}");
    }
}

#[test]
fn an_expired_row_is_gone_for_every_read_at_once() {
    let s = RedisServer::start().unwrap();
    let mut c = s.connection().unwrap();
    session("a", "ann", 1).insert(&mut c).unwrap();
    session("b", "bob", 2)
        .insert_with_ttl(&mut c, Duration::from_secs(60))
        .unwrap();
    assert_eq!(sessions::table.count(&mut c).unwrap(), 2);
    let left = Session::ttl(&mut c, &"a".to_owned()).unwrap().unwrap();
    assert!(left <= TTL && left > Duration::ZERO, "{left:?}");
    sleep(PAST);
    // gone for get, get_many, exists, every query shape
    assert!(Session::get(&mut c, "a".to_owned()).unwrap().is_none());
    assert!(!Session::exists(&mut c, "a".to_owned()).unwrap());
    let many = Session::get_many(&mut c, &["a".to_owned(), "b".to_owned()]).unwrap();
    assert_eq!(many.len(), 1);
    assert_eq!(sessions::table.count(&mut c).unwrap(), 1);
    assert_eq!(
        sessions::table
            .filter(sessions::user.ge(0))
            .count(&mut c)
            .unwrap(),
        1
    );
    assert_eq!(
        sessions::table
            .filter(sessions::user.eq(1).or(sessions::user.eq(2)))
            .count(&mut c)
            .unwrap(),
        1
    );
    assert!(
        sessions::table
            .filter(sessions::handle.eq("ann"))
            .first(&mut c)
            .optional()
            .unwrap()
            .is_none()
    );
    assert!(
        !sessions::table
            .filter(sessions::user.eq(1))
            .exists(&mut c)
            .unwrap()
    );
    let rows = sessions::table
        .order_by(sessions::user.asc())
        .load(&mut c)
        .unwrap();
    assert_eq!(
        rows.iter().map(|r| r.token.as_str()).collect::<Vec<_>>(),
        ["b"]
    );
    assert!(matches!(
        Session::ttl(&mut c, &"a".to_owned()),
        Err(Error::NotFound { .. })
    ));
    // an expired row cannot be touched back
    assert!(!Session::touch(&mut c, &"a".to_owned(), TTL).unwrap());
    // its key and its unique value are free at once
    let again = session("a", "ann", 3).insert(&mut c).unwrap();
    assert_eq!(again.user, 3);
    session("z", "bob-2", 9).insert(&mut c).unwrap();
    sleep(PAST);
    session("y", "bob-2", 9).insert(&mut c).unwrap();
    assert_eq!(
        sessions::table
            .filter(sessions::handle.eq("bob-2"))
            .first(&mut c)
            .unwrap()
            .token,
        "y"
    );
    // an update of an expired record finds no row
    let mut rec = Session::get(&mut c, "y".to_owned()).unwrap().unwrap();
    sleep(PAST);
    rec.user = 10;
    assert!(rec.save(&mut c).is_err());
    // deletes and increments do not see it either
    session("d", "dee", 4).insert(&mut c).unwrap();
    sleep(PAST);
    assert!(Session::increment(&mut c, "d".to_owned(), sessions::user.add(1)).is_err());
    assert_eq!(Session::delete_many(&mut c, &["d".to_owned()]).unwrap(), 0);
    // a transaction reads it as absent, and may insert over it
    session("e", "eve", 5).insert(&mut c).unwrap();
    sleep(PAST);
    let mut tx = rom::transaction::Transaction::new();
    assert!(
        tx.get::<Session, _>(&mut c, "e".to_owned())
            .unwrap()
            .is_none()
    );
    tx.insert(session("e", "eve", 6)).unwrap();
    tx.commit(&mut c).unwrap();
    assert_eq!(
        Session::get(&mut c, "e".to_owned()).unwrap().unwrap().user,
        6
    );
    // an expired row whose unique value another row took is not damage
    session("w", "wes", 1).insert(&mut c).unwrap();
    sleep(PAST);
    session("v", "wes", 1).insert(&mut c).unwrap();
    let r = verify::<Session, _>(&mut c).unwrap();
    assert!(r.is_clean(), "{r:?}");
}

#[test]
fn touch_persist_and_expire_at_move_the_deadline() {
    let s = RedisServer::start().unwrap();
    let mut c = s.connection().unwrap();
    let k = "t".to_owned();
    session("t", "tom", 1).insert(&mut c).unwrap();
    assert!(Session::touch(&mut c, &k, Duration::from_secs(60)).unwrap());
    sleep(PAST);
    assert!(Session::get(&mut c, k.clone()).unwrap().is_some());
    assert!(Session::persist(&mut c, &k).unwrap());
    assert_eq!(Session::ttl(&mut c, &k).unwrap(), None);
    let soon = SystemTime::now() + TTL;
    assert!(Session::expire_at(&mut c, &k, soon).unwrap());
    assert!(Session::ttl(&mut c, &k).unwrap().is_some());
    sleep(PAST);
    assert!(Session::get(&mut c, k.clone()).unwrap().is_none());
    assert!(!Session::persist(&mut c, &k).unwrap());
    // a model without a default: rows do not expire unless told
    let code = Code {
        id: None,
        kind: "x".into(),
    }
    .insert(&mut c)
    .unwrap();
    assert_eq!(Code::ttl(&mut c, &code.id.unwrap()).unwrap(), None);
    let brief = Code {
        id: None,
        kind: "x".into(),
    }
    .insert_with_ttl(&mut c, TTL)
    .unwrap();
    sleep(PAST);
    assert_eq!(
        codes::table
            .filter(codes::kind.eq("x"))
            .count(&mut c)
            .unwrap(),
        1
    );
    assert!(Code::get(&mut c, brief.id.unwrap()).unwrap().is_none());
    assert!(
        Code::touch(&mut c, &1, Duration::ZERO).is_err(),
        "a zero time to live is refused"
    );
}

#[test]
fn sweeps_and_writes_reclaim_expired_rows_with_their_entries() {
    let s = RedisServer::start().unwrap();
    let mut c = s.connection().unwrap();
    let baseline = keys(&mut c);
    for i in 0..20 {
        Code {
            id: None,
            kind: format!("k{i}"),
        }
        .insert_with_ttl(&mut c, TTL)
        .unwrap();
    }
    sleep(PAST);
    // verify tells expired rows apart from damage
    let r = verify::<Code, _>(&mut c).unwrap();
    assert!(r.is_clean(), "{r:?}");
    assert_eq!((r.rows, r.expired), (0, 20));
    // each write of the model reclaims a few expired rows
    let keep = Code {
        id: None,
        kind: "keep".into(),
    }
    .insert(&mut c)
    .unwrap();
    let left: u64 = redis::cmd("ZCARD")
        .arg("{codes}:exp")
        .query(&mut c)
        .unwrap();
    assert_eq!(left, 18, "a write reclaims two expired rows");
    let swept = expiry::sweep::<Code, _>(&mut c).unwrap();
    assert_eq!((swept.expired, swept.more), (18, false));
    keep.delete(&mut c).unwrap();
    // nothing of them is left: rows, index entries, deadlines
    let after: Vec<String> = keys(&mut c)
        .into_iter()
        .filter(|k| k != "{codes}:seq")
        .collect();
    assert_eq!(after, baseline);
    clean(&mut c);
}

#[test]
fn reclaiming_an_expired_parent_applies_its_rules() {
    let s = RedisServer::start().unwrap();
    let mut c = s.connection().unwrap();
    session("p", "pam", 1).insert(&mut c).unwrap();
    for _ in 0..3 {
        Cart {
            id: None,
            session: "p".into(),
        }
        .insert(&mut c)
        .unwrap();
    }
    sleep(PAST);
    // the parent is gone for reads and for the check on write
    assert!(matches!(
        Cart {
            id: None,
            session: "p".into()
        }
        .insert(&mut c),
        Err(Error::MissingParent { .. })
    ));
    let with = carts::table.load_with(&mut c, carts::session).unwrap();
    assert!(with.iter().all(|(_, p)| p.is_none()));
    // the rows referencing it stay until it is reclaimed, with its rule
    assert_eq!(carts::table.count(&mut c).unwrap(), 3);
    let swept = expiry::sweep::<Session, _>(&mut c).unwrap();
    assert_eq!((swept.expired, swept.deleted), (1, 4));
    assert_eq!(carts::table.count(&mut c).unwrap(), 0);
    clean(&mut c);
}

#[tokio::test]
async fn a_sweeper_task_reclaims_in_the_background() {
    let s = RedisServer::start().unwrap();
    let mut c = s.connection().unwrap();
    for i in 0..50 {
        session(&format!("s{i}"), &format!("h{i}"), i)
            .insert(&mut c)
            .unwrap();
    }
    let conn = s
        .client()
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    // the async twins
    let mut ac = conn.clone();
    let k = "s1".to_owned();
    assert!(
        Session::touch_async(&mut ac, &k, Duration::from_secs(60))
            .await
            .unwrap()
    );
    assert!(Session::ttl_async(&mut ac, &k).await.unwrap().is_some());
    assert!(Session::persist_async(&mut ac, &k).await.unwrap());
    assert!(
        Session::expire_at_async(&mut ac, &k, SystemTime::UNIX_EPOCH)
            .await
            .unwrap()
    );
    session("s50", "h50", 50)
        .insert_with_ttl_async(&mut ac, TTL)
        .await
        .unwrap();
    let task = expiry::spawn_sweeper::<Session, _>(conn, Duration::from_millis(50));
    tokio::time::sleep(Duration::from_millis(600)).await;
    task.abort();
    let rows: u64 = redis::cmd("ZCARD")
        .arg("{web}/sessions:ids")
        .query(&mut c)
        .unwrap();
    assert_eq!(rows, 0, "every expired row reclaimed");
    clean(&mut c);
}

#[test]
fn a_replica_reads_expired_rows_as_gone_by_its_own_clock() {
    let port = std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let master = RedisServer::start_with_args(&["--port", &port]).unwrap();
    let mut m = master.connection().unwrap();
    let replica = RedisServer::start_with_args(&["--replicaof", "127.0.0.1", &port]).unwrap();
    let mut r = replica.connection().unwrap();
    // the replica in sync (with the library) before the row's clock starts
    session("warm", "warm", 0)
        .insert_with_ttl(&mut m, Duration::from_secs(3600))
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while Session::get(&mut r, "warm".to_owned()).map_or(true, |s| s.is_none()) {
        assert!(std::time::Instant::now() < deadline, "no sync");
        sleep(Duration::from_millis(20));
    }
    session("r", "rae", 1)
        .insert_with_ttl(&mut m, Duration::from_millis(800))
        .unwrap();
    // replicated (with the library), and live on the replica
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while Session::get(&mut r, "r".to_owned()).map_or(true, |s| s.is_none()) {
        assert!(
            std::time::Instant::now() < deadline,
            "did not replicate: {:?}",
            Session::get(&mut r, "r".to_owned())
        );
        sleep(Duration::from_millis(20));
    }
    sleep(Duration::from_millis(900));
    assert!(Session::get(&mut r, "r".to_owned()).unwrap().is_none());
    assert_eq!(sessions::table.count(&mut r).unwrap(), 1);
    // the master's sweep replicates: nothing of the row is left anywhere
    assert_eq!(expiry::sweep::<Session, _>(&mut m).unwrap().expired, 1);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let n: u64 = redis::cmd("ZCARD")
            .arg("{web}/sessions:ids")
            .query(&mut r)
            .unwrap();
        // the warm row stays
        if n == 1 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the sweep did not replicate: {n} rows listed"
        );
        sleep(Duration::from_millis(20));
    }
}

#[test]
fn expiry_works_on_a_cluster() {
    let cluster = rom::testing::RedisCluster::start(3).unwrap();
    let mut c = cluster.connection().unwrap();
    session("c1", "cat", 1).insert(&mut c).unwrap();
    for _ in 0..2 {
        Cart {
            id: None,
            session: "c1".into(),
        }
        .insert(&mut c)
        .unwrap();
    }
    Code {
        id: None,
        kind: "k".into(),
    }
    .insert(&mut c)
    .unwrap();
    assert!(Session::expire_at(&mut c, &"c1".to_owned(), SystemTime::UNIX_EPOCH).unwrap());
    assert!(Session::get(&mut c, "c1".to_owned()).unwrap().is_none());
    assert_eq!(sessions::table.count(&mut c).unwrap(), 0);
    assert!(
        carts::table
            .load_with(&mut c, carts::session)
            .unwrap()
            .iter()
            .all(|(_, p)| p.is_none())
    );
    let swept = expiry::sweep::<Session, _>(&mut c).unwrap();
    assert_eq!((swept.expired, swept.deleted), (1, 3));
    assert_eq!(carts::table.count(&mut c).unwrap(), 0);
    assert!(Code::touch(&mut c, &1, TTL).unwrap());
    assert_eq!(Code::ttl(&mut c, &1).unwrap().map(|d| d <= TTL), Some(true));
    clean(&mut c);
}
