//! `rom::connect`: connections fail within their timeouts while the server is
//! down or stuck, and come back when it returns. Timeouts here are hang
//! guards (a call must return at all), never speed assertions.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use rom::connect::{self, Options};

/// A call that does not return within this is a hang, and a failure.
const HANG_GUARD: Duration = Duration::from_secs(30);

/// Awaits `future`, failing the test if it hangs.
async fn guarded<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(HANG_GUARD, future)
        .await
        .expect("the call hung: no answer, no error")
}

fn redis_error<T>(result: rom::Result<T>) -> redis::RedisError {
    match result {
        Err(Error::Redis(err)) => err,
        Err(other) => panic!("expected Error::Redis, got {other:?}"),
        Ok(_) => panic!("expected Error::Redis, got a success"),
    }
}

#[tokio::test]
async fn manager_fails_while_the_server_is_down_and_works_again_after() {
    let mut server = RedisServer::start().unwrap();
    let mut conn = connect::manager(server.url()).await.unwrap();
    let mut ann = user("ann@example.com", "Ann", 30, 1.0)
        .insert_async(&mut conn)
        .await
        .unwrap();

    server.stop().unwrap();
    ann.age = 31;
    for attempt in 0..3 {
        let started = Instant::now();
        let result = guarded(ann.save_async(&mut conn)).await;
        assert!(
            result.as_ref().is_err_and(Error::is_unavailable),
            "a server that is down is unavailability: {result:?}"
        );
        let err = redis_error(result);
        eprintln!(
            "save #{attempt} while down: {:?} ({err})",
            started.elapsed()
        );
        let err = redis_error(guarded(User::get_async(&mut conn, 1u64)).await);
        assert!(!err.to_string().is_empty());
    }

    // Same socket, empty server. The manager reconnects in the background
    // after a failed request, so the first request may still fail.
    server.restart().unwrap();
    let mut inserted = None;
    for attempt in 0..20 {
        let bob = user(&format!("bob{attempt}@example.com"), "Bob", 40, 2.0);
        match guarded(bob.insert_async(&mut conn)).await {
            Ok(bob) => {
                inserted = Some(bob);
                break;
            }
            Err(Error::Redis(err)) => {
                eprintln!("insert #{attempt} after the restart: {err}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(other) => panic!("{other:?}"),
        }
    }
    let bob = inserted.expect("the manager never reconnected");
    let found = User::get_async(&mut conn, *bob.key()).await.unwrap();
    assert_eq!(found.map(|r| r.into_inner().email), Some(bob.email.clone()));
    // and the rows of the lost server are gone, as a restart without
    // persistence loses them
    assert!(User::get_async(&mut conn, 1u64).await.unwrap().is_none() || *bob.key() == 1);
}

#[test]
fn a_plain_sync_connection_stays_broken_a_reconnecting_one_recovers() {
    let mut server = RedisServer::start().unwrap();
    let mut plain = connect::connection(server.url()).unwrap();
    let mut again = connect::reconnecting(server.url()).unwrap();
    user("ann@example.com", "Ann", 30, 1.0)
        .insert(&mut plain)
        .unwrap();
    assert!(User::get(&mut again, 1u64).unwrap().is_some());
    assert!(again.is_connected());

    server.restart().unwrap();

    for _ in 0..3 {
        redis_error(User::get(&mut plain, 1u64));
    }
    // The reconnecting connection fails the call that found it broken (it
    // does not resend: a write may have been applied), then reconnects.
    if let Err(err) = User::get(&mut again, 1u64) {
        assert!(matches!(err, Error::Redis(_)), "{err:?}");
        assert!(!again.is_connected());
    }
    let bob = user("bob@example.com", "Bob", 40, 2.0)
        .insert(&mut again)
        .unwrap();
    assert_eq!(
        User::get(&mut again, *bob.key()).unwrap().unwrap().email,
        "bob@example.com"
    );
    assert!(again.is_connected());

    // The documented pattern for plain connections: keep the client, open a
    // fresh connection.
    let client = redis::Client::open(server.url()).unwrap();
    let mut fresh = client.get_connection().unwrap();
    assert!(User::get(&mut fresh, *bob.key()).unwrap().is_some());
}

#[test]
fn a_sync_response_timeout_turns_a_stuck_server_into_an_error() {
    let server = RedisServer::start().unwrap();
    let options = Options::new().response_timeout(Duration::from_millis(200));
    let mut conn = options.connection(server.url()).unwrap();
    user("ann@example.com", "Ann", 30, 1.0)
        .insert(&mut conn)
        .unwrap();

    let mut admin = server.connection().unwrap();
    redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(3000)
        .arg("ALL")
        .exec(&mut admin)
        .unwrap();
    let err = redis_error(User::get(&mut conn, 1u64));
    assert!(err.is_timeout(), "{err:?}");

    // The same connection answers again once the server does (redis-rs
    // drops the late answer): bounded attempts, each up to the timeout.
    let found = (0..150)
        .find_map(|_| User::get(&mut conn, 1u64).ok())
        .expect("the connection never answered again");
    assert_eq!(found.unwrap().email, "ann@example.com");
}

#[tokio::test]
async fn an_async_response_timeout_turns_a_stuck_server_into_an_error() {
    let server = RedisServer::start().unwrap();
    let options = Options::new().response_timeout(Duration::from_millis(200));
    let mut conn = options.manager(server.url()).await.unwrap();
    user("ann@example.com", "Ann", 30, 1.0)
        .insert_async(&mut conn)
        .await
        .unwrap();

    let mut admin = server.connection().unwrap();
    redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(3000)
        .arg("ALL")
        .exec(&mut admin)
        .unwrap();
    let err = redis_error(guarded(User::get_async(&mut conn, 1u64)).await);
    assert!(err.is_timeout(), "{err:?}");

    let mut found = None;
    for _ in 0..150 {
        if let Ok(row) = guarded(User::get_async(&mut conn, 1u64)).await {
            found = row;
            break;
        }
    }
    assert_eq!(found.unwrap().email, "ann@example.com");
}

#[tokio::test]
async fn cluster_connections_with_timeouts() {
    let cluster = rom::testing::RedisCluster::start(3).unwrap();
    let mut sync = connect::cluster(cluster.urls()).unwrap();
    let ann = user("ann@example.com", "Ann", 30, 1.0)
        .insert(&mut sync)
        .unwrap();
    let mut conn = guarded(connect::cluster_async(cluster.urls()))
        .await
        .unwrap();
    let found = User::get_async(&mut conn, *ann.key()).await.unwrap();
    assert_eq!(found.unwrap().email, "ann@example.com");
}

#[test]
fn bad_settings_and_addresses_are_errors() {
    let server = RedisServer::start().unwrap();
    for options in [
        Options::new().connect_timeout(Duration::ZERO),
        Options::new().response_timeout(Duration::ZERO),
    ] {
        let err = redis_error(options.connection(server.url()));
        assert_eq!(err.kind(), redis::ErrorKind::InvalidClientConfig, "{err}");
        redis_error(options.reconnecting(server.url()));
        redis_error(options.cluster_client(["redis://127.0.0.1:1"]));
    }
    redis_error(connect::connection("not a url"));
    // Nothing listens on port 1: refused, not a hang.
    let refused = connect::connection("redis://127.0.0.1:1");
    assert!(refused.as_ref().is_err_and(Error::is_unavailable));
    redis_error(refused);
    // No timeouts at all is allowed.
    let none = Options::new().connect_timeout(None).response_timeout(None);
    let mut conn = none.connection(server.url()).unwrap();
    let pong: String = redis::cmd("PING").query(&mut conn).unwrap();
    assert_eq!(pong, "PONG");
}

#[tokio::test]
async fn an_unreachable_server_fails_the_manager_at_startup() {
    let err = redis_error(guarded(connect::manager("redis://127.0.0.1:1")).await);
    assert!(err.is_connection_refusal() || err.is_io_error(), "{err:?}");
}
