//! What `#[rom::test]` (the `test` attribute of rom's `testing` feature)
//! builds each argument of a test from: a fresh [`RedisServer`] per test.

use std::future::Future;

use crate::{CountingAsyncConnection, CountingConnection, RedisServer, TestingError};

/// A value a synchronous `#[rom::test]` function can take as an argument,
/// made from the test's own server.
///
/// Implemented for [`redis::Connection`], [`redis::Client`] and
/// [`CountingConnection<redis::Connection>`]; a test can also take
/// `&RedisServer` itself.
///
/// ```
/// use rom_testing::{RedisServer, TestArg};
///
/// let server = RedisServer::start()?;
/// let mut conn = redis::Connection::from_server(&server)?;
/// let pong: String = redis::cmd("PING").query(&mut conn)?;
/// assert_eq!(pong, "PONG");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[diagnostic::on_unimplemented(
    message = "`#[rom::test]` cannot make a `{Self}` for a test argument",
    note = "a synchronous test takes `redis::Connection`, `redis::Client`, `CountingConnection<redis::Connection>` or `&RedisServer`; an `async fn` test takes `MultiplexedConnection`, `ConnectionManager` or `CountingAsyncConnection<MultiplexedConnection>`"
)]
pub trait TestArg: Sized {
    /// Makes the value from the test's server.
    ///
    /// # Errors
    ///
    /// [`TestingError`] when the server does not accept a connection.
    fn from_server(server: &RedisServer) -> Result<Self, TestingError>;
}

impl TestArg for redis::Connection {
    fn from_server(server: &RedisServer) -> Result<Self, TestingError> {
        server.connection()
    }
}

impl TestArg for redis::Client {
    fn from_server(server: &RedisServer) -> Result<Self, TestingError> {
        server.client()
    }
}

impl TestArg for CountingConnection<redis::Connection> {
    fn from_server(server: &RedisServer) -> Result<Self, TestingError> {
        Ok(CountingConnection::new(server.connection()?))
    }
}

/// A value an `async fn` `#[rom::test]` can take as an argument, made from
/// the test's own server on the test's Tokio runtime.
///
/// Implemented for [`redis::aio::MultiplexedConnection`],
/// [`redis::aio::ConnectionManager`] and
/// [`CountingAsyncConnection<MultiplexedConnection>`](CountingAsyncConnection);
/// [`redis::Client`] and `&RedisServer` work too.
///
/// ```
/// use rom_testing::{AsyncTestArg, RedisServer};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let server = RedisServer::start()?;
/// let mut conn = redis::aio::MultiplexedConnection::from_server(&server).await?;
/// let pong: String = redis::cmd("PING").query_async(&mut conn).await?;
/// assert_eq!(pong, "PONG");
/// # Ok(()) }
/// ```
#[diagnostic::on_unimplemented(
    message = "`#[rom::test]` cannot make a `{Self}` for an async test argument",
    note = "an `async fn` test takes `MultiplexedConnection`, `ConnectionManager`, `CountingAsyncConnection<MultiplexedConnection>`, `redis::Client` or `&RedisServer`; a synchronous test takes `redis::Connection`"
)]
pub trait AsyncTestArg: Sized {
    /// Makes the value from the test's server.
    ///
    /// # Errors
    ///
    /// [`TestingError`] when the server does not accept a connection.
    fn from_server(server: &RedisServer) -> impl Future<Output = Result<Self, TestingError>>;
}

impl AsyncTestArg for redis::aio::MultiplexedConnection {
    async fn from_server(server: &RedisServer) -> Result<Self, TestingError> {
        Ok(server.client()?.get_multiplexed_async_connection().await?)
    }
}

impl AsyncTestArg for redis::aio::ConnectionManager {
    async fn from_server(server: &RedisServer) -> Result<Self, TestingError> {
        Ok(server.client()?.get_connection_manager().await?)
    }
}

impl AsyncTestArg for CountingAsyncConnection<redis::aio::MultiplexedConnection> {
    async fn from_server(server: &RedisServer) -> Result<Self, TestingError> {
        let conn = <redis::aio::MultiplexedConnection as AsyncTestArg>::from_server(server).await?;
        Ok(CountingAsyncConnection::new(conn))
    }
}

impl AsyncTestArg for redis::Client {
    async fn from_server(server: &RedisServer) -> Result<Self, TestingError> {
        server.client()
    }
}

/// Support for the expansion of `#[rom::test]`; not a stable API.
#[doc(hidden)]
pub mod __private {
    use std::future::Future;

    use crate::{RedisServer, TestingError};

    /// Starts the test's server, or panics naming the reason.
    pub fn start() -> RedisServer {
        match RedisServer::start() {
            Ok(server) => server,
            Err(e) => panic!("#[rom::test]: could not start redis-server: {e}"),
        }
    }

    /// An argument, or a panic naming what could not be made.
    pub fn arg<T>(made: Result<T, TestingError>, name: &str) -> T {
        match made {
            Ok(v) => v,
            Err(e) => panic!("#[rom::test]: could not make the argument `{name}`: {e}"),
        }
    }

    /// Runs an async test body on a fresh current-thread Tokio runtime.
    pub fn block_on<F: Future>(future: F) -> F::Output {
        match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt.block_on(future),
            Err(e) => panic!("#[rom::test]: could not build a Tokio runtime: {e}"),
        }
    }
}
