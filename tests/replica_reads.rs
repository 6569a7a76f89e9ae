//! Reads from replicas where the user asks for it: a query marked
//! `read_from_replicas()` is sent as `FCALL_RO` (a read-only call a replica may
//! answer), across partitions and in one slot, with the master's rows; a
//! replica answers it (counted in its `INFO commandstats`).
#![allow(clippy::unwrap_used, missing_docs)]

use rom::prelude::*;
use rom::testing::RedisCluster;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = notes, partition(by = id, buckets = 8))]
struct Note {
    #[rom(primary_key)]
    id: Option<u64>,
    #[rom(index(eq))]
    topic: String,
    #[rom(index(numeric))]
    rank: i64,
}

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = pins)]
struct Pin {
    #[rom(primary_key)]
    id: Option<u64>,
    #[rom(index(numeric))]
    rank: i64,
}

/// `calls=` of `cmdstat_<cmd>` in a node's `INFO commandstats`.
fn calls(port: u16, cmd: &str) -> u64 {
    let mut c = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
        .unwrap()
        .get_connection()
        .unwrap();
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(&mut c)
        .unwrap();
    info.lines()
        .find(|l| l.starts_with(&format!("cmdstat_{cmd}:")))
        .and_then(|l| l.split("calls=").nth(1))
        .and_then(|r| r.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The number of keys a node holds.
fn dbsize(port: u16) -> u64 {
    let mut c = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
        .unwrap()
        .get_connection()
        .unwrap();
    redis::cmd("DBSIZE").query(&mut c).unwrap()
}

#[test]
fn a_query_from_replicas_is_answered_by_replicas() {
    let cluster = RedisCluster::start_with_replicas(3).unwrap();
    let mut c = cluster.connection().unwrap();
    for i in 0..60 {
        Note {
            id: None,
            topic: if i % 2 == 0 { "a".into() } else { "b".into() },
            rank: i,
        }
        .insert(&mut c)
        .unwrap();
        Pin { id: None, rank: i }.insert(&mut c).unwrap();
    }
    // every replica has caught up with its master (bounded wait)
    let slots: Vec<(u16, Vec<u16>)> = [0u16, 6000, 12000]
        .iter()
        .map(|&s| cluster.slot_nodes(s).unwrap())
        .collect();
    let start = std::time::Instant::now();
    while slots
        .iter()
        .any(|(m, rs)| rs.iter().any(|&r| dbsize(r) != dbsize(*m)))
    {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(20),
            "replicas lag"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let replicas: Vec<u16> = slots.iter().flat_map(|(_, rs)| rs.clone()).collect();
    let masters: Vec<u16> = slots.iter().map(|(m, _)| *m).collect();
    let on_replicas = |ports: &[u16]| ports.iter().map(|&p| calls(p, "fcall_ro")).sum::<u64>();
    let (r0, m0) = (on_replicas(&replicas), on_replicas(&masters));

    let mut rc = redis::cluster::ClusterClientBuilder::new(cluster.urls())
        .read_routing_strategy(redis::cluster_read_routing::RandomReplicaStrategy)
        .build()
        .unwrap()
        .get_connection()
        .unwrap();
    let want: Vec<i64> = (0..60).filter(|i| i % 2 == 0).rev().take(5).collect();
    let got: Vec<i64> = notes::table
        .across_partitions()
        .filter(notes::topic.eq("a"))
        .order_by(notes::rank.desc())
        .limit(5)
        .read_from_replicas()
        .load(&mut rc)
        .unwrap()
        .iter()
        .map(|n| n.rank)
        .collect();
    assert_eq!(got, want);
    let pins: Vec<i64> = pins::table
        .filter(pins::rank.ge(50))
        .order_by(pins::rank.asc())
        .read_from_replicas()
        .load(&mut rc)
        .unwrap()
        .iter()
        .map(|p| p.rank)
        .collect();
    assert_eq!(pins, (50..60).collect::<Vec<_>>());
    // the calls went read-only (FCALL_RO) to replicas: redis-rs routes a
    // read-only command to a replica of its slot when the connection reads
    // from replicas (and its topology, read when it connected, lists them)
    assert!(
        on_replicas(&replicas) >= r0 + 9,
        "8 buckets and one slot: at least 9 FCALL_RO on replicas"
    );
    assert_eq!(on_replicas(&masters), m0, "no FCALL_RO reached a master");
    // a replica answers it: a connection to the replica of `{pins}`'s slot
    // (READONLY: a replica serves reads of its master's slots)
    let slot: u16 = redis::cmd("CLUSTER")
        .arg("KEYSLOT")
        .arg("{pins}")
        .query(&mut c)
        .unwrap();
    let (_, pin_replicas) = cluster.slot_nodes(slot).unwrap();
    let replica = pin_replicas[0];
    let mut direct = redis::Client::open(format!("redis://127.0.0.1:{replica}/"))
        .unwrap()
        .get_connection()
        .unwrap();
    redis::cmd("READONLY").exec(&mut direct).unwrap();
    let before = calls(replica, "fcall_ro");
    let on_replica: Vec<i64> = pins::table
        .filter(pins::rank.ge(50))
        .order_by(pins::rank.asc())
        .read_from_replicas()
        .load(&mut direct)
        .unwrap()
        .iter()
        .map(|p| p.rank)
        .collect();
    assert_eq!(on_replica, (50..60).collect::<Vec<_>>());
    assert_eq!(
        calls(replica, "fcall_ro"),
        before + 1,
        "the replica ran the query"
    );
}
