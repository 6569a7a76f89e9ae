//! The script path: where a server refuses `FUNCTION LOAD` (an ACL user
//! without the right, say), rom runs the same server code as scripts
//! (`EVALSHA`, `EVAL` after a script cache flush) for the rest of the process.
//! These tests live in their own binary because that choice is per process.
mod common;
use common::*;

#[test]
fn a_user_who_may_not_load_functions_gets_scripts() {
    let (s, mut admin) = server();
    // a user allowed everything but FUNCTION LOAD
    redis::cmd("ACL")
        .arg("SETUSER")
        .arg("app")
        .arg("on")
        .arg(">secret")
        .arg("~*")
        .arg("&*")
        .arg("+@all")
        .arg("-function|load")
        .exec(&mut admin)
        .expect("acl");
    let url = format!("unix://{}?user=app&pass=secret", s.socket_path().display());
    let mut c = CountingConnection::new(
        redis::Client::open(url.as_str())
            .expect("client")
            .get_connection()
            .expect("connect"),
    );
    let a = user("a@x.io", "A", 30, 1.0).insert(&mut c).expect("insert");
    assert_eq!(a.id, Some(1));
    assert_eq!(
        users::table
            .filter(users::age.ge(18))
            .load(&mut c)
            .expect("load")
            .len(),
        1
    );
    // the library never got in; the scripts did
    let libs: Vec<redis::Value> = redis::cmd("FUNCTION")
        .arg("LIST")
        .query(&mut admin)
        .expect("list");
    assert!(libs.is_empty(), "{libs:?}");
    let calls = s.command_calls().expect("stats");
    assert!(calls.contains_key("evalsha"), "{calls:?}");
    // steady state: one round trip per operation, and a flushed script cache
    // costs one more (EVALSHA, NOSCRIPT, then EVAL)
    c.reset();
    user("b@x.io", "B", 31, 1.0).insert(&mut c).expect("insert");
    assert_eq!(c.round_trips(), 1);
    redis::cmd("SCRIPT")
        .arg("FLUSH")
        .exec(&mut admin)
        .expect("flush");
    c.reset();
    user("c@x.io", "C", 32, 1.0).insert(&mut c).expect("insert");
    assert_eq!(c.round_trips(), 2);
    assert_clean::<User>(&mut admin);
}
