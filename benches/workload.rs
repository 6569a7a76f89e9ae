//! The standard workload (`../shared/bench/WORKLOAD.md`): rom (sync), rom
//! (async, on a tokio `MultiplexedConnection`) and a hand-written redis-rs
//! program doing the same work the way a Redis expert would, side by side in
//! one run against one redis-server.
//!
//! ```text
//! cargo bench --bench workload -- [--n 10000] [--m 1000]
//!     [--phases a,b,c,c2,d,e,f,g,h] [--impls rom,async,hand] [--runs 1]
//!     [--url redis://127.0.0.1:6379/0] [--data path/to/users.jsonl] [--compare]
//! ```
//!
//! - Without `--url` the bench starts its own redis-server (on a unix socket,
//!   through `rom::testing::RedisServer`; the `testing` feature comes with the
//!   dev-dependencies, so no `--features` flag is needed). With `--url` it uses
//!   that server and **FLUSHDBs three databases**: the URL's database `d`
//!   (rom sync), `d + 1` (rom async) and `d + 2` (hand-written).
//! - `--data` defaults to `../shared/bench/data/users-10k.jsonl` beside the
//!   repository; the first `--n` lines are loaded (line i gets key i).
//! - Phase `a` (insert) always runs: the others need its data.
//! - `--runs R` repeats the whole workload R times (from empty databases) and
//!   the final table shows the median of each figure.
//! - rom's model gives `name` a full-text index (`index(text)`), so phase e
//!   runs for rom too (`users::name.has_word(w)`).
//! - The hand-written program also runs phase d a second way, `hand-walk`
//!   (walk the score index, test ages with ZMSCORE), shown as its own row.
//!
//! The implementations run interleaved, phase by phase, each in its own
//! database, so every phase starts from the same data for each of them. Per
//! phase and implementation it prints ops/s, p50 and p99 latency, round trips
//! per operation (counted at the connection), CPU time per operation on the
//! client (this thread, from /proc) and on the server (INFO cpu), the ratios
//! of ops/s and of p50 to the hand-written program, and after phase a the
//! memory per entity (INFO `used_memory` delta / N). With its own server it
//! also prints the commands the server ran per operation (INFO commandstats).
//!
//! `--compare` adds a table of rom (sync) against the hand-written program
//! per phase: the ratio of ops/s, server CPU per operation for each and its
//! ratio, and the commands the server ran per operation for each (commands
//! inside a script or a MULTI included; with its own server only), so a
//! regression on either side shows.
//!
//! Every answer is checked against an in-memory oracle computed from the
//! loaded data (and, on the standard 10k set, against the answers in
//! WORKLOAD.md); any difference makes the bench exit non-zero.
//!
//! Run by `cargo test --benches` / `--all-targets` (no `--bench` argument), it
//! runs a quick smoke instead: N = 200, M = 20, all phases, all checks.

mod common;
use common::{User, server_cpu, users};
use rom::prelude::*;
use rom::testing::{CountingAsyncConnection, CountingConnection, RedisServer};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

type Res<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// One line of the data file.
#[derive(serde::Deserialize, Clone, Debug)]
struct Row {
    email: String,
    name: String,
    age: i32,
    score: f64,
    created: i64,
    bio: String,
}

impl Row {
    fn to_user(&self) -> User {
        User {
            id: None,
            email: self.email.clone(),
            name: self.name.clone(),
            age: self.age,
            score: self.score,
            created: self.created,
            bio: self.bio.clone(),
        }
    }
}

const AGE_LO: i32 = 20;
const AGE_HI: i32 = 30;
const LIMIT: usize = 10;

// ---------------------------------------------------------------------------
// configuration

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    A,
    B,
    C,
    C2,
    D,
    E,
    F,
    G,
    H,
}

impl Phase {
    const ALL: [Phase; 9] = [
        Phase::A,
        Phase::B,
        Phase::C,
        Phase::C2,
        Phase::D,
        Phase::E,
        Phase::F,
        Phase::G,
        Phase::H,
    ];
    fn code(self) -> &'static str {
        match self {
            Phase::A => "a",
            Phase::B => "b",
            Phase::C => "c",
            Phase::C2 => "c2",
            Phase::D => "d",
            Phase::E => "e",
            Phase::F => "f",
            Phase::G => "g",
            Phase::H => "h",
        }
    }
    fn label(self) -> &'static str {
        match self {
            Phase::A => "a insert",
            Phase::B => "b get by key",
            Phase::C => "c by email",
            Phase::C2 => "c2 email, lower",
            Phase::D => "d range+order",
            Phase::E => "e word+range",
            Phase::F => "f count",
            Phase::G => "g update",
            Phase::H => "h delete",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Which {
    Rom,
    RomAsync,
    Hand,
}

struct Config {
    n: usize,
    m: usize,
    phases: Vec<Phase>,
    impls: Vec<Which>,
    url: Option<String>,
    data: PathBuf,
    runs: usize,
    smoke: bool,
    /// `--compare`: also a table of rom against the hand-written program in
    /// server CPU and server commands per operation.
    compare: bool,
    /// `--instructions <file>`: the server runs under valgrind's callgrind
    /// with that `--callgrind-out-file` (scripts/server-instructions.sh);
    /// each timed phase is counted alone, in instructions per operation.
    instructions: Option<PathBuf>,
}

const USAGE: &str = "usage: cargo bench --bench workload -- [--n 10000] [--m 1000] \
[--phases a,b,c,c2,d,e,f,g,h] [--impls rom,async,hand] [--runs 1] [--url redis://...] [--data users.jsonl] [--compare] [--instructions callgrind.out]";

fn default_data() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/bench/data/users-10k.jsonl")
}

fn parse_args() -> Res<Config> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // cargo bench passes --bench; cargo test (test mode) does not
    let smoke = !args.iter().any(|a| a == "--bench");
    let mut c = Config {
        n: 10_000,
        m: 1_000,
        phases: Phase::ALL.to_vec(),
        impls: vec![Which::Rom, Which::RomAsync, Which::Hand],
        url: None,
        data: default_data(),
        runs: 1,
        smoke,
        compare: false,
        instructions: None,
    };
    if smoke {
        // test mode: a quick smoke of every phase; the arguments are the test
        // harness's (--nocapture...), not ours
        c.n = 200;
        c.m = 20;
        return Ok(c);
    }
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (a.clone(), None),
        };
        let mut value = || -> Res<String> {
            match inline.clone().or_else(|| it.next()) {
                Some(v) => Ok(v),
                None => Err(format!("{flag} needs a value\n{USAGE}").into()),
            }
        };
        match flag.as_str() {
            "--bench" => {}
            "--compare" => c.compare = true,
            "--instructions" => c.instructions = Some(PathBuf::from(value()?)),
            "--n" => c.n = value()?.parse()?,
            "--m" => c.m = value()?.parse()?,
            "--runs" => c.runs = value()?.parse()?,
            "--url" => c.url = Some(value()?),
            "--data" => c.data = PathBuf::from(value()?),
            "--phases" => {
                let v = value()?;
                let mut ps = vec![Phase::A];
                for p in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    let ph = Phase::ALL
                        .into_iter()
                        .find(|x| x.code() == p)
                        .ok_or_else(|| format!("unknown phase {p:?}\n{USAGE}"))?;
                    if !ps.contains(&ph) {
                        ps.push(ph);
                    }
                }
                // always in workload order
                ps.sort_by_key(|p| Phase::ALL.iter().position(|x| x == p));
                c.phases = ps;
            }
            "--impls" => {
                let v = value()?;
                c.impls = v
                    .split(',')
                    .map(|s| match s.trim() {
                        "rom" => Ok(Which::Rom),
                        "async" | "rom-async" => Ok(Which::RomAsync),
                        "hand" => Ok(Which::Hand),
                        other => Err(format!("unknown implementation {other:?}\n{USAGE}")),
                    })
                    .collect::<std::result::Result<_, _>>()?;
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}\n{USAGE}").into()),
        }
    }
    if c.n == 0 || c.m == 0 || c.runs == 0 {
        return Err("--n, --m and --runs must be positive".into());
    }
    Ok(c)
}

// ---------------------------------------------------------------------------
// data, words, deterministic shuffles

fn load_rows(c: &Config) -> Res<Vec<Row>> {
    let text = match std::fs::read_to_string(&c.data) {
        Ok(t) => t,
        Err(e) if c.smoke => {
            println!(
                "smoke: {} not readable ({e}); using {} generated users",
                c.data.display(),
                c.n
            );
            return Ok(generated_rows(c.n));
        }
        Err(e) => return Err(format!("reading {}: {e}", c.data.display()).into()),
    };
    let rows: Vec<Row> = text
        .lines()
        .take(c.n)
        .map(serde_json::from_str)
        .collect::<std::result::Result<_, _>>()?;
    if rows.len() < c.n {
        return Err(format!(
            "{} has {} users, --n asks for {} (make more with ref-python/gen_users.py)",
            c.data.display(),
            rows.len(),
            c.n
        )
        .into());
    }
    Ok(rows)
}

/// The 100 first-name words of the data set, lower-cased, in sorted order
/// (phase e cycles over them).
fn first_words() -> Vec<String> {
    const SYL: [&str; 20] = [
        "al", "be", "car", "da", "el", "fa", "gi", "ho", "is", "ja", "ka", "lo", "mi", "no", "or",
        "pa", "qui", "ra", "si", "ta",
    ];
    let mut w: Vec<String> = (0..10)
        .flat_map(|i| (10..20).map(move |j| format!("{}{}", SYL[i], SYL[j])))
        .collect();
    w.sort();
    w.dedup();
    w
}

/// Users for the smoke run when the data file is absent: the same shape.
fn generated_rows(n: usize) -> Vec<Row> {
    let words = first_words();
    let mut r = Rng(7);
    (1..=n)
        .map(|i| {
            let first = &words[r.below(words.len())];
            Row {
                email: format!("User{i}.Last{}@Example.COM", r.below(50)),
                name: format!(
                    "{}{} Last{}",
                    first[..1].to_uppercase(),
                    &first[1..],
                    r.below(50)
                ),
                age: 18 + r.below(63) as i32,
                score: r.below(1_000_001) as f64 / 1000.0,
                created: 1_577_836_800 + r.below(5 * 365 * 86_400) as i64,
                bio: "lorem ipsum dolor sit amet".into(),
            }
        })
        .collect()
}

/// splitmix64: deterministic, so every implementation sees the same order.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn shuffled_ids(n: usize) -> Vec<u64> {
    let mut ids: Vec<u64> = (1..=n as u64).collect();
    let mut r = Rng(43);
    for i in (1..ids.len()).rev() {
        ids.swap(i, r.below(i + 1));
    }
    ids
}

/// Lower-cased words split at every character that is not a letter or digit,
/// each once (the hand-written program's tokenizer).
fn tokens(s: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for w in s
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let w = w.to_lowercase();
        if !out.contains(&w) {
            out.push(w);
        }
    }
    out
}

// ---------------------------------------------------------------------------
// the oracle

/// 20 <= age <= 30 (and the word, if any), by score then id, first 10.
fn oracle_top(rows: &[Row], word: Option<&str>) -> Vec<u64> {
    let mut hits: Vec<(f64, u64)> = rows
        .iter()
        .enumerate()
        .filter(|(_, r)| (AGE_LO..=AGE_HI).contains(&r.age))
        .filter(|(_, r)| word.is_none_or(|w| tokens(&r.name).iter().any(|t| t == w)))
        .map(|(i, r)| (r.score, i as u64 + 1))
        .collect();
    hits.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    hits.into_iter().take(LIMIT).map(|h| h.1).collect()
}

fn oracle_count(rows: &[Row]) -> u64 {
    rows.iter()
        .filter(|r| (AGE_LO..=AGE_HI).contains(&r.age))
        .count() as u64
}

// the answers WORKLOAD.md gives for the standard 10k set
const EXPECTED_D_10K: [u64; 10] = [9211, 1150, 8283, 2491, 9817, 2151, 6976, 6339, 9550, 9309];
const EXPECTED_E_JATA_10K: [u64; 10] = [3046, 6357, 9565, 3694, 8107, 9417, 8596, 1679, 1430, 307];
const EXPECTED_F_10K: u64 = 1744;

// ---------------------------------------------------------------------------
// timing

struct Timer {
    lat_ns: Vec<u64>,
    t0: Instant,
    last: Instant,
    /// the thread's CPU time at the start
    cpu0: Option<u64>,
}

impl Timer {
    fn start(cap: usize) -> Self {
        let cpu0 = thread_cpu_ns();
        let now = Instant::now();
        Timer {
            lat_ns: Vec::with_capacity(cap),
            t0: now,
            last: now,
            cpu0,
        }
    }
    fn lap(&mut self) {
        let now = Instant::now();
        self.lat_ns.push((now - self.last).as_nanos() as u64);
        self.last = now;
    }
}

#[derive(Debug, Clone)]
struct Stats {
    ops: usize,
    ops_s: f64,
    p50_us: f64,
    p99_us: f64,
    rt_per_op: f64,
    /// CPU time of the bench's thread per operation (encode, decode, I/O).
    client_us: Option<f64>,
    /// CPU time of redis-server per operation (INFO cpu).
    server_us: Option<f64>,
    /// Commands the server ran per operation (commandstats; own server only).
    commands: String,
    /// Their number per operation (commands run inside a script or a
    /// MULTI count, and so do FCALL, MULTI and EXEC themselves).
    commands_n: Option<f64>,
    /// Instructions the server ran per operation (`--instructions`).
    instructions: Option<f64>,
}

/// CPU time of the calling thread, in ns (Linux).
fn thread_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn stats(t: Timer, round_trips: u64) -> Stats {
    let secs = t.last.duration_since(t.t0).as_secs_f64();
    let mut lat = t.lat_ns;
    lat.sort_unstable();
    let q = |p: f64| -> f64 {
        if lat.is_empty() {
            return 0.0;
        }
        let i = ((p * lat.len() as f64) as usize).min(lat.len() - 1);
        lat[i] as f64 / 1000.0
    };
    let ops = lat.len();
    Stats {
        ops,
        ops_s: if secs > 0.0 { ops as f64 / secs } else { 0.0 },
        p50_us: q(0.50),
        p99_us: q(0.99),
        rt_per_op: round_trips as f64 / ops.max(1) as f64,
        client_us: None,
        server_us: None,
        commands: String::new(),
        commands_n: None,
        instructions: None,
    }
}

// ---------------------------------------------------------------------------
// the implementations

/// One implementation of the workload. Every timed method calls `t.lap()`
/// once per operation; the results it returns are checked after timing.
trait Workload {
    fn name(&self) -> &'static str;
    fn round_trips(&self) -> u64;
    /// Phase a: inserts `rows` in order (row i gets key i + 1).
    fn insert(&mut self, rows: &[Row], t: &mut Timer) -> Res<()>;
    /// Phase b: gets each key; checks the email.
    fn get(&mut self, ids: &[u64], rows: &[Row], t: &mut Timer) -> Res<()>;
    /// Phases c and c2: finds the user by email; checks the key.
    fn by_email(&mut self, lookups: &[(u64, String)], t: &mut Timer) -> Res<()>;
    /// Phase d: the range query, `m` times; the ids of each answer.
    fn range(&mut self, m: usize, t: &mut Timer) -> Res<Vec<Vec<u64>>>;
    /// Phase d done another way (a second row in the table), if any.
    fn range_alt_name(&self) -> Option<&'static str> {
        None
    }
    /// That other way.
    fn range_alt(&mut self, _m: usize, _t: &mut Timer) -> Res<Vec<Vec<u64>>> {
        Err("no other way".into())
    }
    /// Phase e: word and range; `None` when the implementation cannot.
    fn word_range(&mut self, words: &[&str], t: &mut Timer) -> Res<Option<Vec<Vec<u64>>>>;
    /// Phase f: the count, `m` times.
    fn count(&mut self, m: usize, t: &mut Timer) -> Res<Vec<u64>>;
    /// Forgets client-side state after the database was flushed.
    fn reset(&mut self) {}
    /// Untimed, before g and h: loads every user, in `ids` order.
    fn preload(&mut self, ids: &[u64]) -> Res<()>;
    /// Phase g: sets `scores[i]` on the i-th loaded user and saves it.
    fn update(&mut self, scores: &[f64], t: &mut Timer) -> Res<()>;
    /// Phase h: deletes every loaded user.
    fn delete(&mut self, t: &mut Timer) -> Res<()>;
    /// Untimed, after g: every stored score and score index entry is the new one.
    fn check_scores(&mut self, expect: &HashMap<u64, f64>) -> Res<Vec<String>>;
}

fn age_range() -> rom::Filter<User> {
    users::age.between(AGE_LO..=AGE_HI)
}

// --- rom, sync

struct RomSync {
    conn: CountingConnection<redis::Connection>,
    loaded: Vec<Record<User>>,
}

impl Workload for RomSync {
    fn name(&self) -> &'static str {
        "rom"
    }
    fn round_trips(&self) -> u64 {
        self.conn.round_trips()
    }
    fn insert(&mut self, rows: &[Row], t: &mut Timer) -> Res<()> {
        let todo: Vec<User> = rows.iter().map(Row::to_user).collect();
        *t = Timer::start(rows.len());
        for (i, u) in todo.into_iter().enumerate() {
            let rec = u.insert(&mut self.conn)?;
            t.lap();
            if *rec.key() != i as u64 + 1 {
                return Err(format!("insert {i}: got key {}", rec.key()).into());
            }
        }
        Ok(())
    }
    fn get(&mut self, ids: &[u64], rows: &[Row], t: &mut Timer) -> Res<()> {
        for &id in ids {
            let u = User::get(&mut self.conn, id)?;
            t.lap();
            match u {
                Some(u) if u.email == rows[id as usize - 1].email => {}
                other => return Err(format!("get {id}: {other:?}").into()),
            }
        }
        Ok(())
    }
    fn by_email(&mut self, lookups: &[(u64, String)], t: &mut Timer) -> Res<()> {
        for (id, e) in lookups {
            let u = users::table
                .filter(users::email.eq(e.as_str()))
                .first(&mut self.conn)?;
            t.lap();
            if u.key() != id {
                return Err(format!("email {e}: got key {}", u.key()).into());
            }
        }
        Ok(())
    }
    fn range(&mut self, m: usize, t: &mut Timer) -> Res<Vec<Vec<u64>>> {
        let mut out = Vec::with_capacity(m);
        for _ in 0..m {
            let rows = users::table
                .filter(age_range())
                .order_by(users::score.asc())
                .limit(LIMIT as u64)
                .load(&mut self.conn)?;
            t.lap();
            out.push(rows.iter().map(|r| *r.key()).collect());
        }
        Ok(out)
    }
    fn word_range(&mut self, words: &[&str], t: &mut Timer) -> Res<Option<Vec<Vec<u64>>>> {
        let mut out = Vec::with_capacity(words.len());
        for w in words {
            let rows = users::table
                .filter(users::name.has_word(w))
                .filter(age_range())
                .order_by(users::score.asc())
                .limit(LIMIT as u64)
                .load(&mut self.conn)?;
            t.lap();
            out.push(rows.iter().map(|r| *r.key()).collect());
        }
        Ok(Some(out))
    }
    fn count(&mut self, m: usize, t: &mut Timer) -> Res<Vec<u64>> {
        let mut out = Vec::with_capacity(m);
        for _ in 0..m {
            let n = users::table.filter(age_range()).count(&mut self.conn)?;
            t.lap();
            out.push(n);
        }
        Ok(out)
    }
    fn preload(&mut self, ids: &[u64]) -> Res<()> {
        self.loaded.clear();
        for chunk in ids.chunks(500) {
            self.loaded
                .extend(User::get_many(self.conn.inner_mut(), chunk)?);
        }
        Ok(())
    }
    fn update(&mut self, scores: &[f64], t: &mut Timer) -> Res<()> {
        for (rec, &v) in self.loaded.iter_mut().zip(scores) {
            rec.score = v;
            rec.save(&mut self.conn)?;
            t.lap();
        }
        Ok(())
    }
    fn delete(&mut self, t: &mut Timer) -> Res<()> {
        for rec in std::mem::take(&mut self.loaded) {
            let key = *rec.key();
            let gone = rec.delete(&mut self.conn)?;
            t.lap();
            if !gone {
                return Err(format!("delete {key}: was not there").into());
            }
        }
        Ok(())
    }
    fn check_scores(&mut self, expect: &HashMap<u64, f64>) -> Res<Vec<String>> {
        rom_check_scores(self.conn.inner_mut(), expect)
    }
}

/// After phase g, for both rom implementations (on a sync connection to their
/// database): rom's own consistency check, then every score.
fn rom_check_scores(conn: &mut redis::Connection, expect: &HashMap<u64, f64>) -> Res<Vec<String>> {
    let mut bad = Vec::new();
    let report = rom::verify::verify::<User, _>(conn)?;
    if !report.is_clean() {
        bad.push(format!("verify: {:?}", report.problems));
    }
    let mut ids: Vec<u64> = expect.keys().copied().collect();
    ids.sort_unstable();
    for chunk in ids.chunks(500) {
        for rec in User::get_many(conn, chunk)? {
            if Some(&rec.score) != expect.get(rec.key()) {
                bad.push(format!("user {}: score {}", rec.key(), rec.score));
            }
        }
    }
    // the order index holds the new scores: the range query agrees with them
    let top = users::table
        .order_by(users::score.asc())
        .limit(5)
        .ids(conn)?;
    let mut want: Vec<(f64, u64)> = expect.iter().map(|(k, v)| (*v, *k)).collect();
    want.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let want: Vec<u64> = want.into_iter().take(5).map(|w| w.1).collect();
    if top != want {
        bad.push(format!(
            "lowest scores after update: {top:?}, expected {want:?}"
        ));
    }
    Ok(bad)
}

// --- rom, async

struct RomAsync {
    rt: tokio::runtime::Runtime,
    conn: CountingAsyncConnection<redis::aio::MultiplexedConnection>,
    /// a sync connection to the same database, for the untimed checks
    check: redis::Connection,
    loaded: Vec<Record<User>>,
}

impl Workload for RomAsync {
    fn name(&self) -> &'static str {
        "rom-async"
    }
    fn round_trips(&self) -> u64 {
        self.conn.round_trips()
    }
    fn insert(&mut self, rows: &[Row], t: &mut Timer) -> Res<()> {
        let todo: Vec<User> = rows.iter().map(Row::to_user).collect();
        let conn = &mut self.conn;
        self.rt.block_on(async {
            *t = Timer::start(rows.len());
            for (i, u) in todo.into_iter().enumerate() {
                let rec = u.insert_async(conn).await?;
                t.lap();
                if *rec.key() != i as u64 + 1 {
                    return Err(format!("insert {i}: got key {}", rec.key()).into());
                }
            }
            Ok(())
        })
    }
    fn get(&mut self, ids: &[u64], rows: &[Row], t: &mut Timer) -> Res<()> {
        let conn = &mut self.conn;
        self.rt.block_on(async {
            for &id in ids {
                let u = User::get_async(conn, id).await?;
                t.lap();
                match u {
                    Some(u) if u.email == rows[id as usize - 1].email => {}
                    other => return Err(format!("get {id}: {other:?}").into()),
                }
            }
            Ok(())
        })
    }
    fn by_email(&mut self, lookups: &[(u64, String)], t: &mut Timer) -> Res<()> {
        let conn = &mut self.conn;
        self.rt.block_on(async {
            for (id, e) in lookups {
                let u = users::table
                    .filter(users::email.eq(e.as_str()))
                    .first_async(conn)
                    .await?;
                t.lap();
                if u.key() != id {
                    return Err(format!("email {e}: got key {}", u.key()).into());
                }
            }
            Ok(())
        })
    }
    fn range(&mut self, m: usize, t: &mut Timer) -> Res<Vec<Vec<u64>>> {
        let conn = &mut self.conn;
        self.rt.block_on(async {
            let mut out = Vec::with_capacity(m);
            for _ in 0..m {
                let rows = users::table
                    .filter(age_range())
                    .order_by(users::score.asc())
                    .limit(LIMIT as u64)
                    .load_async(conn)
                    .await?;
                t.lap();
                out.push(rows.iter().map(|r| *r.key()).collect());
            }
            Ok(out)
        })
    }
    fn word_range(&mut self, words: &[&str], t: &mut Timer) -> Res<Option<Vec<Vec<u64>>>> {
        let conn = &mut self.conn;
        self.rt.block_on(async {
            let mut out = Vec::with_capacity(words.len());
            for w in words {
                let rows = users::table
                    .filter(users::name.has_word(w))
                    .filter(age_range())
                    .order_by(users::score.asc())
                    .limit(LIMIT as u64)
                    .load_async(conn)
                    .await?;
                t.lap();
                out.push(rows.iter().map(|r| *r.key()).collect());
            }
            Ok(Some(out))
        })
    }
    fn count(&mut self, m: usize, t: &mut Timer) -> Res<Vec<u64>> {
        let conn = &mut self.conn;
        self.rt.block_on(async {
            let mut out = Vec::with_capacity(m);
            for _ in 0..m {
                let n = users::table.filter(age_range()).count_async(conn).await?;
                t.lap();
                out.push(n);
            }
            Ok(out)
        })
    }
    fn preload(&mut self, ids: &[u64]) -> Res<()> {
        self.loaded.clear();
        for chunk in ids.chunks(500) {
            self.loaded.extend(User::get_many(&mut self.check, chunk)?);
        }
        Ok(())
    }
    fn update(&mut self, scores: &[f64], t: &mut Timer) -> Res<()> {
        let conn = &mut self.conn;
        let loaded = &mut self.loaded;
        self.rt.block_on(async {
            for (rec, &v) in loaded.iter_mut().zip(scores) {
                rec.score = v;
                rec.save_async(conn).await?;
                t.lap();
            }
            Ok(())
        })
    }
    fn delete(&mut self, t: &mut Timer) -> Res<()> {
        let conn = &mut self.conn;
        let loaded = std::mem::take(&mut self.loaded);
        self.rt.block_on(async {
            for rec in loaded {
                let key = *rec.key();
                let gone = rec.delete_async(conn).await?;
                t.lap();
                if !gone {
                    return Err(format!("delete {key}: was not there").into());
                }
            }
            Ok(())
        })
    }
    fn check_scores(&mut self, expect: &HashMap<u64, f64>) -> Res<Vec<String>> {
        rom_check_scores(&mut self.check, expect)
    }
}

// --- hand-written redis-rs
//
// Key layout (prefix hu):
//   hu:<id>         HASH  email name age score created bio
//   hu:id           STRING id counter, INCRBY 1000 at a time (ids allocated client side)
//   hu:email        HASH  lower(email) -> id (unique, case-insensitive)
//   hu:age          ZSET  id scored by age
//   hu:score        ZSET  id scored by score
//   hu:name:<word>  SET   ids per lower-cased name word
// Per operation, as the Python reference (hand_workload.py) does it, with a
// Lua script where it saves a round trip:
//   a  MULTI HSETNX email; HSET row; ZADD age; ZADD score; SADD per word EXEC  1 RT
//   b  HGETALL                                                                1 RT
//   c  script: HGET email -> HGETALL                                          1 RT
//   d  script: ZRANGESTORE tmp age; ZINTERSTORE tmp tmp score WEIGHTS 0 1;
//      first 10 (ties by id); DEL tmp; HGETALL x10                            1 RT
//   e  script: ZINTERSTORE tmp word age WEIGHTS 0 1; ZREMRANGEBYSCORE x2;
//      ZINTERSTORE tmp tmp score WEIGHTS 0 1; first 10; DEL; HGETALL x10     1 RT
//   f  ZCOUNT age 20 30                                                       1 RT
//   g  MULTI HSET score; ZADD score EXEC                                      1 RT
//   h  MULTI DEL row; HDEL email; ZREM age; ZREM score; SREM per word EXEC   1 RT

const HAND_BY_EMAIL: &str = r#"
local id = redis.call('HGET', KEYS[1], ARGV[1])
if not id then return false end
return {id, redis.call('HGETALL', ARGV[2] .. id)}
"#;

/// The first `n` members of `tmp` by score, ties by numeric id, each followed
/// by its row; then deletes `tmp`.
macro_rules! hand_top {
    () => {
        r#"
local function top_rows(tmp, n, rowp)
  local first = redis.call('ZRANGE', tmp, 0, n - 1, 'WITHSCORES')
  local res = {}
  if #first > 0 then
    -- everything up to the n-th score, so that ties are ordered by id
    local r = redis.call('ZRANGE', tmp, '-inf', first[#first], 'BYSCORE', 'WITHSCORES')
    local t = {}
    for i = 1, #r, 2 do t[#t + 1] = {r[i], tonumber(r[i + 1]), tonumber(r[i])} end
    table.sort(t, function(a, b)
      if a[2] ~= b[2] then return a[2] < b[2] end
      return a[3] < b[3]
    end)
    for i = 1, math.min(n, #t) do
      res[#res + 1] = t[i][1]
      res[#res + 1] = redis.call('HGETALL', rowp .. t[i][1])
    end
  end
  redis.call('DEL', tmp)
  return res
end
"#
    };
}

/// KEYS: age, score, tmp. ARGV: lo, hi, limit, row prefix.
const HAND_RANGE: &str = concat!(
    hand_top!(),
    r#"
redis.call('ZRANGESTORE', KEYS[3], KEYS[1], ARGV[1], ARGV[2], 'BYSCORE')
redis.call('ZINTERSTORE', KEYS[3], 2, KEYS[3], KEYS[2], 'WEIGHTS', 0, 1)
return top_rows(KEYS[3], tonumber(ARGV[3]), ARGV[4])
"#
);

/// KEYS: word set, age, score, tmp. ARGV: lo, hi, limit, row prefix.
const HAND_WORD_RANGE: &str = concat!(
    hand_top!(),
    r#"
redis.call('ZINTERSTORE', KEYS[4], 2, KEYS[1], KEYS[2], 'WEIGHTS', 0, 1)
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', '(' .. ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[4], '(' .. ARGV[2], '+inf')
redis.call('ZINTERSTORE', KEYS[4], 2, KEYS[4], KEYS[3], 'WEIGHTS', 0, 1)
return top_rows(KEYS[4], tonumber(ARGV[3]), ARGV[4])
"#
);

/// Phase d the other way: walk the score index in order, testing the ages of
/// 64 members at a time with ZMSCORE, until 10 match (plus any ties with the
/// 10th score, so that ties are ordered by id). What an expert writes once
/// they know the range matches a large part of the rows.
///
/// KEYS: score, age. ARGV: lo, hi, limit, row prefix.
const HAND_RANGE_WALK: &str = r#"
local lo, hi, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local hits, start, chunk, bound = {}, 0, 64, nil
while true do
  local r = redis.call('ZRANGE', KEYS[1], start, start + chunk - 1, 'WITHSCORES')
  local n = #r / 2
  if n == 0 then break end
  local ms = {}
  for i = 1, n do ms[i] = r[2 * i - 1] end
  local ages = redis.call('ZMSCORE', KEYS[2], unpack(ms))
  local stop = false
  for i = 1, n do
    local s = tonumber(r[2 * i])
    if bound and s > bound then stop = true; break end
    local a = ages[i] and tonumber(ages[i])
    if a and a >= lo and a <= hi then
      hits[#hits + 1] = {ms[i], s, tonumber(ms[i])}
      if #hits == limit then bound = s end
    end
  end
  if stop or n < chunk then break end
  start = start + chunk
end
table.sort(hits, function(a, b)
  if a[2] ~= b[2] then return a[2] < b[2] end
  return a[3] < b[3]
end)
local res = {}
for i = 1, math.min(limit, #hits) do
  res[#res + 1] = hits[i][1]
  res[#res + 1] = redis.call('HGETALL', ARGV[4] .. hits[i][1])
end
return res
"#;

#[derive(Debug, Clone)]
#[allow(dead_code)] // every field is decoded, as a real program would
struct HandUser {
    id: u64,
    email: String,
    name: String,
    age: i32,
    score: f64,
    created: i64,
    bio: String,
}

fn bytes(v: redis::Value) -> Res<Vec<u8>> {
    match v {
        redis::Value::BulkString(b) => Ok(b),
        redis::Value::SimpleString(s) => Ok(s.into_bytes()),
        other => Err(format!("expected a string, got {other:?}").into()),
    }
}

fn parse<T: std::str::FromStr>(b: &[u8]) -> Res<T>
where
    T::Err: std::error::Error + 'static,
{
    Ok(std::str::from_utf8(b)?.parse()?)
}

impl HandUser {
    /// From an HGETALL reply; `None` for an absent row.
    fn decode(id: u64, v: redis::Value) -> Res<Option<HandUser>> {
        let pairs: Vec<(redis::Value, redis::Value)> = match v {
            redis::Value::Array(items) => {
                let mut it = items.into_iter();
                let mut out = Vec::new();
                while let (Some(f), Some(x)) = (it.next(), it.next()) {
                    out.push((f, x));
                }
                out
            }
            redis::Value::Map(m) => m,
            redis::Value::Nil => Vec::new(),
            other => return Err(format!("user {id}: unexpected reply {other:?}").into()),
        };
        if pairs.is_empty() {
            return Ok(None);
        }
        let mut u = HandUser {
            id,
            email: String::new(),
            name: String::new(),
            age: 0,
            score: 0.0,
            created: 0,
            bio: String::new(),
        };
        for (f, x) in pairs {
            let x = bytes(x)?;
            match &bytes(f)?[..] {
                b"email" => u.email = String::from_utf8(x)?,
                b"name" => u.name = String::from_utf8(x)?,
                b"age" => u.age = parse(&x)?,
                b"score" => u.score = parse(&x)?,
                b"created" => u.created = parse(&x)?,
                b"bio" => u.bio = String::from_utf8(x)?,
                _ => {}
            }
        }
        Ok(Some(u))
    }

    /// `[id, row, id, row...]` from the query scripts.
    fn decode_list(v: redis::Value) -> Res<Vec<HandUser>> {
        let redis::Value::Array(items) = v else {
            return Err(format!("unexpected reply {v:?}").into());
        };
        let mut out = Vec::with_capacity(items.len() / 2);
        let mut it = items.into_iter();
        while let (Some(id), Some(row)) = (it.next(), it.next()) {
            let id: u64 = parse(&bytes(id)?)?;
            match HandUser::decode(id, row)? {
                Some(u) => out.push(u),
                None => return Err(format!("index names user {id}, which is gone").into()),
            }
        }
        Ok(out)
    }
}

struct Hand {
    conn: CountingConnection<redis::Connection>,
    next_id: u64,
    end_id: u64,
    by_email: redis::Script,
    range: redis::Script,
    range_walk: redis::Script,
    word_range: redis::Script,
    loaded: Vec<HandUser>,
}

const ID_BLOCK: u64 = 1000;

impl Hand {
    fn new(conn: redis::Connection) -> Self {
        Hand {
            conn: CountingConnection::new(conn),
            next_id: 1,
            end_id: 0,
            by_email: redis::Script::new(HAND_BY_EMAIL),
            range: redis::Script::new(HAND_RANGE),
            range_walk: redis::Script::new(HAND_RANGE_WALK),
            word_range: redis::Script::new(HAND_WORD_RANGE),
            loaded: Vec::new(),
        }
    }
    /// Ids allocated client side, one INCRBY per block of 1000.
    fn new_id(&mut self) -> Res<u64> {
        if self.next_id > self.end_id {
            self.end_id = redis::cmd("INCRBY")
                .arg("hu:id")
                .arg(ID_BLOCK)
                .query(&mut self.conn)?;
            self.next_id = self.end_id - ID_BLOCK + 1;
        }
        self.next_id += 1;
        Ok(self.next_id - 1)
    }
}

impl Workload for Hand {
    fn name(&self) -> &'static str {
        "hand"
    }
    fn round_trips(&self) -> u64 {
        self.conn.round_trips()
    }
    fn insert(&mut self, rows: &[Row], t: &mut Timer) -> Res<()> {
        *t = Timer::start(rows.len());
        for (i, r) in rows.iter().enumerate() {
            let id = self.new_id()?;
            let row = format!("hu:{id}");
            let words = tokens(&r.name);
            let mut p = redis::pipe();
            p.atomic();
            p.cmd("HSETNX")
                .arg("hu:email")
                .arg(r.email.to_lowercase())
                .arg(id);
            p.cmd("HSET")
                .arg(&row)
                .arg("email")
                .arg(&r.email)
                .arg("name")
                .arg(&r.name)
                .arg("age")
                .arg(r.age)
                .arg("score")
                .arg(r.score)
                .arg("created")
                .arg(r.created)
                .arg("bio")
                .arg(&r.bio)
                .ignore();
            p.cmd("ZADD").arg("hu:age").arg(r.age).arg(id).ignore();
            p.cmd("ZADD").arg("hu:score").arg(r.score).arg(id).ignore();
            for w in &words {
                p.cmd("SADD").arg(format!("hu:name:{w}")).arg(id).ignore();
            }
            let (fresh,): (i64,) = p.query(&mut self.conn)?;
            if fresh == 0 {
                // the email is taken: undo what the transaction wrote
                let mut undo = redis::pipe();
                undo.atomic();
                undo.del(&row).ignore();
                undo.zrem("hu:age", id).ignore();
                undo.zrem("hu:score", id).ignore();
                for w in &words {
                    undo.srem(format!("hu:name:{w}"), id).ignore();
                }
                undo.exec(&mut self.conn)?;
                return Err(format!("duplicate email {}", r.email).into());
            }
            t.lap();
            if id != i as u64 + 1 {
                return Err(format!("insert {i}: got id {id}").into());
            }
        }
        Ok(())
    }
    fn get(&mut self, ids: &[u64], rows: &[Row], t: &mut Timer) -> Res<()> {
        for &id in ids {
            let v: redis::Value = redis::cmd("HGETALL")
                .arg(format!("hu:{id}"))
                .query(&mut self.conn)?;
            let u = HandUser::decode(id, v)?;
            t.lap();
            match u {
                Some(u) if u.email == rows[id as usize - 1].email => {}
                other => return Err(format!("get {id}: {other:?}").into()),
            }
        }
        Ok(())
    }
    fn by_email(&mut self, lookups: &[(u64, String)], t: &mut Timer) -> Res<()> {
        for (id, e) in lookups {
            let v: redis::Value = self
                .by_email
                .key("hu:email")
                .arg(e.to_lowercase())
                .arg("hu:")
                .invoke(&mut self.conn)?;
            let u = match v {
                redis::Value::Array(mut pair) if pair.len() == 2 => {
                    let row = pair.pop().unwrap_or(redis::Value::Nil);
                    let found: u64 = parse(&bytes(pair.pop().unwrap_or(redis::Value::Nil))?)?;
                    HandUser::decode(found, row)?
                }
                _ => None,
            };
            t.lap();
            match u {
                Some(u) if u.id == *id => {}
                other => return Err(format!("email {e}: {other:?}").into()),
            }
        }
        Ok(())
    }
    fn range(&mut self, m: usize, t: &mut Timer) -> Res<Vec<Vec<u64>>> {
        let mut out = Vec::with_capacity(m);
        for _ in 0..m {
            let v: redis::Value = self
                .range
                .key("hu:age")
                .key("hu:score")
                .key("hu:tmp")
                .arg(AGE_LO)
                .arg(AGE_HI)
                .arg(LIMIT)
                .arg("hu:")
                .invoke(&mut self.conn)?;
            let users = HandUser::decode_list(v)?;
            t.lap();
            out.push(users.iter().map(|u| u.id).collect());
        }
        Ok(out)
    }
    fn reset(&mut self) {
        self.next_id = 1;
        self.end_id = 0;
        self.loaded.clear();
    }
    fn range_alt_name(&self) -> Option<&'static str> {
        Some("hand-walk")
    }
    fn range_alt(&mut self, m: usize, t: &mut Timer) -> Res<Vec<Vec<u64>>> {
        let mut out = Vec::with_capacity(m);
        for _ in 0..m {
            let v: redis::Value = self
                .range_walk
                .key("hu:score")
                .key("hu:age")
                .arg(AGE_LO)
                .arg(AGE_HI)
                .arg(LIMIT)
                .arg("hu:")
                .invoke(&mut self.conn)?;
            let users = HandUser::decode_list(v)?;
            t.lap();
            out.push(users.iter().map(|u| u.id).collect());
        }
        Ok(out)
    }
    fn word_range(&mut self, words: &[&str], t: &mut Timer) -> Res<Option<Vec<Vec<u64>>>> {
        let mut out = Vec::with_capacity(words.len());
        for w in words {
            let v: redis::Value = self
                .word_range
                .key(format!("hu:name:{w}"))
                .key("hu:age")
                .key("hu:score")
                .key("hu:tmp")
                .arg(AGE_LO)
                .arg(AGE_HI)
                .arg(LIMIT)
                .arg("hu:")
                .invoke(&mut self.conn)?;
            let users = HandUser::decode_list(v)?;
            t.lap();
            out.push(users.iter().map(|u| u.id).collect());
        }
        Ok(Some(out))
    }
    fn count(&mut self, m: usize, t: &mut Timer) -> Res<Vec<u64>> {
        let mut out = Vec::with_capacity(m);
        for _ in 0..m {
            let n: u64 = redis::cmd("ZCOUNT")
                .arg("hu:age")
                .arg(AGE_LO)
                .arg(AGE_HI)
                .query(&mut self.conn)?;
            t.lap();
            out.push(n);
        }
        Ok(out)
    }
    fn preload(&mut self, ids: &[u64]) -> Res<()> {
        self.loaded.clear();
        for chunk in ids.chunks(500) {
            let mut p = redis::pipe();
            for id in chunk {
                p.cmd("HGETALL").arg(format!("hu:{id}"));
            }
            let rows: Vec<redis::Value> = p.query(self.conn.inner_mut())?;
            for (&id, v) in chunk.iter().zip(rows) {
                match HandUser::decode(id, v)? {
                    Some(u) => self.loaded.push(u),
                    None => return Err(format!("user {id} missing").into()),
                }
            }
        }
        Ok(())
    }
    fn update(&mut self, scores: &[f64], t: &mut Timer) -> Res<()> {
        for (u, &v) in self.loaded.iter_mut().zip(scores) {
            u.score = v;
            redis::pipe()
                .atomic()
                .cmd("HSET")
                .arg(format!("hu:{}", u.id))
                .arg("score")
                .arg(v)
                .ignore()
                .cmd("ZADD")
                .arg("hu:score")
                .arg(v)
                .arg(u.id)
                .ignore()
                .exec(&mut self.conn)?;
            t.lap();
        }
        Ok(())
    }
    fn delete(&mut self, t: &mut Timer) -> Res<()> {
        for u in std::mem::take(&mut self.loaded) {
            let mut p = redis::pipe();
            p.atomic();
            p.del(format!("hu:{}", u.id));
            p.hdel("hu:email", u.email.to_lowercase()).ignore();
            p.zrem("hu:age", u.id).ignore();
            p.zrem("hu:score", u.id).ignore();
            for w in tokens(&u.name) {
                p.srem(format!("hu:name:{w}"), u.id).ignore();
            }
            let (gone,): (i64,) = p.query(&mut self.conn)?;
            t.lap();
            if gone != 1 {
                return Err(format!("delete {}: was not there", u.id).into());
            }
        }
        Ok(())
    }
    fn check_scores(&mut self, expect: &HashMap<u64, f64>) -> Res<Vec<String>> {
        let mut bad = Vec::new();
        let mut ids: Vec<u64> = expect.keys().copied().collect();
        ids.sort_unstable();
        for chunk in ids.chunks(500) {
            let mut p = redis::pipe();
            for id in chunk {
                p.cmd("HGET").arg(format!("hu:{id}")).arg("score");
                p.cmd("ZSCORE").arg("hu:score").arg(id);
            }
            let got: Vec<(f64, f64)> = p.query(self.conn.inner_mut())?;
            for (id, (stored, indexed)) in chunk.iter().zip(got) {
                let want = expect.get(id).copied();
                if Some(stored) != want || Some(indexed) != want {
                    bad.push(format!("user {id}: stored {stored}, indexed {indexed}"));
                }
            }
        }
        Ok(bad)
    }
}

// ---------------------------------------------------------------------------
// the server side: connections per database, INFO, script cache

fn info_for(base: &redis::ConnectionInfo, db: i64) -> redis::ConnectionInfo {
    let settings = base.redis_settings().clone().set_db(db);
    base.clone().set_redis_settings(settings)
}

fn info_field(conn: &mut redis::Connection, section: &str, field: &str) -> Res<String> {
    let info: String = redis::cmd("INFO").arg(section).query(conn)?;
    info.lines()
        .find_map(|l| l.strip_prefix(field).and_then(|r| r.strip_prefix(':')))
        .map(|v| v.trim().to_owned())
        .ok_or_else(|| format!("INFO {section} has no {field}").into())
}

fn used_memory(conn: &mut redis::Connection) -> Res<i64> {
    Ok(info_field(conn, "memory", "used_memory")?.parse()?)
}

/// Loads every script into the server's cache, so that every timed call is
/// the steady-state EVALSHA (one round trip).
fn load_scripts(conn: &mut redis::Connection) -> Res<()> {
    let rom_scripts = [
        &rom::__private::script::SAVE,
        &rom::__private::script::DELETE,
        &rom::__private::script::GET,
        &rom::__private::script::QUERY,
        &rom::__private::script::QUERY_DELETE,
    ];
    for s in rom_scripts {
        let sha: String = redis::cmd("SCRIPT")
            .arg("LOAD")
            .arg(s.source())
            .query(conn)?;
        if sha != s.sha() {
            return Err(format!("script {}: server sha {sha} != {}", s.name(), s.sha()).into());
        }
    }
    for src in [HAND_BY_EMAIL, HAND_RANGE, HAND_RANGE_WALK, HAND_WORD_RANGE] {
        redis::cmd("SCRIPT").arg("LOAD").arg(src).exec(conn)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// the run

struct Line {
    phase: Phase,
    imp: &'static str,
    stats: Option<Stats>,
}

fn main() {
    let code = match run() {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(e) => {
            eprintln!("\nworkload bench FAILED: {e}");
            2
        }
    };
    std::process::exit(code);
}

fn run() -> Res<bool> {
    let cfg = parse_args()?;
    let rows = load_rows(&cfg)?;
    let (n, m) = (cfg.n, cfg.m);

    // the server: our own, or the one named by --url
    let server = match &cfg.url {
        Some(_) => None,
        None => Some(RedisServer::start()?),
    };
    let url = match (&cfg.url, &server) {
        (Some(u), _) => u.clone(),
        (None, Some(s)) => s.url(),
        (None, None) => unreachable!("a server was started"),
    };
    let base = redis::IntoConnectionInfo::into_connection_info(url.as_str())?;
    let db0 = base.redis_settings().db();
    let dbs: Vec<(Which, i64)> = cfg
        .impls
        .iter()
        .map(|w| {
            let off = match w {
                Which::Rom => 0,
                Which::RomAsync => 1,
                Which::Hand => 2,
            };
            (*w, db0 + off)
        })
        .collect();
    let client_for = |db: i64| redis::Client::open(info_for(&base, db));
    let mut admin = client_for(db0)?.get_connection()?;
    let version = info_field(&mut admin, "server", "redis_version")?;
    load_scripts(&mut admin)?;

    let mut impls: Vec<(Box<dyn Workload>, redis::Connection)> = Vec::new();
    for (w, db) in &dbs {
        let client = client_for(*db)?;
        let mut dbconn = client.get_connection()?;
        redis::cmd("FLUSHDB").exec(&mut dbconn)?;
        let imp: Box<dyn Workload> = match w {
            Which::Rom => Box::new(RomSync {
                conn: CountingConnection::new(client.get_connection()?),
                loaded: Vec::new(),
            }),
            Which::RomAsync => {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                let conn = rt.block_on(client.get_multiplexed_async_connection())?;
                Box::new(RomAsync {
                    rt,
                    conn: CountingAsyncConnection::new(conn),
                    check: client.get_connection()?,
                    loaded: Vec::new(),
                })
            }
            Which::Hand => Box::new(Hand::new(client.get_connection()?)),
        };
        impls.push((imp, dbconn));
    }

    println!(
        "rom standard workload: n={n} m={m}{} | {} | redis-server {version} | nproc {} | {}",
        if cfg.smoke {
            " (smoke: cargo test mode)"
        } else {
            ""
        },
        match &cfg.url {
            Some(u) => format!("server {u}"),
            None => "own redis-server on a unix socket".into(),
        },
        std::thread::available_parallelism().map_or(0, |p| p.get()),
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
    );

    let ids = shuffled_ids(n);
    let words = first_words();
    let mut failures: Vec<String> = Vec::new();
    let mut lines: Vec<Line> = Vec::new();
    let mut memory: Vec<(&'static str, f64)> = Vec::new();
    let mut rng = Rng(7);
    let new_scores: Vec<f64> = (0..n)
        .map(|_| rng.below(1_000_001) as f64 / 1000.0)
        .collect();

    // the oracle's answers
    let want_d = oracle_top(&rows, None);
    let want_f = oracle_count(&rows);
    let e_words: Vec<&str> = (0..m).map(|i| words[i % words.len()].as_str()).collect();
    let want_e: HashMap<&str, Vec<u64>> = words
        .iter()
        .map(|w| (w.as_str(), oracle_top(&rows, Some(w))))
        .collect();
    // the standard set (users-10k.jsonl, or the first 10k lines of a larger
    // file from the same generator): the answers of WORKLOAD.md apply
    let standard = n == 10_000
        && rows[0].email == "User1.Carisson@Example.COM"
        && rows[n - 1].email == "User10000.Jaisson@Example.COM";
    if standard {
        // the data is the standard set: the oracle must agree with WORKLOAD.md
        let mut data_words: Vec<String> = rows
            .iter()
            .filter_map(|r| tokens(&r.name).into_iter().next())
            .collect();
        data_words.sort();
        data_words.dedup();
        for (what, ok) in [
            ("oracle d", want_d == EXPECTED_D_10K),
            ("oracle f", want_f == EXPECTED_F_10K),
            (
                "oracle e (jata)",
                want_e.get("jata").map(Vec::as_slice) == Some(&EXPECTED_E_JATA_10K[..]),
            ),
            ("first-name words", data_words == words),
        ] {
            if !ok {
                failures.push(format!("{what} disagrees with WORKLOAD.md"));
            }
        }
    }

    for run in 0..cfg.runs {
        if run > 0 {
            // start again from an empty database
            for (imp, dbconn) in impls.iter_mut() {
                redis::cmd("FLUSHDB").exec(dbconn)?;
                imp.reset();
            }
        }
        if cfg.runs > 1 {
            println!("--- run {} of {}", run + 1, cfg.runs);
        }
        for &phase in &cfg.phases {
            for (imp, dbconn) in impls.iter_mut() {
                let ways: &[bool] = match (phase, imp.range_alt_name()) {
                    (Phase::D, Some(_)) => &[false, true],
                    _ => &[false],
                };
                for &alt in ways {
                    let name = if alt {
                        imp.range_alt_name().unwrap_or("alt")
                    } else {
                        imp.name()
                    };
                    let check = |what: &str, ok: bool, failures: &mut Vec<String>| {
                        if !ok {
                            failures.push(format!("{}: {name}: {what}", phase.label()));
                        }
                    };
                    // untimed preparation, before the counts start
                    match phase {
                        Phase::G | Phase::H => imp.preload(&ids)?,
                        _ => {}
                    }
                    if let Some(s) = &server {
                        s.reset_stats()?;
                    }
                    let mem0 = if phase == Phase::A {
                        used_memory(dbconn)?
                    } else {
                        0
                    };
                    if cfg.instructions.is_some() {
                        callgrind(&["-z"])?;
                        callgrind(&["-i", "on"])?;
                    }
                    let scpu0 = server_cpu(dbconn)?;
                    let rt0 = imp.round_trips();
                    let mut t = Timer::start(n);
                    let mut note = String::new();
                    match phase {
                        Phase::A => imp.insert(&rows, &mut t)?,
                        Phase::B => imp.get(&ids, &rows, &mut t)?,
                        Phase::C | Phase::C2 => {
                            let l: Vec<(u64, String)> = if phase == Phase::C {
                                ids.iter()
                                    .map(|&i| (i, rows[i as usize - 1].email.clone()))
                                    .collect()
                            } else {
                                ids.iter()
                                    .take(m)
                                    .map(|&i| (i, rows[i as usize - 1].email.to_lowercase()))
                                    .collect()
                            };
                            t = Timer::start(l.len());
                            imp.by_email(&l, &mut t)?;
                        }
                        Phase::D => {
                            let got = if alt {
                                imp.range_alt(m, &mut t)?
                            } else {
                                imp.range(m, &mut t)?
                            };
                            let ok = got.iter().all(|g| *g == want_d);
                            check(
                                &format!("ids {:?}, expected {want_d:?}", got.last()),
                                ok,
                                &mut failures,
                            );
                            if standard {
                                check(
                                    "ids differ from WORKLOAD.md",
                                    got.iter().all(|g| *g == EXPECTED_D_10K),
                                    &mut failures,
                                );
                            }
                            note = format!("ids {:?}", got.last().cloned().unwrap_or_default());
                        }
                        Phase::E => match imp.word_range(&e_words, &mut t)? {
                            Some(got) => {
                                let bad = got
                                    .iter()
                                    .zip(&e_words)
                                    .find(|(g, w)| want_e.get(*w) != Some(*g));
                                if let Some((g, w)) = bad {
                                    check(
                                        &format!(
                                            "word {w}: ids {g:?}, expected {:?}",
                                            want_e.get(*w)
                                        ),
                                        false,
                                        &mut failures,
                                    );
                                }
                                if standard && e_words.last() == Some(&"jata") {
                                    check(
                                        "last ids differ from WORKLOAD.md",
                                        got.last().map(Vec::as_slice)
                                            == Some(&EXPECTED_E_JATA_10K[..]),
                                        &mut failures,
                                    );
                                }
                                note = format!(
                                    "last ({}) {:?}",
                                    e_words.last().copied().unwrap_or_default(),
                                    got.last().cloned().unwrap_or_default()
                                );
                            }
                            None => {
                                println!("{}: {name}: skipped", phase.label());
                                lines.push(Line {
                                    phase,
                                    imp: name,
                                    stats: None,
                                });
                                continue;
                            }
                        },
                        Phase::F => {
                            let got = imp.count(m, &mut t)?;
                            check(
                                &format!("counts {:?}, expected {want_f}", got.last()),
                                got.iter().all(|&c| c == want_f),
                                &mut failures,
                            );
                            if standard {
                                check(
                                    "count differs from WORKLOAD.md",
                                    got.iter().all(|&c| c == EXPECTED_F_10K),
                                    &mut failures,
                                );
                            }
                            note = format!("count {}", got.last().copied().unwrap_or_default());
                        }
                        Phase::G => imp.update(&new_scores, &mut t)?,
                        Phase::H => imp.delete(&mut t)?,
                    }
                    let ccpu = match (t.cpu0, thread_cpu_ns()) {
                        (Some(a), Some(b)) => Some(b.saturating_sub(a)),
                        _ => None,
                    };
                    let rt = imp.round_trips() - rt0;
                    let scpu = server_cpu(dbconn)? - scpu0;
                    let mut s = stats(t, rt);
                    let ops = s.ops.max(1) as f64;
                    if let Some(out) = &cfg.instructions {
                        callgrind(&["-i", "off"])?;
                        s.instructions = Some(callgrind_total(out)? as f64 / ops);
                    }
                    s.client_us = ccpu.map(|c| c as f64 / 1000.0 / ops);
                    s.server_us = Some(scpu * 1e6 / ops);
                    if let Some(srv) = &server {
                        let mut calls: Vec<(String, u64)> = srv
                            .command_calls()?
                            .into_iter()
                            .filter(|(k, _)| k != "info")
                            .collect();
                        calls.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
                        s.commands_n =
                            Some(calls.iter().map(|(_, v)| *v as f64).sum::<f64>() / ops);
                        s.commands = calls
                            .iter()
                            .map(|(k, v)| format!("{k} {}", per_op(*v as f64 / ops)))
                            .collect::<Vec<_>>()
                            .join(", ");
                    }
                    match phase {
                        Phase::A => {
                            let mem1 = used_memory(dbconn)?;
                            let per = (mem1 - mem0) as f64 / n as f64;
                            memory.push((name, per));
                            note = format!("{per:.0} B/entity");
                        }
                        Phase::G => {
                            let expect: HashMap<u64, f64> = ids
                                .iter()
                                .copied()
                                .zip(new_scores.iter().copied())
                                .collect();
                            for p in imp.check_scores(&expect)? {
                                check(&p, false, &mut failures);
                            }
                        }
                        Phase::H => {
                            // only the id counter is left
                            let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(dbconn)?;
                            check(
                                &format!("keys left: {keys:?}"),
                                keys.len() == 1,
                                &mut failures,
                            );
                        }
                        _ => {}
                    }
                    if s.ops != expected_ops(phase, n, m) {
                        check(&format!("{} operations timed", s.ops), false, &mut failures);
                    }
                    println!(
                        "{:<16} {:<10} {:>8.0} ops/s  p50 {:>7.1} us  p99 {:>7.1} us  {:.3} RT/op  cpu/op client {} server {}  {note}",
                        phase.label(),
                        name,
                        s.ops_s,
                        s.p50_us,
                        s.p99_us,
                        s.rt_per_op,
                        s.client_us.map_or("?".into(), |c| format!("{c:.1} us")),
                        s.server_us.map_or("?".into(), |c| format!("{c:.1} us")),
                    );
                    if !s.commands.is_empty() {
                        println!("{:<16} {:<10} server ran per op: {}", "", "", s.commands);
                    }
                    if let Some(i) = s.instructions {
                        println!("{:<16} {:<10} server instructions per op: {i:.0}", "", "");
                    }
                    lines.push(Line {
                        phase,
                        imp: name,
                        stats: Some(s),
                    });
                }
            }
        }
    }

    print!("{}", table(&lines, &memory, cfg.runs));
    if cfg.compare {
        print!("{}", compare_table(&lines));
    }
    if cfg.instructions.is_some() {
        print!("{}", instructions_table(&lines));
    }
    if failures.is_empty() {
        println!("\nall answers checked: OK");
        Ok(true)
    } else {
        eprintln!("\n!!!!!!!! {} CHECK(S) FAILED !!!!!!!!", failures.len());
        for f in &failures {
            eprintln!("  FAILED {f}");
        }
        Ok(false)
    }
}

/// Runs `callgrind_control` with `args` (on the one valgrind process running).
fn callgrind(args: &[&str]) -> Res<()> {
    let out = std::process::Command::new("callgrind_control")
        .args(args)
        .output()?;
    if !out.status.success() {
        return Err(format!("callgrind_control {args:?} failed: {out:?}").into());
    }
    Ok(())
}

/// Dumps callgrind's counts since the last zeroing and returns their total
/// (the `totals:` line of the newest `<out>.<n>` file).
fn callgrind_total(out: &std::path::Path) -> Res<u64> {
    callgrind(&["-d"])?;
    let dir = out.parent().unwrap_or(std::path::Path::new("."));
    let stem = out
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or("--instructions needs a file name")?;
    // the dumps are <out>.1, <out>.2, ...: the highest number is the newest
    let mut newest: Option<(u64, PathBuf)> = None;
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name();
        let Some(n) = name
            .to_str()
            .and_then(|n| n.strip_prefix(stem))
            .and_then(|n| n.strip_prefix('.'))
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        if newest.as_ref().is_none_or(|(m, _)| n > *m) {
            newest = Some((n, e.path()));
        }
    }
    let (_, path) = newest.ok_or("no callgrind dump found")?;
    let text = std::fs::read_to_string(&path)?;
    text.lines()
        .find_map(|l| l.strip_prefix("totals:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| format!("{}: no totals line", path.display()).into())
}

/// Server instructions per operation, rom against the hand-written program.
fn instructions_table(lines: &[Line]) -> String {
    let pick = |ph: Phase, imp: &str| -> Option<f64> {
        let xs: Vec<f64> = lines
            .iter()
            .filter(|l| l.phase == ph && l.imp == imp)
            .filter_map(|l| l.stats.as_ref().and_then(|s| s.instructions))
            .collect();
        (!xs.is_empty()).then(|| median(xs))
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n| phase | server instructions/op rom | hand | rom / hand |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|");
    let mut seen: Vec<Phase> = Vec::new();
    for l in lines {
        if seen.contains(&l.phase) {
            continue;
        }
        seen.push(l.phase);
        let (r, h) = (pick(l.phase, "rom"), pick(l.phase, "hand"));
        let show = |x: Option<f64>| x.map_or("?".to_owned(), |x| format!("{x:.0}"));
        let ratio = match (r, h) {
            (Some(r), Some(h)) if h > 0.0 => format!("{:.2}x", r / h),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            l.phase.label(),
            show(r),
            show(h),
            ratio
        );
    }
    out
}

/// A per-operation count, short: `1`, `0.5`, `57.3`.
fn per_op(x: f64) -> String {
    let s = format!("{x:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

fn expected_ops(phase: Phase, n: usize, m: usize) -> usize {
    match phase {
        Phase::A | Phase::B | Phase::C | Phase::G | Phase::H => n,
        Phase::C2 => m.min(n),
        Phase::D | Phase::E | Phase::F => m,
    }
}

fn median(mut xs: Vec<f64>) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    xs.sort_by(f64::total_cmp);
    let k = xs.len() / 2;
    if xs.len() % 2 == 1 {
        xs[k]
    } else {
        (xs[k - 1] + xs[k]) / 2.0
    }
}

/// `--compare`: per phase, rom (sync) against the hand-written program in
/// what the server did for one operation (medians over the runs), so that a
/// change on either side shows as a change of ratio.
fn compare_table(lines: &[Line]) -> String {
    let pick = |ph: Phase, imp: &str, f: &dyn Fn(&Stats) -> Option<f64>| -> Option<f64> {
        let xs: Vec<f64> = lines
            .iter()
            .filter(|l| l.phase == ph && l.imp == imp)
            .filter_map(|l| l.stats.as_ref().and_then(f))
            .collect();
        (!xs.is_empty()).then(|| median(xs))
    };
    let show = |x: Option<f64>| x.map_or("?".to_owned(), |x| format!("{x:.1}"));
    let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}x", a / b),
        _ => String::new(),
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n| phase | ops/s rom / hand | server CPU us/op rom | hand | rom / hand | server commands/op rom | hand |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|");
    let mut seen: Vec<Phase> = Vec::new();
    for l in lines {
        if seen.contains(&l.phase) {
            continue;
        }
        seen.push(l.phase);
        let ph = l.phase;
        let (ro, ho) = (
            pick(ph, "rom", &|s| Some(s.ops_s)),
            pick(ph, "hand", &|s| Some(s.ops_s)),
        );
        let (rs, hs) = (
            pick(ph, "rom", &|s| s.server_us),
            pick(ph, "hand", &|s| s.server_us),
        );
        let (rc, hc) = (
            pick(ph, "rom", &|s| s.commands_n),
            pick(ph, "hand", &|s| s.commands_n),
        );
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            ph.label(),
            ratio(ro, ho),
            show(rs),
            show(hs),
            ratio(rs, hs),
            show(rc),
            show(hc),
        );
    }
    out
}

/// The summary table (Markdown, ready for the book): per phase and
/// implementation, the median over the runs of each figure.
fn table(lines: &[Line], memory: &[(&'static str, f64)], runs: usize) -> String {
    // (phase, implementation) in order of first appearance
    let mut groups: Vec<(Phase, &'static str)> = Vec::new();
    for l in lines {
        if !groups.contains(&(l.phase, l.imp)) {
            groups.push((l.phase, l.imp));
        }
    }
    let pick = |g: (Phase, &str), f: &dyn Fn(&Stats) -> Option<f64>| -> Option<f64> {
        let xs: Vec<f64> = lines
            .iter()
            .filter(|l| (l.phase, l.imp) == g)
            .filter_map(|l| l.stats.as_ref().and_then(f))
            .collect();
        (!xs.is_empty()).then(|| median(xs))
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n{}| phase | implementation | ops/s | p50 us | p99 us | round trips/op | client CPU us/op | server CPU us/op | ops/s vs hand | p50 vs hand |",
        if runs > 1 {
            format!("medians of {runs} runs\n\n")
        } else {
            String::new()
        }
    );
    let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for &g in &groups {
        let Some(ops) = pick(g, &|s| Some(s.ops_s)) else {
            let _ = writeln!(out, "| {} | {} | skipped | | | | | | | |", g.0.label(), g.1);
            continue;
        };
        let p50 = pick(g, &|s| Some(s.p50_us)).unwrap_or(f64::NAN);
        let p99 = pick(g, &|s| Some(s.p99_us)).unwrap_or(f64::NAN);
        let rt = pick(g, &|s| Some(s.rt_per_op)).unwrap_or(f64::NAN);
        let cpu = |c: Option<f64>| c.map_or("?".into(), |c| format!("{c:.1}"));
        let client = cpu(pick(g, &|s| s.client_us));
        let server = cpu(pick(g, &|s| s.server_us));
        let hand = (g.0, "hand");
        let (r_ops, r_p50) = match (
            g.1 != "hand",
            pick(hand, &|s| Some(s.ops_s)),
            pick(hand, &|s| Some(s.p50_us)),
        ) {
            (true, Some(h_ops), Some(h_p50)) if h_ops > 0.0 && p50 > 0.0 => (
                format!("{:.2}x", ops / h_ops),
                format!("{:.2}x", h_p50 / p50),
            ),
            _ => (String::new(), String::new()),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {ops:.0} | {p50:.0} | {p99:.0} | {rt:.3} | {client} | {server} | {r_ops} | {r_p50} |",
            g.0.label(),
            g.1,
        );
    }
    let mut imps: Vec<&str> = Vec::new();
    for (imp, _) in memory {
        if !imps.contains(imp) {
            imps.push(imp);
        }
    }
    let mem = |imp: &str| median(memory.iter().filter(|m| m.0 == imp).map(|m| m.1).collect());
    let _ = writeln!(
        out,
        "\n| memory after phase a | bytes per entity | vs hand |"
    );
    let _ = writeln!(out, "|---|---:|---:|");
    for imp in imps {
        let per = mem(imp);
        let ratio = if imp != "hand" && memory.iter().any(|m| m.0 == "hand") {
            format!("{:.2}x", per / mem("hand"))
        } else {
            String::new()
        };
        let _ = writeln!(out, "| {imp} | {per:.0} | {ratio} |");
    }
    out
}
