//! The connection traits.
//! Public as `rom_dsl::connection` (`src/connection.rs`).

/// A synchronous Redis connection: anything that implements
/// [`redis::ConnectionLike`]. Taken by the methods without `_async`.
///
/// ```
/// use rom_dsl::connection::Connection;
/// fn ping<C: Connection>(conn: &mut C) -> redis::RedisResult<String> {
///     redis::cmd("PING").query(conn)
/// }
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let server = rom_testing::RedisServer::start()?;
/// let mut conn = server.connection()?;
/// assert_eq!(ping(&mut conn)?, "PONG");
/// # Ok(()) }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a synchronous Redis connection",
    label = "this method runs on a synchronous connection",
    note = "an asynchronous connection (`MultiplexedConnection`, `ConnectionManager`, an async cluster connection) goes to the `_async` twin of this method, awaited: `load_async`, `first_async`, `insert_async`, `get_async`..."
)]
pub trait Connection: redis::ConnectionLike {}

impl<T: redis::ConnectionLike + ?Sized> Connection for T {}

/// An asynchronous Redis connection: anything that implements
/// [`redis::aio::ConnectionLike`] and is `Send`. Taken by the `_async` methods.
///
/// ```
/// use rom_dsl::connection::AsyncConnection;
/// async fn ping<C: AsyncConnection>(conn: &mut C) -> redis::RedisResult<String> {
///     redis::cmd("PING").query_async(conn).await
/// }
/// fn is_async<C: AsyncConnection>() {}
/// is_async::<redis::aio::MultiplexedConnection>();
/// is_async::<redis::aio::ConnectionManager>();
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an asynchronous Redis connection",
    label = "this `_async` method runs on an asynchronous connection",
    note = "a synchronous connection (`redis::Connection`, a cluster `ClusterConnection`, `rom::connect::Reconnecting`) goes to the same method without `_async`: `load`, `first`, `insert`, `get`...",
    note = "an asynchronous connection must also be `Send`"
)]
#[cfg(feature = "tokio")]
pub trait AsyncConnection: redis::aio::ConnectionLike + Send {}

#[cfg(feature = "tokio")]
impl<T: redis::aio::ConnectionLike + Send> AsyncConnection for T {}
