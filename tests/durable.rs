//! Writes confirmed by replicas (`rom::connect::Durable`): a write that
//! returns `Ok` is already on the replica; one that fewer replicas than
//! asked acknowledge in time is an error (and stays on the master); reads
//! never wait.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use common::*;
use rom::connect::Durable;
use std::net::{Ipv4Addr, TcpListener};
use std::time::{Duration, Instant};

fn free_port() -> String {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string()
}

/// A master and one replica, linked.
fn pair() -> (RedisServer, RedisServer) {
    let port = free_port();
    let master = RedisServer::start_with_args(&["--port", &port]).unwrap();
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
    (master, replica)
}

fn waits(server: &RedisServer) -> u64 {
    server
        .command_calls()
        .unwrap()
        .get("wait")
        .copied()
        .unwrap_or(0)
}

#[test]
fn a_confirmed_write_is_on_the_replica_when_it_returns() {
    let (master, replica) = pair();
    let mut c = Durable::new(master.connection().unwrap(), 1, Duration::from_secs(5));
    let mut r = replica.connection().unwrap();
    for i in 0..20 {
        let u = user(&format!("u{i}@x.io"), "Ann", 30 + i, 1.0)
            .insert(&mut c)
            .unwrap();
        // no waiting here: the replica has it already
        assert!(User::exists(&mut r, u.id.unwrap()).unwrap(), "row {i}");
    }
    // a batch (one pipeline) waits once, after it
    master.reset_stats().unwrap();
    let rows = (0..10)
        .map(|i| user(&format!("b{i}@x.io"), "Bo", 99, 2.0))
        .collect();
    for r in User::insert_all(&mut c, rows).unwrap() {
        r.unwrap();
    }
    assert_eq!(waits(&master), 1, "{:?}", master.command_calls().unwrap());
    assert_eq!(
        users::table
            .filter(users::age.eq(99))
            .count(&mut r)
            .unwrap(),
        10
    );
    // reads never wait
    master.reset_stats().unwrap();
    users::table.filter(users::age.ge(30)).load(&mut c).unwrap();
    User::get(&mut c, 1).unwrap();
    assert_eq!(waits(&master), 0);
}

#[test]
fn a_write_fewer_replicas_confirm_is_an_error_and_stays_on_the_master() {
    let (master, _replica) = pair();
    // two replicas asked, one exists
    let mut c = Durable::new(master.connection().unwrap(), 2, Duration::from_millis(50));
    let e = user("ann@x.io", "Ann", 30, 1.0).insert(&mut c).unwrap_err();
    assert!(
        e.to_string().contains("not confirmed by enough replicas"),
        "{e}"
    );
    // the write happened (it may or may not survive a failover)
    let mut m = master.connection().unwrap();
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut m).unwrap();
    assert_eq!(users::table.count(&mut m).unwrap(), 1, "{keys:?}");
}

#[test]
fn async_writes_wait_too() {
    let (master, replica) = pair();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut c = Durable::new(
            master.multiplexed().await.unwrap(),
            1,
            Duration::from_secs(5),
        );
        let u = user("ann@x.io", "Ann", 30, 1.0)
            .insert_async(&mut c)
            .await
            .unwrap();
        let mut r = replica.connection().unwrap();
        assert!(User::exists(&mut r, u.id.unwrap()).unwrap());
        let mut short = Durable::new(
            master.multiplexed().await.unwrap(),
            2,
            Duration::from_millis(50),
        );
        let e = user("bob@x.io", "Bob", 31, 1.0)
            .insert_async(&mut short)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("not confirmed"), "{e}");
    });
}

/// On a cluster connection `WAIT` goes to every master (redis-rs routes it
/// so, keeping the smallest answer): with one replica per master, a write
/// confirmed by one returns; asking two is an error.
#[test]
fn a_cluster_connection_waits_on_its_masters() {
    let cluster = rom::testing::RedisCluster::start_with_replicas(3).unwrap();
    let mut c = Durable::new(cluster.connection().unwrap(), 1, Duration::from_secs(5));
    for i in 0..5 {
        user(&format!("c{i}@x.io"), "Cy", 30, 1.0)
            .insert(&mut c)
            .unwrap();
    }
    let mut two = Durable::new(cluster.connection().unwrap(), 2, Duration::from_millis(50));
    let e = user("d@x.io", "Dee", 30, 1.0).insert(&mut two).unwrap_err();
    assert!(e.to_string().contains("not confirmed"), "{e}");
}
