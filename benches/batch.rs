//! Batch inserts against single ones: the same rows (the workload's users)
//! written by one `insert` per row, by `insert_all` in chunks (one round trip
//! per chunk), and by a hand-written redis-rs program that pipelines one
//! `MULTI` per row in chunks, one after the other on one throwaway
//! redis-server (emptied before each), repeated over the runs.
//!
//! ```text
//! cargo bench --features testing --bench batch -- --bench [--n 10000] [--chunk 100] [--runs 3]
//! ```
//!
//! It prints rows/s, the ratio of `insert_all` to single inserts, and the
//! server's CPU time per row for each way (`INFO cpu`). Under `cargo test
//! --benches` it runs once on 300 rows as a smoke test and checks that every
//! way stored every row.

#![allow(missing_docs)]

mod common;
use common::{User, server_cpu, users};
use rom::prelude::*;
use rom::testing::RedisServer;
use std::time::Instant;

type Res<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn users(n: usize) -> Vec<User> {
    let mut seed: u64 = 11;
    let mut next = move |m: u64| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) % m
    };
    let words = ["ann", "bob", "cy", "dee", "eli", "fay", "gus", "hal"];
    (0..n)
        .map(|i| User {
            id: None,
            email: format!("User{i}.X@Example.com"),
            name: format!("{} {}", words[next(8) as usize], words[next(8) as usize]),
            age: 18 + next(60) as i32,
            score: next(100_000) as f64 / 100.0,
            created: 1_600_000_000 + next(100_000_000) as i64,
            bio: "lorem ipsum dolor sit amet consectetur adipiscing".into(),
        })
        .collect()
}

/// The hand-written way: per row a MULTI (the counter, the row's hash, the
/// email claimed with HSETNX, the word sets, the two scores, the id list),
/// pipelined `chunk` rows at a time: each row atomic, as with `insert_all`.
fn hand(conn: &mut redis::Connection, rows: &[User], chunk: usize) -> Res<()> {
    let mut next_id: u64 = redis::cmd("GET")
        .arg("hu:seq")
        .query::<Option<u64>>(conn)?
        .unwrap_or(0);
    for part in rows.chunks(chunk) {
        let mut p = redis::pipe();
        for u in part {
            next_id += 1;
            let id = next_id;
            let key = format!("hu:{id}");
            p.cmd("MULTI").ignore();
            p.cmd("SET").arg("hu:seq").arg(id).ignore();
            p.cmd("HSET")
                .arg(&key)
                .arg("email")
                .arg(&u.email)
                .arg("name")
                .arg(&u.name)
                .arg("age")
                .arg(u.age)
                .arg("score")
                .arg(u.score)
                .arg("created")
                .arg(u.created)
                .arg("bio")
                .arg(&u.bio)
                .ignore();
            p.cmd("HSETNX")
                .arg("hu:email")
                .arg(u.email.to_lowercase())
                .arg(id)
                .ignore();
            for w in u.name.split(' ') {
                p.cmd("SADD").arg(format!("hu:w:{w}")).arg(id).ignore();
            }
            p.cmd("ZADD").arg("hu:age").arg(u.age).arg(id).ignore();
            p.cmd("ZADD").arg("hu:score").arg(u.score).arg(id).ignore();
            p.cmd("ZADD").arg("hu:ids").arg(id).arg(id).ignore();
            p.cmd("EXEC").ignore();
        }
        // a pipeline of MULTI blocks: one round trip per chunk
        p.query::<()>(conn)?;
    }
    Ok(())
}

struct Way {
    name: &'static str,
    rows_s: Vec<f64>,
    server_us: Vec<f64>,
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let smoke = !args.iter().any(|a| a == "--bench");
    let mut n = 10_000usize;
    let mut chunk = 100usize;
    let mut runs = 3usize;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--n" => n = it.next().ok_or("--n needs a value")?.parse()?,
            "--chunk" => chunk = it.next().ok_or("--chunk needs a value")?.parse()?,
            "--runs" => runs = it.next().ok_or("--runs needs a value")?.parse()?,
            _ => {}
        }
    }
    if smoke {
        (n, runs) = (300, 1);
    }
    if n == 0 || chunk == 0 || runs == 0 {
        return Err("--n, --chunk and --runs must be positive".into());
    }
    let server = RedisServer::start()?;
    let rows = users(n);
    let mut ways = [
        Way {
            name: "insert, one per row",
            rows_s: vec![],
            server_us: vec![],
        },
        Way {
            name: "insert_all",
            rows_s: vec![],
            server_us: vec![],
        },
        Way {
            name: "hand, MULTI per row",
            rows_s: vec![],
            server_us: vec![],
        },
    ];
    for run in 0..runs {
        for (i, way) in ways.iter_mut().enumerate() {
            let mut c = server.connection()?;
            let _: () = redis::cmd("FLUSHALL").query(&mut c)?;
            // the function library is loaded before timing
            users::table.count(&mut c)?;
            let cpu0 = server_cpu(&mut c)?;
            let t0 = Instant::now();
            match i {
                0 => {
                    for u in &rows {
                        u.clone().insert(&mut c)?;
                    }
                }
                1 => {
                    for part in rows.chunks(chunk) {
                        for r in User::insert_all(&mut c, part.to_vec())? {
                            r?;
                        }
                    }
                }
                _ => hand(&mut c, &rows, chunk)?,
            }
            let secs = t0.elapsed().as_secs_f64();
            let cpu = server_cpu(&mut c)? - cpu0;
            let stored: u64 = if i == 2 {
                redis::cmd("ZCARD").arg("hu:ids").query(&mut c)?
            } else {
                users::table.count(&mut c)?
            };
            if stored != n as u64 {
                return Err(format!("{}: {stored} rows stored, expected {n}", way.name).into());
            }
            way.rows_s.push(n as f64 / secs);
            way.server_us.push(cpu * 1e6 / n as f64);
            if !smoke {
                println!(
                    "run {}: {:<22} {:>8.0} rows/s  server {:>6.1} us/row",
                    run + 1,
                    way.name,
                    n as f64 / secs,
                    cpu * 1e6 / n as f64
                );
            }
        }
    }
    let single = median(ways[0].rows_s.clone());
    println!(
        "\n{n} rows, chunks of {chunk}, medians of {runs} run(s)\n\n| way | rows/s | vs single inserts | server CPU us/row |\n|---|---:|---:|---:|"
    );
    for w in &ways {
        let r = median(w.rows_s.clone());
        println!(
            "| {} | {r:.0} | {:.2}x | {:.1} |",
            w.name,
            r / single,
            median(w.server_us.clone())
        );
    }
    Ok(())
}
