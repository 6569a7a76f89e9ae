//! Unit tests of [`RedisServer`](super::RedisServer), against real servers.

#![allow(clippy::unwrap_used)]

use super::*;
use redis::IntoConnectionInfo;

#[test]
fn server_set_get() {
    let server = RedisServer::start().unwrap();
    assert!(server.url().starts_with("redis+unix:///"));
    assert!(server.url().ends_with("/redis.sock"));
    let mut con = server.connection().unwrap();
    redis::cmd("SET").arg("k").arg("v").exec(&mut con).unwrap();
    let v: String = redis::cmd("GET").arg("k").query(&mut con).unwrap();
    assert_eq!(v, "v");

    // The URL works too.
    let mut con = redis::Client::open(server.url())
        .unwrap()
        .get_connection()
        .unwrap();
    let v: String = redis::cmd("GET").arg("k").query(&mut con).unwrap();
    assert_eq!(v, "v");
    assert!(server.used_memory().unwrap() > 0);
}

#[test]
fn servers_are_isolated() {
    let a = RedisServer::start().unwrap();
    let b = RedisServer::start().unwrap();
    assert_ne!(a.socket_path(), b.socket_path());
    redis::cmd("SET")
        .arg("k")
        .arg(1)
        .exec(&mut a.connection().unwrap())
        .unwrap();
    let v: Option<i64> = redis::cmd("GET")
        .arg("k")
        .query(&mut b.connection().unwrap())
        .unwrap();
    assert_eq!(v, None);
}

#[test]
fn drop_stops_process_and_removes_dir() {
    let server = RedisServer::start().unwrap();
    let dir = server.dir().to_owned();
    let socket = server.socket_path().to_owned();
    let pid = server.pid();
    assert!(socket.exists());
    drop(server);
    assert!(!dir.exists(), "{} still exists", dir.display());
    #[cfg(unix)]
    assert!(std::os::unix::net::UnixStream::connect(&socket).is_err());
    if cfg!(target_os = "linux") {
        // Killed *and* reaped: no zombie left behind.
        assert!(!Path::new(&format!("/proc/{pid}")).exists());
    }
}

#[test]
fn extra_args_and_failed_start() {
    let server = RedisServer::start_with_args(&["--maxmemory", "10mb"]).unwrap();
    let mut con = server.connection().unwrap();
    let config: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("maxmemory")
        .query(&mut con)
        .unwrap();
    assert_eq!(config, ["maxmemory", "10485760"]);

    let err = RedisServer::start_with_args(&["--no-such-option", "1"]).unwrap_err();
    match &err {
        TestingError::StartFailed { what, log_tail } => {
            assert!(what.contains("exited"), "{what}");
            assert!(!log_tail.is_empty());
        }
        other => panic!("unexpected error {other:?}"),
    }
}

#[test]
fn command_calls_sees_commands() {
    let server = RedisServer::start().unwrap();
    // Only the test's own traffic shows up.
    assert_eq!(server.command_calls().unwrap(), BTreeMap::new());
    assert_eq!(server.command_calls().unwrap(), BTreeMap::new());

    let mut con = server.connection().unwrap();
    redis::cmd("SET").arg("k").arg("v").exec(&mut con).unwrap();
    let calls = server.command_calls().unwrap();
    assert_eq!(calls.get("set"), Some(&1), "{calls:?}");
    redis::cmd("INFO").arg("server").exec(&mut con).unwrap();
    let calls = server.command_calls().unwrap();
    assert_eq!(calls.get("info"), Some(&1), "{calls:?}");

    server.reset_stats().unwrap();
    assert_eq!(server.command_calls().unwrap(), BTreeMap::new());
    redis::cmd("GET").arg("k").exec(&mut con).unwrap();
    let _ = server.used_memory().unwrap();
    let calls = server.command_calls().unwrap();
    assert_eq!(calls, BTreeMap::from([("get".to_owned(), 1)]));
}

#[test]
fn encode_path_escapes() {
    assert_eq!(
        encode_path(Path::new("/tmp/a b/redis.sock")),
        "/tmp/a%20b/redis.sock"
    );
    let url = format!("redis+unix://{}", encode_path(Path::new("/tmp/a b/r.sock")));
    let info = url.as_str().into_connection_info().unwrap();
    assert_eq!(
        info.addr(),
        &ConnectionAddr::Unix(PathBuf::from("/tmp/a b/r.sock"))
    );
}

#[test]
fn stop_and_restart_on_the_same_socket() {
    let mut server = RedisServer::start().unwrap();
    let (dir, socket, first) = (server.dir().to_owned(), server.url(), server.pid());
    let mut con = server.connection().unwrap();
    redis::cmd("SET").arg("k").arg(1).exec(&mut con).unwrap();

    server.stop().unwrap();
    assert!(!server.is_running());
    assert!(server.connection().is_err());
    assert!(redis::cmd("GET").arg("k").exec(&mut con).is_err());
    assert!(dir.exists());
    server.stop().unwrap();

    server.restart().unwrap();
    assert!(server.is_running());
    assert_ne!(server.pid(), first);
    assert_eq!(server.url(), socket);
    let mut con = redis::Client::open(socket.as_str())
        .unwrap()
        .get_connection()
        .unwrap();
    // Nothing was persisted.
    let v: Option<i64> = redis::cmd("GET").arg("k").query(&mut con).unwrap();
    assert_eq!(v, None);
    // The bookkeeping starts over: only the test's own GET shows.
    let calls = server.command_calls().unwrap();
    assert_eq!(calls.get("get"), Some(&1), "{calls:?}");

    // A restart of a running server works too.
    server.restart().unwrap();
    let second = server.pid();
    drop(server);
    assert!(!dir.exists(), "{} still exists", dir.display());
    if cfg!(target_os = "linux") {
        for pid in [first, second] {
            assert!(!Path::new(&format!("/proc/{pid}")).exists());
        }
    }
}
