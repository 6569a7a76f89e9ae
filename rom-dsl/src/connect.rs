//! Connections that fail fast and come back: redis-rs connections built from a
//! URL with timeouts set.
//!
//! rom takes any redis-rs connection, and redis-rs' own defaults do not suit
//! every program: a synchronous [`redis::Connection`] has no timeout at all
//! (a server that stops answering blocks the thread forever), and a
//! [`ConnectionManager`](redis::aio::ConnectionManager) retries a lost connection 6 times with a growing
//! delay, so a save while the server is down takes around 10 s to fail. The
//! helpers here set, by default:
//!
//! | setting | default | why |
//! |---|---|---|
//! | connect timeout | [`DEFAULT_CONNECT_TIMEOUT`] = 1 s | a server on the same network accepts in milliseconds; longer means it is not there |
//! | response timeout | [`DEFAULT_RESPONSE_TIMEOUT`] = 2 s | rom's scripts answer in milliseconds, but a query that reads many rows may take a few hundred; redis-rs' async default (0.5 s) is close to that |
//! | reconnect retries | [`DEFAULT_RECONNECT_RETRIES`] = 2 | a restarting server is back within a second or it is a real outage the caller should hear of |
//! | first retry delay | [`DEFAULT_RETRY_DELAY`] = 100 ms | doubled at each retry, with jitter, at most [`MAX_RETRY_DELAY`] |
//!
//! Change any of them with [`Options`]. A timeout is a failure of *this
//! call*, not proof that nothing happened: a script that was sent runs to its
//! end on the server (atomically), so a save that timed out may have been
//! applied. Reload the row before deciding.
//!
//! What each connection does when the server goes away:
//!
//! - [`connection`]: a plain [`redis::Connection`]; once broken it stays
//!   broken. Make a new one (from a [`redis::Client`]), or use
//! - [`reconnecting`]: a [`Reconnecting`] connection, which fails the call
//!   that met the broken connection and opens a new one on the next call;
//! - [`manager`]: a [`ConnectionManager`](redis::aio::ConnectionManager) (async): it reconnects in the
//!   background after the first failed request; requests meanwhile fail
//!   after the bounded retries;
//! - [`cluster`] and [`cluster_async`]: cluster connections, which follow
//!   `MOVED`/`ASK` redirections and reconnect to nodes by themselves.
//!
//! Any of them can be wrapped in [`Durable`], whose writes each wait until
//! replicas have them (`WAIT`), so that a failover keeps every write that
//! returned `Ok`.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let server = rom_testing::RedisServer::start()?;
//! # let url = server.url();
//! # let url = url.as_str();
//! let mut conn = rom_dsl::connect::connection(url)?; // url: e.g. "redis://127.0.0.1:6379"
//! let pong: String = redis::cmd("PING").query(&mut conn)?;
//! assert_eq!(pong, "PONG");
//! # Ok(()) }
//! ```

pub use crate::exec::connect::*;
pub use crate::exec::durable::Durable;
#[cfg(all(feature = "sentinel", feature = "tokio"))]
pub use crate::exec::sentinel::{AsyncSentinelConnection, sentinel_async};
#[cfg(feature = "sentinel")]
pub use crate::exec::sentinel::{
    DEFAULT_SENTINEL_RECHECK, SentinelConnection, SentinelMaster, sentinel,
};
