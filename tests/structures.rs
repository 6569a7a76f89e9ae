//! Native structures on models: reads go to Redis, writes are held until
//! the row is saved and applied with it, atomically; deleting the row
//! deletes them; an indexed set is a filter.
#![allow(clippy::unwrap_used, missing_docs)]

use rom::prelude::*;
use rom::structure::{Hash, List, Set, SortedSet};
use rom::testing::RedisServer;
use rom::verify::verify;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = inboxes)]
pub struct Inbox {
    #[rom(primary_key)]
    pub id: Option<u64>,
    #[rom(index(eq))]
    pub owner: String,
    pub messages: List<String>,
    #[rom(index(eq))]
    pub labels: Set<String>,
    pub prefs: Hash<String, i64>,
    pub scores: SortedSet<String>,
}

fn inbox(owner: &str) -> Inbox {
    Inbox {
        id: None,
        owner: owner.into(),
        messages: List::new(),
        labels: Set::new(),
        prefs: Hash::new(),
        scores: SortedSet::new(),
    }
}

fn server() -> (RedisServer, redis::Connection) {
    let s = RedisServer::start().unwrap();
    let c = s.connection().unwrap();
    (s, c)
}

#[test]
fn writes_are_held_until_save_and_reads_go_to_redis() {
    let (_s, mut conn) = server();
    let mut i = inbox("ada");
    i.messages.push_back("hello");
    i.messages.push_back("world");
    i.messages.push_front("first");
    i.labels.insert("work");
    i.labels.insert("home");
    i.prefs.insert("size", 12);
    i.scores.insert("x", 1.5);
    i.scores.add("x", 1.0);
    // a row not inserted has nothing stored
    assert!(matches!(i.messages.len(&mut conn), Err(Error::NotSaved)));
    let mut rec = i.insert(&mut conn).unwrap();
    assert_eq!(rec.messages.pending(), 0);
    assert_eq!(rec.messages.len(&mut conn).unwrap(), 3);
    assert_eq!(
        rec.messages.range(0, -1, &mut conn).unwrap(),
        vec!["first", "hello", "world"]
    );
    assert_eq!(
        rec.messages.get(-1, &mut conn).unwrap().as_deref(),
        Some("world")
    );
    assert!(rec.labels.contains(&"work".into(), &mut conn).unwrap());
    assert_eq!(rec.prefs.get(&"size".into(), &mut conn).unwrap(), Some(12));
    assert_eq!(rec.scores.score(&"x".into(), &mut conn).unwrap(), Some(2.5));

    // a write is not seen before save
    rec.messages.push_back("later");
    assert_eq!(rec.messages.len(&mut conn).unwrap(), 3);
    rec.save(&mut conn).unwrap();
    assert_eq!(rec.messages.len(&mut conn).unwrap(), 4);

    // loaded rows read the same structures
    let again = Inbox::get(&mut conn, *rec.key()).unwrap().unwrap();
    assert_eq!(again.messages.len(&mut conn).unwrap(), 4);

    // the index
    let found = inboxes::table
        .filter(inboxes::labels.contains("work"))
        .load(&mut conn)
        .unwrap();
    assert_eq!(found.len(), 1);
    rec.labels.remove(&"work".into());
    rec.save(&mut conn).unwrap();
    let found = inboxes::table
        .filter(inboxes::labels.contains("work"))
        .count(&mut conn)
        .unwrap();
    assert_eq!(found, 0);
    assert!(verify::<Inbox, _>(&mut conn).unwrap().is_clean());

    // deleting the row deletes its structures and index entries
    let key = *rec.key();
    Inbox::delete_many(&mut conn, &[key]).unwrap();
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut conn).unwrap();
    assert!(
        keys.iter()
            .all(|k| !k.contains(":st:") && !k.contains(":eq:labels:")),
        "{keys:?}"
    );
}

#[test]
fn conflict_detection_is_opt_in_per_structure() {
    let (_s, mut conn) = server();
    let key = *inbox("ada").insert(&mut conn).unwrap().key();
    let load = |c: &mut redis::Connection| Inbox::get(c, key).unwrap().unwrap();
    let (mut mine, mut theirs) = (load(&mut conn), load(&mut conn));
    mine.messages.detect_conflicts();
    // my own successive saves do not conflict with themselves
    mine.messages.push_back("1");
    mine.save(&mut conn).unwrap();
    mine.messages.push_back("2");
    mine.save(&mut conn).unwrap();
    // another writer's save (without detection: appends commute)
    theirs.messages.push_back("theirs");
    theirs.save(&mut conn).unwrap();
    // now mine conflicts, and writes nothing
    mine.messages.push_back("3");
    mine.owner = "changed".into();
    match mine.save(&mut conn) {
        Err(Error::Conflict { column, .. }) => assert_eq!(column.as_deref(), Some("messages")),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(mine.messages.pending(), 1);
    assert_eq!(load(&mut conn).owner, "ada");
    assert_eq!(
        mine.messages.range(0, -1, &mut conn).unwrap(),
        vec!["1", "2", "theirs"]
    );
    // read again, the same write saves
    mine.refresh(&mut conn).unwrap();
    mine.messages.detect_conflicts();
    mine.messages.push_back("3");
    mine.save(&mut conn).unwrap();
    assert_eq!(mine.messages.len(&mut conn).unwrap(), 4);
    // a structure without detection never conflicts
    theirs.labels.insert("x");
    theirs.save(&mut conn).unwrap();
    // the version fields are not columns: the model verifies clean
    assert!(verify::<Inbox, _>(&mut conn).unwrap().is_clean());
}
