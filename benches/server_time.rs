//! How long one rom call holds the server, at a data size where it matters
//! (issue: bounded server time). Redis runs one script at a time, so while a
//! call runs every other client waits: for each plan shape this bench runs
//! the operation while a second client sends `GET`s in a loop, and reports
//! the longest single call (from `SLOWLOG`, calls over 1 ms), the number of
//! calls over 1 ms, the operation's wall time, and the second client's p99
//! and longest latency during it (against the same on an idle server).
//!
//! Each shape runs twice in the same run: in one call (`Budget::UNBOUNDED`,
//! how rom ran before budgets) and with the default budget (in steps), and
//! the table shows the number of calls of each.
//!
//! `cargo bench --features testing --bench server_time -- --bench [--n 1000000] [--verify]`
//! (loading 1M rows takes a few minutes; `--verify` adds `verify`, which
//! takes minutes more). Under `cargo test` it runs once on small data, as a
//! smoke test.

#![allow(missing_docs, clippy::unwrap_used)]

use rom::prelude::*;
use rom::query::Budget;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

#[derive(Model, Clone, Debug)]
#[rom(table = people)]
pub struct Person {
    #[rom(primary_key)]
    pub id: Option<u64>,
    /// "n<i>-<random>": prefix- and suffix-searchable.
    #[rom(index(prefix), index(suffix))]
    pub name: String,
    #[rom(index(eq))]
    pub city: String,
    #[rom(index(numeric))]
    pub age: i32,
}

/// One plan shape's operation, under a budget.
type Op = Box<dyn FnMut(&mut redis::Connection, Budget)>;

fn rand(seed: &mut u64, m: u64) -> u64 {
    *seed = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (*seed >> 33) % m
}

fn load(c: &mut redis::Connection, n: usize) {
    let mut seed = 11;
    let mut i = 0;
    while i < n {
        let rows: Vec<Person> = (i..(i + 2000).min(n))
            .map(|k| Person {
                id: None,
                name: format!("n{k}-{}", rand(&mut seed, 1_000_000)),
                city: format!("c{}", rand(&mut seed, 50)),
                age: 18 + rand(&mut seed, 63) as i32,
            })
            .collect();
        i += rows.len();
        for r in Person::insert_all(c, rows).unwrap() {
            r.unwrap();
        }
    }
}

/// The p99 and the longest of a second client's `GET` latencies, in µs,
/// while `busy` holds.
fn prober(s: &rom::testing::RedisServer, busy: &AtomicBool) -> (f64, f64) {
    let mut c = s.connection().unwrap();
    let mut lat = Vec::new();
    while busy.load(Relaxed) {
        let t = Instant::now();
        let _: Option<String> = redis::cmd("GET").arg("probe").query(&mut c).unwrap();
        lat.push(t.elapsed().as_secs_f64() * 1e6);
    }
    if lat.is_empty() {
        return (0.0, 0.0);
    }
    lat.sort_by(f64::total_cmp);
    (
        lat[(lat.len() * 99 / 100).min(lat.len() - 1)],
        lat[lat.len() - 1],
    )
}

/// What one operation did to the server and to another client.
struct Measured {
    wall_ms: f64,
    calls: u64,
    longest_call_us: u64,
    calls_over_1ms: usize,
    p99_us: f64,
    max_us: f64,
}

/// Runs `op` while the prober runs.
fn measure(
    s: &rom::testing::RedisServer,
    c: &mut redis::Connection,
    op: &mut dyn FnMut(&mut redis::Connection),
) -> Measured {
    let _: () = redis::cmd("SLOWLOG").arg("RESET").query(c).unwrap();
    let _: () = redis::cmd("CONFIG").arg("RESETSTAT").query(c).unwrap();
    let busy = AtomicBool::new(true);
    let (wall, (p99, max)) = std::thread::scope(|scope| {
        // ROM_NO_PROBE=1: no second client (the calls' own time, without
        // a busy client competing for the CPU)
        let probe = scope.spawn(|| {
            if std::env::var_os("ROM_NO_PROBE").is_some() {
                while busy.load(Relaxed) {
                    std::thread::sleep(Duration::from_millis(1));
                }
                return (0.0, 0.0);
            }
            prober(s, &busy)
        });
        std::thread::sleep(Duration::from_millis(20));
        let t = Instant::now();
        op(c);
        let wall = t.elapsed().as_secs_f64() * 1e3;
        busy.store(false, Relaxed);
        (wall, probe.join().unwrap())
    });
    let log: Vec<redis::Value> = redis::cmd("SLOWLOG").arg("GET").arg(-1).query(c).unwrap();
    // the operation's calls: every function call (the prober sends GETs)
    let stats: String = redis::cmd("INFO").arg("commandstats").query(c).unwrap();
    let calls = stats
        .lines()
        .filter(|l| l.starts_with("cmdstat_fcall") || l.starts_with("cmdstat_evalsha"))
        .filter_map(|l| {
            l.split("calls=")
                .nth(1)?
                .split(',')
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum();
    let mut longest = 0u64;
    let mut slow = 0;
    for e in log {
        if let redis::Value::Array(f) = e
            && let Some(redis::Value::Int(us)) = f.get(2)
        {
            longest = longest.max(*us as u64);
            slow += 1;
        }
    }
    Measured {
        wall_ms: wall,
        calls,
        longest_call_us: longest,
        calls_over_1ms: slow,
        p99_us: p99,
        max_us: max,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let smoke = !args.iter().any(|a| a == "--bench");
    let n = if smoke {
        2_000
    } else {
        args.iter()
            .position(|a| a == "--n")
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(1_000_000)
    };
    let s = rom::testing::RedisServer::start().expect("redis-server");
    let mut c = s.connection().unwrap();
    let t = Instant::now();
    load(&mut c, n);
    println!(
        "server time per call: {n} rows loaded in {:.1?}",
        t.elapsed()
    );
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("slowlog-log-slower-than")
        .arg(1000)
        .query(&mut c)
        .unwrap();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("slowlog-max-len")
        .arg(100_000)
        .query(&mut c)
        .unwrap();
    let with_verify = args.iter().any(|a| a == "--verify");
    let idle = measure(&s, &mut c, &mut |_| {
        std::thread::sleep(Duration::from_millis(300))
    });
    println!(
        "second client's GET on an idle server: p99 {:.0} µs, longest {:.0} µs\n",
        idle.p99_us, idle.max_us
    );
    println!(
        "| plan shape | budget | wall ms | calls | longest call µs | calls over 1 ms | second client p99 µs | second client longest µs |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|");
    let shapes: Vec<(&str, Op)> = vec![
        (
            "like \"*1234*\" (scan), count",
            Box::new(|c, b| {
                std::hint::black_box(
                    people::table
                        .filter(people::name.like("*1234*"))
                        .budget(b)
                        .count(c)
                        .unwrap(),
                );
            }),
        ),
        (
            "not, count",
            Box::new(|c, b| {
                std::hint::black_box(
                    people::table
                        .filter(people::city.eq("c1").not())
                        .budget(b)
                        .count(c)
                        .unwrap(),
                );
            }),
        ),
        (
            "broad count (and of two indexes)",
            Box::new(|c, b| {
                std::hint::black_box(
                    people::table
                        .filter(
                            people::age
                                .ge(30)
                                .and(people::city.eq_any(["c1", "c2", "c3", "c4", "c5"])),
                        )
                        .budget(b)
                        .count(c)
                        .unwrap(),
                );
            }),
        ),
        (
            "broad load, no limit (ages 30-39)",
            Box::new(|c, b| {
                std::hint::black_box(
                    people::table
                        .filter(people::age.between(30..40))
                        .budget(b)
                        .ids(c)
                        .unwrap(),
                );
            }),
        ),
        (
            "delete by query (one city)",
            Box::new(|c, b| {
                // a city per run, each of the same size
                let city = if b == Budget::UNBOUNDED { "c7" } else { "c8" };
                std::hint::black_box(
                    people::table
                        .filter(people::city.eq(city))
                        .budget(b)
                        .delete(c)
                        .unwrap(),
                );
            }),
        ),
    ];
    let mut shapes = shapes;
    if with_verify || smoke {
        shapes.push((
            "verify (paged on its own)",
            Box::new(|c, b| {
                if b == Budget::UNBOUNDED {
                    std::hint::black_box(rom::verify::verify::<Person, _>(c).unwrap());
                }
            }),
        ));
    }
    for (name, mut op) in shapes {
        for (label, b) in [("none", Budget::UNBOUNDED), ("default", Budget::DEFAULT)] {
            let m = measure(&s, &mut c, &mut |c| op(c, b));
            println!(
                "| {name} | {label} | {:.0} | {} | {} | {} | {:.0} | {:.0} |",
                m.wall_ms, m.calls, m.longest_call_us, m.calls_over_1ms, m.p99_us, m.max_us
            );
        }
    }
}
