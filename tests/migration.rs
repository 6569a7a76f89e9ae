//! A Redis Cluster slot migration while a client keeps using the model: every
//! key a script reads or writes is either declared (the cluster redirects the
//! call) or read before any write through a guard that turns "this key lives
//! on the other node now" into TRYAGAIN, which the cluster client retries. So
//! the client sees no error that a retry would not cure, nothing is half
//! written, and `verify` is clean afterwards.
mod common;
use common::*;
use rom::testing::RedisCluster;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = tickets)]
struct Ticket {
    #[rom(primary_key)]
    id: Option<u64>,
    #[rom(unique(case_insensitive))]
    code: String,
    #[rom(index(eq))]
    state: String,
    #[rom(index(numeric))]
    weight: i64,
    #[rom(index(text))]
    note: Option<String>,
}

fn node_id(c: &mut redis::Connection) -> String {
    redis::cmd("CLUSTER").arg("MYID").query(c).expect("myid")
}

/// Whether an error is one a caller would retry: the cluster was moving the
/// slot (TRYAGAIN, ASK, MOVED, a refused connection during the switch).
fn retryable(e: &Error) -> bool {
    match e {
        Error::Redis(r) => {
            matches!(
                r.kind(),
                redis::ErrorKind::Server(redis::ServerErrorKind::TryAgain)
                    | redis::ErrorKind::Server(redis::ServerErrorKind::Ask)
                    | redis::ErrorKind::Server(redis::ServerErrorKind::Moved)
            ) || r.to_string().contains("TRYAGAIN")
        }
        _ => false,
    }
}

#[test]
fn operations_during_a_slot_migration() {
    let cluster = RedisCluster::start(3).expect("cluster");
    let urls = cluster.urls();
    let mut nodes: Vec<redis::Connection> = urls
        .iter()
        .map(|u| {
            redis::Client::open(u.as_str())
                .expect("client")
                .get_connection()
                .expect("node connection")
        })
        .collect();
    let slot: u16 = redis::cmd("CLUSTER")
        .arg("KEYSLOT")
        .arg("{tickets}")
        .query(&mut nodes[0])
        .expect("keyslot");
    let owner = |n: &mut redis::Connection| -> u64 {
        redis::cmd("CLUSTER")
            .arg("COUNTKEYSINSLOT")
            .arg(slot)
            .query(n)
            .unwrap_or(0)
    };
    // seed data through the cluster client
    let mut c = cluster.connection().expect("connect");
    for i in 0..300 {
        Ticket {
            id: None,
            code: format!("T{i}"),
            state: ["open", "done", "held"][i % 3].into(),
            weight: (i % 17) as i64,
            note: (i % 2 == 0).then(|| format!("word{} common", i % 5)),
        }
        .insert(&mut c)
        .expect("seed");
    }
    let src = (0..nodes.len())
        .find(|&i| owner(&mut nodes[i]) > 0)
        .expect("a node owns the slot");
    let dst = (src + 1) % nodes.len();
    let (src_id, dst_id) = (node_id(&mut nodes[src]), node_id(&mut nodes[dst]));

    let stop = Arc::new(AtomicBool::new(false));
    let done_ops = Arc::new(AtomicU64::new(0));
    let retried = Arc::new(AtomicU64::new(0));
    // one thread per kind of operation, so that one waiting out a TRYAGAIN
    // does not keep the others from running during the migration
    let workers: Vec<_> = (0..8u64)
        .map(|kind| {
            let stop = stop.clone();
            let done_ops = done_ops.clone();
            let retried = retried.clone();
            let mut c = cluster.connection().expect("connect");
            std::thread::spawn(move || -> Vec<String> {
                let mut bad = Vec::new();
                let mut i = 1000 * (kind + 1);
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    let k = i % 300 + 1;
                    let r = one_op(&mut c, kind, i, k);
                    match r {
                        Ok(()) => {}
                        Err(e) if retryable(&e) => {
                            retried.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => bad.push(format!("op {kind}: {e:?}")),
                    }
                    done_ops.fetch_add(1, Ordering::Relaxed);
                }
                bad
            })
        })
        .collect();

    // migrate the slot in small batches while the worker runs
    while done_ops.load(Ordering::Relaxed) < 200 {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let before = done_ops.load(Ordering::Relaxed);
    let dst_port = cluster.ports()[dst];
    redis::cmd("CLUSTER")
        .arg("SETSLOT")
        .arg(slot)
        .arg("IMPORTING")
        .arg(&src_id)
        .exec(&mut nodes[dst])
        .expect("importing");
    redis::cmd("CLUSTER")
        .arg("SETSLOT")
        .arg(slot)
        .arg("MIGRATING")
        .arg(&dst_id)
        .exec(&mut nodes[src])
        .expect("migrating");
    let mut batches = 0;
    loop {
        let keys: Vec<Vec<u8>> = redis::cmd("CLUSTER")
            .arg("GETKEYSINSLOT")
            .arg(slot)
            .arg(3)
            .query(&mut nodes[src])
            .expect("getkeysinslot");
        if keys.is_empty() {
            break;
        }
        let mut m = redis::cmd("MIGRATE");
        m.arg("127.0.0.1")
            .arg(dst_port)
            .arg("")
            .arg(0)
            .arg(5000)
            .arg("KEYS")
            .arg(keys);
        m.exec(&mut nodes[src]).expect("migrate");
        batches += 1;
        std::thread::sleep(std::time::Duration::from_millis(15));
    }
    for n in nodes.iter_mut() {
        redis::cmd("CLUSTER")
            .arg("SETSLOT")
            .arg(slot)
            .arg("NODE")
            .arg(&dst_id)
            .exec(n)
            .expect("assign");
    }
    let during = done_ops.load(Ordering::Relaxed) - before;
    stop.store(true, Ordering::Relaxed);
    let bad: Vec<String> = workers
        .into_iter()
        .flat_map(|w| w.join().expect("worker"))
        .collect();
    println!(
        "{batches} batches, {} operations, {} retryable errors",
        done_ops.load(Ordering::Relaxed),
        retried.load(Ordering::Relaxed)
    );
    println!("{during} operations ran while the slot was migrating");
    assert!(batches > 10, "the migration moved only {batches} batches");
    assert!(
        during > 100,
        "only {during} operations overlapped the migration"
    );
    assert!(bad.is_empty(), "non-retryable errors: {bad:#?}");
    assert_eq!(owner(&mut nodes[src]), 0);
    // everything is on the new node and consistent
    let r = rom::verify::verify::<Ticket, _>(&mut nodes[dst]).expect("verify");
    assert!(r.is_clean(), "verify: {:#?}", r.problems);
    let mut c = cluster.connection().expect("connect");
    assert!(tickets::table.count(&mut c).expect("count") >= 300);
}

fn one_op(c: &mut redis::cluster::ClusterConnection, kind: u64, i: u64, k: u64) -> rom::Result<()> {
    match kind {
        0 => Ticket {
            id: None,
            code: format!("N{i}"),
            state: "open".into(),
            weight: (i % 9) as i64,
            note: Some("fresh common".into()),
        }
        .insert(c)
        .map(|_| ()),
        1 => Ticket::get(c, k).map(|_| ()),
        2 => tickets::table
            .filter(tickets::code.eq(format!("t{k}")))
            .first(c)
            .optional()
            .map(|_| ()),
        3 => tickets::table
            .filter(tickets::state.eq("open"))
            .filter(tickets::weight.ge(3))
            .order_by(tickets::weight.desc())
            .limit(5)
            .load(c)
            .map(|_| ()),
        4 => tickets::table
            .filter(tickets::note.has_word("common"))
            .count(c)
            .map(|_| ()),
        5 => match Ticket::get(c, k) {
            Ok(Some(mut t)) => {
                t.weight += 1;
                t.state = "held".into();
                match t.save(c) {
                    Err(Error::Conflict { .. }) => Ok(()),
                    other => other,
                }
            }
            Ok(None) => Ok(()),
            Err(e) => Err(e),
        },
        6 => Ticket::delete_many(c, &[k + 2000]).map(|_| ()),
        _ => Ticket::get_many(c, &[k, k + 1, k + 2]).map(|_| ()),
    }
}
