//! Connection wrappers that count round trips.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use redis::{Cmd, RedisFuture, RedisResult, Value};

/// A synchronous connection wrapper that counts round trips.
///
/// Every request counts 1: a single command (`req_command` /
/// `req_packed_command`) as well as a whole pipeline or transaction
/// (`req_packed_commands`), whatever its length. Everything else
/// (`get_db`, `supports_pipelining`, `check_connection`, `is_open`) is
/// forwarded without counting.
///
/// The count is honest about redis-rs' behaviour: [`redis::Script::invoke`]
/// sends `EVALSHA`, and if the server answers `NOSCRIPT` it sends
/// `SCRIPT LOAD` and `EVALSHA` again, i.e. 3 round trips the first time a
/// script runs on a server and 1 afterwards.
///
/// ```
/// use rom_testing::{CountingConnection, RedisServer};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let server = RedisServer::start()?;
/// let mut con = CountingConnection::new(server.connection()?);
/// redis::cmd("SET").arg("a").arg(1).exec(&mut con)?;
/// assert_eq!(con.round_trips(), 1);
/// let (a, b): (i64, Option<i64>) = redis::pipe()
///     .set("b", 2).ignore()
///     .get("a")
///     .get("missing")
///     .query(&mut con)?;
/// assert_eq!((a, b), (1, None));
/// assert_eq!(con.round_trips(), 2);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct CountingConnection<C> {
    inner: C,
    round_trips: u64,
}

impl<C> CountingConnection<C> {
    /// Wraps a connection; the count starts at 0.
    pub fn new(inner: C) -> Self {
        Self {
            inner,
            round_trips: 0,
        }
    }

    /// The number of round trips since creation or the last [`reset`](Self::reset).
    pub fn round_trips(&self) -> u64 {
        self.round_trips
    }

    /// Sets the count back to 0.
    pub fn reset(&mut self) {
        self.round_trips = 0;
    }

    /// The wrapped connection.
    pub fn inner(&self) -> &C {
        &self.inner
    }

    /// The wrapped connection, mutably (requests sent through it directly are not counted).
    pub fn inner_mut(&mut self) -> &mut C {
        &mut self.inner
    }

    /// Unwraps the connection.
    pub fn into_inner(self) -> C {
        self.inner
    }
}

impl<C: redis::ConnectionLike> redis::ConnectionLike for CountingConnection<C> {
    fn req_packed_command(&mut self, cmd: &[u8]) -> RedisResult<Value> {
        self.round_trips += 1;
        self.inner.req_packed_command(cmd)
    }

    fn req_packed_commands(
        &mut self,
        cmd: &[u8],
        offset: usize,
        count: usize,
    ) -> RedisResult<Vec<Value>> {
        self.round_trips += 1;
        self.inner.req_packed_commands(cmd, offset, count)
    }

    fn req_command(&mut self, cmd: &Cmd) -> RedisResult<Value> {
        // Forwarded (not routed through `req_packed_command`) so that the
        // inner connection keeps its own handling, e.g. of no-response
        // commands or of cluster routing.
        self.round_trips += 1;
        self.inner.req_command(cmd)
    }

    fn get_db(&self) -> i64 {
        self.inner.get_db()
    }

    fn supports_pipelining(&self) -> bool {
        self.inner.supports_pipelining()
    }

    fn check_connection(&mut self) -> bool {
        self.inner.check_connection()
    }

    fn is_open(&self) -> bool {
        self.inner.is_open()
    }
}

/// An asynchronous connection wrapper that counts round trips, the twin of
/// [`CountingConnection`] for [`redis::aio::ConnectionLike`] connections
/// ([`redis::aio::MultiplexedConnection`], [`redis::aio::ConnectionManager`],
/// [`redis::cluster_async::ClusterConnection`], ...).
///
/// Every `req_packed_command` and every `req_packed_commands` (pipeline)
/// counts 1, at the moment the request is issued. The counter is an atomic
/// shared by clones of the wrapper, so clones handed to other tasks add to
/// the same count.
///
/// ```
/// use rom_testing::{CountingAsyncConnection, RedisServer};
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let server = RedisServer::start()?;
/// let mut con = CountingAsyncConnection::new(server.multiplexed().await?);
/// redis::cmd("SET").arg("a").arg(1).exec_async(&mut con).await?;
/// redis::pipe().get("a").get("b").exec_async(&mut con).await?;
/// assert_eq!(con.round_trips(), 2);
/// # Ok(())
/// # }
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(demo())
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct CountingAsyncConnection<C> {
    inner: C,
    round_trips: Arc<AtomicU64>,
}

impl<C> CountingAsyncConnection<C> {
    /// Wraps a connection; the count starts at 0.
    pub fn new(inner: C) -> Self {
        Self {
            inner,
            round_trips: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The number of round trips since creation or the last
    /// [`reset`](Self::reset), summed over all clones.
    pub fn round_trips(&self) -> u64 {
        self.round_trips.load(Ordering::SeqCst)
    }

    /// Sets the shared count back to 0.
    pub fn reset(&self) {
        self.round_trips.store(0, Ordering::SeqCst);
    }

    /// The shared counter itself, e.g. to read it after the wrapper was
    /// moved into a task.
    pub fn counter(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.round_trips)
    }

    /// The wrapped connection.
    pub fn inner(&self) -> &C {
        &self.inner
    }

    /// The wrapped connection, mutably (requests sent through it directly are not counted).
    pub fn inner_mut(&mut self) -> &mut C {
        &mut self.inner
    }

    /// Unwraps the connection.
    pub fn into_inner(self) -> C {
        self.inner
    }
}

impl<C: redis::aio::ConnectionLike> redis::aio::ConnectionLike for CountingAsyncConnection<C> {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        self.round_trips.fetch_add(1, Ordering::SeqCst);
        self.inner.req_packed_command(cmd)
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        self.round_trips.fetch_add(1, Ordering::SeqCst);
        self.inner.req_packed_commands(pipeline, offset, count)
    }

    fn get_db(&self) -> i64 {
        self.inner.get_db()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::RedisServer;

    #[test]
    fn counting_connection_counts_round_trips() {
        let server = RedisServer::start().unwrap();
        let mut con = CountingConnection::new(server.connection().unwrap());
        assert_eq!(con.round_trips(), 0);

        redis::cmd("SET").arg("a").arg(1).exec(&mut con).unwrap();
        assert_eq!(con.round_trips(), 1);

        let (a, b, c): (i64, i64, Option<i64>) = redis::pipe()
            .cmd("INCR")
            .arg("a")
            .cmd("INCR")
            .arg("a")
            .cmd("GET")
            .arg("missing")
            .query(&mut con)
            .unwrap();
        assert_eq!((a, b, c), (2, 3, None));
        assert_eq!(con.round_trips(), 2);

        let _: Vec<i64> = redis::pipe()
            .atomic()
            .incr("a", 1)
            .incr("a", 1)
            .query(&mut con)
            .unwrap();
        assert_eq!(con.round_trips(), 3);

        con.reset();
        assert_eq!(con.round_trips(), 0);

        // First invocation: EVALSHA (NOSCRIPT), SCRIPT LOAD, EVALSHA.
        let script = redis::Script::new("return tonumber(ARGV[1]) + 1");
        let v: i64 = script.arg(41).invoke(&mut con).unwrap();
        assert_eq!(v, 42);
        assert_eq!(con.round_trips(), 3);
        let v: i64 = script.arg(1).invoke(&mut con).unwrap();
        assert_eq!(v, 2);
        assert_eq!(con.round_trips(), 4);

        assert!(redis::ConnectionLike::check_connection(&mut con));
        assert!(redis::ConnectionLike::is_open(&con));
        assert_eq!(redis::ConnectionLike::get_db(&con), 0);
        assert_eq!(con.round_trips(), 4);
        let _inner: redis::Connection = con.into_inner();
    }
}
