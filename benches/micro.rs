//! Micro-benchmarks of rom's client-side CPU work (no server): planning a
//! query, encoding and decoding a row, building keys and write plans.
//!
//! ```text
//! cargo bench --bench micro            # all of them
//! cargo bench --bench micro -- plan    # those whose name contains "plan"
//! ```
//!
//! criterion is built with `default-features = false` (no plotting backends,
//! no rayon), so it prints its text report only. Under `cargo test --benches`
//! criterion runs each benchmark once, as a test.

use criterion::{Criterion, black_box, criterion_main};
use rom::__private::RowData;
mod common;
use common::{User, users};
use rom::prelude::*;

fn sample() -> User {
    User {
        id: Some(1234),
        email: "User1234.Carisson@Example.COM".into(),
        name: "Islo Carisson".into(),
        age: 19,
        score: 741.55,
        created: 1_643_574_457,
        bio: "labore sed adipiscing consectetur laboris dolor ipsum consectetur ut labore \
              commodo ipsum incididunt ullamco labore nisi magna lorem eiusmod laboris minim \
              magna do ut minim"
            .into(),
    }
}

/// The hash fields of `u` as HGETALL returns them (what decoding starts from).
fn stored_fields(u: &User) -> Vec<(Vec<u8>, Vec<u8>)> {
    let cells = u.cells().expect("cells");
    let mut out: Vec<(Vec<u8>, Vec<u8>)> = <User as rom::Model>::SCHEMA
        .columns
        .iter()
        .zip(cells)
        .filter_map(|(c, cell)| Some((c.name.as_bytes().to_vec(), cell.stored?)))
        .collect();
    // the row's record of its index entries, as the save script writes it
    out.push((
        b"#i".to_vec(),
        b"0:29:user1234.carisson@example.com1:4:islo1:8:carisson".to_vec(),
    ));
    out
}

fn planning(c: &mut Criterion) {
    c.bench_function("plan: build + load_plan, 5 filters, order, limit", |b| {
        b.iter(|| {
            let q = users::table
                .filter(users::age.between(black_box(20)..=black_box(30)))
                .filter(users::score.ge(black_box(100.0)))
                .filter(users::name.has_word(black_box("jata")))
                .filter(users::email.eq(black_box("user1@example.com")).not())
                .filter(users::age.eq_any(black_box([21, 22, 23])))
                .order_by(users::score.asc())
                .limit(10);
            black_box(q.load_plan().expect("plan"))
        })
    });
    c.bench_function("plan: count of one range (phase f)", |b| {
        b.iter(|| {
            let q = users::table.filter(users::age.between(black_box(20)..=black_box(30)));
            black_box(q.count_plan().expect("plan"))
        })
    });
    c.bench_function("plan: unique lookup, first (phase c)", |b| {
        b.iter(|| {
            let q = users::table
                .filter(users::email.eq(black_box("User1234.Carisson@Example.COM")))
                .limit(1);
            black_box(q.load_plan().expect("plan"))
        })
    });
    c.bench_function("plan: get by key (phase b)", |b| {
        b.iter(|| black_box(User::get_plan(&[black_box(1234u64)])))
    });
}

/// What `Plan::run` sends, built the way it builds it: the EVALSHA command,
/// and (eagerly, on every call) the EVAL fallback carrying the script's whole
/// source. Measured separately to show what the fallback costs when it is
/// built before it is needed.
fn commands(c: &mut Criterion) {
    let q = users::table
        .filter(users::age.between(20..=30))
        .order_by(users::score.asc())
        .limit(10);
    let plan = q.load_plan().expect("plan");
    let script = plan.script().expect("a script plan");
    let (keys, args) = (plan.keys().to_vec(), plan.args().to_vec());
    c.bench_function("cmd: EVALSHA of the query (phase d)", |b| {
        b.iter(|| {
            let mut cmd = redis::cmd("EVALSHA");
            cmd.arg(script.sha())
                .arg(keys.len())
                .arg(black_box(&keys))
                .arg(black_box(&args));
            black_box(cmd.get_packed_command())
        })
    });
    c.bench_function(
        "cmd: EVAL fallback of the query (built on every call)",
        |b| {
            b.iter(|| {
                let mut cmd = redis::cmd("EVAL");
                cmd.arg(black_box(script.source()))
                    .arg(keys.len())
                    .arg(black_box(&keys))
                    .arg(black_box(&args));
                black_box(cmd)
            })
        },
    );
}

fn rows(c: &mut Criterion) {
    let u = sample();
    c.bench_function("row: encode (Model::cells)", |b| {
        b.iter(|| black_box(black_box(&u).cells().expect("cells")))
    });
    let fresh = User {
        id: None,
        ..sample()
    };
    c.bench_function("row: insert plan (phase a, client side)", |b| {
        b.iter(|| black_box(black_box(&fresh).insert_plan().expect("plan")))
    });
    let fields = stored_fields(&u);
    c.bench_function("row: decode (RowData + Model::from_row)", |b| {
        b.iter(|| {
            // what the reply decoder does for each row: collect the hash
            // fields, then build the value
            let key = <User as rom::Model>::layout().row_key(b"1234");
            let row = RowData {
                key,
                fields: black_box(&fields).iter().cloned().collect(),
            };
            black_box(User::from_row(1234, &row).expect("decode"))
        })
    });
}

fn keys(c: &mut Criterion) {
    let layout = <User as rom::Model>::layout();
    c.bench_function("key: Layout::row_key", |b| {
        b.iter(|| black_box(layout.row_key(black_box(b"1234567"))))
    });
    c.bench_function("key: u64 member + row_key", |b| {
        b.iter(|| {
            let m = rom::Key::to_member(black_box(&1_234_567u64));
            black_box(layout.row_key(&m))
        })
    });
}

/// A text of `n` distinct words, mixed case (`Wab Wac ...`), each made of
/// letters only so that every splitting rule sees the same words.
fn distinct_words(n: usize) -> String {
    let mut out = String::with_capacity(n * 6);
    for i in 0..n {
        out.push_str(if i == 0 { "W" } else { " W" });
        let mut k = i;
        loop {
            out.push(char::from(b'a' + (k % 26) as u8));
            k /= 26;
            if k == 0 {
                break;
            }
        }
    }
    out
}

/// Splitting, folding and de-duplicating the words of a long text: the
/// client-side cost of saving it into a full-text index.
fn text(c: &mut Criterion) {
    let big = distinct_words(150_000);
    let mut g = c.benchmark_group("text");
    g.sample_size(10);
    g.bench_function("words() of 150,000 distinct words", |b| {
        b.iter(|| black_box(rom::value::words(black_box(&big))))
    });
    let u = User {
        id: None,
        name: big.clone(),
        ..sample()
    };
    g.bench_function(
        "insert plan, 150,000 distinct words in a text column",
        |b| b.iter(|| black_box(black_box(&u).insert_plan().expect("plan"))),
    );
    g.finish();
}

/// A connection that answers every call at once with the same reply: it
/// isolates the client's cost of running a plan (building the command,
/// decoding, and with the feature `tracing` the span) from the network.
struct Answer(redis::Value);

impl redis::ConnectionLike for Answer {
    fn req_packed_command(&mut self, _: &[u8]) -> redis::RedisResult<redis::Value> {
        Ok(self.0.clone())
    }
    fn req_packed_commands(
        &mut self,
        _: &[u8],
        _: usize,
        count: usize,
    ) -> redis::RedisResult<Vec<redis::Value>> {
        Ok(vec![self.0.clone(); count])
    }
    fn get_db(&self) -> i64 {
        0
    }
    fn check_connection(&mut self) -> bool {
        true
    }
    fn is_open(&self) -> bool {
        true
    }
}

/// Running a plan (`exists`: one EXISTS) with the client's work only. Compare
/// `cargo bench --bench micro -- run:` with and without `--features tracing`:
/// the difference is the cost of the span with no subscriber; the second case
/// (feature on) adds a `tracing_subscriber::fmt` subscriber writing to nowhere.
fn running(c: &mut Criterion) {
    let mut conn = Answer(redis::Value::Int(1));
    c.bench_function("run: exists, no subscriber", |b| {
        b.iter(|| black_box(User::exists(&mut conn, black_box(7)).expect("exists")))
    });
    #[cfg(feature = "tracing")]
    {
        let sub = tracing_subscriber::fmt()
            .with_writer(std::io::sink)
            .with_max_level(tracing::Level::INFO)
            .finish();
        tracing::subscriber::with_default(sub, || {
            c.bench_function("run: exists, fmt subscriber", |b| {
                b.iter(|| black_box(User::exists(&mut conn, black_box(7)).expect("exists")))
            });
        });
    }
}

mod group {
    use super::{commands, keys, planning, rows, running, text};
    criterion::criterion_group!(benches, planning, commands, rows, keys, text, running);
}
criterion_main!(group::benches);
