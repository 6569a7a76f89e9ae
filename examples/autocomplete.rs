//! Type-ahead over a few thousand names: as each letter is typed, the first
//! matches in alphabetical order, in one round trip per keystroke.
//!
//! `cargo run --features testing --example autocomplete` (starts a throwaway
//! redis-server), or set `ROM_REDIS_URL` to use your own.

use rom::prelude::*;
use std::time::Instant;

/// A city, searchable by prefix (case-insensitive), by word, and listed in
/// alphabetical order.
#[derive(Model, Clone, Debug)]
#[rom(table = cities)]
pub struct City {
    /// Allocated at the first save.
    #[rom(primary_key)]
    pub id: Option<u64>,
    /// The name: prefix-searchable whatever the case, ordered by text, split
    /// into words.
    #[rom(index(prefix, case_insensitive), index(sort), index(text))]
    pub name: String,
    /// For ranking ties and filters.
    #[rom(index(numeric))]
    pub population: i64,
}

/// Deterministic made-up names: "Port Alamira", "Nova Belostad"...
fn names(n: usize) -> Vec<(String, i64)> {
    const A: [&str; 12] = [
        "Al", "Be", "Ca", "Do", "El", "Fa", "Gi", "Ha", "Is", "Ju", "Ka", "Lo",
    ];
    const B: [&str; 10] = ["mi", "ra", "no", "ve", "li", "ta", "so", "re", "du", "ka"];
    const C: [&str; 8] = [
        "ra", "stad", "burg", "ville", "polis", "ton", "mouth", "field",
    ];
    const P: [&str; 5] = ["", "Port ", "Nova ", "San ", "Upper "];
    let mut seed: u64 = 42;
    let mut next = |m: usize| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((seed >> 33) % m as u64) as usize
    };
    (0..n)
        .map(|_| {
            let name = format!(
                "{}{}{}{}",
                P[next(P.len())],
                A[next(A.len())],
                B[next(B.len())],
                C[next(C.len())]
            );
            (name, 1000 + next(5_000_000) as i64)
        })
        .collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (_server, mut conn) = match std::env::var("ROM_REDIS_URL") {
        Ok(url) => (None, redis::Client::open(url)?.get_connection()?),
        Err(_) => {
            let s = rom::testing::RedisServer::start()?;
            let c = s.connection()?;
            (Some(s), c)
        }
    };
    let rows: Vec<City> = names(5000)
        .into_iter()
        .map(|(name, population)| City {
            id: None,
            name,
            population,
        })
        .collect();
    let t = Instant::now();
    for chunk in rows.chunks(500) {
        for r in City::insert_all(&mut conn, chunk.to_vec())? {
            r?;
        }
    }
    println!("indexed {} cities in {:?}", rows.len(), t.elapsed());

    // the user types "belim" one letter at a time (any case)
    for typed in ["b", "Be", "bel", "BELI", "belim"] {
        let t = Instant::now();
        let hits = cities::table
            .filter(cities::name.starts_with(typed))
            .order_by(cities::name.asc())
            .limit(5)
            .load(&mut conn)?;
        let total = cities::table
            .filter(cities::name.starts_with(typed))
            .count(&mut conn)?;
        let shown: Vec<&str> = hits.iter().map(|c| c.name.as_str()).collect();
        println!(
            "{typed:>6} -> {total:>4} matches in {:>6.0?}: {shown:?}",
            t.elapsed()
        );
        // on a full-text column the prefix index works per word: every hit has a
        // word starting with what was typed ("Nova Belimouth" for "bel"), and
        // the hits come in alphabetical order of the whole name
        let typed_lc = typed.to_lowercase();
        assert!(shown.iter().all(|n| {
            n.to_lowercase()
                .split(' ')
                .any(|w| w.starts_with(&typed_lc))
        }));
        assert!(shown.windows(2).all(|w| w[0].as_bytes() <= w[1].as_bytes()));
    }

    // a word anywhere in the name, biggest first
    let ports = cities::table
        .filter(cities::name.has_word("port"))
        .filter(cities::population.gt(4_000_000))
        .order_by(cities::population.desc())
        .limit(3)
        .load(&mut conn)?;
    println!(
        "big ports: {:?}",
        ports
            .iter()
            .map(|c| (&c.name, c.population))
            .collect::<Vec<_>>()
    );

    // a pattern: ? is one character, * any run
    let pattern = "*b?rg";
    let n = cities::table
        .filter(cities::name.like(pattern))
        .count(&mut conn)?;
    println!("{n} names match {pattern:?}");
    Ok(())
}
