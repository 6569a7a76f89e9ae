//! verify and repair with native structures: clean after inserts, saves and
//! deletes; each kind of damage from outside (an index entry added or
//! removed, a structure without its row, a structure of the wrong type, a
//! record that does not name a structure) is reported, and repair fixes what
//! it can so that verify is clean after.
#![allow(clippy::unwrap_used, missing_docs)]

use rom::prelude::*;
use rom::structure::{Hash, List, Set, SortedSet};
use rom::testing::RedisServer;
use rom::verify::{Problem, Report, verify};
use rom::{Repair, repair};

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = boxes)]
pub struct Bin {
    #[rom(primary_key)]
    pub id: Option<u64>,
    /// A column index whose name starts like the structure's.
    #[rom(index(eq))]
    pub tag: String,
    pub messages: List<String>,
    #[rom(index(eq))]
    pub tags: Set<String>,
    pub plain: Set<String>,
    pub prefs: Hash<String, i64>,
    pub scores: SortedSet<String>,
}

fn new_bin(tag: &str, tags: &[&str]) -> Bin {
    let mut b = Bin {
        id: None,
        tag: tag.into(),
        messages: List::new(),
        tags: Set::new(),
        plain: Set::new(),
        prefs: Hash::new(),
        scores: SortedSet::new(),
    };
    for t in tags {
        b.tags.insert(*t);
    }
    b.messages.push_back("hello");
    b.plain.insert("p");
    b.prefs.insert("size", 3);
    b.scores.insert("x", 1.0);
    b
}

fn server() -> (RedisServer, redis::Connection) {
    let s = RedisServer::start().unwrap();
    let c = s.connection().unwrap();
    (s, c)
}

fn cmd(c: &mut redis::Connection, args: &[&[u8]]) -> redis::Value {
    let mut k = redis::cmd(std::str::from_utf8(args[0]).unwrap());
    for a in &args[1..] {
        k.arg(*a);
    }
    k.query(c).unwrap()
}

fn report(c: &mut redis::Connection) -> Report {
    verify::<Bin, _>(c).unwrap()
}

fn assert_clean(c: &mut redis::Connection) {
    let r = report(c);
    assert!(r.is_clean(), "{:#?}", r.problems);
}

/// Three rows: 1 {a, b}, 2 {b}, 3 {}.
fn seed(c: &mut redis::Connection) {
    new_bin("one", &["a", "b"]).insert(c).unwrap();
    new_bin("two", &["b"]).insert(c).unwrap();
    new_bin("three", &[]).insert(c).unwrap();
}

fn with_tag(c: &mut redis::Connection, t: &str) -> Vec<u64> {
    let mut keys: Vec<u64> = boxes::table
        .filter(boxes::tags.contains(t))
        .load(c)
        .unwrap()
        .iter()
        .map(|r| *r.key())
        .collect();
    keys.sort();
    keys
}

/// Repair applies, then verify is clean; returns the applied report.
fn repaired(c: &mut redis::Connection) -> rom::RepairReport {
    let dry = repair::<Bin, _>(c, Repair::DryRun).unwrap();
    assert!(dry.fixes() > 0, "{dry:#?}");
    let applied = repair::<Bin, _>(c, Repair::Apply).unwrap();
    assert_clean(c);
    assert_eq!(repair::<Bin, _>(c, Repair::Apply).unwrap().fixes(), 0);
    applied
}

#[test]
fn clean_after_inserts_saves_and_deletes() {
    let (_s, mut c) = server();
    seed(&mut c);
    assert_clean(&mut c);
    let mut one = Bin::get(&mut c, 1).unwrap().unwrap();
    one.tags.remove(&"a".into());
    one.tags.insert("c");
    one.messages.push_back("more");
    one.prefs.remove(&"size".into());
    one.scores.add("x", 2.0);
    one.save(&mut c).unwrap();
    assert_clean(&mut c);
    let mut two = Bin::get(&mut c, 2).unwrap().unwrap();
    two.tags.clear();
    two.plain.clear();
    two.save(&mut c).unwrap();
    assert_clean(&mut c);
    // a structure emptied by its writes: the key is gone, the record stays
    let mut three = Bin::get(&mut c, 3).unwrap().unwrap();
    three.messages.remove(&"hello".into(), 0);
    three.save(&mut c).unwrap();
    assert_clean(&mut c);
    // a row inserted and deleted, and a delete by key
    new_bin("four", &["b", "d"]).insert(&mut c).unwrap();
    Bin::get(&mut c, 4)
        .unwrap()
        .unwrap()
        .delete(&mut c)
        .unwrap();
    Bin::delete_many(&mut c, &[2]).unwrap();
    assert_clean(&mut c);
    assert_eq!(with_tag(&mut c, "c"), [1]);
    assert_eq!(with_tag(&mut c, "b"), [1]);
    let r = repair::<Bin, _>(&mut c, Repair::Apply).unwrap();
    assert_eq!(r.fixes(), 0, "{r:#?}");
    assert_eq!(r.found.rows, 2);
}

#[test]
fn a_foreign_index_entry_is_an_orphan() {
    let (_s, mut c) = server();
    seed(&mut c);
    // a row that does not exist, and row 3, whose set does not hold "a"
    cmd(&mut c, &[b"SADD", b"{boxes}:eq:tags:a", b"99", b"3"]);
    let r = report(&mut c);
    let mut orphans: Vec<&Problem> = r.problems.iter().collect();
    orphans.sort_by_key(|p| format!("{p:?}"));
    assert_eq!(
        orphans,
        [
            &Problem::Orphan {
                index: "{boxes}:eq:tags:a".into(),
                member: "3".into()
            },
            &Problem::Orphan {
                index: "{boxes}:eq:tags:a".into(),
                member: "99".into()
            },
        ]
    );
    let dry = repair::<Bin, _>(&mut c, Repair::DryRun).unwrap();
    assert_eq!(dry.orphans_removed, 2);
    assert_eq!(with_tag(&mut c, "a"), [1, 3], "a dry run changes nothing");
    let applied = repaired(&mut c);
    assert_eq!(applied.orphans_removed, 2);
    assert_eq!(with_tag(&mut c, "a"), [1]);
}

#[test]
fn a_removed_index_entry_is_missing() {
    let (_s, mut c) = server();
    seed(&mut c);
    cmd(&mut c, &[b"SREM", b"{boxes}:eq:tags:b", b"2"]);
    // the whole index set of a value gone
    cmd(&mut c, &[b"DEL", b"{boxes}:eq:tags:a"]);
    let mut problems = report(&mut c).problems;
    problems.sort_by_key(|p| format!("{p:?}"));
    assert_eq!(
        problems,
        [
            Problem::Missing {
                index: "{boxes}:eq:tags:a".into(),
                member: "1".into()
            },
            Problem::Missing {
                index: "{boxes}:eq:tags:b".into(),
                member: "2".into()
            },
        ]
    );
    assert_eq!(with_tag(&mut c, "b"), [1]);
    let applied = repaired(&mut c);
    assert_eq!(applied.entries_added, 2, "{applied:#?}");
    assert_eq!(applied.reindexed, 0);
    assert_eq!(with_tag(&mut c, "b"), [1, 2]);
    assert_eq!(with_tag(&mut c, "a"), [1]);
}

#[test]
fn a_structure_without_its_row_is_deleted() {
    let (_s, mut c) = server();
    seed(&mut c);
    cmd(&mut c, &[b"RPUSH", b"{boxes}:st:messages:77", b"x"]);
    cmd(&mut c, &[b"SADD", b"{boxes}:st:tags:78", b"a", b"z"]);
    cmd(&mut c, &[b"SADD", b"{boxes}:eq:tags:z", b"78"]);
    // a key of no structure of the model is not verify's
    cmd(&mut c, &[b"SET", b"{boxes}:st:gone:5", b"x"]);
    let mut problems = report(&mut c).problems;
    problems.sort_by_key(|p| format!("{p:?}"));
    assert_eq!(
        problems,
        [
            Problem::Orphan {
                index: "{boxes}:eq:tags:z".into(),
                member: "78".into()
            },
            Problem::StructureWithoutRow {
                key: "{boxes}:st:messages:77".into()
            },
            Problem::StructureWithoutRow {
                key: "{boxes}:st:tags:78".into()
            },
        ]
    );
    let applied = repaired(&mut c);
    assert!(applied.orphans_removed >= 2, "{applied:#?}");
    assert!(applied.keys.iter().any(|k| k == "{boxes}:st:tags:78"));
    let keys: Vec<String> = redis::cmd("KEYS").arg("*:7?").query(&mut c).unwrap();
    assert!(keys.is_empty(), "{keys:?}");
    assert!(with_tag(&mut c, "z").is_empty());
    let left: i64 = redis::cmd("EXISTS")
        .arg("{boxes}:st:gone:5")
        .query(&mut c)
        .unwrap();
    assert_eq!(left, 1);
}

#[test]
fn a_structure_of_the_wrong_type_is_reported_and_left() {
    let (_s, mut c) = server();
    seed(&mut c);
    cmd(&mut c, &[b"DEL", b"{boxes}:st:messages:1"]);
    cmd(&mut c, &[b"SET", b"{boxes}:st:messages:1", b"x"]);
    cmd(&mut c, &[b"DEL", b"{boxes}:st:tags:2"]);
    cmd(&mut c, &[b"HSET", b"{boxes}:st:tags:2", b"b", b"1"]);
    let mut problems = report(&mut c).problems;
    problems.sort_by_key(|p| format!("{p:?}"));
    assert_eq!(
        problems,
        [
            // row 2's entry in the index of "b" no longer held by a set
            Problem::Orphan {
                index: "{boxes}:eq:tags:b".into(),
                member: "2".into()
            },
            Problem::StructureType {
                key: "{boxes}:st:messages:1".into(),
                expected: "list".into(),
                found: "string".into()
            },
            Problem::StructureType {
                key: "{boxes}:st:tags:2".into(),
                expected: "set".into(),
                found: "hash".into()
            },
        ]
    );
    let applied = repair::<Bin, _>(&mut c, Repair::Apply).unwrap();
    assert_eq!(applied.skipped, 2, "{applied:#?}");
    assert_eq!(applied.orphans_removed, 1);
    let kept: Vec<u8> = redis::cmd("GET")
        .arg("{boxes}:st:messages:1")
        .query(&mut c)
        .unwrap();
    assert_eq!(kept, b"x");
    // the user deletes them: clean
    cmd(
        &mut c,
        &[b"DEL", b"{boxes}:st:messages:1", b"{boxes}:st:tags:2"],
    );
    assert_clean(&mut c);
}

/// Row `m`'s `#i` record, as (id, value) pairs.
fn record(c: &mut redis::Connection, m: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    let s: Vec<u8> = redis::cmd("HGET")
        .arg(format!("{{boxes}}:row:{m}"))
        .arg("#i")
        .query(c)
        .unwrap();
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < s.len() {
        let z = pos + s[pos..].iter().position(|&b| b == 0).unwrap();
        let colon = z + s[z..].iter().position(|&b| b == b':').unwrap();
        let len: usize = std::str::from_utf8(&s[z + 1..colon])
            .unwrap()
            .parse()
            .unwrap();
        out.push((s[pos..z].to_vec(), s[colon + 1..colon + 1 + len].to_vec()));
        pos = colon + 1 + len;
    }
    out
}

fn write_record(c: &mut redis::Connection, m: &str, rec: &[(Vec<u8>, Vec<u8>)]) {
    let mut s = Vec::new();
    for (id, v) in rec {
        s.extend_from_slice(id);
        s.push(0);
        s.extend_from_slice(format!("{}:", v.len()).as_bytes());
        s.extend_from_slice(v);
    }
    cmd(
        c,
        &[b"HSET", format!("{{boxes}}:row:{m}").as_bytes(), b"#i", &s],
    );
}

#[test]
fn a_record_that_does_not_name_a_structure() {
    let (_s, mut c) = server();
    seed(&mut c);
    let full = record(&mut c, "1");
    assert!(
        full.contains(&(b"st:tags:".to_vec(), b"eq:tags:".to_vec())),
        "{full:?}"
    );
    assert!(full.contains(&(b"st:plain:".to_vec(), Vec::new())));
    // a row written before the model had its structures: fine while they
    // do not exist
    let no_st: Vec<_> = full
        .iter()
        .filter(|(id, _)| !id.starts_with(b"st:"))
        .cloned()
        .collect();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("{boxes}:st:*:3")
        .query(&mut c)
        .unwrap();
    for k in &keys {
        cmd(&mut c, &[b"DEL", k.as_bytes()]);
    }
    let three: Vec<_> = record(&mut c, "3")
        .into_iter()
        .filter(|(id, _)| !id.starts_with(b"st:"))
        .collect();
    write_record(&mut c, "3", &three);
    assert_clean(&mut c);

    // row 1's structures exist and are not recorded; row 2 records its
    // indexed set without its index, and "b" lost row 2
    write_record(&mut c, "1", &no_st);
    let two: Vec<_> = record(&mut c, "2")
        .into_iter()
        .map(|(id, v)| {
            if id == b"st:tags:" {
                (id, Vec::new())
            } else {
                (id, v)
            }
        })
        .collect();
    write_record(&mut c, "2", &two);
    cmd(&mut c, &[b"SREM", b"{boxes}:eq:tags:b", b"2"]);
    let r = report(&mut c);
    for key in ["{boxes}:row:1", "{boxes}:row:2"] {
        assert!(
            r.problems.contains(&Problem::Record { key: key.into() }),
            "{r:#?}"
        );
    }
    let applied = repaired(&mut c);
    assert!(applied.reindexed >= 2, "{applied:#?}");
    let mut again = record(&mut c, "1");
    let mut want = full.clone();
    again.sort();
    want.sort();
    assert_eq!(again, want);
    assert_eq!(with_tag(&mut c, "b"), [1, 2]);
    // deleting the row deletes its structures again
    Bin::delete_many(&mut c, &[1]).unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("{boxes}:st:*:1")
        .query(&mut c)
        .unwrap();
    assert!(keys.is_empty(), "{keys:?}");
    assert_clean(&mut c);
}

#[test]
fn large_sets_and_indexes_are_walked_in_pages() {
    let (_s, mut c) = server();
    let many: Vec<String> = (0..450).map(|i| format!("t{i}")).collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    new_bin("big", &refs).insert(&mut c).unwrap();
    for i in 0..300 {
        new_bin(&format!("r{i}"), &["common"])
            .insert(&mut c)
            .unwrap();
    }
    assert_clean(&mut c);
    // a missing entry late in the big set, and an orphan in a big index set
    cmd(&mut c, &[b"SREM", b"{boxes}:eq:tags:t449", b"1"]);
    cmd(&mut c, &[b"SADD", b"{boxes}:eq:tags:common", b"1"]);
    let mut problems = report(&mut c).problems;
    problems.sort_by_key(|p| format!("{p:?}"));
    assert_eq!(
        problems,
        [
            Problem::Missing {
                index: "{boxes}:eq:tags:t449".into(),
                member: "1".into()
            },
            Problem::Orphan {
                index: "{boxes}:eq:tags:common".into(),
                member: "1".into()
            },
        ]
    );
    let applied = repaired(&mut c);
    assert_eq!((applied.entries_added, applied.orphans_removed), (1, 1));
    assert_eq!(with_tag(&mut c, "common").len(), 300);
}

#[test]
fn verify_and_repair_on_a_cluster() {
    let cluster = rom::testing::RedisCluster::start(3).unwrap();
    let mut c = cluster.connection().unwrap();
    new_bin("one", &["a", "b"]).insert(&mut c).unwrap();
    new_bin("two", &["b"]).insert(&mut c).unwrap();
    assert!(verify::<Bin, _>(&mut c).unwrap().is_clean());
    let run = |c: &mut redis::cluster::ClusterConnection, args: &[&str]| {
        let mut k = redis::cmd(args[0]);
        for a in &args[1..] {
            k.arg(*a);
        }
        let _: redis::Value = k.query(c).unwrap();
    };
    run(&mut c, &["SREM", "{boxes}:eq:tags:b", "2"]);
    run(&mut c, &["SADD", "{boxes}:eq:tags:a", "2"]);
    run(&mut c, &["RPUSH", "{boxes}:st:messages:9", "x"]);
    let r = verify::<Bin, _>(&mut c).unwrap();
    assert_eq!(r.problems.len(), 3, "{r:#?}");
    let fixed = repair::<Bin, _>(&mut c, Repair::Apply).unwrap();
    assert_eq!(
        (fixed.entries_added, fixed.orphans_removed),
        (1, 2),
        "{fixed:#?}"
    );
    assert!(verify::<Bin, _>(&mut c).unwrap().is_clean());
}
