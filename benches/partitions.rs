//! A partitioned model against the same model in one slot, on one local
//! 3-master Redis Cluster: the model is declared twice, unpartitioned
//! (`users_one`: one hash tag, so one slot on one master) and partitioned by
//! its key into 64 buckets (`users_part`: 21 or 22 buckets per master). Each
//! run (the cluster emptied first) times five phases, each for both models
//! one after the other (the order alternates between runs):
//!
//! 1. inserts of `--n` rows from `--tasks` tokio tasks, each with its own
//!    clone of the async cluster connection (`insert_async`): rows/s;
//! 2. `--n` gets by key from `--tasks` tasks (`get_async`): gets/s;
//! 3. `--queries` queries, sync, one after the other: the 20 oldest of a
//!    city (`filter(city.eq(..)).order_by(age.desc()).limit(20).load(..)`,
//!    through `across_partitions()` for the partitioned model, which makes
//!    one call per bucket, one after another): p50 and p99 latency;
//! 4. the same `--queries` queries on the async cluster connection, still
//!    one after the other (each awaited before the next), with `load_async`
//!    (through `across_partitions()` for the partitioned model, which sends
//!    every bucket's call at once, each on a clone of the connection): p50
//!    and p99 latency, and the same answers as phase 3 (its round trips
//!    count, for the partitioned model, the one pipeline rom tries first,
//!    which redis-rs refuses across slots before sending anything);
//! 5. `--queries` counts of a city, sync: p50 latency.
//!
//! ```text
//! cargo bench --features testing,tokio --bench partitions -- --bench [--n 20000] [--tasks 50] [--queries 500] [--runs 3]
//! ```
//!
//! It prints, per phase and model, the medians over the runs of the result,
//! the client's round trips per operation, the commands the servers ran per
//! operation (those run inside rom's server functions included), each
//! master's share of those commands (`INFO commandstats` on every master
//! before and after the phase, `info`, `cluster` and `ping` left out) and
//! each master's CPU time (`INFO cpu`). The masters share this machine's
//! cores (with the bench), so what spreading the work can gain in throughput
//! is bounded by the machine; the spread itself, and the cost of the fan-out,
//! are what it shows. Under `cargo test --benches` it runs once on small
//! numbers as a smoke test; every phase checks every answer (each get
//! returns the row inserted, each query and count answers what the rows
//! inserted give, and both models answer alike).

#![allow(missing_docs)]

mod common;
use common::server_cpu;
use rom::prelude::*;
use rom::testing::{CountingAsyncConnection, CountingConnection, RedisCluster};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

type Res<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;
type SyncConn = CountingConnection<redis::cluster::ClusterConnection>;
type AsyncConn = CountingAsyncConnection<redis::cluster_async::ClusterConnection>;

const CITIES: [&str; 10] = [
    "oslo", "lima", "kyiv", "rome", "nice", "bern", "riga", "doha", "baku", "pune",
];
const LIMIT: u64 = 20;
const BUCKETS: usize = 64;

/// A row as the queries show it: (key, name, age, city).
type Answer = (u64, String, i32, String);

/// Row `i` of the data set: (name, age, city). The city cycles, the age
/// cycles over 60 values within a city, and the name follows from both (so
/// rows tied on age in a city are alike but for their key, and the two
/// models, whose keys differ, give equal answers as (name, age, city)).
fn fields(i: u64) -> (String, i32, String) {
    let c = CITIES.len() as u64;
    (
        format!("user{}", i % (c * 60)),
        18 + ((i / c) % 60) as i32,
        CITIES[(i % c) as usize].to_owned(),
    )
}

/// What the bench needs of each of the two declarations.
trait Row: Model<Key = u64> {
    fn make(i: u64) -> Self;
    fn answer(&self) -> Answer;
    /// The 20 oldest of `city` (what is timed).
    fn query(c: &mut SyncConn, city: &str) -> Res<Vec<Record<Self>>>;
    /// The same on the async connection (what is timed).
    async fn query_async(c: &mut AsyncConn, city: &str) -> Res<Vec<Record<Self>>>;
    /// The rows of `city` (what is timed).
    fn count(c: &mut SyncConn, city: &str) -> Res<u64>;
}

/// The same model under two declarations; `$start` begins a query:
/// `into_query` for the unpartitioned one (what `table.filter(..)` does),
/// `across_partitions` for the partitioned one.
macro_rules! user {
    ($name:ident, $table:ident, $start:ident $(, $($part:tt)+)?) => {
        #[derive(Model, Clone, Debug, PartialEq)]
        #[rom(table = $table $(, $($part)+)?)]
        struct $name {
            #[rom(primary_key)]
            id: Option<u64>,
            #[rom(index(eq))]
            city: String,
            #[rom(index(numeric))]
            age: i32,
            name: String,
        }

        impl Row for $name {
            fn make(i: u64) -> Self {
                let (name, age, city) = fields(i);
                Self {
                    id: None,
                    city,
                    age,
                    name,
                }
            }
            fn answer(&self) -> Answer {
                (
                    self.id.unwrap_or(0),
                    self.name.clone(),
                    self.age,
                    self.city.clone(),
                )
            }
            fn query(c: &mut SyncConn, city: &str) -> Res<Vec<Record<Self>>> {
                Ok($table::table
                    .$start()
                    .filter($table::city.eq(city))
                    .order_by($table::age.desc())
                    .limit(LIMIT)
                    .load(c)?)
            }
            async fn query_async(c: &mut AsyncConn, city: &str) -> Res<Vec<Record<Self>>> {
                Ok($table::table
                    .$start()
                    .filter($table::city.eq(city))
                    .order_by($table::age.desc())
                    .limit(LIMIT)
                    .load_async(c)
                    .await?)
            }
            fn count(c: &mut SyncConn, city: &str) -> Res<u64> {
                Ok($table::table
                    .$start()
                    .filter($table::city.eq(city))
                    .count(c)?)
            }
        }
    };
}
user!(UserOne, users_one, into_query);
user!(
    UserPart,
    users_part,
    across_partitions,
    partition(by = id, buckets = 64)
);

const MODELS: [&str; 2] = ["unpartitioned", "partitioned, 64 buckets"];
const PHASES: [&str; 5] = [
    "insert",
    "get by key",
    "query, limit 20",
    "query, limit 20 (async)",
    "count of a city",
];

/// The bench's connections and sizes.
struct Env {
    rt: tokio::runtime::Runtime,
    sync: SyncConn,
    conn: AsyncConn,
    /// One plain connection per master, for INFO and FLUSHALL.
    masters: Vec<redis::Connection>,
    n: u64,
    tasks: u64,
    queries: u64,
}

/// Per master: commands run so far (but `info`, `cluster`, `ping`) and CPU
/// seconds.
fn snapshot(masters: &mut [redis::Connection]) -> Res<Vec<(u64, f64)>> {
    let mut out = Vec::with_capacity(masters.len());
    for m in masters {
        let info: String = redis::cmd("INFO").arg("commandstats").query(m)?;
        let calls = info
            .lines()
            .filter_map(|l| {
                let (name, rest) = l.strip_prefix("cmdstat_")?.split_once(':')?;
                let base = name.split('|').next()?;
                if matches!(base, "info" | "cluster" | "ping") {
                    return None;
                }
                rest.strip_prefix("calls=")?
                    .split(',')
                    .next()?
                    .parse::<u64>()
                    .ok()
            })
            .sum();
        let cpu = server_cpu(m).map_err(|e| e.to_string())?;
        out.push((calls, cpu));
    }
    Ok(out)
}

/// What one model did in one phase, over the runs.
#[derive(Default)]
struct Stat {
    /// rows/s, gets/s, or p50 latency in µs.
    main: Vec<f64>,
    /// p99 latency in µs (queries).
    p99: Vec<f64>,
    trips_per_op: Vec<f64>,
    cmds_per_op: Vec<f64>,
    /// Per run, per master: share of the commands in %.
    share: Vec<Vec<f64>>,
    /// Per run, per master: CPU ms.
    cpu_ms: Vec<Vec<f64>>,
}

/// Runs `f` (which does `ops` operations) and records what the servers and
/// the client did meanwhile.
fn measure<T>(
    env: &mut Env,
    stat: &mut Stat,
    ops: u64,
    f: impl FnOnce(&mut Env) -> Res<T>,
) -> Res<T> {
    let before = snapshot(&mut env.masters)?;
    env.sync.reset();
    env.conn.reset();
    let out = f(env)?;
    let trips = env.sync.round_trips() + env.conn.round_trips();
    let after = snapshot(&mut env.masters)?;
    let calls: Vec<u64> = before
        .iter()
        .zip(&after)
        .map(|(b, a)| a.0.saturating_sub(b.0))
        .collect();
    let total = calls.iter().sum::<u64>().max(1) as f64;
    stat.trips_per_op.push(trips as f64 / ops as f64);
    stat.cmds_per_op.push(total / ops as f64);
    stat.share
        .push(calls.iter().map(|&c| c as f64 * 100.0 / total).collect());
    stat.cpu_ms.push(
        before
            .iter()
            .zip(&after)
            .map(|(b, a)| (a.1 - b.1) * 1e3)
            .collect(),
    );
    Ok(out)
}

/// Phase 1: rows `0..n` inserted from `tasks` tasks (task `t` inserts rows
/// `t, t + tasks, ..`); the key of each row, by row.
async fn insert_rows<M: Row>(conn: &AsyncConn, n: u64, tasks: u64) -> Res<Vec<u64>> {
    let mut set = tokio::task::JoinSet::new();
    for t in 0..tasks {
        let mut c = conn.clone();
        set.spawn(async move {
            let mut keys = Vec::new();
            let mut i = t;
            while i < n {
                let rec = M::make(i).insert_async(&mut c).await?;
                keys.push((i, *rec.key()));
                i += tasks;
            }
            Res::Ok(keys)
        });
    }
    let mut keys = vec![0u64; n as usize];
    while let Some(r) = set.join_next().await {
        for (i, k) in r?? {
            keys[i as usize] = k;
        }
    }
    let distinct: HashSet<u64> = keys.iter().copied().collect();
    if distinct.len() != keys.len() || distinct.contains(&0) {
        return Err(format!("{} keys for {n} rows", distinct.len()).into());
    }
    Ok(keys)
}

/// Phase 2: `n` gets of random rows from `tasks` tasks, each checked.
async fn get_rows<M: Row>(conn: &AsyncConn, keys: Arc<Vec<u64>>, tasks: u64) -> Res<u64> {
    let n = keys.len() as u64;
    let mut set = tokio::task::JoinSet::new();
    for t in 0..tasks {
        let mut c = conn.clone();
        let keys = Arc::clone(&keys);
        set.spawn(async move {
            let mut x = (t + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
            let mut done = 0u64;
            for _ in 0..n / tasks {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let i = x % n;
                let key = keys[i as usize];
                let got = M::get_async(&mut c, key).await?.map(|r| r.answer());
                let (name, age, city) = fields(i);
                if got != Some((key, name, age, city)) {
                    return Err(format!("get {key} (row {i}): {got:?}").into());
                }
                done += 1;
            }
            Res::Ok(done)
        });
    }
    let mut done = 0;
    while let Some(r) = set.join_next().await {
        done += r??;
    }
    Ok(done)
}

/// What the query of each city must answer, given the rows' keys: its rows
/// by age descending, ties by key ascending, the first 20.
fn expected(keys: &[u64]) -> Vec<Vec<Answer>> {
    let mut by_city: Vec<Vec<Answer>> = vec![Vec::new(); CITIES.len()];
    for (i, &k) in keys.iter().enumerate() {
        let (name, age, city) = fields(i as u64);
        by_city[i % CITIES.len()].push((k, name, age, city));
    }
    for rows in &mut by_city {
        rows.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
        rows.truncate(LIMIT as usize);
    }
    by_city
}

/// Checks the answer of a query of `city` against `want`; the answer as
/// (name, age, city) (its keys zeroed: they differ between the models).
fn checked<M: Row>(city: &str, rows: &[Record<M>], want: &[Answer]) -> Res<Vec<Answer>> {
    let got: Vec<Answer> = rows.iter().map(|r| r.answer()).collect();
    if got != want {
        return Err(format!("{}: query of {city}: {got:?}, not {want:?}", M::SCHEMA.name).into());
    }
    Ok(got.into_iter().map(|(_, n, a, c)| (0, n, a, c)).collect())
}

/// Phase 3: the queries, one after another; their latencies in µs and their
/// answers as (name, age, city), each checked against the rows inserted.
fn run_queries<M: Row>(env: &mut Env, keys: &[u64]) -> Res<(Vec<f64>, Vec<Vec<Answer>>)> {
    let want = expected(keys);
    let mut lat = Vec::with_capacity(env.queries as usize);
    let mut answers = Vec::with_capacity(env.queries as usize);
    for q in 0..env.queries as usize {
        let city = CITIES[q % CITIES.len()];
        let t0 = Instant::now();
        let rows = M::query(&mut env.sync, city)?;
        lat.push(t0.elapsed().as_secs_f64() * 1e6);
        answers.push(checked(city, &rows, &want[q % CITIES.len()])?);
    }
    Ok((lat, answers))
}

/// Phase 4: the same queries on the async connection, each awaited before
/// the next; their latencies in µs and their answers, as in phase 3.
async fn run_queries_async<M: Row>(
    conn: &mut AsyncConn,
    keys: &[u64],
    queries: u64,
) -> Res<(Vec<f64>, Vec<Vec<Answer>>)> {
    let want = expected(keys);
    let mut lat = Vec::with_capacity(queries as usize);
    let mut answers = Vec::with_capacity(queries as usize);
    for q in 0..queries as usize {
        let city = CITIES[q % CITIES.len()];
        let t0 = Instant::now();
        let rows = M::query_async(conn, city).await?;
        lat.push(t0.elapsed().as_secs_f64() * 1e6);
        answers.push(checked(city, &rows, &want[q % CITIES.len()])?);
    }
    Ok((lat, answers))
}

/// Phase 5: the counts, one after another; their latencies in µs and the
/// counts, each checked.
fn run_counts<M: Row>(env: &mut Env) -> Res<(Vec<f64>, Vec<u64>)> {
    let mut lat = Vec::with_capacity(env.queries as usize);
    let mut counts = Vec::with_capacity(env.queries as usize);
    let cities = CITIES.len() as u64;
    for q in 0..env.queries {
        let c = q % cities;
        let t0 = Instant::now();
        let got = M::count(&mut env.sync, CITIES[c as usize])?;
        lat.push(t0.elapsed().as_secs_f64() * 1e6);
        // rows i < n with i % cities == c
        let want = env.n / cities + u64::from(env.n % cities > c);
        if got != want {
            return Err(format!("{}: count of city {c}: {got}, not {want}", M::SCHEMA.name).into());
        }
        counts.push(got);
    }
    Ok((lat, counts))
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn percentile(xs: &[f64], p: f64) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

/// The per-master medians of per-run, per-master figures.
fn per_master(runs: &[Vec<f64>]) -> Vec<f64> {
    (0..runs[0].len())
        .map(|m| median(runs.iter().map(|r| r[m]).collect()))
        .collect()
}

/// What one model gives in one run, for the comparison of the two.
#[derive(Default)]
struct RunOut {
    keys: Arc<Vec<u64>>,
    answers: Vec<Vec<Answer>>,
    answers_async: Vec<Vec<Answer>>,
    counts: Vec<u64>,
}

/// Phase `phase` of one run for model `M` (index `k`).
fn phase<M: Row>(
    env: &mut Env,
    stats: &mut [Stat; 2],
    k: usize,
    phase: usize,
    out: &mut RunOut,
) -> Res<()> {
    let (n, tasks, queries) = (env.n, env.tasks, env.queries);
    let stat = &mut stats[k];
    match phase {
        0 => {
            let (keys, secs) = measure(env, stat, n, |env| {
                let t0 = Instant::now();
                let keys = env.rt.block_on(insert_rows::<M>(&env.conn, n, tasks))?;
                Ok((keys, t0.elapsed().as_secs_f64()))
            })?;
            stat.main.push(n as f64 / secs);
            out.keys = Arc::new(keys);
        }
        1 => {
            let ops = n / tasks * tasks;
            let (done, secs) = measure(env, stat, ops, |env| {
                let t0 = Instant::now();
                let done =
                    env.rt
                        .block_on(get_rows::<M>(&env.conn, Arc::clone(&out.keys), tasks))?;
                Ok((done, t0.elapsed().as_secs_f64()))
            })?;
            stat.main.push(done as f64 / secs);
        }
        2 => {
            let keys = Arc::clone(&out.keys);
            let (lat, answers) = measure(env, stat, queries, |env| run_queries::<M>(env, &keys))?;
            stat.main.push(percentile(&lat, 0.5));
            stat.p99.push(percentile(&lat, 0.99));
            out.answers = answers;
        }
        3 => {
            let keys = Arc::clone(&out.keys);
            let (lat, answers) = measure(env, stat, queries, |env| {
                env.rt
                    .block_on(run_queries_async::<M>(&mut env.conn, &keys, queries))
            })?;
            stat.main.push(percentile(&lat, 0.5));
            stat.p99.push(percentile(&lat, 0.99));
            out.answers_async = answers;
        }
        _ => {
            let (lat, counts) = measure(env, stat, queries, run_counts::<M>)?;
            stat.main.push(percentile(&lat, 0.5));
            out.counts = counts;
        }
    }
    Ok(())
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let smoke = !args.iter().any(|a| a == "--bench");
    let (mut n, mut tasks, mut queries, mut runs) = (20_000u64, 50u64, 500u64, 3usize);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut num = || -> Res<u64> { Ok(it.next().ok_or("a value is missing")?.parse()?) };
        match a.as_str() {
            "--n" => n = num()?,
            "--tasks" => tasks = num()?,
            "--queries" => queries = num()?,
            "--runs" => runs = num()? as usize,
            _ => {}
        }
    }
    if smoke {
        // enough rows that the oldest of a city tie on age at the limit
        (n, tasks, queries, runs) = (1_500, 4, 5, 1);
    }
    if n == 0 || tasks == 0 || queries == 0 || runs == 0 || tasks > n {
        return Err(
            "--n, --tasks, --queries and --runs must be positive, --tasks at most --n".into(),
        );
    }
    let cluster = RedisCluster::start(3).map_err(|e| e.to_string())?;
    let masters = cluster
        .urls()
        .iter()
        .map(|u| redis::Client::open(u.as_str())?.get_connection())
        .collect::<Result<Vec<_>, _>>()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let client = cluster.client().map_err(|e| e.to_string())?;
    let conn = CountingAsyncConnection::new(rt.block_on(client.get_async_connection())?);
    let sync = CountingConnection::new(cluster.connection().map_err(|e| e.to_string())?);
    let mut env = Env {
        rt,
        sync,
        conn,
        masters,
        n,
        tasks,
        queries,
    };
    let mut stats: [[Stat; 2]; PHASES.len()] = Default::default();
    for run in 0..runs {
        for m in &mut env.masters {
            redis::cmd("FLUSHALL").exec(m)?;
        }
        let mut outs: [RunOut; 2] = Default::default();
        // the order of the two models alternates between runs
        let order = if run % 2 == 0 { [0, 1] } else { [1, 0] };
        for (p, phase_stats) in stats.iter_mut().enumerate() {
            for k in order {
                if k == 0 {
                    phase::<UserOne>(&mut env, phase_stats, 0, p, &mut outs[0])?;
                } else {
                    phase::<UserPart>(&mut env, phase_stats, 1, p, &mut outs[1])?;
                }
            }
        }
        let [one, part] = &outs;
        if one.answers != part.answers || one.answers.len() != queries as usize {
            return Err(format!("run {run}: the two models' query answers differ").into());
        }
        for (k, out) in outs.iter().enumerate() {
            if out.answers_async != out.answers {
                return Err(format!(
                    "run {run}, {}: the async queries answer otherwise than the sync ones",
                    MODELS[k]
                )
                .into());
            }
        }
        if one.counts != part.counts || one.counts.len() != queries as usize {
            return Err(format!("run {run}: the two models' counts differ").into());
        }
    }
    if smoke {
        println!(
            "partitions: smoke run passed (every get, query (sync and async) and count checked)"
        );
        return Ok(());
    }

    let ports = cluster.ports();
    println!(
        "\nThe same model unpartitioned (users_one: one slot) and partitioned by key into {BUCKETS} buckets \
         (users_part), on one local {}-master Redis Cluster (masters on ports {}, in slot order); \
         {n} rows inserted and {} gets from {tasks} tasks (one async cluster connection, cloned per task), \
         {queries} queries (sync, then async) and {queries} counts one after another; medians of {runs} run(s).\n\
         All {} masters run on this one machine ({} cores) and share its cores with the bench: \
         spreading the work over masters cannot raise throughput beyond what the machine has; \
         the spread of the commands, and the cost of the fan-out (one call per bucket: one after another on the sync \
         connection, all at once on the async one), are the point.\n",
        ports.len(),
        ports
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        n / tasks * tasks,
        ports.len(),
        std::thread::available_parallelism().map_or(0, |p| p.get()),
    );
    println!(
        "| phase | model | result | vs unpartitioned | round trips/op | server cmds/op | commands per master | server CPU ms per master |\n|---|---|---:|---:|---:|---:|---|---|"
    );
    for (p, phase_stats) in stats.iter().enumerate() {
        let base = median(phase_stats[0].main.clone());
        for (k, s) in phase_stats.iter().enumerate() {
            let main = median(s.main.clone());
            let result = match p {
                0 => format!("{main:.0} rows/s"),
                1 => format!("{main:.0} gets/s"),
                2 | 3 => format!("p50 {main:.0} µs, p99 {:.0} µs", median(s.p99.clone())),
                _ => format!("p50 {main:.0} µs"),
            };
            let vs = if k == 0 {
                String::new()
            } else if p < 2 {
                format!("{:.2}x throughput", main / base)
            } else {
                format!("{:.1}x latency", main / base)
            };
            let share = per_master(&s.share)
                .iter()
                .map(|x| format!("{x:.1}%"))
                .collect::<Vec<_>>()
                .join(" / ");
            let cpu = per_master(&s.cpu_ms);
            let cpu_text = format!(
                "{} (sum {:.0})",
                cpu.iter()
                    .map(|x| format!("{x:.0}"))
                    .collect::<Vec<_>>()
                    .join(" / "),
                cpu.iter().sum::<f64>()
            );
            println!(
                "| {} | {} | {result} | {vs} | {:.2} | {:.1} | {share} | {cpu_text} |",
                PHASES[p],
                MODELS[k],
                median(s.trips_per_op.clone()),
                median(s.cmds_per_op.clone()),
            );
        }
    }
    Ok(())
}
