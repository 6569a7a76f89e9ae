//! Native structures, side by side with hand-written redis-rs doing the same
//! Redis work, in one run, against a throwaway redis-server the bench starts
//! itself. For each operation it prints ops/s of both, the ratio rom / hand,
//! and server CPU µs per operation of both.
//!
//! The hand-written side is what an expert would write with the same
//! guarantees: reads are the same single command on the same key; a write to
//! a row's list is one small Lua script that checks the row exists, pushes,
//! and bumps a version (atomic, one round trip), as rom's save does.
//!
//! `cargo bench --features testing --bench structures -- --bench [--n 1000] [--ops 5000]`.
//! Under `cargo test` it runs once on small data, as a smoke test.

#![allow(missing_docs, clippy::unwrap_used)]

use rom::prelude::*;
use rom::structure::{List, Set, SortedSet};
use std::hint::black_box;
use std::time::Instant;

#[derive(Model, Clone, Debug)]
#[rom(table = feeds)]
pub struct Feed {
    #[rom(primary_key)]
    pub id: Option<u64>,
    pub name: String,
    pub events: List<String>,
    #[rom(index(eq))]
    pub tags: Set<String>,
    pub ranks: SortedSet<String>,
}

fn server_cpu(c: &mut redis::Connection) -> f64 {
    let info: String = redis::cmd("INFO").arg("cpu").query(c).unwrap();
    let get = |k: &str| -> f64 {
        info.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}:")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0.0)
    };
    get("used_cpu_user") + get("used_cpu_sys")
}

/// ops/s and server µs/op of `f` run `ops` times.
fn time(
    c: &mut redis::Connection,
    ops: usize,
    mut f: impl FnMut(&mut redis::Connection, usize),
) -> (f64, f64) {
    let cpu = server_cpu(c);
    let t = Instant::now();
    for i in 0..ops {
        f(c, i);
    }
    let secs = t.elapsed().as_secs_f64();
    let scpu = server_cpu(c) - cpu;
    (ops as f64 / secs, scpu * 1e6 / ops as f64)
}

/// The hand-written atomic append: the row must exist; push; bump the
/// version field.
const APPEND: &str = "if redis.call('EXISTS', KEYS[1]) == 0 then return false end \
    redis.call('RPUSH', KEYS[2], ARGV[1]) \
    return redis.call('HINCRBY', KEYS[1], '#v:events', 1)";

type Op = Box<dyn FnMut(&mut redis::Connection, usize)>;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let smoke = !args.iter().any(|a| a == "--bench");
    let arg = |name: &str, default: usize| -> usize {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (n, ops) = if smoke {
        (20, 40)
    } else {
        (arg("--n", 1_000), arg("--ops", 5_000))
    };
    let server = rom::testing::RedisServer::start().expect("redis-server");
    let mut c = server.connection().expect("connect");
    let mut rows = Vec::new();
    for i in 0..n {
        let mut f = Feed {
            id: None,
            name: format!("feed{i}"),
            events: List::new(),
            tags: Set::new(),
            ranks: SortedSet::new(),
        };
        for e in 0..100 {
            f.events.push_back(format!("event {e}"));
            f.ranks.insert(format!("m{e}"), e as f64);
        }
        f.tags.insert(format!("tag{}", i % 10));
        rows.push(f.insert(&mut c).unwrap());
    }
    // the keys, as the key layout names them (ARCHITECTURE.md, "Key layout")
    let list_keys: Vec<String> = (0..n)
        .map(|i| format!("{{feeds}}:st:events:{}", i + 1))
        .collect();
    assert!(
        rows[0]
            .events
            .len_plan()
            .unwrap()
            .explain()
            .contains(&list_keys[0])
    );
    let row_keys: Vec<String> = (0..n).map(|i| format!("{{feeds}}:row:{}", i + 1)).collect();
    let zset_keys: Vec<String> = (0..n)
        .map(|i| format!("{{feeds}}:st:ranks:{}", i + 1))
        .collect();
    let set_keys: Vec<String> = (0..n)
        .map(|i| format!("{{feeds}}:st:tags:{}", i + 1))
        .collect();
    let append = redis::Script::new(APPEND);

    let mut recs = rows.clone();
    let pairs: Vec<(&str, Op, Op)> = vec![
        (
            "list append (atomic, at save)",
            Box::new(move |c, i| {
                let r = &mut recs[i % n];
                r.events.push_back(format!("x{i}"));
                r.save(c).unwrap();
            }),
            Box::new({
                let (rk, lk, s) = (row_keys.clone(), list_keys.clone(), append.clone());
                move |c, i| {
                    let v: Option<i64> = s
                        .key(&rk[i % n])
                        .key(&lk[i % n])
                        .arg(format!("x{i}"))
                        .invoke(c)
                        .unwrap();
                    black_box(v.unwrap());
                }
            }),
        ),
        (
            "list len",
            Box::new({
                let rows = rows.clone();
                move |c, i| {
                    black_box(rows[i % n].events.len(c).unwrap());
                }
            }),
            Box::new({
                let lk = list_keys.clone();
                move |c, i| {
                    let v: u64 = redis::cmd("LLEN").arg(&lk[i % n]).query(c).unwrap();
                    black_box(v);
                }
            }),
        ),
        (
            "list range of 10",
            Box::new({
                let rows = rows.clone();
                move |c, i| {
                    black_box(rows[i % n].events.range(0, 9, c).unwrap());
                }
            }),
            Box::new({
                let lk = list_keys.clone();
                move |c, i| {
                    let v: Vec<String> = redis::cmd("LRANGE")
                        .arg(&lk[i % n])
                        .arg(0)
                        .arg(9)
                        .query(c)
                        .unwrap();
                    black_box(v);
                }
            }),
        ),
        (
            "set contains",
            Box::new({
                let rows = rows.clone();
                move |c, i| {
                    black_box(
                        rows[i % n]
                            .tags
                            .contains(&format!("tag{}", i % 10), c)
                            .unwrap(),
                    );
                }
            }),
            Box::new({
                let sk = set_keys.clone();
                move |c, i| {
                    let v: bool = redis::cmd("SISMEMBER")
                        .arg(&sk[i % n])
                        .arg(format!("tag{}", i % 10))
                        .query(c)
                        .unwrap();
                    black_box(v);
                }
            }),
        ),
        (
            "sorted set top 10",
            Box::new({
                let rows = rows.clone();
                move |c, i| {
                    black_box(rows[i % n].ranks.rev_range(0, 9, c).unwrap());
                }
            }),
            Box::new({
                let zk = zset_keys.clone();
                move |c, i| {
                    let v: Vec<(String, f64)> = redis::cmd("ZRANGE")
                        .arg(&zk[i % n])
                        .arg(0)
                        .arg(9)
                        .arg("REV")
                        .arg("WITHSCORES")
                        .query(c)
                        .unwrap();
                    black_box(v);
                }
            }),
        ),
    ];
    println!(
        "native structures: {n} rows of 100 list elements and 100 scored members, {ops} operations each\n"
    );
    println!(
        "| operation | rom ops/s | hand ops/s | rom / hand | rom server µs/op | hand server µs/op |"
    );
    println!("|---|---|---|---|---|---|");
    for (name, mut r, mut h) in pairs {
        // alternate halves so that drift hits both alike
        let (r1, rs1) = time(&mut c, ops / 2, &mut r);
        let (h1, hs1) = time(&mut c, ops / 2, &mut h);
        let (r2, rs2) = time(&mut c, ops / 2, |c, i| r(c, i + ops));
        let (h2, hs2) = time(&mut c, ops / 2, |c, i| h(c, i + ops));
        let (ro, ho) = ((r1 + r2) / 2.0, (h1 + h2) / 2.0);
        println!(
            "| {name} | {ro:.0} | {ho:.0} | {:.2}x | {:.1} | {:.1} |",
            ro / ho,
            (rs1 + rs2) / 2.0,
            (hs1 + hs2) / 2.0
        );
    }
}
