//! What expiry costs: the same reads and writes on two models that differ
//! only in `#[rom(expires(ttl = "1h"))]`, in one run, against a throwaway
//! redis-server the bench starts itself. For each operation it prints
//! ops/s, server CPU µs per operation and the ratio of the expiring model to
//! the plain one (no row expires during the run: this is the price of
//! checking deadlines, not of reclaiming).
//!
//! `cargo bench --features testing --bench expiry -- --bench [--n 10000] [--ops 5000]`.
//! Under `cargo test` it runs once on small data, as a smoke test.

#![allow(missing_docs, clippy::unwrap_used)]

use rom::prelude::*;
use std::time::Instant;

macro_rules! model {
    ($name:ident, $table:ident, $($attr:tt)*) => {
        #[derive(Model, Clone, Debug)]
        #[rom(table = $table $($attr)*)]
        pub struct $name {
            #[rom(primary_key)]
            pub id: Option<u64>,
            #[rom(unique)]
            pub email: String,
            #[rom(index(eq))]
            pub city: String,
            #[rom(index(numeric))]
            pub age: i32,
            pub bio: String,
        }
    };
}
model!(Plain, plain_users,);
model!(Expiring, expiring_users, , expires(ttl = "1h"));

fn rand(seed: &mut u64, m: u64) -> u64 {
    *seed = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (*seed >> 33) % m
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

macro_rules! ops {
    ($m:ident, $t:ident, $n:expr) => {{
        let n = $n as u64;
        let list: Vec<(&str, Box<dyn FnMut(&mut redis::Connection, usize)>)> = vec![
            (
                "get by key",
                Box::new(move |c, i| {
                    black_box($m::get(c, 1 + (i as u64 * 7919) % n).unwrap());
                }),
            ),
            (
                "unique lookup",
                Box::new(move |c, i| {
                    let e = format!("u{}@x.io", (i as u64 * 7919) % n);
                    black_box($t::table.filter($t::email.eq(e.as_str())).first(c).unwrap());
                }),
            ),
            (
                "eq, limit 10",
                Box::new(|c, i| {
                    let city = format!("city{}", i % 50);
                    black_box(
                        $t::table
                            .filter($t::city.eq(city.as_str()))
                            .limit(10)
                            .load(c)
                            .unwrap(),
                    );
                }),
            ),
            (
                "range, order, limit 10",
                Box::new(|c, i| {
                    let lo = 18 + (i % 50) as i32;
                    black_box(
                        $t::table
                            .filter($t::age.ge(lo))
                            .order_by($t::age.asc())
                            .limit(10)
                            .load(c)
                            .unwrap(),
                    );
                }),
            ),
            (
                "count all",
                Box::new(|c, _| {
                    black_box($t::table.count(c).unwrap());
                }),
            ),
            (
                "count eq",
                Box::new(|c, i| {
                    let city = format!("city{}", i % 50);
                    black_box(
                        $t::table
                            .filter($t::city.eq(city.as_str()))
                            .count(c)
                            .unwrap(),
                    );
                }),
            ),
            (
                "insert",
                Box::new(move |c, i| {
                    black_box(
                        $m {
                            id: None,
                            email: format!("new{i}@x.io"),
                            city: "new".into(),
                            age: 30,
                            bio: "b".into(),
                        }
                        .insert(c)
                        .unwrap(),
                    );
                }),
            ),
        ];
        list
    }};
}

use std::hint::black_box;

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
        (200, 50)
    } else {
        (arg("--n", 10_000), arg("--ops", 5_000))
    };
    let server = rom::testing::RedisServer::start().expect("redis-server");
    let mut c = server.connection().expect("connect");
    let mut seed = 7;
    for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
        let mut plain = Vec::new();
        let mut exp = Vec::new();
        for &i in chunk {
            let (city, age) = (
                format!("city{}", rand(&mut seed, 50)),
                18 + rand(&mut seed, 63) as i32,
            );
            let email = format!("u{i}@x.io");
            let bio = "x".repeat(40);
            plain.push(Plain {
                id: None,
                email: email.clone(),
                city: city.clone(),
                age,
                bio: bio.clone(),
            });
            exp.push(Expiring {
                id: None,
                email,
                city,
                age,
                bio,
            });
        }
        for r in Plain::insert_all(&mut c, plain).unwrap() {
            r.unwrap();
        }
        for r in Expiring::insert_all(&mut c, exp).unwrap() {
            r.unwrap();
        }
    }
    println!("expiry overhead: {n} rows per model, {ops} operations each\n");
    println!(
        "| operation | plain ops/s | expiring ops/s | ratio | plain server µs/op | expiring server µs/op |"
    );
    println!("|---|---|---|---|---|---|");
    let plain = ops!(Plain, plain_users, n);
    let expiring = ops!(Expiring, expiring_users, n);
    for ((name, mut p), (_, mut e)) in plain.into_iter().zip(expiring) {
        // alternate halves so that drift hits both alike
        let (p1, ps1) = time(&mut c, ops / 2, &mut p);
        let (e1, es1) = time(&mut c, ops / 2, &mut e);
        let (p2, ps2) = time(&mut c, ops / 2, |c, i| p(c, i + ops));
        let (e2, es2) = time(&mut c, ops / 2, |c, i| e(c, i + ops));
        let (po, eo) = ((p1 + p2) / 2.0, (e1 + e2) / 2.0);
        println!(
            "| {name} | {po:.0} | {eo:.0} | {:.2}x | {:.1} | {:.1} |",
            eo / po,
            (ps1 + ps2) / 2.0,
            (es1 + es2) / 2.0
        );
    }
}
