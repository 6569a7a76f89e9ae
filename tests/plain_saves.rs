//! A plain save (a new row, or an update that moves no keyed index entry, of
//! a model with no expiry, structures or references) is done by `plain.lua`
//! without save.lua's tables; every other save goes through save.lua's
//! phases. The two must be one behaviour: here the same random inserts,
//! upserts and updates, against the same damage (stale unique entries, rows
//! removed or changed from outside, keys of the wrong type), run on two
//! servers, one through the function `save`'s entry and one through
//! save.lua's `save_main` directly, and after every step the replies and the
//! whole keyspaces must be equal. Single-row deletes are compared the same
//! way with the checked delete (`delete_check` before any removal).
#![allow(clippy::unwrap_used, missing_docs)]
mod common;
mod random;
use common::*;
use random::Rng;
use redis::Value;
use std::collections::BTreeMap;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = people)]
pub struct Person {
    #[rom(primary_key)]
    id: Option<u64>,
    #[rom(unique(case_insensitive))]
    email: String,
    #[rom(unique)]
    handle: Option<String>,
    #[rom(index(text))]
    name: String,
    #[rom(index(eq, case_insensitive))]
    city: Option<String>,
    #[rom(index(prefix), index(suffix))]
    title: Option<String>,
    #[rom(index(sort))]
    nick: Option<String>,
    #[rom(index(numeric))]
    age: i32,
    #[rom(index(numeric))]
    score: Option<f64>,
    bio: Option<String>,
}

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = codes)]
pub struct Code {
    #[rom(primary_key)]
    code: String,
    #[rom(unique)]
    label: String,
    #[rom(index(numeric))]
    rank: i64,
}

/// Picks from the seeded generator (`tests/random`).
trait Pick {
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str;
    fn maybe(&mut self, xs: &[&str]) -> Option<String>;
}

impl Pick for Rng {
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len() as u64) as usize]
    }
    fn maybe(&mut self, xs: &[&str]) -> Option<String> {
        (self.below(3) > 0).then(|| self.pick(xs).to_owned())
    }
}

const WORDS: &[&str] = &["ann", "Bob", "cy", "dee", "Élan", "ann lee", "bob ray"];

fn person(r: &mut Rng) -> Person {
    Person {
        id: None,
        email: format!("{}@x.io", r.pick(&["a", "B", "c", "D", "e", "F", "g"])),
        handle: r.maybe(&["h1", "h2", "h3"]),
        name: r.pick(WORDS).to_owned(),
        city: r.maybe(&["Paris", "paris", "Oslo"]),
        title: r.maybe(&["dr", "prof", "sir"]),
        nick: r.maybe(&["zed", "amy", ""]),
        age: r.below(90) as i32 - 10,
        score: (r.below(2) == 0).then(|| r.below(1000) as f64 / 8.0),
        bio: r.maybe(&["x", ""]),
    }
}

/// Every key of the database with its type and contents, comparable.
fn dump(c: &mut redis::Connection) -> BTreeMap<Vec<u8>, String> {
    let keys: Vec<Vec<u8>> = redis::cmd("KEYS").arg("*").query(c).unwrap();
    let mut out = BTreeMap::new();
    for k in keys {
        let t: String = redis::cmd("TYPE").arg(&k).query(c).unwrap();
        let body = match t.as_str() {
            "hash" => {
                let m: BTreeMap<Vec<u8>, Vec<u8>> = redis::cmd("HGETALL").arg(&k).query(c).unwrap();
                format!("{m:?}")
            }
            "set" => {
                let mut m: Vec<Vec<u8>> = redis::cmd("SMEMBERS").arg(&k).query(c).unwrap();
                m.sort();
                format!("{m:?}")
            }
            "zset" => {
                let m: Vec<(Vec<u8>, String)> = redis::cmd("ZRANGE")
                    .arg(&k)
                    .arg(0)
                    .arg(-1)
                    .arg("WITHSCORES")
                    .query(c)
                    .unwrap();
                format!("{m:?}")
            }
            "string" => {
                let v: Vec<u8> = redis::cmd("GET").arg(&k).query(c).unwrap();
                format!("{v:?}")
            }
            other => other.to_owned(),
        };
        out.insert(k, format!("{t} {body}"));
    }
    out
}

/// Runs a save plan's keys and arguments as one EVAL of the library, through
/// the entry the function `save` calls (`PS.save`, which takes the plain
/// insert path when it applies) or through save.lua's `save_main` directly.
fn run(c: &mut redis::Connection, keys: &[Vec<u8>], args: &[Vec<u8>], entry: &str) -> Value {
    let mut cmd = redis::cmd("EVAL");
    cmd.arg(format!(
        "{}\nreturn {entry}(KEYS, ARGV)\n",
        rom::__private::script::LIBRARY_BODY
    ));
    cmd.arg(keys.len()).arg(keys).arg(args);
    match cmd.query::<Value>(c) {
        Ok(v) => v,
        Err(e) => Value::SimpleString(format!("error: {e}")),
    }
}

/// The first word of a reply ("ok", "unique"...).
fn outcome(v: &Value) -> String {
    match v {
        Value::Array(items) => match items.first() {
            Some(Value::BulkString(b)) => String::from_utf8_lossy(b).into_owned(),
            _ => "?".into(),
        },
        other => format!("{other:?}"),
    }
}

fn raw(c: &mut redis::Connection, args: &[&str]) {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    let _: Value = cmd.query(c).unwrap();
}

#[test]
fn a_plain_save_writes_what_save_main_writes() {
    let seed = random::seed();
    let mut r = Rng(seed);
    let sa = RedisServer::start().unwrap();
    let sb = RedisServer::start().unwrap();
    let mut a = sa.connection().unwrap();
    let mut b = sb.connection().unwrap();
    let mut kinds = BTreeMap::<String, usize>::new();
    for step in 0..600 {
        let what = r.below(10);
        // damage, the same on both sides
        let damage: Option<Vec<&str>> = match what {
            0 => Some(vec!["DEL", "{people}:row:2"]),
            1 => Some(vec!["SET", "{people}:text:name:ann", "foreign"]),
            2 => Some(vec!["DEL", "{people}:text:name:ann"]),
            3 => Some(vec!["HSET", "{people}:uniq:email", "c@x.io", "999"]),
            _ => None,
        };
        if let Some(d) = damage {
            raw(&mut a, &d);
            raw(&mut b, &d);
        }
        let (keys, args, kind) = match r.below(6) {
            4 | 5 => {
                let id = r.below(12) + 1;
                let Some(mut rec) = Person::get(&mut a, id).unwrap_or(None) else {
                    continue;
                };
                rec.age = r.below(90) as i32;
                if r.below(2) == 0 {
                    rec.score = (r.below(2) == 0).then(|| r.below(1000) as f64 / 8.0);
                }
                rec.bio = r.maybe(&["y", ""]);
                if r.below(4) == 0 {
                    // a keyed index moves: save.lua's path on both sides
                    rec.name = r.pick(WORDS).to_owned();
                }
                // changed or removed from outside after the read
                let outside: Option<Vec<String>> = match r.below(10) {
                    0 => Some(vec![
                        "HSET".into(),
                        format!("{{people}}:row:{id}"),
                        "age".into(),
                        "7".into(),
                    ]),
                    1 => Some(vec![
                        "HDEL".into(),
                        format!("{{people}}:row:{id}"),
                        "bio".into(),
                    ]),
                    2 => Some(vec!["DEL".into(), format!("{{people}}:row:{id}")]),
                    3 => Some(vec![
                        "SET".into(),
                        "{people}:num:age".into(),
                        "foreign".into(),
                    ]),
                    // a row written before rows carried their record
                    4 => Some(vec![
                        "HDEL".into(),
                        format!("{{people}}:row:{id}"),
                        "#i".into(),
                    ]),
                    5 => Some(vec![
                        "SET".into(),
                        format!("{{people}}:row:{id}"),
                        "foreign".into(),
                    ]),
                    _ => None,
                };
                if let Some(d) = outside {
                    let d: Vec<&str> = d.iter().map(String::as_str).collect();
                    raw(&mut a, &d);
                    raw(&mut b, &d);
                }
                let plan = if r.below(3) == 0 {
                    rec.save_forced_plan().unwrap()
                } else {
                    rec.save_plan().unwrap()
                };
                let out = (plan.keys().to_vec(), plan.args().to_vec(), "update");
                if r.below(2) == 0 {
                    raw(&mut a, &["DEL", "{people}:num:age"]);
                    raw(&mut b, &["DEL", "{people}:num:age"]);
                }
                out
            }
            0 | 1 => {
                let p = person(&mut r);
                let plan = p.insert_plan().unwrap();
                (
                    plan.keys().to_vec(),
                    plan.args().to_vec(),
                    "insert, new key",
                )
            }
            2 => {
                let mut p = person(&mut r);
                p.id = Some(r.below(12) + 1);
                let plan = if r.below(2) == 0 {
                    p.upsert_plan().unwrap()
                } else {
                    p.insert_plan().unwrap()
                };
                (plan.keys().to_vec(), plan.args().to_vec(), "given key")
            }
            _ => {
                let c = Code {
                    code: r.pick(&["fr", "de", "it", "es"]).to_owned(),
                    label: r.pick(&["one", "two", "three"]).to_owned(),
                    rank: r.below(5) as i64,
                };
                let plan = if r.below(2) == 0 {
                    c.upsert_plan().unwrap()
                } else {
                    c.insert_plan().unwrap()
                };
                (plan.keys().to_vec(), plan.args().to_vec(), "string key")
            }
        };
        let ra = run(&mut a, &keys, &args, "PS.save");
        let rb = run(&mut b, &keys, &args, "save_main");
        assert_eq!(
            format!("{ra:?}"),
            format!("{rb:?}"),
            "step {step} ({kind}), seed {seed}: replies differ"
        );
        let o = outcome(&ra);
        *kinds.entry(o.clone()).or_default() += 1;
        assert_eq!(
            dump(&mut a),
            dump(&mut b),
            "step {step} ({kind}), seed {seed}: keyspaces differ"
        );
    }
    // the run reached every outcome (else it would prove little)
    for k in ["ok", "exists", "unique", "wrongtype", "gone", "conflict"] {
        assert!(
            kinds.get(k).copied().unwrap_or(0) > 0,
            "no {k} reply in {kinds:?} (seed {seed})"
        );
    }
}

/// What a write's result is, for comparing two ways of writing.
fn outcome_of<T>(r: &rom::Result<T>) -> String {
    match r {
        Ok(_) => "ok".into(),
        Err(rom::Error::UniqueViolation { column, value, .. }) => {
            format!("unique {column} {value}")
        }
        Err(rom::Error::Decode { key, .. }) => format!("decode {key}"),
        Err(e) => format!("{e}"),
    }
}

/// A batch (`insert_all`, `upsert_all`: one pipeline) gives every row the
/// result, and the keyspace, of the same rows saved one call each, with
/// duplicates inside the batch, taken keys and foreign keys of the wrong
/// type.
#[test]
fn a_batch_in_one_call_writes_what_single_saves_write() {
    let seed = random::seed();
    let mut r = Rng(seed);
    let sa = RedisServer::start().unwrap();
    let sb = RedisServer::start().unwrap();
    let mut a = sa.connection().unwrap();
    let mut b = sb.connection().unwrap();
    // rom's library is loaded on both sides (as the first save does)
    for c in [&mut a, &mut b] {
        Code {
            code: "zz".into(),
            label: "warm".into(),
            rank: 0,
        }
        .insert(c)
        .unwrap();
    }
    for round in 0..40 {
        let damage: Option<Vec<&str>> = match r.below(8) {
            0 => Some(vec!["SET", "{people}:text:name:ann", "foreign"]),
            1 => Some(vec!["DEL", "{people}:text:name:ann"]),
            2 => Some(vec!["SET", "{people}:num:age", "foreign"]),
            3 => Some(vec!["DEL", "{people}:num:age"]),
            _ => None,
        };
        if let Some(d) = damage {
            raw(&mut a, &d);
            raw(&mut b, &d);
        }
        let n = 1 + r.below(90);
        let rows: Vec<Person> = (0..n)
            .map(|_| {
                let mut p = person(&mut r);
                if r.below(4) == 0 {
                    p.id = Some(r.below(40) + 1);
                }
                p
            })
            .collect();
        let upsert = r.below(3) == 0;
        let got: Vec<String> = if upsert {
            Person::upsert_all(&mut a, rows.clone())
        } else {
            Person::insert_all(&mut a, rows.clone())
        }
        .unwrap()
        .iter()
        .map(outcome_of)
        .collect();
        let want: Vec<String> = rows
            .into_iter()
            .map(|p| {
                if upsert {
                    outcome_of(&p.upsert(&mut b))
                } else {
                    outcome_of(&p.insert(&mut b))
                }
            })
            .collect();
        assert_eq!(got, want, "round {round}, seed {seed}");
        assert_eq!(
            dump(&mut a),
            dump(&mut b),
            "round {round}, seed {seed}: keyspaces differ"
        );
    }
}

/// `SET key foreign`: a key of another type, written by another program.
fn foreign(key: &str) -> Option<Vec<&str>> {
    Some(vec!["SET", key, "foreign"])
}

/// A delete of one row (a record's delete) is done by `delete.lua`'s `DL.one`,
/// whose removals are their own keys' type checks (put back on a key of
/// another type); any other delete checks every key first (`delete_check`).
/// Both must be one behaviour: the same random single-row deletes, against
/// the same damage (index keys, the id list or a row of another type, entries
/// and records removed from outside, a stale unique owner), run on two
/// servers, one through `delete_main` and one with `DL.one` switched off, and
/// after every step the replies and the whole keyspaces must be equal.
#[test]
fn a_single_row_delete_writes_what_the_checked_delete_writes() {
    let seed = random::seed();
    let mut r = Rng(seed);
    let sa = RedisServer::start().unwrap();
    let sb = RedisServer::start().unwrap();
    let mut a = sa.connection().unwrap();
    let mut b = sb.connection().unwrap();
    let checked =
        "(function(k, a) DL.one = function() return nil end; return delete_main(k, a) end)";
    let mut kinds = BTreeMap::<String, usize>::new();
    // the keys inserted so far, the latest last
    let mut live: Vec<u64> = Vec::new();
    for step in 0..800 {
        // rows to delete, the same on both sides
        for _ in 0..r.below(3) {
            let plan = person(&mut r).insert_plan().unwrap();
            let ra = run(&mut a, plan.keys(), plan.args(), "PS.save");
            let rb = run(&mut b, plan.keys(), plan.args(), "PS.save");
            assert_eq!(format!("{ra:?}"), format!("{rb:?}"), "seed {seed}");
            if let Value::Array(items) = &ra
                && let [Value::BulkString(ok), Value::BulkString(m)] = &items[..]
                && ok == b"ok"
            {
                live.push(String::from_utf8_lossy(m).parse().unwrap());
            }
        }
        // one of the latest rows, or (1 in 5) a key that may name none
        let key = match live.len() {
            n if n > 0 && r.below(5) > 0 => live.remove(n - 1 - r.below(n.min(6) as u64) as usize),
            _ => r.below(40) + 1,
        };
        let id = key.to_string();
        let row = format!("{{people}}:row:{id}");
        let damage: Option<Vec<&str>> = match r.below(30) {
            0 => foreign("{people}:text:name:ann"),
            1 => foreign("{people}:uniq:email"),
            2 => foreign("{people}:pre:title"),
            3 => foreign("{people}:num:age"),
            4 => foreign("{people}:ids"),
            5 => foreign("{people}:sort:nick"),
            6 => Some(vec!["HDEL", &row, "#i"]),
            7 => Some(vec!["HSET", &row, "#i", "bad"]),
            8 => foreign(&row),
            9 => Some(vec!["SREM", "{people}:text:name:ann", &id]),
            10 => Some(vec!["HSET", "{people}:uniq:email", "a@x.io", "999"]),
            11 => Some(vec!["ZREM", "{people}:ids", &id]),
            // a damaged key is sometimes dropped again, so rows keep coming
            12..=17 => Some(vec![
                "DEL",
                r.pick(&[
                    "{people}:text:name:ann",
                    "{people}:uniq:email",
                    "{people}:pre:title",
                    "{people}:num:age",
                    "{people}:ids",
                    "{people}:sort:nick",
                ]),
            ]),
            _ => None,
        };
        if let Some(d) = damage {
            // (an entry's removal from a key of another type fails alike)
            for c in [&mut a, &mut b] {
                let mut cmd = redis::cmd(d[0]);
                cmd.arg(&d[1..]);
                let _: redis::RedisResult<Value> = cmd.query(c);
            }
        }
        let plan = Person::delete_plan(&[key]);
        let ra = run(&mut a, plan.keys(), plan.args(), "delete_main");
        let rb = run(&mut b, plan.keys(), plan.args(), checked);
        assert_eq!(
            format!("{ra:?}"),
            format!("{rb:?}"),
            "step {step}, seed {seed}: replies differ"
        );
        let o = match &ra {
            Value::Array(items) => match (items.first(), items.get(1)) {
                (Some(Value::BulkString(k)), Some(Value::BulkString(n))) => format!(
                    "{} {}",
                    String::from_utf8_lossy(k),
                    String::from_utf8_lossy(n)
                ),
                _ => outcome(&ra),
            },
            _ => outcome(&ra),
        };
        *kinds.entry(o).or_default() += 1;
        assert_eq!(
            dump(&mut a),
            dump(&mut b),
            "step {step}, seed {seed}: keyspaces differ"
        );
    }
    // the run reached every outcome (else it would prove little)
    for k in ["ok 1", "ok 0", "wrongtype", "badrecord"] {
        assert!(
            kinds.keys().any(|o| o.starts_with(k)),
            "no {k} reply in {kinds:?} (seed {seed})"
        );
    }
}
