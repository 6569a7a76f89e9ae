//! Queries across partitions give what one slot gives: the same random rows
//! are written to a partitioned model and to an unpartitioned twin, and
//! random queries (filters, orders with ties and nulls, offsets, limits)
//! must answer alike on both, by `load`, `ids`, `count`, `exists`, `first`;
//! deletes across partitions remove what the twin's delete removes. On a
//! single server and on a real Redis Cluster.
#![allow(clippy::unwrap_used, missing_docs)]

mod random;
use random::{Rng, seed};
use rom::prelude::*;
use rom::testing::{RedisCluster, RedisServer};

macro_rules! item {
    ($name:ident, $table:ident $(, $($part:tt)+)?) => {
        #[derive(Model, Clone, Debug, PartialEq)]
        #[rom(table = $table $(, $($part)+)?)]
        struct $name {
            #[rom(primary_key)]
            id: u64,
            #[rom(index(eq))]
            color: String,
            #[rom(index(numeric))]
            size: Option<i64>,
            #[rom(index(sort))]
            name: Option<String>,
        }
    };
}
item!(Part, parts_p, partition(by = id, buckets = 8));
item!(Twin, parts_u);

type Row = (u64, String, Option<i64>, Option<String>);
fn p_row(r: &Part) -> Row {
    (r.id, r.color.clone(), r.size, r.name.clone())
}
fn u_row(r: &Twin) -> Row {
    (r.id, r.color.clone(), r.size, r.name.clone())
}

const COLORS: [&str; 3] = ["red", "green", "blue"];
const NAMES: [&str; 4] = ["ann", "bob", "Ann", "émile"];

fn fill(c: &mut impl rom::Connection, r: &mut Rng, n: u64) {
    let mut ps = Vec::new();
    let mut us = Vec::new();
    for id in 1..=n {
        // few distinct values: many ties, and nulls
        let color = COLORS[r.below(3) as usize].to_owned();
        let size = (r.below(4) > 0).then(|| r.below(5) as i64 - 2);
        let name = (r.below(4) > 0).then(|| NAMES[r.below(4) as usize].to_owned());
        ps.push(Part {
            id,
            color: color.clone(),
            size,
            name: name.clone(),
        });
        us.push(Twin {
            id,
            color,
            size,
            name,
        });
    }
    for x in Part::insert_all(c, ps).unwrap() {
        x.unwrap();
    }
    for x in Twin::insert_all(c, us).unwrap() {
        x.unwrap();
    }
}

/// One random query, built the same way on both models.
macro_rules! build {
    ($q:expr, $t:ident, $shape:expr) => {{
        let (f, o, off, lim): (u64, u64, u64, Option<u64>) = $shape;
        let color = COLORS[(f % 3) as usize];
        let mut q = match f % 6 {
            0 => $q,
            1 => $q.filter($t::color.eq(color)),
            2 => $q.filter($t::size.ge(0)),
            3 => $q.filter($t::color.eq(color).or($t::size.lt(0))),
            4 => $q.filter($t::color.eq(color).and_not($t::size.between(-1..=1))),
            _ => $q.filter($t::name.starts_with("a")),
        };
        q = match o {
            0 => q,
            1 => q.order_by($t::size.asc()),
            2 => q.order_by($t::size.desc()),
            3 => q.order_by($t::name.asc()),
            _ => q.order_by($t::name.desc()),
        };
        if off > 0 {
            q = q.offset(off);
        }
        if let Some(l) = lim {
            q = q.limit(l);
        }
        q
    }};
}

fn compare(c: &mut impl rom::Connection, r: &mut Rng, seed: u64, rounds: usize) {
    for round in 0..rounds {
        let shape = (
            r.below(6),
            r.below(5),
            if r.below(3) == 0 { r.below(10) } else { 0 },
            if r.below(2) == 0 {
                Some(r.below(12))
            } else {
                None
            },
        );
        let ctx = format!("round {round}, seed {seed}, shape {shape:?}");
        let want: Vec<Row> = build!(parts_u::table.into_query(), parts_u, shape)
            .load(c)
            .unwrap()
            .iter()
            .map(|r| u_row(r))
            .collect();
        let got: Vec<Row> = build!(parts_p::table.across_partitions(), parts_p, shape)
            .load(c)
            .unwrap()
            .iter()
            .map(|r| p_row(r))
            .collect();
        assert_eq!(got, want, "load: {ctx}");
        let want_ids = build!(parts_u::table.into_query(), parts_u, shape)
            .ids(c)
            .unwrap();
        let got_ids = build!(parts_p::table.across_partitions(), parts_p, shape)
            .ids(c)
            .unwrap();
        assert_eq!(got_ids, want_ids, "ids: {ctx}");
        let want_n = build!(parts_u::table.into_query(), parts_u, shape)
            .count(c)
            .unwrap();
        let got_n = build!(parts_p::table.across_partitions(), parts_p, shape)
            .count(c)
            .unwrap();
        assert_eq!(got_n, want_n, "count: {ctx}");
        let want_e = build!(parts_u::table.into_query(), parts_u, shape)
            .exists(c)
            .unwrap();
        let got_e = build!(parts_p::table.across_partitions(), parts_p, shape)
            .exists(c)
            .unwrap();
        assert_eq!(got_e, want_e, "exists: {ctx}");
        // pages across partitions: the same rows, in the same order
        let size = r.below(9) + 1;
        let mut pages = build!(parts_p::table.across_partitions(), parts_p, shape).pages(size);
        let mut paged: Vec<Row> = Vec::new();
        while let Some(rows) = pages.next_page(c).unwrap() {
            assert!(
                rows.len() as u64 <= size,
                "page of {} rows, size {size}: {ctx}",
                rows.len()
            );
            paged.extend(rows.iter().map(|r| p_row(r)));
        }
        assert_eq!(paged, want, "pages of {size}: {ctx}");
        // pages by token (a new query each time, as a web service would)
        let mut paged: Vec<Row> = Vec::new();
        let mut page = build!(parts_p::table.across_partitions(), parts_p, shape)
            .load_page(size, c)
            .unwrap();
        let mut n = 0;
        loop {
            assert!(page.rows.len() as u64 <= size, "token page: {ctx}");
            paged.extend(page.rows.iter().map(|r| p_row(r)));
            let Some(t) = page.next.take() else { break };
            // the token is a string, read back
            let t: rom::query::PageToken = t.to_string().parse().unwrap();
            page = build!(parts_p::table.across_partitions(), parts_p, shape)
                .after(&t)
                .load_page(size, c)
                .unwrap();
            n += 1;
            assert!(n < 500, "{ctx}");
        }
        assert_eq!(paged, want, "token pages of {size}: {ctx}");
        // a token of the twin's query does not fit the query across
        // partitions (nor the reverse)
        if let Some(t) = build!(parts_u::table.into_query(), parts_u, shape)
            .load_page(1, c)
            .unwrap()
            .next
        {
            let e = build!(parts_p::table.across_partitions(), parts_p, shape)
                .after(&t)
                .load_page(size, c)
                .unwrap_err();
            assert!(matches!(e, rom::Error::Validation { .. }), "{e}: {ctx}");
        }
        let want_f = build!(parts_u::table.into_query(), parts_u, shape)
            .first(c)
            .ok()
            .map(|r| u_row(&r));
        let got_f = build!(parts_p::table.across_partitions(), parts_p, shape)
            .first(c)
            .ok()
            .map(|r| p_row(&r));
        assert_eq!(got_f, want_f, "first: {ctx}");
    }
    // deletes across partitions: what the twin's delete removes
    for color in COLORS {
        let want = parts_u::table
            .filter(parts_u::color.eq(color).and(parts_u::size.ge(1)))
            .delete(c)
            .unwrap();
        let got = parts_p::table
            .across_partitions()
            .filter(parts_p::color.eq(color).and(parts_p::size.ge(1)))
            .delete(c)
            .unwrap();
        assert_eq!(got, want, "delete {color}, seed {seed}");
    }
    let left_u: Vec<Row> = parts_u::table
        .load(c)
        .unwrap()
        .iter()
        .map(|r| u_row(r))
        .collect();
    let left_p: Vec<Row> = parts_p::table
        .across_partitions()
        .load(c)
        .unwrap()
        .iter()
        .map(|r| p_row(r))
        .collect();
    assert_eq!(left_p, left_u, "after the deletes, seed {seed}");
}

#[test]
fn across_partitions_answers_like_one_slot() {
    let seed = seed();
    let mut r = Rng(seed);
    let server = RedisServer::start().unwrap();
    let mut c = server.connection().unwrap();
    fill(&mut c, &mut r, 120);
    compare(&mut c, &mut r, seed, 150);
}

#[test]
fn across_partitions_answers_like_one_slot_on_a_cluster() {
    let seed = seed();
    let mut r = Rng(seed);
    let cluster = RedisCluster::start(3).unwrap();
    let mut c = cluster.connection().unwrap();
    fill(&mut c, &mut r, 80);
    compare(&mut c, &mut r, seed, 40);
    // async, through the async cluster connection
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut a = cluster
            .client()
            .unwrap()
            .get_async_connection()
            .await
            .unwrap();
        let want = parts_u::table
            .order_by(parts_u::size.desc())
            .limit(7)
            .ids_async(&mut a)
            .await
            .unwrap();
        let got = parts_p::table
            .across_partitions()
            .order_by(parts_p::size.desc())
            .limit(7)
            .ids_async(&mut a)
            .await
            .unwrap();
        assert_eq!(got, want);
        let mut pages = parts_p::table
            .across_partitions()
            .order_by(parts_p::name.asc())
            .pages(6);
        let mut n = 0;
        while let Some(rows) = pages.next_page_async(&mut a).await.unwrap() {
            n += rows.len() as u64;
        }
        assert_eq!(n, parts_u::table.count_async(&mut a).await.unwrap());
        assert_eq!(
            parts_p::table
                .across_partitions()
                .count_async(&mut a)
                .await
                .unwrap(),
            parts_u::table.count_async(&mut a).await.unwrap()
        );
    });
}

#[test]
fn a_delete_across_partitions_with_a_limit_is_refused() {
    let server = RedisServer::start().unwrap();
    let mut c = server.connection().unwrap();
    let err = parts_p::table
        .across_partitions()
        .limit(3)
        .delete(&mut c)
        .unwrap_err();
    assert!(matches!(err, Error::Validation { .. }), "{err:?}");
}

#[test]
fn explain_names_every_bucket() {
    let text = parts_p::table
        .across_partitions()
        .filter(parts_p::color.eq("red"))
        .order_by(parts_p::size.desc())
        .limit(5)
        .explain();
    // the first bucket's call, its keys retagged; then the 7 others
    assert!(text.contains("{parts_p#0."), "{text}");
    assert!(text.contains(":eq:color:red"), "{text}");
    assert!(
        text.contains("then 7 more call(s), one per partition"),
        "{text}"
    );
    assert!(
        !text.contains("{parts_p}"),
        "a key left in the base tag: {text}"
    );
}

#[test]
fn on_one_server_a_query_across_partitions_is_one_round_trip() {
    let server = RedisServer::start().unwrap();
    let mut c = rom::testing::CountingConnection::new(server.connection().unwrap());
    let mut r = Rng(3);
    fill(&mut c, &mut r, 40);
    c.reset();
    let rows = parts_p::table
        .across_partitions()
        .order_by(parts_p::size.desc())
        .limit(5)
        .load(&mut c)
        .unwrap();
    assert_eq!(rows.len(), 5);
    assert_eq!(c.round_trips(), 1, "8 buckets, one pipeline");
    c.reset();
    assert_eq!(
        parts_p::table.across_partitions().count(&mut c).unwrap(),
        40
    );
    assert_eq!(c.round_trips(), 1);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut a = rom::testing::CountingAsyncConnection::new(server.multiplexed().await.unwrap());
        let ids = parts_p::table
            .across_partitions()
            .filter(parts_p::size.ge(0))
            .ids_async(&mut a)
            .await
            .unwrap();
        let want = parts_u::table
            .filter(parts_u::size.ge(0))
            .ids_async(&mut a)
            .await
            .unwrap();
        assert_eq!(ids, want);
        assert_eq!(
            a.round_trips(),
            2,
            "one pipeline across partitions, one call in one slot"
        );
    });
}
