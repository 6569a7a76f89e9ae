//! A soak of expiry: many rows with random times to live, read, touched,
//! written and deleted by concurrent clients while they expire and a
//! sweeper reclaims them; then a last sweep, `verify` clean, and the
//! server's memory back to its baseline.
//!
//! `ROM_SOAK_ROWS` sets the number of rows (default 20,000; the closing
//! note of the expiry work reports a run at 100,000).
#![allow(clippy::unwrap_used, missing_docs)]

use rom::expiry::{self, ExpiryMethods as _};
use rom::prelude::*;
use rom::testing::RedisServer;
use rom::verify::verify;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = tokens, expires)]
pub struct Token {
    #[rom(primary_key)]
    pub id: Option<u64>,
    #[rom(unique)]
    pub code: String,
    #[rom(index(eq))]
    pub owner: u64,
    #[rom(index(numeric))]
    pub score: i64,
}

/// The longest time to live given.
const MAX_TTL_MS: u64 = 1_500;

fn used_memory(c: &mut redis::Connection) -> i64 {
    let info: String = redis::cmd("INFO").arg("memory").query(c).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap()
}

/// A small deterministic generator (no clock, no crate).
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn rows_expiring_under_concurrent_use_leave_nothing_behind() {
    let n: u64 = std::env::var("ROM_SOAK_ROWS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000);
    let s = RedisServer::start().unwrap();
    let mut c = s.connection().unwrap();
    // the library loaded, and one row written and removed: the baseline
    let warm = Token {
        id: None,
        code: "warm".into(),
        owner: 0,
        score: 0,
    }
    .insert(&mut c)
    .unwrap();
    warm.delete(&mut c).unwrap();
    let _: () = redis::cmd("DEL").arg("{tokens}:seq").query(&mut c).unwrap();
    let base = used_memory(&mut c);

    let started = Instant::now();
    let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
    for chunk in 0..n.div_ceil(1000) {
        let plans: Vec<_> = (chunk * 1000..((chunk + 1) * 1000).min(n))
            .map(|i| {
                Token {
                    id: None,
                    code: format!("c{i}"),
                    owner: i % 97,
                    score: (next(&mut rng) % 1000) as i64,
                }
                .insert_plan()
                .unwrap()
            })
            .collect();
        for r in rom::plan::run_all(plans, &mut c).unwrap() {
            r.unwrap();
        }
    }
    let inserted = started.elapsed();
    let peak = used_memory(&mut c);
    // nine rows in ten get a random time to live; the tenth stays
    let mut persistent = 0u64;
    for chunk in 0..n.div_ceil(1000) {
        let plans: Vec<_> = (chunk * 1000 + 1..=((chunk + 1) * 1000).min(n))
            .filter(|id| {
                let keep = id % 10 == 0;
                persistent += u64::from(keep);
                !keep
            })
            .map(|id| {
                let ttl = Duration::from_millis(100 + next(&mut rng) % (MAX_TTL_MS - 100));
                Token::touch_plan(&id, ttl).unwrap()
            })
            .collect();
        for r in rom::plan::run_all(plans, &mut c).unwrap() {
            assert!(r.unwrap());
        }
    }

    // concurrent readers and writers while rows expire
    let stop = AtomicBool::new(false);
    let reads = AtomicU64::new(0);
    let writes = AtomicU64::new(0);
    std::thread::scope(|scope| {
        for t in 0..2u64 {
            let (stop, reads, s) = (&stop, &reads, &s);
            scope.spawn(move || {
                let mut c = s.connection().unwrap();
                let mut seen = 0u64;
                while !stop.load(Relaxed) {
                    let owner = (t * 31 + seen) % 97;
                    let rows = tokens::table
                        .filter(tokens::owner.eq(owner).and(tokens::score.ge(500)))
                        .load(&mut c)
                        .unwrap();
                    assert!(rows.iter().all(|r| r.owner == owner && r.score >= 500));
                    let live = tokens::table.count(&mut c).unwrap();
                    assert!(live <= n + 1_000, "{live}");
                    seen = live;
                    reads.fetch_add(2, Relaxed);
                }
            });
        }
        let (stop, writes, s) = (&stop, &writes, &s);
        scope.spawn(move || {
            let mut c = s.connection().unwrap();
            let mut rng = 7u64;
            while !stop.load(Relaxed) {
                let id = 1 + next(&mut rng) % n;
                match next(&mut rng) % 3 {
                    0 => {
                        Token::touch(&mut c, &id, Duration::from_millis(200)).unwrap();
                    }
                    1 => {
                        // a new row taking the code of a row that may have expired
                        let t = Token {
                            id: None,
                            code: format!("c{}", next(&mut rng) % n),
                            owner: 1,
                            score: 1,
                        };
                        match t.insert_with_ttl(&mut c, Duration::from_millis(300)) {
                            Ok(_) | Err(Error::UniqueViolation { .. }) => {}
                            Err(e) => panic!("{e}"),
                        }
                    }
                    _ => {
                        Token::delete_many(&mut c, &[id]).unwrap();
                    }
                }
                writes.fetch_add(1, Relaxed);
            }
        });
        // a sweeper, as an application runs one
        scope.spawn(move || {
            let mut c = s.connection().unwrap();
            while !stop.load(Relaxed) {
                expiry::sweep::<Token, _>(&mut c).unwrap();
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        std::thread::sleep(Duration::from_millis(MAX_TTL_MS + 700));
        stop.store(true, Relaxed);
    });

    // the last writes' deadlines pass too; then only persistent rows are live
    std::thread::sleep(Duration::from_millis(400));
    let swept = expiry::sweep::<Token, _>(&mut c).unwrap();
    let report = verify::<Token, _>(&mut c).unwrap();
    assert!(
        report.is_clean(),
        "{:?}",
        &report.problems[..report.problems.len().min(5)]
    );
    assert_eq!(report.expired, 0);
    let live = tokens::table.count(&mut c).unwrap();
    assert!(
        live <= persistent,
        "{live} live rows, {persistent} persistent"
    );
    assert_eq!(live, report.rows);
    // and once they are deleted too, memory is back where it started
    let keys: Vec<u64> = tokens::table.ids(&mut c).unwrap();
    Token::delete_many(&mut c, &keys).unwrap();
    let _: () = redis::cmd("DEL").arg("{tokens}:seq").query(&mut c).unwrap();
    let dbsize: u64 = redis::cmd("DBSIZE").query(&mut c).unwrap();
    assert_eq!(dbsize, 0, "no key left behind");
    let end = used_memory(&mut c);
    println!(
        "soak: {n} rows inserted in {inserted:?}; {} reads and {} writes while they expired; the last sweep took {} rows; memory {base} B before, {peak} B with the rows, {end} B after",
        reads.load(Relaxed),
        writes.load(Relaxed),
        swept.expired
    );
    // what stays is the server's own (buffers, the Lua heap): small against
    // what the rows took
    assert!(
        end - base < (peak - base) / 20,
        "memory {base} -> {peak} -> {end}"
    );
}
