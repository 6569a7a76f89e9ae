//! `Record<M>` and serde: a record serializes as its model; a deserialized
//! record does not know what is stored, so it refuses the conflict-checked
//! save and writes every column with `save_forced`. Its `Debug` shows the
//! model, never stored bytes.

mod common;
use common::*;

#[derive(Model, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[rom(table = people)]
struct Person {
    #[rom(primary_key)]
    id: Option<u64>,
    #[rom(unique(case_insensitive))]
    email: String,
    #[rom(index(numeric))]
    age: i32,
    nick: Option<String>,
}

fn person(email: &str, age: i32) -> Person {
    Person {
        id: None,
        email: email.into(),
        age,
        nick: Some("n".into()),
    }
}

#[test]
fn a_record_serializes_as_its_model() {
    let (_s, mut c) = server();
    let r = person("a@x.org", 30).insert(&mut c).expect("insert");
    let json = serde_json::to_string(&r).expect("to json");
    assert_eq!(json, serde_json::to_string(&*r).expect("model to json"));
    assert_eq!(
        serde_json::to_value(&r).expect("value"),
        serde_json::json!({"id": 1, "email": "a@x.org", "age": 30, "nick": "n"})
    );
    // a list of loaded records is a JSON array of models
    let all = people::table.load(&mut c).expect("load");
    assert_eq!(
        serde_json::to_string(&all).expect("json"),
        format!("[{json}]")
    );
}

#[test]
fn debug_shows_the_key_and_the_model_not_stored_bytes() {
    let (_s, mut c) = server();
    let r = person("a@x.org", 30).insert(&mut c).expect("insert");
    let shown = format!("{r:?}");
    assert_eq!(
        shown,
        format!("Record {{ key: 1, value: {:?} }}", *r),
        "{shown}"
    );
    assert!(
        !shown.contains("snapshot") && !shown.contains('['),
        "{shown}"
    );
}

#[test]
fn deserializing_needs_the_key() {
    let e = serde_json::from_str::<Record<Person>>(
        r#"{"id":null,"email":"a@x.org","age":1,"nick":null}"#,
    )
    .expect_err("no key");
    assert!(e.to_string().contains("primary key"), "{e}");
    let r: Record<Person> =
        serde_json::from_str(r#"{"id":7,"email":"a@x.org","age":1,"nick":null}"#).expect("json");
    assert_eq!(*r.key(), 7);
    assert_eq!(r.email, "a@x.org");
}

#[test]
fn a_deserialized_record_refuses_a_conflict_checked_save() {
    let (s, mut c) = server();
    let stored = person("a@x.org", 30).insert(&mut c).expect("insert");
    let json = serde_json::to_string(&stored).expect("json");

    // unchanged and changed alike: refused before anything is sent
    let mut back: Record<Person> = serde_json::from_str(&json).expect("back");
    assert_eq!(
        back.changed_columns().expect("changed"),
        vec!["email", "age", "nick"]
    );
    let mut counting = CountingConnection::new(s.connection().expect("connect"));
    assert!(matches!(
        back.save(&mut counting),
        Err(rom::Error::Validation { .. })
    ));
    back.age = 31;
    assert!(matches!(
        back.save(&mut counting),
        Err(rom::Error::Validation { .. })
    ));
    assert!(matches!(
        back.save_plan(),
        Err(rom::Error::Validation { .. })
    ));
    let results = Record::save_all(&mut counting, std::slice::from_mut(&mut back)).expect("all");
    assert!(matches!(results[0], Err(rom::Error::Validation { .. })));
    assert_eq!(counting.round_trips(), 0, "nothing sent");
    assert_eq!(
        Person::get(&mut c, 1).expect("get").expect("row").age,
        30,
        "nothing written"
    );
}

#[test]
fn save_forced_writes_every_column_and_then_the_record_is_ordinary() {
    let (_s, mut c) = server();
    let stored = person("a@x.org", 30).insert(&mut c).expect("insert");
    let mut back: Record<Person> =
        serde_json::from_str(&serde_json::to_string(&stored).expect("json")).expect("back");
    // someone else changes the row meanwhile: the deserialized value wins
    let mut other = Person::get(&mut c, 1).expect("get").expect("row");
    other.nick = Some("theirs".into());
    other.age = 50;
    other.save(&mut c).expect("other save");
    back.nick = None;
    back.save_forced(&mut c).expect("forced");
    let now = Person::get(&mut c, 1).expect("get").expect("row");
    assert_eq!(now.into_inner(), back.clone().into_inner());
    assert_clean::<Person>(&mut c);
    // now it knows what is stored: an ordinary, conflict-checked record
    assert!(back.changed_columns().expect("changed").is_empty());
    back.age = 32;
    back.save(&mut c).expect("checked save");
    assert_eq!(Person::get(&mut c, 1).expect("get").expect("row").age, 32);
    // unique values still hold for a forced save
    person("b@x.org", 1).insert(&mut c).expect("insert b");
    let mut dup: Record<Person> =
        serde_json::from_str(r#"{"id":1,"email":"B@x.org","age":1,"nick":null}"#).expect("dup");
    assert!(matches!(
        dup.save_forced(&mut c),
        Err(rom::Error::UniqueViolation { .. })
    ));
    // and a forced save never resurrects a deleted row
    Person::delete_many(&mut c, &[1]).expect("delete");
    let mut gone: Record<Person> =
        serde_json::from_str(r#"{"id":1,"email":"a@x.org","age":1,"nick":null}"#).expect("gone");
    assert!(gone.save_forced(&mut c).is_err());
    assert!(!Person::exists(&mut c, 1).expect("exists"));
}

#[test]
fn refresh_turns_a_deserialized_record_into_a_loaded_one() {
    let (_s, mut c) = server();
    person("a@x.org", 30).insert(&mut c).expect("insert");
    let mut back: Record<Person> =
        serde_json::from_str(r#"{"id":1,"email":"stale@x.org","age":1,"nick":null}"#)
            .expect("back");
    back.refresh(&mut c).expect("refresh");
    assert_eq!(back.email, "a@x.org");
    back.age = 40;
    back.save(&mut c).expect("save");
    assert_eq!(Person::get(&mut c, 1).expect("get").expect("row").age, 40);
}
