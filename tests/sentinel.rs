//! `rom::connect::sentinel`: rom through a Sentinel-managed master, and
//! through failovers, against real processes (a master, a replica and three
//! Sentinels from `rom::testing::RedisSentinelGroup`).
//!
//! Timeouts here are hang guards (a call must return at all), never speed
//! assertions.
#![cfg(feature = "sentinel")]
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use common::*;
use rom::connect;
use rom::testing::RedisSentinelGroup;

const NAME: &str = RedisSentinelGroup::MASTER_NAME;

/// How long writes may keep failing after a failover before the test gives up.
const RECOVERY_GUARD: Duration = Duration::from_secs(30);

/// `WAIT 1 <ms>`: how many replicas acknowledged every write sent so far on
/// this connection.
fn wait_for_replica(conn: &mut impl redis::ConnectionLike) -> i64 {
    redis::cmd("WAIT").arg(1).arg(5000).query(conn).unwrap()
}

/// The port of a TCP address.
fn port_of(addr: &redis::ConnectionAddr) -> u16 {
    match addr {
        redis::ConnectionAddr::Tcp(_, port) => *port,
        other => panic!("not a TCP address: {other:?}"),
    }
}

#[test]
fn every_operation_through_the_sentinel_connection() {
    let group = RedisSentinelGroup::start().unwrap();
    let mut c = connect::sentinel(group.sentinel_urls(), NAME).unwrap();
    assert_eq!(
        port_of(c.master_addr().unwrap()),
        group.master_addr().unwrap().1
    );

    let mut ann = user("Ann@Example.com", "Ann", 30, 1.5)
        .insert(&mut c)
        .unwrap();
    let bob = user("bob@example.com", "Bob", 40, 2.5)
        .insert(&mut c)
        .unwrap();
    assert_eq!(*User::get(&mut c, *ann.key()).unwrap().unwrap(), *ann);

    let found = users::table
        .filter(users::email.eq("ann@example.COM"))
        .first(&mut c)
        .unwrap();
    assert_eq!(found.key(), ann.key());

    ann.age = 31;
    ann.save(&mut c).unwrap();
    assert_eq!(User::get(&mut c, *ann.key()).unwrap().unwrap().age, 31);
    assert_eq!(users::table.count(&mut c).unwrap(), 2);

    assert!(bob.delete(&mut c).unwrap());
    assert_eq!(users::table.count(&mut c).unwrap(), 1);
    let report = rom::verify::verify::<User, _>(&mut c).unwrap();
    assert!(report.is_clean(), "{:#?}", report.problems);

    // The same through the async connection (and a clone of it).
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let conn = connect::sentinel_async(group.sentinel_urls(), NAME)
            .await
            .unwrap();
        let mut a = conn.clone();
        let cy = user("cy@example.com", "Cy", 50, 3.5)
            .insert_async(&mut a)
            .await
            .unwrap();
        let mut b = conn.clone();
        let found = users::table
            .filter(users::email.eq("CY@example.com"))
            .first_async(&mut b)
            .await
            .unwrap();
        assert_eq!(found.key(), cy.key());
        assert_eq!(users::table.count_async(&mut b).await.unwrap(), 2);
        assert!(cy.delete_async(&mut a).await.unwrap());
        assert_eq!(users::table.count_async(&mut b).await.unwrap(), 1);
        let report = rom::verify_async::<User, _>(&mut b).await.unwrap();
        assert!(report.is_clean(), "{:#?}", report.problems);
    });
}

/// A failover forced (`SENTINEL FAILOVER`) while a thread inserts rows
/// through a [`rom::connect::SentinelConnection`].
///
/// What Redis guarantees, and so what is asserted:
///
/// - Replication is asynchronous. The master acknowledges a write before any
///   replica has it, so a write acknowledged by the old master can be
///   missing from the new one. Here: the writes the old master accepted
///   after the replica stopped following it (was promoted), until the client
///   moved to the new master (at its next recheck of the Sentinels, or when
///   the Sentinels demote the old master, which closes its connections and
///   makes it replace its data with the new master's). Such rows are *not*
///   asserted present; the test only reports how many there were.
/// - `WAIT 1` returning 1 means the replica received every earlier write of
///   the connection. The only replica is the one promoted, so rows confirmed
///   with `WAIT` before the failover **are** asserted present on the new
///   master.
/// - A write the client saw fail may or may not have been applied.
///
/// Asserted: every failed write is an `Error::Redis` (never a panic, never a
/// decoding error); writes succeed again after the failover, on the new
/// master; every acknowledged row the new master has is readable by key and
/// by its unique email with the key it was acknowledged with; every row the
/// new master has was attempted by the test; `rom::verify` is clean on the
/// new master. And rom's function library runs there without any manual
/// step: it is replicated with the data, and loaded on demand otherwise
/// (checked after a `FUNCTION FLUSH`).
///
/// With the default recheck interval, the connection moves to the new master
/// when the Sentinels name it; [`without_rechecks`] tests the other path.
#[test]
fn a_forced_failover_during_writes_keeps_what_redis_promises() {
    forced_failover_during_writes(connect::DEFAULT_SENTINEL_RECHECK);
}

/// [`a_forced_failover_during_writes_keeps_what_redis_promises`] with a
/// connection that never asks the Sentinels on its own: it stays on the old
/// master until the Sentinels demote it (up to 10 s later), which closes
/// the connection (or answers `READONLY`); the write that meets that fails,
/// and the next one looks the master up again.
#[test]
fn without_rechecks() {
    forced_failover_during_writes(None);
}

fn forced_failover_during_writes(recheck: impl Into<Option<Duration>>) {
    let group = RedisSentinelGroup::start().unwrap();
    let master = connect::SentinelMaster::new(group.sentinel_urls(), NAME)
        .unwrap()
        .recheck_interval(recheck);
    let mut conn = connect::Options::new().sentinel_from(master).unwrap();
    let old_port = port_of(conn.master_addr().unwrap());

    let mut confirmed = Vec::new();
    for i in 0..20 {
        let email = format!("before{i}@example.com");
        let row = user(&email, "Before", i, 0.0).insert(&mut conn).unwrap();
        confirmed.push((*row.key(), email));
    }
    assert_eq!(
        wait_for_replica(&mut conn),
        1,
        "the replica did not confirm"
    );

    // 0 until the failover is complete, then the new master's port
    let new_port = Arc::new(AtomicU16::new(0));
    let writer = {
        let new_port = Arc::clone(&new_port);
        std::thread::spawn(move || {
            let mut acked = Vec::new();
            let mut attempted = Vec::new();
            let mut errors = Vec::new();
            let mut after = 0;
            let deadline = Instant::now() + RECOVERY_GUARD;
            for i in 0.. {
                if after >= 20 || Instant::now() > deadline {
                    break;
                }
                let email = format!("w{i}@example.com");
                attempted.push(email.clone());
                match user(&email, "Writer", 1, 0.0).insert(&mut conn) {
                    Ok(row) => {
                        acked.push((*row.key(), email));
                        let port = conn.master_addr().map(port_of);
                        let new = new_port.load(Ordering::SeqCst);
                        after += usize::from(new != 0 && port == Some(new));
                    }
                    Err(Error::Redis(err)) => {
                        errors.push(err.to_string());
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    Err(other) => panic!("insert #{i} failed with {other:?}, not Error::Redis"),
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            (conn, acked, attempted, errors, after)
        })
    };

    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let new = group
        .failover()
        .unwrap_or_else(|e| panic!("{e}\n{}", group.log_tails()));
    eprintln!("failover to {new:?} in {:?}", started.elapsed());
    new_port.store(new.1, Ordering::SeqCst);
    let (mut conn, acked, attempted, errors, after) = writer.join().unwrap();
    eprintln!(
        "{} inserts attempted, {} acknowledged, {} failed: {errors:#?}",
        attempted.len(),
        acked.len(),
        errors.len()
    );
    assert!(
        after >= 20,
        "writes did not succeed on the new master ({after})\n{}",
        group.log_tails()
    );
    assert_ne!(new.1, old_port);
    assert_eq!(port_of(conn.master_addr().unwrap()), new.1);

    // Check on the new master itself.
    let mut master = group.master_connection().unwrap();
    for (key, email) in &confirmed {
        let row = User::get(&mut master, *key).unwrap();
        assert_eq!(row.map(|r| r.email.clone()).as_ref(), Some(email), "{key}");
    }
    let mut lost = 0;
    for (key, email) in &acked {
        let by_email = users::table
            .filter(users::email.eq(email.as_str()))
            .first(&mut master)
            .optional()
            .unwrap();
        match by_email {
            Some(row) => {
                assert_eq!(row.key(), key, "{email}");
                let by_key = User::get(&mut master, *key).unwrap().unwrap();
                assert_eq!(&by_key.email, email);
            }
            None => lost += 1,
        }
    }
    eprintln!(
        "{lost} of {} acknowledged inserts are not on the new master",
        acked.len()
    );
    for row in users::table.load(&mut master).unwrap() {
        assert!(
            row.email.starts_with("before") || attempted.contains(&row.email),
            "{row:?} was never written"
        );
    }
    let report = rom::verify::verify::<User, _>(&mut master).unwrap();
    assert!(report.is_clean(), "{:#?}", report.problems);

    // rom's function library: on the new master already (replicated), and
    // loaded again on demand when it is not.
    let library = rom::library::library_name();
    let functions: redis::Value = redis::cmd("FUNCTION")
        .arg("LIST")
        .arg("LIBRARYNAME")
        .arg(library)
        .query(&mut master)
        .unwrap();
    assert!(
        matches!(&functions, redis::Value::Array(libs) if !libs.is_empty()),
        "{functions:?}"
    );
    redis::cmd("FUNCTION")
        .arg("FLUSH")
        .exec(&mut master)
        .unwrap();
    let row = user("after-flush@example.com", "After", 2, 0.0)
        .insert(&mut conn)
        .unwrap();
    assert_eq!(
        User::get(&mut conn, *row.key()).unwrap().unwrap().email,
        "after-flush@example.com"
    );
}

/// The master crashes (`SIGKILL`); the Sentinels agree it is down and
/// promote the replica by themselves. The async connection fails its
/// requests meanwhile, with `Error::Redis`, and follows the new master once
/// there is one. Rows confirmed with `WAIT` before the crash are there.
#[test]
fn a_crashed_master_is_replaced_and_the_async_connection_follows() {
    let mut group = RedisSentinelGroup::start().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut conn = rt
        .block_on(connect::sentinel_async(group.sentinel_urls(), NAME))
        .unwrap();
    let mut confirmed = Vec::new();
    rt.block_on(async {
        for i in 0..10 {
            let email = format!("c{i}@example.com");
            let row = user(&email, "Crash", i, 0.0)
                .insert_async(&mut conn)
                .await
                .unwrap();
            confirmed.push((*row.key(), email));
        }
        let replicas: i64 = redis::cmd("WAIT")
            .arg(1)
            .arg(5000)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(replicas, 1);
    });

    let started = Instant::now();
    let old = group.stop_master().unwrap();
    let mut failures = 0;
    let recovered = rt.block_on(async {
        let deadline = Instant::now() + RECOVERY_GUARD;
        while Instant::now() < deadline {
            let attempt = tokio::time::timeout(
                RECOVERY_GUARD,
                user("after@example.com", "After", 1, 0.0).insert_async(&mut conn),
            )
            .await
            .expect("the insert hung: no answer, no error");
            match attempt {
                Ok(row) => return Some(row),
                Err(Error::Redis(_)) => {
                    failures += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(other) => panic!("failed with {other:?}, not Error::Redis"),
            }
        }
        None
    });
    let row = recovered.unwrap_or_else(|| panic!("no new master in time\n{}", group.log_tails()));
    eprintln!(
        "writes resumed {:?} after the crash, after {failures} failed attempts",
        started.elapsed()
    );
    let new = group.wait_for_new_master(&old).unwrap();
    assert_ne!(new, old);
    assert_eq!(conn.master_addr().map(|a| port_of(&a)), Some(new.1));

    let mut master = group.master_connection().unwrap();
    for (key, email) in &confirmed {
        let row = User::get(&mut master, *key).unwrap();
        assert_eq!(row.map(|r| r.email.clone()).as_ref(), Some(email), "{key}");
    }
    assert!(User::get(&mut master, *row.key()).unwrap().is_some());
    let report = rom::verify::verify::<User, _>(&mut master).unwrap();
    assert!(report.is_clean(), "{:#?}", report.problems);
}
