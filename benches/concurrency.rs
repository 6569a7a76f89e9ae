//! Gets by key from many tasks at once: 50 tokio tasks sharing one
//! `MultiplexedConnection` (each with its own clone), rom's `get_async`
//! against a hand-written `HGETALL` decoded into the same struct, on one
//! throwaway redis-server, interleaved over the runs.
//!
//! ```text
//! cargo bench --features testing --bench concurrency -- --bench [--n 10000] [--ops 100000] [--tasks 50] [--runs 3]
//! ```
//!
//! It prints gets/s for each way, their ratio, and the server's CPU time per
//! get. Under `cargo test --benches` it runs once on small numbers as a smoke
//! test and checks every answer.

#![allow(missing_docs)]

mod common;
use common::{User, server_cpu};
use rom::prelude::*;
use rom::testing::RedisServer;
use std::collections::HashMap;
use std::time::Instant;

type Res<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn user(i: u64) -> User {
    User {
        id: None,
        email: format!("u{i}@example.com"),
        name: format!("name{} other", i % 97),
        age: 18 + (i % 60) as i32,
        score: (i % 1000) as f64 / 4.0,
        created: 1_600_000_000 + i as i64,
        bio: "lorem ipsum dolor sit amet".into(),
    }
}

/// The hand-written read: HGETALL of `hu:<id>`, decoded field by field.
async fn hand_get(conn: &mut redis::aio::MultiplexedConnection, id: u64) -> Res<Option<User>> {
    let m: HashMap<String, String> = redis::cmd("HGETALL")
        .arg(format!("hu:{id}"))
        .query_async(conn)
        .await?;
    if m.is_empty() {
        return Ok(None);
    }
    let get = |f: &str| m.get(f).cloned().ok_or_else(|| format!("hu:{id}: no {f}"));
    Ok(Some(User {
        id: Some(id),
        email: get("email")?,
        name: get("name")?,
        age: get("age")?.parse()?,
        score: get("score")?.parse()?,
        created: get("created")?.parse()?,
        bio: get("bio")?,
    }))
}

/// `ops` gets spread over `tasks` tasks; every answer is checked.
async fn run_way(
    conn: &redis::aio::MultiplexedConnection,
    hand: bool,
    n: u64,
    ops: u64,
    tasks: u64,
) -> Res<()> {
    let mut set = tokio::task::JoinSet::new();
    for t in 0..tasks {
        let mut c = conn.clone();
        set.spawn(async move {
            let mut x = t.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
            for _ in 0..ops / tasks {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let id = x % n + 1;
                let email = if hand {
                    hand_get(&mut c, id).await?.map(|u| u.email)
                } else {
                    User::get_async(&mut c, id).await?.map(|r| r.email.clone())
                };
                if email.as_deref() != Some(user(id - 1).email.as_str()) {
                    return Err(format!("get {id}: {email:?}").into());
                }
            }
            Res::Ok(())
        });
    }
    while let Some(r) = set.join_next().await {
        r??;
    }
    Ok(())
}

/// The calls of each command the server ran so far (INFO commandstats).
fn command_calls(conn: &mut redis::Connection) -> Res<HashMap<String, u64>> {
    let info: String = redis::cmd("INFO").arg("commandstats").query(conn)?;
    Ok(info
        .lines()
        .filter_map(|l| {
            let (name, rest) = l.strip_prefix("cmdstat_")?.split_once(':')?;
            let calls = rest
                .strip_prefix("calls=")?
                .split(',')
                .next()?
                .parse()
                .ok()?;
            Some((name.to_owned(), calls))
        })
        .collect())
}

/// The commands run between two snapshots, per operation ("hgetall 1").
fn per_op(before: &HashMap<String, u64>, after: &HashMap<String, u64>, ops: f64) -> String {
    let mut out: Vec<(String, f64)> = after
        .iter()
        .filter(|(k, _)| k.as_str() != "info")
        .map(|(k, v)| {
            (
                k.clone(),
                (v - before.get(k).copied().unwrap_or(0)) as f64 / ops,
            )
        })
        .filter(|(_, v)| *v >= 0.005)
        .collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    out.iter()
        .map(|(k, v)| format!("{k} {v:.2}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let smoke = !args.iter().any(|a| a == "--bench");
    let (mut n, mut ops, mut tasks, mut runs) = (10_000u64, 100_000u64, 50u64, 3usize);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut num = || -> Res<u64> { Ok(it.next().ok_or("a value is missing")?.parse()?) };
        match a.as_str() {
            "--n" => n = num()?,
            "--ops" => ops = num()?,
            "--tasks" => tasks = num()?,
            "--runs" => runs = num()? as usize,
            _ => {}
        }
    }
    if smoke {
        (n, ops, tasks, runs) = (200, 2_000, 10, 1);
    }
    if n == 0 || ops == 0 || tasks == 0 || runs == 0 {
        return Err("--n, --ops, --tasks and --runs must be positive".into());
    }
    let server = RedisServer::start().map_err(|e| e.to_string())?;
    let mut sync = server.connection().map_err(|e| e.to_string())?;
    // the same rows in rom's layout and in the hand-written one
    let rows: Vec<User> = (0..n).map(user).collect();
    for part in rows.chunks(500) {
        for r in User::insert_all(&mut sync, part.to_vec())? {
            r?;
        }
        let mut p = redis::pipe();
        for u in part {
            // the row's key in rom (u<i>@... is row i + 1)
            let id = u.email[1..u.email.find('@').unwrap_or(1)].parse::<u64>()? + 1;
            p.cmd("HSET")
                .arg(format!("hu:{id}"))
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
        }
        p.query::<()>(&mut sync)?;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let client = server.client().map_err(|e| e.to_string())?;
    let conn = rt.block_on(client.get_multiplexed_async_connection())?;
    let mut results: [(Vec<f64>, Vec<f64>); 2] = Default::default();
    let mut commands = [String::new(), String::new()];
    for _ in 0..runs {
        for (i, hand) in [false, true].into_iter().enumerate() {
            let calls0 = command_calls(&mut sync)?;
            let cpu0 = server_cpu(&mut sync).map_err(|e| e.to_string())?;
            let t0 = Instant::now();
            rt.block_on(run_way(&conn, hand, n, ops, tasks))?;
            let secs = t0.elapsed().as_secs_f64();
            let cpu = server_cpu(&mut sync).map_err(|e| e.to_string())? - cpu0;
            let done = (ops / tasks * tasks) as f64;
            commands[i] = per_op(&calls0, &command_calls(&mut sync)?, done);
            results[i].0.push(done / secs);
            results[i].1.push(cpu * 1e6 / done);
        }
    }
    let (rom_s, hand_s) = (median(results[0].0.clone()), median(results[1].0.clone()));
    println!(
        "\n{ops} gets of {n} rows from {tasks} tasks on one multiplexed connection, medians of {runs} run(s)\n\n| way | gets/s | vs hand | server CPU us/get | server ran per get |\n|---|---:|---:|---:|---|"
    );
    println!(
        "| rom `get_async` | {rom_s:.0} | {:.2}x | {:.1} | {} |",
        rom_s / hand_s,
        median(results[0].1.clone()),
        commands[0]
    );
    println!(
        "| hand `HGETALL` | {hand_s:.0} | | {:.1} | {} |",
        median(results[1].1.clone()),
        commands[1]
    );
    Ok(())
}
