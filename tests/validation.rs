//! Validation rules: checked before every write, with an error naming the
//! column and the rule; `validate()` checks them earlier; increments respect
//! a `range` rule and refuse a rule the server cannot check.
#![allow(clippy::unwrap_used, missing_docs)]

use rom::prelude::*;
use rom::testing::RedisServer;
use rom::transaction::Transaction;

fn no_spaces(s: &str) -> Result<(), String> {
    if s.contains(' ') {
        Err(format!("{s:?} contains a space"))
    } else {
        Ok(())
    }
}

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = users)]
pub struct User {
    #[rom(primary_key)]
    pub id: Option<u64>,
    #[rom(unique, length(min = 3, max = 12), validate = no_spaces)]
    pub handle: String,
    #[rom(pattern = "[a-z0-9.]+@[a-z0-9.]+")]
    pub email: Option<String>,
    #[rom(index(numeric), range(min = 0, max = 150))]
    pub age: i32,
    #[rom(range(min = 0.0))]
    pub score: f64,
    #[rom(range(max = 10))]
    pub strikes: u32,
    #[rom(length(max = 4))]
    pub blob: Vec<u8>,
}

fn ok_user() -> User {
    User {
        id: None,
        handle: "ann".into(),
        email: Some("ann@example.com".into()),
        age: 30,
        score: 1.5,
        strikes: 0,
        blob: vec![1, 2],
    }
}

fn rule_error(u: &User) -> (String, String) {
    match u.validate().unwrap_err() {
        Error::Validation { column, reason, .. } => (column, reason),
        other => panic!("{other:?}"),
    }
}

#[test]
fn every_rule_names_its_column_and_itself() {
    assert!(ok_user().validate().is_ok());
    let cases: Vec<(User, &str, &str)> = vec![
        (
            User {
                handle: "an".into(),
                ..ok_user()
            },
            "handle",
            "2 characters is below the minimum 3 (rule `length(min = 3, max = 12)`)",
        ),
        (
            User {
                handle: "ééééééééééééé".into(),
                ..ok_user()
            },
            "handle",
            "13 characters is above the maximum 12 (rule `length(min = 3, max = 12)`)",
        ),
        (
            User {
                handle: "a b c".into(),
                ..ok_user()
            },
            "handle",
            "\"a b c\" contains a space (rule `validate = no_spaces`)",
        ),
        (
            User {
                email: Some("Ann@example.com".into()),
                ..ok_user()
            },
            "email",
            "\"Ann@example.com\" does not match the pattern (rule `pattern = \"[a-z0-9.]+@[a-z0-9.]+\"`)",
        ),
        (
            User {
                email: Some("x ann@example.com".into()),
                ..ok_user()
            },
            "email",
            "\"x ann@example.com\" does not match the pattern (rule `pattern = \"[a-z0-9.]+@[a-z0-9.]+\"`)",
        ),
        (
            User {
                age: -1,
                ..ok_user()
            },
            "age",
            "-1 is outside the range (rule `range(min = 0, max = 150)`)",
        ),
        (
            User {
                age: 151,
                ..ok_user()
            },
            "age",
            "151 is outside the range (rule `range(min = 0, max = 150)`)",
        ),
        (
            User {
                score: f64::NAN,
                ..ok_user()
            },
            "score",
            "NaN is outside the range (rule `range(min = 0.0)`)",
        ),
        (
            User {
                blob: vec![0; 5],
                ..ok_user()
            },
            "blob",
            "5 bytes is above the maximum 4 (rule `length(max = 4)`)",
        ),
    ];
    for (u, column, reason) in cases {
        assert_eq!(rule_error(&u), (column.to_owned(), reason.to_owned()));
    }
    // a null passes every rule; bounds are inclusive
    assert!(
        User {
            email: None,
            age: 150,
            handle: "abcdefghijkl".into(),
            ..ok_user()
        }
        .validate()
        .is_ok()
    );
}

#[test]
fn every_write_checks_the_rules_before_sending_anything() {
    let s = RedisServer::start().unwrap();
    let mut c = s.connection().unwrap();
    let bad = User {
        age: 200,
        ..ok_user()
    };
    assert!(matches!(
        bad.clone().insert(&mut c),
        Err(Error::Validation { .. })
    ));
    assert!(matches!(
        bad.clone().upsert(&mut c),
        Err(Error::Validation { .. })
    ));
    let mut rec = ok_user().insert(&mut c).unwrap();
    rec.handle = "x".into();
    assert!(matches!(rec.save(&mut c), Err(Error::Validation { .. })));
    assert!(matches!(
        rec.save_forced(&mut c),
        Err(Error::Validation { .. })
    ));
    let results = User::insert_all(
        &mut c,
        vec![
            User {
                handle: "bob".into(),
                ..ok_user()
            },
            bad.clone(),
        ],
    )
    .unwrap();
    assert!(results[0].is_ok());
    assert!(matches!(results[1], Err(Error::Validation { .. })));
    let mut tx = Transaction::new();
    assert!(matches!(tx.insert(bad), Err(Error::Validation { .. })));
    tx.get::<User, _>(&mut c, 1u64).unwrap().unwrap().strikes = 11;
    assert!(matches!(tx.commit(&mut c), Err(Error::Validation { .. })));
    // nothing of the refused writes reached Redis
    let stored = User::get(&mut c, 1u64).unwrap().unwrap();
    assert_eq!(stored.handle, "ann");
    assert_eq!(stored.strikes, 0);
    assert_eq!(users::table.count(&mut c).unwrap(), 2);
    // rows are not validated on the way in: a rule does not make data unreadable
    redis::cmd("HSET")
        .arg("{users}:row:1")
        .arg("age")
        .arg("999")
        .exec(&mut c)
        .unwrap();
    assert_eq!(User::get(&mut c, 1u64).unwrap().unwrap().age, 999);
}

#[test]
fn increments_respect_a_range_rule_and_refuse_others() {
    let s = RedisServer::start().unwrap();
    let mut c = s.connection().unwrap();
    ok_user().insert(&mut c).unwrap();
    assert_eq!(
        User::increment(&mut c, 1u64, users::strikes.add(10)).unwrap(),
        10
    );
    let err = User::increment(&mut c, 1u64, users::strikes.add(1)).unwrap_err();
    assert!(
        matches!(&err, Error::Validation { column, .. } if column == "strikes"),
        "{err:?}"
    );
    assert_eq!(
        User::increment(&mut c, 1u64, users::age.add(120)).unwrap(),
        150
    );
    assert!(User::increment(&mut c, 1u64, users::age.add(1)).is_err());
    assert!(User::increment(&mut c, 1u64, users::age.add(-151)).is_err());
    assert_eq!(User::get(&mut c, 1u64).unwrap().unwrap().age, 150);
}
