//! Bad input from users and foreign or corrupt data in Redis: a typed error each
//! time, no panic, and no other row touched.
mod common;
use common::*;

fn raw(c: &mut redis::Connection, args: &[&[u8]]) -> redis::Value {
    let mut cmd = redis::cmd(std::str::from_utf8(args[0]).expect("name"));
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(c).expect("raw command")
}

#[test]
fn awkward_values_are_stored_and_found_exactly() {
    let (_s, mut c) = server();
    let values = [
        "a:b",
        "{users}",
        "}{",
        "*",
        "?[x]",
        "nul\0byte",
        " spaced out ",
        "Ünïcødé ✓ 日本",
        "",
        "\\",
        "%d %s",
    ];
    let mut ids = Vec::new();
    for (i, v) in values.iter().enumerate() {
        let r = User {
            name: Some((*v).to_owned()),
            ..user(&format!("{v}#{i}"), "x", 1, 0.0)
        }
        .insert(&mut c)
        .expect("insert");
        ids.push(r.id.expect("id"));
    }
    for (i, v) in values.iter().enumerate() {
        let by_email = users::table
            .filter(users::email.eq(format!("{v}#{i}")))
            .first(&mut c)
            .expect("unique lookup");
        assert_eq!(by_email.id, Some(ids[i]));
        let by_name = users::table
            .filter(users::name.eq(*v))
            .ids(&mut c)
            .expect("eq lookup");
        assert_eq!(by_name, vec![ids[i]], "name {v:?}");
    }
    assert_clean::<User>(&mut c);
}

#[test]
fn a_value_that_is_not_utf8_is_a_decode_error_naming_key_and_field() {
    let (_s, mut c) = server();
    let a = user("a@x.io", "A", 1, 0.0).insert(&mut c).expect("insert");
    let b = user("b@x.io", "B", 2, 0.0).insert(&mut c).expect("insert");
    raw(
        &mut c,
        &[b"HSET", b"{users}:row:1", b"name", &[0xff, 0xfe, b'x']],
    );
    let err = User::get(&mut c, 1u64).expect_err("decode error");
    match &err {
        Error::Decode { key, field, .. } => {
            assert_eq!(key, "{users}:row:1");
            assert_eq!(field.as_deref(), Some("name"));
        }
        other => panic!("{other:?}"),
    }
    // a query over it reports the same error; the other row is still readable
    assert!(matches!(
        users::table.load(&mut c),
        Err(Error::Decode { .. })
    ));
    assert_eq!(
        User::get(&mut c, 2u64).expect("get").expect("row").name,
        b.name
    );
    drop(a);
}

#[test]
fn missing_and_unparsable_fields_are_decode_errors() {
    let (_s, mut c) = server();
    user("a@x.io", "A", 1, 0.0).insert(&mut c).expect("insert");
    raw(&mut c, &[b"HDEL", b"{users}:row:1", b"email"]);
    let err = User::get(&mut c, 1u64).expect_err("missing");
    assert!(
        matches!(&err, Error::Decode { field: Some(f), reason, .. } if f == "email" && reason.contains("missing")),
        "{err}"
    );
    raw(
        &mut c,
        &[
            b"HSET",
            b"{users}:row:1",
            b"email",
            b"a@x.io",
            b"age",
            b"twelve",
        ],
    );
    let err = User::get(&mut c, 1u64).expect_err("unparsable");
    assert!(
        matches!(&err, Error::Decode { field: Some(f), .. } if f == "age"),
        "{err}"
    );
}

#[test]
fn a_key_of_the_wrong_type_is_reported_and_left_alone() {
    let (_s, mut c) = server();
    user("a@x.io", "A", 1, 0.0).insert(&mut c).expect("insert");
    raw(&mut c, &[b"SET", b"{users}:row:2", b"not a hash"]);
    raw(&mut c, &[b"ZADD", b"{users}:ids", b"2", b"2"]);
    let err = User::get(&mut c, 2u64).expect_err("wrong type");
    assert!(
        matches!(&err, Error::Decode { key, .. } if key == "{users}:row:2"),
        "{err}"
    );
    let err = User::delete_many(&mut c, &[1, 2]).expect_err("wrong type");
    assert!(matches!(&err, Error::Decode { .. }), "{err}");
    // nothing was deleted: the check runs before any write
    assert!(User::exists(&mut c, 1u64).expect("exists"));
    let v: String = redis::cmd("GET")
        .arg("{users}:row:2")
        .query(&mut c)
        .expect("get");
    assert_eq!(v, "not a hash");
    assert!(matches!(
        users::table.load(&mut c),
        Err(Error::Decode { .. })
    ));
}

#[test]
fn an_unreadable_index_record_stops_the_write() {
    let (_s, mut c) = server();
    let mut a = user("a@x.io", "A", 1, 0.0).insert(&mut c).expect("insert");
    raw(&mut c, &[b"HSET", b"{users}:row:1", b"#i", b"99:garbage"]);
    a.email = "new@x.io".into();
    let err = a.save(&mut c).expect_err("bad record");
    assert!(
        matches!(&err, Error::Decode { field: Some(f), .. } if f == "#i"),
        "{err}"
    );
    // nothing was written
    let email: String = redis::cmd("HGET")
        .arg("{users}:row:1")
        .arg("email")
        .query(&mut c)
        .expect("hget");
    assert_eq!(email, "a@x.io");
}

#[test]
fn a_dropped_connection_is_a_redis_error_not_a_panic() {
    let s = RedisServer::start().expect("start");
    let mut c = s.connection().expect("connect");
    user("a@x.io", "A", 1, 0.0).insert(&mut c).expect("insert");
    drop(s); // kills the server
    assert!(matches!(User::get(&mut c, 1u64), Err(Error::Redis(_))));
    assert!(matches!(
        user("b@x.io", "B", 1, 0.0).insert(&mut c),
        Err(Error::Redis(_))
    ));
    assert!(matches!(users::table.count(&mut c), Err(Error::Redis(_))));
}

#[test]
fn a_flushed_function_library_is_loaded_again() {
    let (_s, c) = server();
    let mut c = CountingConnection::new(c);
    user("a@x.io", "A", 1, 0.0).insert(&mut c).expect("insert");
    let _: () = redis::cmd("FUNCTION")
        .arg("FLUSH")
        .query(&mut c)
        .expect("flush");
    c.reset();
    user("b@x.io", "B", 1, 0.0)
        .insert(&mut c)
        .expect("insert after flush");
    assert_eq!(
        c.round_trips(),
        3,
        "FCALL (function not found), FUNCTION LOAD, FCALL"
    );
    c.reset();
    user("c@x.io", "C", 1, 0.0).insert(&mut c).expect("insert");
    assert_eq!(c.round_trips(), 1);
}

#[test]
fn a_wrong_type_at_an_index_key_fails_the_save_before_any_write() {
    let (_s, mut c) = server();
    raw(
        &mut c,
        &[b"SET", b"{users}:eq:name:Ann", b"someone else's string"],
    );
    let err = user("ann@x.io", "Ann", 30, 1.0)
        .insert(&mut c)
        .expect_err("wrong type");
    assert!(
        matches!(&err, Error::Decode { key, .. } if key == "{users}:eq:name:Ann"),
        "{err}"
    );
    // nothing was written: no row, no id, no unique entry, no score
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut c).expect("keys");
    assert_eq!(keys, vec!["{users}:eq:name:Ann".to_string()]);
    // the same for an update that would move the row into that key
    raw(&mut c, &[b"DEL", b"{users}:eq:name:Ann"]);
    let mut b = user("bob@x.io", "Bob", 30, 1.0)
        .insert(&mut c)
        .expect("insert");
    raw(&mut c, &[b"SET", b"{users}:eq:name:Ann", b"x"]);
    b.name = Some("Ann".into());
    b.age = 99;
    assert!(matches!(b.save(&mut c), Err(Error::Decode { .. })));
    let back = User::get(&mut c, b.id.expect("id"))
        .expect("get")
        .expect("row");
    assert_eq!((back.name.as_deref(), back.age), (Some("Bob"), 30));
    // and a delete whose index entry is in a key of the wrong type deletes nothing
    raw(&mut c, &[b"DEL", b"{users}:eq:name:Bob"]);
    raw(&mut c, &[b"SET", b"{users}:eq:name:Bob", b"x"]);
    assert!(matches!(
        b.clone().delete(&mut c),
        Err(Error::Decode { .. })
    ));
    assert!(User::exists(&mut c, b.id.expect("id")).expect("exists"));
}

#[derive(Model, Clone, Debug)]
#[rom(table = countries)]
struct Country {
    #[rom(primary_key)]
    code: String,
    name: String,
}

#[test]
fn changing_the_primary_key_in_place_is_refused() {
    let (_s, mut c) = server();
    let mut fr = Country {
        code: "FR".into(),
        name: "France".into(),
    }
    .insert(&mut c)
    .expect("insert");
    fr.code = "XX".into();
    assert!(matches!(fr.save(&mut c), Err(Error::Validation { column, .. }) if column == "code"));
    assert!(Country::exists(&mut c, "FR".to_string()).expect("exists"));
    assert!(!Country::exists(&mut c, "XX".to_string()).expect("exists"));
}

#[test]
fn an_empty_natural_key_is_refused() {
    let (_s, mut c) = server();
    let err = Country {
        code: String::new(),
        name: "Nowhere".into(),
    }
    .insert(&mut c)
    .expect_err("refused");
    assert!(
        matches!(&err, Error::Validation { column, .. } if column == "code"),
        "{err}"
    );
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut c).expect("keys");
    assert!(keys.is_empty(), "nothing written: {keys:?}");
}
