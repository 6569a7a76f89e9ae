//! `#[rom::test]`: each test gets its own server, and arguments made from it.
mod common;

use common::*;
use rom::testing::CountingConnection;

#[rom::test]
fn a_connection_to_a_fresh_server(mut conn: redis::Connection) {
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut conn).unwrap();
    assert!(keys.is_empty(), "the server is new: {keys:?}");
    let ann = user("ann@example.com", "Ann", 30, 1.0)
        .insert(&mut conn)
        .unwrap();
    assert_eq!(ann.id, Some(1));
}

// Run in parallel with the test above: had they shared a server, one of
// them would see the other's row and key 2.
#[rom::test]
fn another_test_has_another_server(mut conn: redis::Connection) {
    let ann = user("bob@example.com", "Bob", 30, 1.0)
        .insert(&mut conn)
        .unwrap();
    assert_eq!(ann.id, Some(1));
}

#[rom::test]
fn several_arguments_and_a_result(
    server: &RedisServer,
    mut conn: CountingConnection<redis::Connection>,
    client: redis::Client,
) -> rom::Result<()> {
    user("ann@example.com", "Ann", 30, 1.0).insert(&mut conn)?;
    conn.reset(); // the first call also loaded rom's library into the new server
    user("bob@example.com", "Bob", 30, 1.0).insert(&mut conn)?;
    assert_eq!(conn.round_trips(), 1);
    let mut other = client.get_connection()?;
    assert_eq!(users::table.count(&mut other)?, 2);
    assert!(server.is_running());
    Ok(())
}

#[rom::test]
async fn an_async_test(mut conn: redis::aio::MultiplexedConnection, server: &RedisServer) {
    let ann = user("ann@example.com", "Ann", 30, 1.0)
        .insert_async(&mut conn)
        .await
        .unwrap();
    let mut sync = server.connection().unwrap();
    assert_eq!(
        User::get(&mut sync, *ann.key()).unwrap().unwrap().email,
        "ann@example.com"
    );
}

#[rom::test]
async fn an_async_test_with_a_manager(mut conn: redis::aio::ConnectionManager) {
    assert_eq!(users::table.count_async(&mut conn).await.unwrap(), 0);
}

#[rom::test]
#[should_panic(expected = "inside the test")]
fn attributes_are_kept(_conn: redis::Connection) {
    panic!("inside the test");
}

static PID: std::sync::Mutex<Option<u32>> = std::sync::Mutex::new(None);

#[rom::test]
fn the_server_is_killed_after_the_test(server: &RedisServer) {
    *PID.lock().unwrap() = Some(server.pid());
}

#[test]
fn after_a_test_its_server_is_gone() {
    // run the test body ourselves, then check its process is gone
    the_server_is_killed_after_the_test();
    let pid = PID.lock().unwrap().expect("the test ran");
    let alive = std::path::Path::new(&format!("/proc/{pid}")).exists();
    assert!(!alive, "redis-server {pid} outlived its test");
}
