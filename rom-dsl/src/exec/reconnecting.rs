//! [`Reconnecting`]: a synchronous connection that opens a new connection
//! after the old one broke (made by `connect::reconnecting`).

use super::connect::Options;
use redis::{Cmd, ConnectionLike, RedisResult, Value};

/// A synchronous connection that replaces itself after it broke.
///
/// A request that meets a broken connection (server restarted, connection
/// reset, end of stream) fails with that error, as on a plain
/// [`redis::Connection`]: it is **not** sent again, since a write may have
/// been applied before the connection broke. The broken connection is
/// dropped, and the next request opens a new one (with the same
/// [`Options`]). A timeout keeps the connection (redis-rs discards the late
/// answer).
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let mut server = rom_testing::RedisServer::start()?;
/// let mut conn = rom_dsl::connect::reconnecting(server.url())?;
/// redis::cmd("SET").arg("k").arg(1).exec(&mut conn)?;
///
/// server.restart()?; // the connection breaks
/// let mut answer = redis::cmd("PING").query::<String>(&mut conn);
/// if answer.is_err() {
///     answer = redis::cmd("PING").query(&mut conn); // a new connection
/// }
/// assert_eq!(answer?, "PONG");
/// # Ok(()) }
/// ```
pub struct Reconnecting {
    pub(crate) client: redis::Client,
    pub(crate) options: Options,
    pub(crate) conn: Option<redis::Connection>,
}

impl std::fmt::Debug for Reconnecting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reconnecting")
            .field("client", &self.client)
            .field("options", &self.options)
            .field("connected", &self.is_connected())
            .finish()
    }
}

impl Reconnecting {
    /// The redis-rs client new connections are opened from.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = rom_testing::RedisServer::start()?;
    /// let conn = rom_dsl::connect::reconnecting(server.url())?;
    /// let mut another = conn.client().get_connection()?;
    /// # let _: String = redis::cmd("PING").query(&mut another)?;
    /// # Ok(()) }
    /// ```
    pub fn client(&self) -> &redis::Client {
        &self.client
    }

    /// Whether a connection is open now (`false` after one broke, until the
    /// next request opens a new one).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = rom_testing::RedisServer::start()?;
    /// let conn = rom_dsl::connect::reconnecting(server.url())?;
    /// assert!(conn.is_connected());
    /// # Ok(()) }
    /// ```
    pub fn is_connected(&self) -> bool {
        self.conn.as_ref().is_some_and(redis::Connection::is_open)
    }

    /// Runs `request` on the current connection, opening one first if there
    /// is none; drops the connection when it turns out broken.
    fn with<T>(
        &mut self,
        request: impl FnOnce(&mut redis::Connection) -> RedisResult<T>,
    ) -> RedisResult<T> {
        let mut conn = match self.conn.take() {
            Some(conn) if conn.is_open() => conn,
            _ => self.options.open(&self.client)?,
        };
        let result = request(&mut conn);
        let broken = match &result {
            Err(err) => err.is_unrecoverable_error() || !conn.is_open(),
            Ok(_) => false,
        };
        if !broken {
            self.conn = Some(conn);
        }
        result
    }
}

impl ConnectionLike for Reconnecting {
    fn req_packed_command(&mut self, cmd: &[u8]) -> RedisResult<Value> {
        self.with(|conn| conn.req_packed_command(cmd))
    }

    fn req_packed_commands(
        &mut self,
        cmd: &[u8],
        offset: usize,
        count: usize,
    ) -> RedisResult<Vec<Value>> {
        self.with(|conn| conn.req_packed_commands(cmd, offset, count))
    }

    fn req_command(&mut self, cmd: &Cmd) -> RedisResult<Value> {
        self.with(|conn| conn.req_command(cmd))
    }

    fn get_db(&self) -> i64 {
        self.client.get_connection_info().redis_settings().db()
    }

    fn check_connection(&mut self) -> bool {
        self.with(|conn| redis::cmd("PING").query::<String>(conn))
            .is_ok()
    }

    fn is_open(&self) -> bool {
        // A broken connection is replaced on the next request.
        true
    }
}
