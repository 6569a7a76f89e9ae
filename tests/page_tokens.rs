//! Page tokens: `load_page(n)` and `.after(&token)`. Paging with tokens
//! returns exactly what `load` returns (several orders, ties, nulls, offsets,
//! limits), one round trip per page; under concurrent writes it keeps the
//! guarantee of `pages`; a token from another query, a damaged one or garbage
//! is a validation error with nothing sent.

mod common;
use common::*;
use rom::Query;
use rom::query::{Page, PageToken};

#[derive(Model, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[rom(table = entries)]
struct Entry {
    #[rom(primary_key)]
    id: Option<u64>,
    #[rom(index(numeric))]
    rank: Option<i64>,
    #[rom(index(numeric))]
    level: i32,
    #[rom(index(sort))]
    title: Option<String>,
    #[rom(index(eq))]
    group: String,
}

/// A small deterministic generator (the same data every run).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

fn entries(n: usize, seed: u64) -> Vec<Entry> {
    let mut r = Lcg(seed);
    (0..n)
        .map(|_| Entry {
            id: None,
            // few distinct values: ties; and nulls
            rank: (r.next(4) != 0).then(|| r.next(5) as i64 - 2),
            level: r.next(3) as i32,
            title: (r.next(5) != 0).then(|| ["a", "b", "", "a\0", "é"][r.next(5) as usize].into()),
            group: ["x", "y"][r.next(2) as usize].into(),
        })
        .collect()
}

fn filled(rows: Vec<Entry>) -> (RedisServer, redis::Connection) {
    let (s, mut c) = server();
    for r in Entry::insert_all(&mut c, rows).expect("insert_all") {
        r.expect("insert");
    }
    (s, c)
}

/// Every page through tokens (each token sent through its string form).
fn all_pages(q: &Query<Entry>, n: u64, c: &mut redis::Connection) -> Vec<u64> {
    let mut keys = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..1000 {
        let query = match &token {
            Some(t) => q.clone().after(&t.parse::<PageToken>().expect("parse")),
            None => q.clone(),
        };
        let page = query.load_page(n, c).expect("page");
        assert!(page.rows.len() as u64 <= n.max(1));
        keys.extend(page.rows.iter().map(|r| *r.key()));
        match page.next {
            Some(t) => {
                assert_eq!(
                    page.rows.len() as u64,
                    n.max(1),
                    "a token after a full page only"
                );
                token = Some(t.to_string());
            }
            None => return keys,
        }
    }
    panic!("paging did not end");
}

fn queries() -> Vec<(&'static str, Query<Entry>)> {
    vec![
        ("by key", Query::default()),
        ("rank asc", entries::table.order_by(entries::rank.asc())),
        ("rank desc", entries::table.order_by(entries::rank.desc())),
        ("level desc", entries::table.order_by(entries::level.desc())),
        ("title asc", entries::table.order_by(entries::title.asc())),
        ("title desc", entries::table.order_by(entries::title.desc())),
        (
            "group x by rank",
            entries::table
                .filter(entries::group.eq("x"))
                .order_by(entries::rank.asc()),
        ),
        (
            "level range, offset",
            entries::table
                .filter(entries::level.ge(1))
                .order_by(entries::title.desc())
                .offset(3),
        ),
        (
            "limit",
            entries::table.order_by(entries::rank.desc()).limit(23),
        ),
        (
            "offset and limit",
            entries::table
                .order_by(entries::level.asc())
                .offset(5)
                .limit(17),
        ),
    ]
}

#[test]
fn paging_with_tokens_returns_what_load_returns() {
    // 150 rows: past the script's walk chunk of 64, tie groups past it too
    let (_s, mut c) = filled(entries(150, 7));
    for (what, q) in queries() {
        let want: Vec<u64> = q
            .clone()
            .load(&mut c)
            .expect("load")
            .iter()
            .map(|r| *r.key())
            .collect();
        for n in [1, 2, 7, 64, 65, 200] {
            assert_eq!(all_pages(&q, n, &mut c), want, "{what}, pages of {n}");
        }
    }
}

#[test]
fn a_page_is_one_round_trip_and_ends_without_a_token() {
    let (s, mut c) = filled(entries(10, 1));
    let mut counting = CountingConnection::new(s.connection().expect("connect"));
    // load the library first: that is a round trip of its own
    Query::<Entry>::default()
        .load_page(1, &mut counting)
        .expect("warm up");
    let q = entries::table.order_by(entries::rank.asc());
    counting.reset();
    let first = q.clone().load_page(4, &mut counting).expect("page 1");
    assert_eq!(counting.round_trips(), 1);
    let second = q
        .clone()
        .after(first.next.as_ref().expect("more"))
        .load_page(4, &mut counting)
        .expect("page 2");
    assert_eq!(counting.round_trips(), 2);
    let third = q
        .clone()
        .after(second.next.as_ref().expect("more"))
        .load_page(4, &mut counting)
        .expect("page 3");
    assert_eq!(counting.round_trips(), 3);
    assert_eq!(third.rows.len(), 2);
    assert!(third.next.is_none());
    // an exactly full last page has a token; the page after it is empty
    let full = q.clone().offset(2).load_page(4, &mut c).expect("full");
    let last = q
        .clone()
        .after(full.next.as_ref().expect("full page"))
        .load_page(4, &mut c)
        .expect("last");
    assert_eq!(last.rows.len(), 4);
    let empty = q
        .clone()
        .after(last.next.as_ref().expect("full page"))
        .load_page(4, &mut c)
        .expect("empty");
    assert!(empty.rows.is_empty() && empty.next.is_none());
    // a used-up limit needs no call at all
    counting.reset();
    let none = q.limit(0).load_page(4, &mut counting).expect("limit 0");
    assert!(none.rows.is_empty() && none.next.is_none());
    assert_eq!(counting.round_trips(), 0);
}

#[tokio::test]
async fn load_page_async_matches_the_sync_pages() {
    let (s, mut c) = filled(entries(30, 3));
    let mut a = s.multiplexed().await.expect("async connection");
    let q = entries::table.order_by(entries::title.asc());
    let want: Vec<u64> = all_pages(&q, 4, &mut c);
    let mut got = Vec::new();
    let mut token: Option<PageToken> = None;
    loop {
        let query = match &token {
            Some(t) => q.clone().after(t),
            None => q.clone(),
        };
        let page = query.load_page_async(4, &mut a).await.expect("page");
        got.extend(page.rows.iter().map(|r| *r.key()));
        match page.next {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    assert_eq!(got, want);
}

/// The guarantee of `pages`: every row that exists for the whole paging and
/// whose order column does not change is returned exactly once; rows
/// inserted, deleted or moved meanwhile may or may not be.
#[test]
fn concurrent_writes_between_pages_keep_the_keyset_guarantee() {
    let (_s, mut c) = filled(entries(60, 11));
    let q = entries::table.order_by(entries::rank.asc());
    let before: Vec<u64> = q
        .clone()
        .load(&mut c)
        .expect("load")
        .iter()
        .map(|r| *r.key())
        .collect();
    let mut seen: Vec<u64> = Vec::new();
    let mut touched: Vec<u64> = Vec::new();
    let mut token: Option<PageToken> = None;
    let mut round = 0u64;
    loop {
        let query = match &token {
            Some(t) => q.clone().after(t),
            None => q.clone(),
        };
        let page = query.load_page(7, &mut c).expect("page");
        seen.extend(page.rows.iter().map(|r| *r.key()));
        let Some(t) = page.next else { break };
        round += 1;
        // between pages: delete the row the token names (the position stays
        // valid), insert rows before and after it, move one row
        let last = *page.rows.last().expect("a full page").key();
        assert!(Entry::delete_many(&mut c, &[last]).expect("delete") == 1);
        touched.push(last);
        for rank in [Some(-2), Some(2), None] {
            let r = Entry {
                id: None,
                rank,
                level: 0,
                title: None,
                group: "x".into(),
            }
            .insert(&mut c)
            .expect("insert");
            touched.push(*r.key());
        }
        if let Some(&m) = before.iter().rev().find(|k| !touched.contains(k)) {
            let mut moved = Entry::get(&mut c, m).expect("get").expect("row");
            moved.rank = Some(-3 + (round % 6) as i64);
            moved.save(&mut c).expect("move");
            touched.push(m);
        }
        token = Some(t);
        assert!(round < 100, "paging did not end");
    }
    for k in &before {
        let n = seen.iter().filter(|s| *s == k).count();
        if !touched.contains(k) {
            assert_eq!(n, 1, "row {k} untouched by the writes: returned once");
        }
    }
    let mut unique = seen.clone();
    unique.sort_unstable();
    unique.dedup();
    // a moved row may come twice; nothing else does
    assert!(seen.len() - unique.len() <= touched.len());
}

#[test]
fn a_token_of_another_query_or_a_damaged_one_is_refused() {
    let (s, mut c) = filled(entries(20, 5));
    let q = entries::table
        .filter(entries::group.eq("x"))
        .order_by(entries::rank.asc());
    let token = q
        .clone()
        .load_page(2, &mut c)
        .expect("page")
        .next
        .expect("more");
    let mut counting = CountingConnection::new(s.connection().expect("connect"));
    let refused = |r: rom::Result<Page<Entry>>| {
        assert!(
            matches!(r, Err(rom::Error::Validation { .. })),
            "expected a validation error, got {r:?}"
        )
    };
    // other queries: filter value, filter, order column, direction, model
    let others = [
        entries::table
            .filter(entries::group.eq("y"))
            .order_by(entries::rank.asc()),
        entries::table.order_by(entries::rank.asc()),
        entries::table
            .filter(entries::group.eq("x"))
            .order_by(entries::level.asc()),
        entries::table
            .filter(entries::group.eq("x"))
            .order_by(entries::rank.desc()),
        entries::table.filter(entries::group.eq("x")),
    ];
    for other in others {
        refused(other.after(&token).load_page(2, &mut counting));
    }
    let other_model = users::table.after(&token).load_page(2, &mut counting);
    assert!(matches!(other_model, Err(rom::Error::Validation { .. })));
    // the offset, limit and page size are not part of the query's shape
    q.clone()
        .offset(3)
        .limit(100)
        .after(&token)
        .load_page(5, &mut counting)
        .expect("same shape");
    counting.reset();

    // damaged: every single character changed, cut, extended, garbage
    let text = token.to_string();
    for i in 0..text.len() {
        let mut b = text.clone().into_bytes();
        b[i] = if b[i] == b'0' { b'1' } else { b'0' };
        let s = String::from_utf8(b).expect("ascii");
        assert!(
            matches!(s.parse::<PageToken>(), Err(rom::Error::Validation { .. })),
            "changed at {i}: {s}"
        );
    }
    for s in [
        &text[..text.len() - 2],
        &text[2..],
        &format!("{text}00"),
        &text.to_uppercase(),
        "",
        "garbage",
        "00",
        &"0".repeat(40),
        &"f".repeat(1 << 18),
        "é",
    ] {
        assert!(
            matches!(s.parse::<PageToken>(), Err(rom::Error::Validation { .. })),
            "{s:.40}"
        );
    }
    assert!(serde_json::from_str::<PageToken>("\"garbage\"").is_err());
    assert_eq!(counting.round_trips(), 0, "nothing sent");
    // a good token survives its string and serde forms
    assert_eq!(text.parse::<PageToken>().expect("parse"), token);
    let json = serde_json::to_string(&token).expect("json");
    assert_eq!(json, format!("\"{text}\""));
    assert_eq!(
        serde_json::from_str::<PageToken>(&json).expect("back"),
        token
    );
    assert!(text.bytes().all(|b| b.is_ascii_hexdigit()), "URL-safe");
}

#[test]
fn only_load_page_reads_a_token() {
    let (_s, mut c) = filled(entries(5, 2));
    let q = entries::table.order_by(entries::rank.asc());
    let token = q
        .clone()
        .load_page(2, &mut c)
        .expect("page")
        .next
        .expect("more");
    let q = q.after(&token);
    assert!(matches!(
        q.clone().load(&mut c),
        Err(rom::Error::Validation { .. })
    ));
    assert!(matches!(
        q.clone().count(&mut c),
        Err(rom::Error::Validation { .. })
    ));
    assert!(matches!(
        q.clone().ids(&mut c),
        Err(rom::Error::Validation { .. })
    ));
    assert!(matches!(
        q.clone().delete(&mut c),
        Err(rom::Error::Validation { .. })
    ));
    assert!(matches!(
        q.clone().pages(2).next_page(&mut c),
        Err(rom::Error::Validation { .. })
    ));
    assert_eq!(Query::<Entry>::default().count(&mut c).expect("count"), 5);
}

#[test]
fn a_page_serializes_with_its_rows_and_next_token() {
    let (_s, mut c) = filled(entries(3, 9));
    let page = Query::<Entry>::default()
        .load_page(2, &mut c)
        .expect("page");
    let v = serde_json::to_value(&page).expect("json");
    assert_eq!(v["rows"].as_array().map(Vec::len), Some(2));
    assert_eq!(v["rows"][0]["id"], 1);
    let next = v["next"].as_str().expect("a token string").to_owned();
    let rest = Query::<Entry>::default()
        .after(&next.parse().expect("parse"))
        .load_page(2, &mut c)
        .expect("rest");
    assert_eq!(rest.rows.len(), 1);
    assert_eq!(
        serde_json::to_value(&rest).expect("json")["next"],
        serde_json::Value::Null
    );
}
