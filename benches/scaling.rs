//! How query cost grows with model size: it should follow the result, not the
//! number of rows. Criterion benchmarks at 10k and 100k rows of
//! - a range + order + limit 10 query that loads its rows (issue: queries),
//! - a prefix query returning 10 matches, and a `like` with a leading wildcard
//!   (issue: string indexes),
//!
//! against a throwaway redis-server the bench starts itself.
//!
//! `cargo bench --features testing --bench scaling` (about two minutes; the
//! 100k data set takes ~20 s to load). Under `cargo test` it runs once on small
//! data, as a smoke test.

#![allow(missing_docs)] // criterion's macros generate undocumented items

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use rom::prelude::*;
use std::hint::black_box;

/// The workload's user, reduced to what these queries touch.
#[derive(Model, Clone, Debug)]
#[rom(table = people)]
pub struct Person {
    /// Key.
    #[rom(primary_key)]
    pub id: Option<u64>,
    /// A made-up name, prefix- and suffix-searchable.
    #[rom(index(prefix), index(suffix))]
    pub name: String,
    /// 18..80.
    #[rom(index(numeric))]
    pub age: i32,
    /// 0..1000.
    #[rom(index(numeric))]
    pub score: f64,
}

fn rows(n: usize) -> Vec<Person> {
    let mut seed: u64 = 7;
    let mut next = move |m: u64| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) % m
    };
    (0..n)
        .map(|i| Person {
            id: None,
            // unique names with a shared structure: "name-<i in base 26>-<random>"
            name: format!("n{:05}-{}", i, next(1_000_000)),
            age: 18 + next(63) as i32,
            score: next(1_000_000) as f64 / 1000.0,
        })
        .collect()
}

fn load(conn: &mut redis::Connection, n: usize) {
    let _: () = redis::cmd("FLUSHALL").query(conn).expect("flush");
    for chunk in rows(n).chunks(2000) {
        for r in Person::insert_all(conn, chunk.to_vec()).expect("batch") {
            r.expect("insert");
        }
    }
}

fn bench(c: &mut Criterion) {
    let full = std::env::args().any(|a| a == "--bench");
    let sizes: &[usize] = if full {
        &[10_000, 100_000]
    } else {
        &[500, 1000]
    };
    let server = rom::testing::RedisServer::start().expect("redis-server");
    let mut conn = server.connection().expect("connect");
    let mut g = c.benchmark_group("scaling");
    for &n in sizes {
        load(&mut conn, n);
        g.bench_with_input(BenchmarkId::new("range_order_limit10", n), &n, |b, _| {
            b.iter(|| {
                let rows = people::table
                    .filter(people::age.between(20..=30))
                    .order_by(people::score.asc())
                    .limit(10)
                    .load(&mut conn)
                    .expect("query");
                black_box(rows)
            })
        });
        // a prefix that matches 10 names whatever n is: n000xx-
        g.bench_with_input(BenchmarkId::new("prefix_10_matches", n), &n, |b, _| {
            b.iter(|| {
                let rows = people::table
                    .filter(people::name.starts_with("n0001"))
                    .limit(10)
                    .load(&mut conn)
                    .expect("query");
                assert_eq!(rows.len(), 10);
                black_box(rows)
            })
        });
        // a leading wildcard: answered by the suffix index when the end is literal
        g.bench_with_input(
            BenchmarkId::new("like_leading_wildcard_suffix", n),
            &n,
            |b, _| {
                b.iter(|| {
                    black_box(
                        people::table
                            .filter(people::name.like("*-12345"))
                            .count(&mut conn)
                            .expect("query"),
                    )
                })
            },
        );
        // wildcards at both ends: the whole index is scanned (documented cost)
        g.bench_with_input(BenchmarkId::new("like_scan", n), &n, |b, _| {
            b.iter(|| {
                black_box(
                    people::table
                        .filter(people::name.like("*1234*"))
                        .count(&mut conn)
                        .expect("query"),
                )
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
