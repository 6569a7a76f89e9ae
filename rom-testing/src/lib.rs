//! Throwaway **real** Redis servers and clusters for tests, and connection
//! wrappers that count round trips.
//!
//! This crate is the `testing` feature of `rom` (as `rom::testing`), but it
//! knows nothing of rom: it is about `redis-server` processes and redis-rs
//! connections, and any project that tests code against Redis can use it.
//!
//! Nothing in here is a mock. [`RedisServer`] starts a private
//! `redis-server` process listening on a unix socket inside a fresh
//! temporary directory; [`RedisCluster`] starts a real Redis Cluster of
//! several masters on free TCP ports of `127.0.0.1`; [`RedisSentinelGroup`]
//! starts a master, a replica and three Sentinels watching them, and can
//! force or provoke a failover. All are torn down
//! (process killed, directory removed) when dropped, so every test can have
//! its own server and tests can run in parallel without sharing state.
//!
//! [`CountingConnection`] and [`CountingAsyncConnection`] wrap any redis-rs
//! connection and count how many requests (single commands or pipelines)
//! went through them, which lets tests assert that an operation costs
//! exactly one round trip.
//!
//! The `redis-server` binary is looked up in this order: the path in the
//! environment variable `ROM_REDIS_SERVER` (see [`REDIS_SERVER_ENV`]),
//! `redis-server` on `PATH`, `/usr/bin/redis-server`,
//! `/usr/local/bin/redis-server`. [`RedisCluster`] needs Redis 7.0 or newer
//! for the fastest path (`CLUSTER ADDSLOTSRANGE`) but falls back to
//! `CLUSTER ADDSLOTS` on older servers.
//!
//! Every `redis-server` runs under a tiny supervisor (a `/bin/sh` script)
//! whose standard input is a pipe held by the process that started it. When
//! that process ends, *however* it ends (a panic, `SIGTERM`, `SIGKILL`, an
//! abort), the pipe closes and the supervisor kills the server and removes its
//! directory: a killed test run leaves no server and no directory behind. See
//! the `supervisor` module source for the details (the helpers therefore
//! need a Unix system with `/bin/sh`, as they already needed unix sockets).
//!
//! ```
//! use rom_testing::RedisServer;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let server = RedisServer::start()?;
//! let mut con = server.connection()?;
//! redis::cmd("SET").arg("greeting").arg("hello").exec(&mut con)?;
//! let value: String = redis::cmd("GET").arg("greeting").query(&mut con)?;
//! assert_eq!(value, "hello");
//! # Ok(())
//! # }
//! ```

#![deny(missing_docs)]

mod cluster;
mod counting;
mod fixture;
mod process;
mod sentinel;
mod server;
mod supervisor;

pub use cluster::RedisCluster;
pub use counting::{CountingAsyncConnection, CountingConnection};
#[doc(hidden)]
pub use fixture::__private;
pub use fixture::{AsyncTestArg, TestArg};
pub use sentinel::RedisSentinelGroup;
pub use server::RedisServer;

use std::path::{Path, PathBuf};
use std::time::Duration;

/// Name of the environment variable that, when set, gives the path of the
/// `redis-server` binary to use (it wins over `PATH`).
pub const REDIS_SERVER_ENV: &str = "ROM_REDIS_SERVER";

/// How long a freshly spawned server may take to answer its first command.
const READY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the nodes of a [`RedisCluster`] may take to agree on the cluster.
const CLUSTER_TIMEOUT: Duration = Duration::from_secs(20);
/// Interval between two readiness probes.
const POLL_INTERVAL: Duration = Duration::from_millis(10);
/// Number of log lines quoted in [`TestingError::StartFailed`].
const LOG_TAIL_LINES: usize = 30;
/// Number of hash slots of a Redis Cluster.
const CLUSTER_SLOTS: usize = 16384;
/// Offset of the cluster bus port from the client port.
const CLUSTER_BUS_OFFSET: u16 = 10000;
/// How many times a cluster node is respawned on a fresh port when it fails
/// to start (typically because another process grabbed the port first).
const NODE_START_ATTEMPTS: usize = 5;

/// Errors of the test helpers.
#[derive(Debug, thiserror::Error)]
pub enum TestingError {
    /// No `redis-server` binary could be found.
    #[error(
        "redis-server was not found (looked at: {searched}); install it \
         (Debian/Ubuntu: `apt-get install -y redis-server`, macOS: `brew install redis`) \
         or set ROM_REDIS_SERVER to the path of a redis-server binary"
    )]
    NotInstalled {
        /// The places that were searched, for the error message.
        searched: String,
    },
    /// An I/O error (creating the temporary directory, spawning the process, ...).
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// An error reported by redis-rs or by the server.
    #[error("Redis error: {0}")]
    Redis(#[from] redis::RedisError),
    /// A server or cluster did not come up.
    #[error("{what}{}", log_section(.log_tail))]
    StartFailed {
        /// What went wrong.
        what: String,
        /// The last lines of the server log file(s).
        log_tail: String,
    },
}

/// Formats the log tail of [`TestingError::StartFailed`] (nothing if empty).
fn log_section(log_tail: &str) -> String {
    if log_tail.is_empty() {
        String::new()
    } else {
        format!("\n--- tail of the redis-server log ---\n{log_tail}")
    }
}

/// Finds the `redis-server` binary the helpers of this crate use.
///
/// Order: the environment variable `ROM_REDIS_SERVER` (if set and not
/// empty, it must name an existing file, or a program on `PATH`), then
/// `redis-server` on `PATH`, then `/usr/bin/redis-server` and
/// `/usr/local/bin/redis-server`.
///
/// # Errors
///
/// [`TestingError::NotInstalled`] if no binary was found.
///
/// ```
/// let binary = rom_testing::redis_server_binary()?;
/// assert!(binary.is_file());
/// # Ok::<(), rom_testing::TestingError>(())
/// ```
pub fn redis_server_binary() -> Result<PathBuf, TestingError> {
    if let Some(value) = std::env::var_os(REDIS_SERVER_ENV).filter(|v| !v.is_empty()) {
        let path = PathBuf::from(&value);
        if path.components().count() == 1 {
            if let Some(found) = search_path(&path) {
                return Ok(found);
            }
        } else if path.is_file() {
            return Ok(path);
        }
        return Err(TestingError::NotInstalled {
            searched: format!("{REDIS_SERVER_ENV}={}", path.display()),
        });
    }
    let name = Path::new("redis-server");
    if let Some(found) = search_path(name) {
        return Ok(found);
    }
    let fallbacks = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"];
    if let Some(found) = fallbacks.iter().map(PathBuf::from).find(|p| p.is_file()) {
        return Ok(found);
    }
    Err(TestingError::NotInstalled {
        searched: format!(
            "${REDIS_SERVER_ENV} (unset), redis-server on $PATH, {}",
            fallbacks.join(", ")
        ),
    })
}

fn search_path(name: &Path) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// The README's example, run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn handles_are_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<RedisServer>();
        assert_send_sync::<RedisCluster>();
        assert_send_sync::<RedisSentinelGroup>();
        assert_send_sync::<TestingError>();
        assert_send_sync::<CountingConnection<redis::Connection>>();
        assert_send_sync::<CountingAsyncConnection<redis::aio::MultiplexedConnection>>();
    }

    #[test]
    fn not_installed_message() {
        let err = TestingError::NotInstalled {
            searched: "nowhere".to_owned(),
        };
        assert!(err.to_string().contains("apt-get install -y redis-server"));
    }
}
