//! Every column type round-trips its edge values through a real redis-server.
mod common;
use common::*;
use rom::Json;

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Nested {
    tags: Vec<String>,
    inner: Option<Box<Nested>>,
    n: f64,
}

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = things)]
struct Thing {
    #[rom(primary_key)]
    id: Option<u64>,
    #[rom(index(numeric))]
    i64v: i64,
    i64_raw: i64,
    #[rom(index(numeric))]
    i32v: i32,
    #[rom(index(numeric))]
    u32v: u32,
    u64_raw: u64,
    #[rom(index(numeric, checked_u53))]
    u64_indexed: u64,
    #[rom(index(numeric))]
    f: f64,
    f_raw: f64,
    #[rom(index(eq))]
    b: bool,
    #[rom(index(eq))]
    s: String,
    bytes: Vec<u8>,
    json: Json<Nested>,
    #[rom(index(numeric))]
    at: chrono::DateTime<chrono::Utc>,
    #[rom(index(numeric))]
    day: Option<chrono::NaiveDate>,
    time: Option<chrono::NaiveTime>,
    #[rom(index(eq))]
    uuid: Option<uuid::Uuid>,
    #[rom(default = 42)]
    defaulted: i64,
}

fn thing() -> Thing {
    Thing {
        id: None,
        i64v: -(1 << 53),
        i64_raw: i64::MIN,
        i32v: i32::MIN,
        u32v: u32::MAX,
        u64_raw: u64::MAX,
        u64_indexed: 1 << 53,
        f: -1.0e300,
        f_raw: f64::NAN,
        b: true,
        s: String::new(),
        bytes: (0..=255u8).collect(),
        json: Json(Nested {
            tags: vec!["a".into(), "ü: {x}".into()],
            inner: Some(Box::new(Nested {
                tags: vec![],
                inner: None,
                n: -0.5,
            })),
            n: 1e-7,
        }),
        at: chrono::DateTime::from_timestamp(1_700_000_000, 123_456_000).expect("valid"),
        day: chrono::NaiveDate::from_ymd_opt(1969, 12, 31),
        time: chrono::NaiveTime::from_hms_nano_opt(23, 59, 59, 999_999_999),
        uuid: Some(uuid::Uuid::new_v4()),
        defaulted: 7,
    }
}

fn same(a: &Thing, b: &Thing) {
    // NaN != NaN, so compare the unindexed float by its bits
    assert_eq!(a.f_raw.to_bits(), b.f_raw.to_bits());
    let (mut a, mut b) = (a.clone(), b.clone());
    a.f_raw = 0.0;
    b.f_raw = 0.0;
    assert_eq!(a, b);
}

#[test]
fn edge_values_round_trip() {
    let (_s, mut c) = server();
    let cases = [
        thing(),
        Thing {
            i64v: 1 << 53,
            i64_raw: i64::MAX,
            i32v: i32::MAX,
            u32v: 0,
            u64_raw: 0,
            u64_indexed: 0,
            f: f64::MIN_POSITIVE,
            f_raw: f64::INFINITY,
            b: false,
            s: "日本語 :{}*\0 end".into(),
            bytes: vec![],
            day: None,
            time: None,
            uuid: None,
            ..thing()
        },
        Thing {
            f: -0.0,
            f_raw: f64::NEG_INFINITY,
            s: "x".repeat(1 << 20),
            bytes: vec![0; 1 << 20],
            ..thing()
        },
    ];
    for t in cases {
        let saved = t.clone().insert(&mut c).expect("insert");
        let back = Thing::get(&mut c, saved.id.expect("id"))
            .expect("get")
            .expect("row");
        let mut want = t.clone();
        want.id = saved.id;
        same(&back, &want);
        // and found again through its indexes
        let q = things::table
            .filter(things::i64v.eq(t.i64v))
            .filter(things::s.eq(t.s.clone()))
            .filter(things::b.eq(t.b))
            .filter(things::at.eq(t.at))
            .filter(things::u64_indexed.eq(t.u64_indexed));
        assert!(
            q.ids(&mut c)
                .expect("query")
                .contains(&saved.id.expect("id"))
        );
    }
    assert_clean::<Thing>(&mut c);
}

#[test]
fn a_missing_field_takes_its_default() {
    let (_s, mut c) = server();
    let t = thing().insert(&mut c).expect("insert");
    let key = format!("{{things}}:row:{}", t.id.expect("id"));
    let _: () = redis::cmd("HDEL")
        .arg(&key)
        .arg("defaulted")
        .query(&mut c)
        .expect("hdel");
    let back = Thing::get(&mut c, t.id.expect("id"))
        .expect("get")
        .expect("row");
    assert_eq!(back.defaulted, 42);
}

#[test]
fn values_a_score_cannot_hold_are_refused_before_any_write() {
    let (_s, mut c) = server();
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let err = Thing { f: bad, ..thing() }
            .insert(&mut c)
            .expect_err("refused");
        assert!(
            matches!(&err, Error::Validation { column, .. } if column == "f"),
            "{err}"
        );
    }
    let err = Thing {
        u64_indexed: (1 << 53) + 1,
        ..thing()
    }
    .insert(&mut c)
    .expect_err("refused");
    assert!(
        matches!(&err, Error::Validation { column, .. } if column == "u64_indexed"),
        "{err}"
    );
    let err = Thing {
        i64v: i64::MAX,
        ..thing()
    }
    .insert(&mut c)
    .expect_err("refused");
    assert!(
        matches!(&err, Error::Validation { column, .. } if column == "i64v"),
        "{err}"
    );
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut c).expect("keys");
    assert!(keys.is_empty(), "nothing written: {keys:?}");
    // a NaN in a query is a typed error too
    let err = things::table
        .filter(things::f.gt(f64::NAN))
        .count(&mut c)
        .expect_err("refused");
    assert!(matches!(err, Error::Validation { .. }), "{err}");
}

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = accounts, namespace = "acct")]
#[rom(unique_together(org, handle, case_insensitive))]
struct Account {
    #[rom(primary_key)]
    name: String,
    org: Option<String>,
    handle: Option<String>,
    #[rom(index(eq, case_insensitive))]
    city: String,
}

#[test]
fn natural_keys_composite_unique_and_folded_equality() {
    let (_s, mut c) = server();
    let a = Account {
        name: "a:{x}".into(),
        org: Some("Acme".into()),
        handle: Some("Bob".into()),
        city: "Zürich".into(),
    };
    a.clone().insert(&mut c).expect("insert");
    // the same natural key again is a unique violation on the key
    let err = a.clone().insert(&mut c).expect_err("exists");
    assert!(
        matches!(&err, Error::UniqueViolation { column, .. } if column == "name"),
        "{err}"
    );
    // composite, case-insensitive
    let b = Account {
        name: "b".into(),
        org: Some("ACME".into()),
        handle: Some("bob".into()),
        city: "x".into(),
    };
    let err = b.clone().insert(&mut c).expect_err("taken");
    assert!(
        matches!(&err, Error::UniqueViolation { column, .. } if column == "org+handle"),
        "{err}"
    );
    // a null member skips the constraint, twice
    Account {
        org: None,
        ..b.clone()
    }
    .insert(&mut c)
    .expect("null skips");
    Account {
        name: "c".into(),
        org: None,
        ..b.clone()
    }
    .insert(&mut c)
    .expect("null skips");
    // parts are length-prefixed: ("Acme", "Bob") is not ("AcmeB", "ob")
    Account {
        name: "d".into(),
        org: Some("AcmeB".into()),
        handle: Some("ob".into()),
        city: "x".into(),
    }
    .insert(&mut c)
    .expect("different pair");
    assert_eq!(
        accounts::table
            .filter(accounts::city.eq("ZÜRICH"))
            .ids(&mut c)
            .expect("q"),
        vec!["a:{x}".to_string()]
    );
    // upsert by natural key overwrites
    Account {
        city: "Bern".into(),
        ..a.clone()
    }
    .upsert(&mut c)
    .expect("upsert");
    assert_eq!(
        Account::get(&mut c, "a:{x}".to_string())
            .expect("get")
            .expect("row")
            .city,
        "Bern"
    );
    assert_eq!(
        accounts::table
            .filter(accounts::city.eq("zürich"))
            .count(&mut c)
            .expect("q"),
        0
    );
    assert_clean::<Account>(&mut c);
}
