//! Native structures at scale and at their edges: a structure of a million
//! elements is never copied out whole (each read costs one round trip and a
//! few bytes from the server), the async forms answer as the sync ones, an
//! expired row's structures read as empty until a sweep removes them, a
//! group's structures live under the group's tag and a transaction over two
//! of its models applies their writes atomically, and a save that cannot be
//! applied (a NaN score, a structure key of the wrong type) writes nothing.
#![allow(clippy::unwrap_used, missing_docs)]

use rom::expiry::{self, ExpiryMethods as _};
use rom::prelude::*;
use rom::structure::{Hash, List, Set, SortedSet};
use rom::testing::{CountingConnection, RedisServer};
use rom::transaction::Transaction;
use rom::verify::verify;
use std::time::{Duration, Instant, SystemTime};

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = bigs)]
pub struct Big {
    #[rom(primary_key)]
    pub id: u64,
    pub name: String,
    pub items: List<String>,
    pub members: Set<String>,
    pub fields: Hash<String, u64>,
    pub board: SortedSet<String>,
}

fn big(id: u64) -> Big {
    Big {
        id,
        name: "big".into(),
        items: List::new(),
        members: Set::new(),
        fields: Hash::new(),
        board: SortedSet::new(),
    }
}

/// Bytes the server has sent to clients so far (`INFO stats`).
fn sent(c: &mut redis::Connection) -> u64 {
    let info: String = redis::cmd("INFO").arg("stats").query(c).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("total_net_output_bytes:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// The key a structure read names in its plan (`LLEN {bigs}:st:items:1`).
/// (A model whose rows expire reads through a function: its plan's step
/// line, `- LLEN {feeds}:st:entries:1`, names the key.)
fn key_of(explain: &str, cmd: &str) -> String {
    let at = explain
        .find(&format!("{cmd} {{"))
        .unwrap_or_else(|| panic!("{cmd} in {explain}"))
        + cmd.len()
        + 1;
    explain[at..]
        .split(|c: char| c.is_whitespace())
        .next()
        .unwrap()
        .to_string()
}

/// Fills `key` with `n` elements by raw pipelined commands, `CHUNK` a command.
fn fill(c: &mut redis::Connection, cmd: &str, key: &str, n: u64) {
    const CHUNK: u64 = 10_000;
    let mut start = 0;
    while start < n {
        let mut p = redis::pipe();
        // ten commands a pipeline, 100,000 elements
        for _ in 0..10 {
            if start >= n {
                break;
            }
            let end = (start + CHUNK).min(n);
            let mut command = redis::cmd(cmd);
            command.arg(key);
            for i in start..end {
                match cmd {
                    "RPUSH" | "SADD" => {
                        command.arg(format!("e{i}"));
                    }
                    "HSET" => {
                        command.arg(format!("f{i}")).arg(i);
                    }
                    "ZADD" => {
                        command.arg(i).arg(format!("m{i}"));
                    }
                    _ => unreachable!(),
                }
            }
            p.add_command(command).ignore();
            start = end;
        }
        p.exec(c).unwrap();
    }
}

const LIMIT: u64 = 64 * 1024;

/// Runs `read` once on the counting connection: one round trip, and fewer
/// than `LIMIT` bytes from the server (the bytes of the first `INFO` reply
/// are counted too: they are few).
fn measured<T>(
    what: &str,
    c: &mut CountingConnection<redis::Connection>,
    info: &mut redis::Connection,
    read: impl FnOnce(&mut CountingConnection<redis::Connection>) -> rom::Result<T>,
) -> (T, u64) {
    let before = sent(info);
    c.reset();
    let t = Instant::now();
    let out = read(c).unwrap_or_else(|e| panic!("{what}: {e}"));
    let took = t.elapsed();
    let bytes = sent(info) - before;
    assert_eq!(c.round_trips(), 1, "{what}: one round trip");
    println!("{what}: {bytes} bytes, {took:?}");
    (out, bytes)
}

/// (a) A structure of a million elements: every read is one round trip and
/// sends back a few bytes, never the structure. The list has a million
/// elements; the set, hash and sorted set 200,000 each (their build, in a
/// debug build on a shared machine, costs several times the list's, and
/// 200,000 is far beyond any size a read that copied them would pass with:
/// 64 KiB holds about 8,000 of their elements).
#[test]
fn a_million_elements_are_never_read_whole() {
    let s = RedisServer::start().unwrap();
    let mut raw = s.connection().unwrap();
    let mut info = s.connection().unwrap();
    let rec = big(1).insert(&mut raw).unwrap();
    let list_key = key_of(&rec.items.len_plan().unwrap().explain(), "LLEN");
    assert_eq!(list_key, "{bigs}:st:items:1");
    let set_key = key_of(&rec.members.len_plan().unwrap().explain(), "SCARD");
    let hash_key = key_of(&rec.fields.len_plan().unwrap().explain(), "HLEN");
    let zset_key = key_of(&rec.board.len_plan().unwrap().explain(), "ZCARD");
    assert_eq!(
        [&set_key, &hash_key, &zset_key],
        [
            "{bigs}:st:members:1",
            "{bigs}:st:fields:1",
            "{bigs}:st:board:1"
        ]
    );
    const MILLION: u64 = 1_000_000;
    const OTHERS: u64 = 200_000;
    let t = Instant::now();
    fill(&mut raw, "RPUSH", &list_key, MILLION);
    fill(&mut raw, "SADD", &set_key, OTHERS);
    fill(&mut raw, "HSET", &hash_key, OTHERS);
    fill(&mut raw, "ZADD", &zset_key, OTHERS);
    println!("built in {:?}", t.elapsed());

    let mut c = CountingConnection::new(s.connection().unwrap());
    // loading the row reads its columns, not its structures
    let (row, bytes) = measured("get", &mut c, &mut info, |c| Big::get(c, 1u64));
    let row = row.unwrap();
    assert!(bytes < LIMIT, "get: {bytes} bytes");
    let mut each = Vec::new();

    let (n, b) = measured("list len", &mut c, &mut info, |c| row.items.len(c));
    assert_eq!(n, MILLION);
    each.push(("list len", b));
    let (v, b) = measured("list range 100", &mut c, &mut info, |c| {
        row.items.range(500_000, 500_099, c)
    });
    assert_eq!(v.len(), 100);
    assert_eq!(v[0], "e500000");
    each.push(("list range", b));
    let (v, b) = measured("list get", &mut c, &mut info, |c| row.items.get(-1, c));
    assert_eq!(v.as_deref(), Some("e999999"));
    each.push(("list get", b));

    let (n, b) = measured("set len", &mut c, &mut info, |c| row.members.len(c));
    assert_eq!(n, OTHERS);
    each.push(("set len", b));
    let (page, b) = measured("set scan 100", &mut c, &mut info, |c| {
        row.members.scan(0, 100, c)
    });
    assert!(!page.items.is_empty() && page.items.len() < 1000 && !page.is_last());
    each.push(("set scan", b));
    let (yes, b) = measured("set contains", &mut c, &mut info, |c| {
        row.members.contains(&"e123456".into(), c)
    });
    assert!(yes);
    each.push(("set contains", b));

    let (n, b) = measured("hash len", &mut c, &mut info, |c| row.fields.len(c));
    assert_eq!(n, OTHERS);
    each.push(("hash len", b));
    let (page, b) = measured("hash scan 100", &mut c, &mut info, |c| {
        row.fields.scan(0, 100, c)
    });
    assert!(!page.items.is_empty() && page.items.len() < 1000);
    assert!(page.items.iter().all(|(k, v)| *k == format!("f{v}")));
    each.push(("hash scan", b));
    let (v, b) = measured("hash get", &mut c, &mut info, |c| {
        row.fields.get(&"f4242".into(), c)
    });
    assert_eq!(v, Some(4242));
    each.push(("hash get", b));
    let (yes, b) = measured("hash contains_key", &mut c, &mut info, |c| {
        row.fields.contains_key(&"f199999".into(), c)
    });
    assert!(yes);
    each.push(("hash contains_key", b));

    let (n, b) = measured("zset len", &mut c, &mut info, |c| row.board.len(c));
    assert_eq!(n, OTHERS);
    each.push(("zset len", b));
    let (v, b) = measured("zset range 100", &mut c, &mut info, |c| {
        row.board.range(1000, 1099, c)
    });
    assert_eq!(v.len(), 100);
    assert_eq!(v[0], ("m1000".to_string(), 1000.0));
    each.push(("zset range", b));
    let (v, b) = measured("zset rev_range 100", &mut c, &mut info, |c| {
        row.board.rev_range(0, 99, c)
    });
    assert_eq!(v[0], ("m199999".to_string(), 199_999.0));
    each.push(("zset rev_range", b));
    let (v, b) = measured("zset range_by_score", &mut c, &mut info, |c| {
        row.board.range_by_score(100.0, f64::INFINITY, 0, 100, c)
    });
    assert_eq!(v.len(), 100);
    each.push(("zset range_by_score", b));
    let (n, b) = measured("zset count_between", &mut c, &mut info, |c| {
        row.board.count_between(0.0, 99_999.0, c)
    });
    assert_eq!(n, 100_000);
    each.push(("zset count_between", b));
    let (v, b) = measured("zset score", &mut c, &mut info, |c| {
        row.board.score(&"m77777".into(), c)
    });
    assert_eq!(v, Some(77_777.0));
    each.push(("zset score", b));
    let (v, b) = measured("zset rank", &mut c, &mut info, |c| {
        row.board.rank(&"m77777".into(), c)
    });
    assert_eq!(v, Some(77_777));
    each.push(("zset rank", b));

    for (what, bytes) in &each {
        assert!(*bytes < LIMIT, "{what}: {bytes} bytes from the server");
    }
    // the meter works: a read of 10,000 list elements is well over the limit
    let before = sent(&mut info);
    let all: Vec<String> = redis::cmd("LRANGE")
        .arg(&list_key)
        .arg(0)
        .arg(9_999)
        .query(&mut raw)
        .unwrap();
    assert_eq!(all.len(), 10_000);
    let over = sent(&mut info) - before;
    assert!(over > LIMIT, "the meter missed a big read: {over} bytes");

    // a save of one write to the million-element list neither reads nor
    // rewrites it: one round trip, few bytes
    let mut rec = row;
    rec.items.push_back("last");
    rec.board.insert("m0", -1.0);
    let ((), b) = measured("save", &mut c, &mut info, |c| rec.save(c));
    assert!(b < LIMIT, "save: {b} bytes");
    assert_eq!(rec.items.len(&mut raw).unwrap(), MILLION + 1);
    assert_eq!(rec.board.rank(&"m0".into(), &mut raw).unwrap(), Some(0));
    assert!(verify::<Big, _>(&mut raw).unwrap().is_clean());
}

/// (b) The async forms answer as the sync ones, on a multiplexed connection.
#[tokio::test]
async fn the_async_reads_answer_as_the_sync_ones() {
    let s = RedisServer::start().unwrap();
    let mut raw = s.connection().unwrap();
    let mut a = s.multiplexed().await.unwrap();
    let mut v = big(7);
    for i in 0u64..50 {
        v.items.push_back(format!("e{i}"));
        v.members.insert(format!("e{i}"));
        v.fields.insert(format!("f{i}"), i);
        v.board.insert(format!("m{i}"), i as f64 / 2.0);
    }
    let r = v.insert_async(&mut a).await.unwrap();
    assert_eq!(r.items.len_async(&mut a).await.unwrap(), 50);
    assert_eq!(
        r.items.range_async(10, 12, &mut a).await.unwrap(),
        r.items.range(10, 12, &mut raw).unwrap()
    );
    assert_eq!(
        r.items.get_async(-1, &mut a).await.unwrap().as_deref(),
        Some("e49")
    );
    assert_eq!(r.members.len_async(&mut a).await.unwrap(), 50);
    assert!(
        r.members
            .contains_async(&"e3".into(), &mut a)
            .await
            .unwrap()
    );
    let mut seen = std::collections::BTreeSet::new();
    let mut cursor = 0;
    loop {
        let page = r.members.scan_async(cursor, 7, &mut a).await.unwrap();
        let last = page.is_last();
        cursor = page.cursor;
        seen.extend(page.items);
        if last {
            break;
        }
    }
    assert_eq!(seen.len(), 50);
    assert_eq!(
        r.fields.get_async(&"f9".into(), &mut a).await.unwrap(),
        Some(9)
    );
    assert!(
        r.fields
            .contains_key_async(&"f9".into(), &mut a)
            .await
            .unwrap()
    );
    assert_eq!(
        r.fields
            .scan_async(0, 100, &mut a)
            .await
            .unwrap()
            .items
            .len(),
        50
    );
    assert_eq!(
        r.board.score_async(&"m9".into(), &mut a).await.unwrap(),
        Some(4.5)
    );
    assert_eq!(
        r.board.rank_async(&"m9".into(), &mut a).await.unwrap(),
        Some(9)
    );
    assert_eq!(
        r.board.rev_range_async(0, 2, &mut a).await.unwrap(),
        r.board.rev_range(0, 2, &mut raw).unwrap()
    );
    assert_eq!(
        r.board
            .range_by_score_async(1.0, 2.0, 0, 100, &mut a)
            .await
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        r.board.count_between_async(1.0, 2.0, &mut a).await.unwrap(),
        3
    );
    // a write and save through the async path
    let mut r = r;
    r.items.push_front("first");
    r.save_async(&mut a).await.unwrap();
    assert_eq!(
        r.items.get_async(0, &mut a).await.unwrap().as_deref(),
        Some("first")
    );
    assert!(verify::<Big, _>(&mut raw).unwrap().is_clean());
}

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = feeds, expires)]
pub struct Feed {
    #[rom(primary_key)]
    pub id: u64,
    pub title: String,
    pub entries: List<String>,
}

/// (c) An expired row's structures read as empty, though not yet swept; a
/// sweep removes their keys; a row inserted over the expired one starts
/// with empty structures.
#[test]
fn an_expired_rows_structures_read_as_empty_until_swept() {
    let s = RedisServer::start().unwrap();
    let mut c = s.connection().unwrap();
    let mut f = Feed {
        id: 1,
        title: "news".into(),
        entries: List::new(),
    };
    for i in 0..5 {
        f.entries.push_back(format!("e{i}"));
    }
    let r = f
        .insert_with_ttl(&mut c, Duration::from_secs(3600))
        .unwrap();
    let key = key_of(&r.entries.len_plan().unwrap().explain(), "LLEN");
    assert_eq!(key, "{feeds}:st:entries:1");
    assert_eq!(r.entries.len(&mut c).unwrap(), 5);
    assert!(Feed::expire_at(&mut c, &1u64, SystemTime::UNIX_EPOCH).unwrap());
    // expired: gone for reads, not yet swept
    assert!(Feed::get(&mut c, 1u64).unwrap().is_none());
    assert_eq!(r.entries.len(&mut c).unwrap(), 0);
    assert!(r.entries.range(0, -1, &mut c).unwrap().is_empty());
    assert_eq!(r.entries.get(0, &mut c).unwrap(), None);
    let exists: u64 = redis::cmd("EXISTS").arg(&key).query(&mut c).unwrap();
    assert_eq!(exists, 1, "not swept yet");
    let swept = expiry::sweep::<Feed, _>(&mut c).unwrap();
    assert_eq!(swept.expired, 1);
    let exists: u64 = redis::cmd("EXISTS").arg(&key).query(&mut c).unwrap();
    assert_eq!(exists, 0, "the sweep removes the structure");
    assert!(verify::<Feed, _>(&mut c).unwrap().is_clean());

    // an insert over an expired row (not swept) starts with empty structures
    let mut f = Feed {
        id: 2,
        title: "old".into(),
        entries: List::new(),
    };
    f.entries.push_back("old");
    f.insert_with_ttl(&mut c, Duration::from_secs(3600))
        .unwrap();
    assert!(Feed::expire_at(&mut c, &2u64, SystemTime::UNIX_EPOCH).unwrap());
    let mut f = Feed {
        id: 2,
        title: "new".into(),
        entries: List::new(),
    };
    f.entries.push_back("new");
    let r = f.insert(&mut c).unwrap();
    assert_eq!(r.entries.range(0, -1, &mut c).unwrap(), vec!["new"]);
    assert!(verify::<Feed, _>(&mut c).unwrap().is_clean());
}

rom::group!(pub Studio = "g");

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = tracks, group = Studio)]
pub struct Track {
    #[rom(primary_key)]
    pub id: u64,
    #[rom(index(numeric))]
    pub plays: i64,
    pub takes: List<String>,
}

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = albums, group = Studio)]
pub struct Album {
    #[rom(primary_key)]
    pub id: u64,
    pub title: String,
    #[rom(index(eq))]
    pub genres: Set<String>,
}

/// (d) A group's structures live under the group's tag; a transaction over
/// rows of two of its models applies every structure write, or none.
#[test]
fn a_groups_structures_commit_together() {
    let s = RedisServer::start().unwrap();
    let mut c = s.connection().unwrap();
    let t = Track {
        id: 1,
        plays: 0,
        takes: List::new(),
    }
    .insert(&mut c)
    .unwrap();
    let a = Album {
        id: 1,
        title: "first".into(),
        genres: Set::new(),
    }
    .insert(&mut c)
    .unwrap();
    let tk = key_of(&t.takes.len_plan().unwrap().explain(), "LLEN");
    let ak = key_of(&a.genres.len_plan().unwrap().explain(), "SCARD");
    assert!(tk.starts_with("{g}/"), "{tk}");
    assert!(ak.starts_with("{g}/"), "{ak}");

    // a transaction whose commit fails (another writer changed the album):
    // nothing of either row is written
    let mut tx = Transaction::new();
    tx.get::<Track, _>(&mut c, 1u64).unwrap();
    tx.get::<Album, _>(&mut c, 1u64).unwrap();
    let tr = tx.row::<Track>(1u64).unwrap();
    tr.takes.push_back("take 1");
    tr.plays += 1;
    let al = tx.row::<Album>(1u64).unwrap();
    al.genres.insert("jazz");
    al.title = "renamed".into();
    let mut other = Album::get(&mut c, 1u64).unwrap().unwrap();
    other.title = "by another".into();
    other.save(&mut c).unwrap();
    let got = tx.commit(&mut c);
    assert!(
        matches!(got, Err(Error::TransactionConflict { .. })),
        "{got:?}"
    );
    assert_eq!(t.takes.len(&mut c).unwrap(), 0);
    assert_eq!(a.genres.len(&mut c).unwrap(), 0);
    assert_eq!(
        albums::table
            .filter(albums::genres.contains("jazz"))
            .count(&mut c)
            .unwrap(),
        0
    );
    assert_eq!(Track::get(&mut c, 1u64).unwrap().unwrap().plays, 0);

    // the same, without the other writer: both rows and both structures
    let mut tx = Transaction::new();
    tx.get::<Track, _>(&mut c, 1u64).unwrap();
    tx.get::<Album, _>(&mut c, 1u64).unwrap();
    let tr = tx.row::<Track>(1u64).unwrap();
    tr.takes.push_back("take 1");
    tr.takes.push_back("take 2");
    tr.plays += 1;
    tx.row::<Album>(1u64).unwrap().genres.insert("jazz");
    let mut new_track = Track {
        id: 2,
        plays: 5,
        takes: List::new(),
    };
    new_track.takes.push_front("demo");
    tx.insert(new_track).unwrap();
    tx.commit(&mut c).unwrap();
    assert_eq!(
        t.takes.range(0, -1, &mut c).unwrap(),
        vec!["take 1", "take 2"]
    );
    assert!(a.genres.contains(&"jazz".into(), &mut c).unwrap());
    let t2 = Track::get(&mut c, 2u64).unwrap().unwrap();
    assert_eq!(t2.takes.range(0, -1, &mut c).unwrap(), vec!["demo"]);
    let found = albums::table
        .filter(albums::genres.contains("jazz"))
        .load(&mut c)
        .unwrap();
    assert_eq!(found.len(), 1);
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut c).unwrap();
    assert!(keys.iter().all(|k| k.starts_with("{g}/")), "{keys:?}");
    assert!(verify::<Track, _>(&mut c).unwrap().is_clean());
    assert!(verify::<Album, _>(&mut c).unwrap().is_clean());
}

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = docs)]
pub struct Doc {
    #[rom(primary_key)]
    pub id: u64,
    #[rom(index(eq))]
    pub name: String,
    pub lines: List<String>,
    #[rom(index(eq))]
    pub tags: Set<String>,
    pub scores: SortedSet<String>,
}

fn doc(id: u64) -> Doc {
    Doc {
        id,
        name: "before".into(),
        lines: List::new(),
        tags: Set::new(),
        scores: SortedSet::new(),
    }
}

/// Everything stored under the `docs` tag, as text (key, type, contents).
fn dump(c: &mut redis::Connection) -> Vec<String> {
    let mut keys: Vec<String> = redis::cmd("KEYS").arg("{docs}*").query(c).unwrap();
    keys.sort();
    keys.into_iter()
        .map(|k| {
            let v: redis::Value = redis::cmd("DUMP").arg(&k).query(c).unwrap();
            format!("{k} {v:?}")
        })
        .collect()
}

/// (e) A NaN score (or an infinite increment) fails the save with
/// `Validation` naming the field, before anything is sent; the writes stay
/// recorded.
#[test]
fn a_nan_score_fails_the_save_and_writes_nothing() {
    let s = RedisServer::start().unwrap();
    let mut c = s.connection().unwrap();
    let mut d = doc(1);
    d.scores.insert("a", 1.0);
    d.lines.push_back("one");
    let mut r = d.insert(&mut c).unwrap();
    let before = dump(&mut c);
    r.name = "after".into();
    r.lines.push_back("two");
    r.tags.insert("x");
    r.scores.insert("b", f64::NAN);
    r.scores.insert("c", 3.0);
    let got = r.save(&mut c);
    assert!(
        matches!(&got, Err(Error::Validation { column, .. }) if column == "scores"),
        "{got:?}"
    );
    assert_eq!(dump(&mut c), before, "nothing written");
    assert_eq!(
        (r.lines.pending(), r.tags.pending(), r.scores.pending()),
        (1, 1, 2)
    );
    let stored = Doc::get(&mut c, 1u64).unwrap().unwrap();
    assert_eq!(stored.name, "before");
    assert_eq!(stored.lines.len(&mut c).unwrap(), 1);
    // an infinite increment, and a NaN on insert: refused the same way
    let mut r = Doc::get(&mut c, 1u64).unwrap().unwrap();
    r.scores.add("a", f64::INFINITY);
    assert!(matches!(r.save(&mut c), Err(Error::Validation { .. })));
    let mut d = doc(2);
    d.scores.insert("z", f64::NAN);
    let got = d.insert(&mut c);
    assert!(
        matches!(&got, Err(Error::Validation { column, .. }) if column == "scores"),
        "{got:?}"
    );
    assert_eq!(dump(&mut c), before, "nothing written");
    // an infinite score is a number: stored
    let mut r = Doc::get(&mut c, 1u64).unwrap().unwrap();
    r.scores.insert("top", f64::INFINITY);
    r.save(&mut c).unwrap();
    assert_eq!(
        r.scores.score(&"top".into(), &mut c).unwrap(),
        Some(f64::INFINITY)
    );
    assert!(verify::<Doc, _>(&mut c).unwrap().is_clean());
}

/// (f) A structure key of the wrong type, written from outside, fails the
/// save with an error and nothing of that save is written; the same for the
/// index set of an indexed set's member.
#[test]
fn a_structure_key_of_the_wrong_type_fails_the_save() {
    let s = RedisServer::start().unwrap();
    let mut c = s.connection().unwrap();
    let mut d = doc(1);
    d.lines.push_back("one");
    d.tags.insert("t");
    let r = d.insert(&mut c).unwrap();
    let lines = key_of(&r.lines.len_plan().unwrap().explain(), "LLEN");
    assert_eq!(lines, "{docs}:st:lines:1");
    let _: () = redis::cmd("DEL").arg(&lines).query(&mut c).unwrap();
    let _: () = redis::cmd("SET")
        .arg(&lines)
        .arg("not a list")
        .query(&mut c)
        .unwrap();
    let before = dump(&mut c);
    let mut r = Doc::get(&mut c, 1u64).unwrap().unwrap();
    r.name = "after".into();
    r.tags.insert("u");
    r.scores.insert("s", 1.0);
    r.lines.push_back("two");
    let got = r.save(&mut c);
    println!("save over a string key: {got:?}");
    assert!(got.is_err(), "{got:?}");
    assert_eq!(dump(&mut c), before, "nothing written");
    assert_eq!(Doc::get(&mut c, 1u64).unwrap().unwrap().name, "before");
    assert_eq!(
        docs::table
            .filter(docs::name.eq("after"))
            .count(&mut c)
            .unwrap(),
        0
    );
    assert_eq!(r.lines.pending(), 1, "the writes stay recorded");
    // reads of the damaged key fail with an error, not a panic
    assert!(r.lines.len(&mut c).is_err());

    // the index set of a member, of the wrong type
    let _: () = redis::cmd("DEL").arg(&lines).query(&mut c).unwrap();
    let _: () = redis::cmd("SET")
        .arg("{docs}:eq:tags:bad")
        .arg("x")
        .query(&mut c)
        .unwrap();
    let before = dump(&mut c);
    let mut r = Doc::get(&mut c, 1u64).unwrap().unwrap();
    r.name = "after".into();
    r.lines.push_back("two");
    r.tags.insert("bad");
    let got = r.save(&mut c);
    println!("save over a string index key: {got:?}");
    assert!(got.is_err(), "{got:?}");
    assert_eq!(dump(&mut c), before, "nothing written");
}

/// A save that meets a structure key of the wrong type names the key and
/// the type rom keeps there.
#[test]
fn a_wrong_type_structure_key_is_named_with_its_type() {
    let s = RedisServer::start().unwrap();
    let mut c = s.connection().unwrap();
    let r = doc(1).insert(&mut c).unwrap();
    let _: () = redis::cmd("SET")
        .arg("{docs}:st:lines:1")
        .arg("x")
        .query(&mut c)
        .unwrap();
    let mut r = r;
    r.lines.push_back("y");
    let got = r.save(&mut c);
    let Err(Error::Decode { key, reason, .. }) = &got else {
        panic!("{got:?}");
    };
    assert_eq!(key, "{docs}:st:lines:1");
    assert!(reason.contains("not a list"), "{reason}");
}
