//! rom on a read-only replica: reads work although the replica cannot load
//! rom's function library itself (`FUNCTION LOAD` is a write), writes are a
//! typed `READONLY` error, and the refusal does not switch the process away
//! from functions for the servers that can load them.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::{Ipv4Addr, TcpListener};
use std::time::{Duration, Instant};

use common::*;

fn free_port() -> String {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string()
}

fn calls(server: &RedisServer, command: &str) -> u64 {
    server
        .command_calls()
        .unwrap()
        .get(command)
        .copied()
        .unwrap_or(0)
}

#[test]
fn a_replica_without_the_library_serves_reads_and_refuses_writes() {
    let port = free_port();
    let master = RedisServer::start_with_args(&["--port", &port]).unwrap();
    let mut m = master.connection().unwrap();
    // data written without rom's library: the replica gets none from here
    let _: () = redis::cmd("SET").arg("warm").arg(1).query(&mut m).unwrap();
    let replica = RedisServer::start_with_args(&["--replicaof", "127.0.0.1", &port]).unwrap();
    let mut r = replica.connection().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let info: String = redis::cmd("INFO").arg("replication").query(&mut r).unwrap();
        if info.contains("master_link_status:up") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the replica did not sync: {info}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // a read on the replica: the library is missing, loading it is refused
    // (READONLY), and the call goes through as a read-only script
    let found = users::table
        .filter(users::name.eq("Ann"))
        .load(&mut r)
        .unwrap();
    assert!(found.is_empty());
    let libs: Vec<redis::Value> = redis::cmd("FUNCTION").arg("LIST").query(&mut r).unwrap();
    assert!(libs.is_empty(), "the replica loaded nothing");

    // a write on the replica: a typed READONLY error, which is unavailability
    let err = user("ann@example.com", "Ann", 30, 1.0)
        .insert(&mut r)
        .unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");

    // the master still gets functions: the replica's refusal changed nothing
    master.reset_stats().unwrap();
    user("ann@example.com", "Ann", 30, 1.0)
        .insert(&mut m)
        .unwrap();
    assert!(
        calls(&master, "fcall") >= 1,
        "{:?}",
        master.command_calls().unwrap()
    );
    assert_eq!(calls(&master, "evalsha") + calls(&master, "eval"), 0);

    // once replicated, the library serves reads on the replica as functions
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let libs: Vec<redis::Value> = redis::cmd("FUNCTION").arg("LIST").query(&mut r).unwrap();
        if !libs.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "the library did not replicate");
        std::thread::sleep(Duration::from_millis(50));
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while users::table
        .filter(users::name.eq("Ann"))
        .count(&mut r)
        .unwrap()
        != 1
    {
        assert!(Instant::now() < deadline, "the row did not replicate");
        std::thread::sleep(Duration::from_millis(50));
    }
    replica.reset_stats().unwrap();
    let ann = users::table
        .filter(users::email.eq("ANN@example.com"))
        .first(&mut r)
        .unwrap();
    assert_eq!(ann.name.as_deref(), Some("Ann"));
    // a function flagged no-writes runs on a replica through FCALL or FCALL_RO
    let as_function = calls(&replica, "fcall") + calls(&replica, "fcall_ro");
    assert!(as_function >= 1, "{:?}", replica.command_calls().unwrap());
    assert_eq!(calls(&replica, "evalsha") + calls(&replica, "eval_ro"), 0);
}
