//! Connections that fail fast and come back: redis-rs connections built from a
//! URL with timeouts set.
//!
//! rom takes any redis-rs connection, and redis-rs' own defaults do not suit
//! every program: a synchronous [`redis::Connection`] has no timeout at all
//! (a server that stops answering blocks the thread forever), and a
//! [`ConnectionManager`] retries a lost connection 6 times with a growing
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
//! - [`manager`]: a [`ConnectionManager`] (async): it reconnects in the
//!   background after the first failed request; requests meanwhile fail
//!   after the bounded retries;
//! - [`cluster`] and [`cluster_async`]: cluster connections, which follow
//!   `MOVED`/`ASK` redirections and reconnect to nodes by themselves.
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

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Cmd, ConnectionLike, IntoConnectionInfo, RedisError, RedisResult, Value};

use crate::error::Result;

#[cfg(feature = "sentinel")]
pub use crate::sentinel::{
    AsyncSentinelConnection, DEFAULT_SENTINEL_RECHECK, SentinelConnection, SentinelMaster,
    sentinel, sentinel_async,
};

/// How long opening a connection (TCP connect and handshake) may take: 1 s.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// How long a request may wait for its answer: 2 s.
pub const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);
/// How many times a [`ConnectionManager`] retries opening a lost connection
/// before failing the requests waiting for it: 2.
pub const DEFAULT_RECONNECT_RETRIES: usize = 2;
/// The delay before the first reconnect retry: 100 ms.
pub const DEFAULT_RETRY_DELAY: Duration = Duration::from_millis(100);
/// The longest delay between two reconnect retries: 1 s.
pub const MAX_RETRY_DELAY: Duration = Duration::from_secs(1);

/// The settings of the connections this module builds; [`Options::default`]
/// holds the documented defaults (see the [module documentation](self)).
///
/// ```
/// use std::time::Duration;
/// use rom_dsl::connect::Options;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let server = rom_testing::RedisServer::start()?;
/// # let url = server.url();
/// let slow_reports = Options::new()
///     .response_timeout(Duration::from_secs(30)) // long queries
///     .reconnect_retries(5);
/// let mut conn = slow_reports.connection(url)?;
/// # let _: String = redis::cmd("PING").query(&mut conn)?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    connect_timeout: Option<Duration>,
    response_timeout: Option<Duration>,
    reconnect_retries: usize,
    retry_delay: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            connect_timeout: Some(DEFAULT_CONNECT_TIMEOUT),
            response_timeout: Some(DEFAULT_RESPONSE_TIMEOUT),
            reconnect_retries: DEFAULT_RECONNECT_RETRIES,
            retry_delay: DEFAULT_RETRY_DELAY,
        }
    }
}

impl Options {
    /// The defaults: 1 s to connect, 2 s to answer, 2 reconnect retries
    /// starting at 100 ms.
    ///
    /// ```
    /// assert_eq!(rom_dsl::connect::Options::new(), Default::default());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// How long opening a connection may take; `None` waits as long as the
    /// operating system does (minutes, for an unreachable host).
    ///
    /// ```
    /// use std::time::Duration;
    /// let options = rom_dsl::connect::Options::new().connect_timeout(Duration::from_millis(300));
    /// assert_eq!(options.get_connect_timeout(), Some(Duration::from_millis(300)));
    /// ```
    pub fn connect_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.connect_timeout = timeout.into();
        self
    }

    /// How long a request may wait for its answer (and, on a synchronous
    /// connection, for its bytes to be sent); `None` waits forever.
    ///
    /// ```
    /// let options = rom_dsl::connect::Options::new().response_timeout(None);
    /// assert_eq!(options.get_response_timeout(), None);
    /// ```
    pub fn response_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.response_timeout = timeout.into();
        self
    }

    /// How many times a [`ConnectionManager`] retries opening a lost
    /// connection (after the first attempt) before failing the waiting
    /// requests. 0 tries once.
    ///
    /// ```
    /// let options = rom_dsl::connect::Options::new().reconnect_retries(0);
    /// assert_eq!(options.get_reconnect_retries(), 0);
    /// ```
    pub fn reconnect_retries(mut self, retries: usize) -> Self {
        self.reconnect_retries = retries;
        self
    }

    /// The delay before the first reconnect retry of a [`ConnectionManager`];
    /// each next one doubles (with jitter), up to [`MAX_RETRY_DELAY`].
    ///
    /// ```
    /// use std::time::Duration;
    /// let options = rom_dsl::connect::Options::new().retry_delay(Duration::from_millis(50));
    /// assert_eq!(options.get_retry_delay(), Duration::from_millis(50));
    /// ```
    pub fn retry_delay(mut self, delay: Duration) -> Self {
        self.retry_delay = delay;
        self
    }

    /// The connect timeout.
    ///
    /// ```
    /// use rom_dsl::connect::{DEFAULT_CONNECT_TIMEOUT, Options};
    /// assert_eq!(Options::new().get_connect_timeout(), Some(DEFAULT_CONNECT_TIMEOUT));
    /// ```
    pub fn get_connect_timeout(&self) -> Option<Duration> {
        self.connect_timeout
    }

    /// The response timeout.
    ///
    /// ```
    /// use rom_dsl::connect::{DEFAULT_RESPONSE_TIMEOUT, Options};
    /// assert_eq!(Options::new().get_response_timeout(), Some(DEFAULT_RESPONSE_TIMEOUT));
    /// ```
    pub fn get_response_timeout(&self) -> Option<Duration> {
        self.response_timeout
    }

    /// The number of reconnect retries.
    ///
    /// ```
    /// use rom_dsl::connect::{DEFAULT_RECONNECT_RETRIES, Options};
    /// assert_eq!(Options::new().get_reconnect_retries(), DEFAULT_RECONNECT_RETRIES);
    /// ```
    pub fn get_reconnect_retries(&self) -> usize {
        self.reconnect_retries
    }

    /// The first reconnect delay.
    ///
    /// ```
    /// use rom_dsl::connect::{DEFAULT_RETRY_DELAY, Options};
    /// assert_eq!(Options::new().get_retry_delay(), DEFAULT_RETRY_DELAY);
    /// ```
    pub fn get_retry_delay(&self) -> Duration {
        self.retry_delay
    }

    /// A zero timeout would fail every call; say so up front.
    fn check(&self) -> Result<()> {
        for (name, timeout) in [
            ("connect timeout", self.connect_timeout),
            ("response timeout", self.response_timeout),
        ] {
            if timeout == Some(Duration::ZERO) {
                return Err(invalid(format!(
                    "a zero {name} would fail every call; use None for no timeout"
                )));
            }
        }
        Ok(())
    }

    /// A synchronous connection with these timeouts. It does not reconnect:
    /// see [`reconnecting`](Self::reconnecting).
    ///
    /// # Errors
    ///
    /// [`Error::Redis`](crate::Error::Redis) for a bad URL, a zero timeout, or
    /// a server that cannot be reached within the connect timeout.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = rom_testing::RedisServer::start()?;
    /// let mut conn = rom_dsl::connect::Options::new().connection(server.url())?;
    /// redis::cmd("SET").arg("k").arg(1).exec(&mut conn)?;
    /// # Ok(()) }
    /// ```
    pub fn connection(&self, url: impl IntoConnectionInfo) -> Result<redis::Connection> {
        self.check()?;
        Ok(self.open(&redis::Client::open(url)?)?)
    }

    /// [`connection`](Self::connection) from a [`redis::Client`] you built:
    /// for what a URL cannot say, such as TLS with your own certificate
    /// authority (`redis::Client::build_with_tls`, with a TLS feature of
    /// `redis` or rom's `tls-rustls`).
    ///
    /// # Errors
    ///
    /// [`Error::Redis`](crate::Error::Redis) for a zero timeout or a server
    /// that cannot be reached or refuses the login.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = rom_testing::RedisServer::start()?;
    /// let client = redis::Client::open(server.url())?;
    /// let mut conn = rom_dsl::connect::Options::new().connection_from_client(&client)?;
    /// redis::cmd("SET").arg("k").arg(1).exec(&mut conn)?;
    /// # Ok(()) }
    /// ```
    pub fn connection_from_client(&self, client: &redis::Client) -> Result<redis::Connection> {
        self.check()?;
        Ok(self.open(client)?)
    }

    /// [`reconnecting`](Self::reconnecting) from a [`redis::Client`] you
    /// built (see [`connection_from_client`](Self::connection_from_client)).
    ///
    /// # Errors
    ///
    /// As for [`connection_from_client`](Self::connection_from_client).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = rom_testing::RedisServer::start()?;
    /// let client = redis::Client::open(server.url())?;
    /// let mut conn = rom_dsl::connect::Options::new().reconnecting_from_client(client)?;
    /// redis::cmd("SET").arg("k").arg(1).exec(&mut conn)?;
    /// # Ok(()) }
    /// ```
    pub fn reconnecting_from_client(&self, client: redis::Client) -> Result<Reconnecting> {
        self.check()?;
        let conn = self.open(&client)?;
        Ok(Reconnecting {
            client,
            options: *self,
            conn: Some(conn),
        })
    }

    /// [`manager`](Self::manager) from a [`redis::Client`] you built (see
    /// [`connection_from_client`](Self::connection_from_client)).
    ///
    /// # Errors
    ///
    /// As for [`manager`](Self::manager).
    ///
    /// ```
    /// # async fn demo(client: redis::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// let mut conn = rom_dsl::connect::Options::new().manager_from_client(client).await?;
    /// redis::cmd("SET").arg("k").arg(1).exec_async(&mut conn).await?;
    /// # Ok(()) }
    /// ```
    pub async fn manager_from_client(&self, client: redis::Client) -> Result<ConnectionManager> {
        self.check()?;
        Ok(client
            .get_connection_manager_with_config(self.manager_config())
            .await?)
    }

    /// Opens a synchronous connection from `client` with these timeouts.
    fn open(&self, client: &redis::Client) -> RedisResult<redis::Connection> {
        let conn = match self.connect_timeout {
            Some(timeout) => client.get_connection_with_timeout(timeout)?,
            None => client.get_connection()?,
        };
        conn.set_read_timeout(self.response_timeout)?;
        conn.set_write_timeout(self.response_timeout)?;
        Ok(conn)
    }

    /// A synchronous connection with these timeouts that opens a new
    /// connection when the last one broke (see [`Reconnecting`]).
    ///
    /// # Errors
    ///
    /// As for [`connection`](Self::connection): the first connection is
    /// opened at once, so that a wrong address shows at startup.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = rom_testing::RedisServer::start()?;
    /// let mut conn = rom_dsl::connect::Options::new().reconnecting(server.url())?;
    /// redis::cmd("SET").arg("k").arg(1).exec(&mut conn)?;
    /// # Ok(()) }
    /// ```
    pub fn reconnecting(&self, url: impl IntoConnectionInfo) -> Result<Reconnecting> {
        self.check()?;
        let client = redis::Client::open(url)?;
        let conn = self.open(&client)?;
        Ok(Reconnecting {
            client,
            options: *self,
            conn: Some(conn),
        })
    }

    /// These settings as a redis-rs [`ConnectionManagerConfig`], to build a
    /// [`ConnectionManager`] yourself (e.g. with a push sender).
    ///
    /// ```
    /// use std::time::Duration;
    /// let config = rom_dsl::connect::Options::new().manager_config();
    /// assert_eq!(config.response_timeout(), Some(Duration::from_secs(2)));
    /// assert_eq!(config.number_of_retries(), 2);
    /// ```
    pub fn manager_config(&self) -> ConnectionManagerConfig {
        ConnectionManagerConfig::new()
            .set_connection_timeout(self.connect_timeout)
            .set_response_timeout(self.response_timeout)
            .set_number_of_retries(self.reconnect_retries)
            .set_min_delay(self.retry_delay)
            .set_max_delay(MAX_RETRY_DELAY.max(self.retry_delay))
    }

    /// An async [`ConnectionManager`] with these settings (needs a Tokio
    /// runtime). It connects before returning.
    ///
    /// # Errors
    ///
    /// [`Error::Redis`](crate::Error::Redis) for a bad URL, a zero timeout, or
    /// a server that cannot be reached within the retries.
    ///
    /// ```
    /// # async fn demo(url: &str) -> Result<(), Box<dyn std::error::Error>> {
    /// let mut conn = rom_dsl::connect::Options::new().reconnect_retries(5).manager(url).await?;
    /// redis::cmd("SET").arg("k").arg(1).exec_async(&mut conn).await?;
    /// # Ok(()) }
    /// ```
    pub async fn manager(&self, url: impl IntoConnectionInfo) -> Result<ConnectionManager> {
        self.check()?;
        let client = redis::Client::open(url)?;
        Ok(client
            .get_connection_manager_with_config(self.manager_config())
            .await?)
    }

    /// A redis-rs cluster client seeded with `urls`, with these connect and
    /// response timeouts (per node and request; the response timeout also
    /// bounds a request's redirections and retries together). Redirections
    /// and retries keep redis-rs' cluster defaults.
    ///
    /// # Errors
    ///
    /// [`Error::Redis`](crate::Error::Redis) for a bad URL or a zero timeout.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = rom_dsl::connect::Options::new()
    ///     .cluster_client(["redis://127.0.0.1:7000", "redis://127.0.0.1:7001"])?;
    /// # let _ = client;
    /// # Ok(()) }
    /// ```
    pub fn cluster_client<T: IntoConnectionInfo>(
        &self,
        urls: impl IntoIterator<Item = T>,
    ) -> Result<redis::cluster::ClusterClient> {
        self.check()?;
        let mut builder = redis::cluster::ClusterClientBuilder::new(urls);
        if let Some(timeout) = self.connect_timeout {
            builder = builder.connection_timeout(timeout);
        }
        if let Some(timeout) = self.response_timeout {
            builder = builder.response_timeout(timeout);
        }
        Ok(builder.build()?)
    }

    /// A synchronous cluster connection (see
    /// [`cluster_client`](Self::cluster_client)).
    ///
    /// # Errors
    ///
    /// [`Error::Redis`](crate::Error::Redis) for a bad URL, a zero timeout or
    /// unreachable nodes.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let cluster = rom_testing::RedisCluster::start(3)?;
    /// let mut conn = rom_dsl::connect::Options::new().cluster(cluster.urls())?;
    /// redis::cmd("SET").arg("{user}:1").arg("ann").exec(&mut conn)?;
    /// # Ok(()) }
    /// ```
    pub fn cluster<T: IntoConnectionInfo>(
        &self,
        urls: impl IntoIterator<Item = T>,
    ) -> Result<redis::cluster::ClusterConnection> {
        Ok(self.cluster_client(urls)?.get_connection()?)
    }

    /// An async cluster connection (see
    /// [`cluster_client`](Self::cluster_client); needs a Tokio runtime).
    ///
    /// # Errors
    ///
    /// As for [`cluster`](Self::cluster).
    ///
    /// ```
    /// # async fn demo(urls: Vec<String>) -> Result<(), Box<dyn std::error::Error>> {
    /// let mut conn = rom_dsl::connect::Options::new().cluster_async(urls).await?;
    /// redis::cmd("SET").arg("{user}:1").arg("ann").exec_async(&mut conn).await?;
    /// # Ok(()) }
    /// ```
    pub async fn cluster_async<T: IntoConnectionInfo>(
        &self,
        urls: impl IntoIterator<Item = T>,
    ) -> Result<redis::cluster_async::ClusterConnection> {
        let client = self.cluster_client(urls)?;
        Ok(client.get_async_connection().await?)
    }
}

/// A redis-rs client-configuration error.
fn invalid(detail: String) -> crate::Error {
    RedisError::from((
        redis::ErrorKind::InvalidClientConfig,
        "invalid rom::connect::Options",
        detail,
    ))
    .into()
}

/// A synchronous connection with the [default options](Options): connect
/// timeout 1 s, read and write timeouts 2 s. It does not reconnect: once
/// broken (the server restarted, the network dropped it), every call fails;
/// open a new one, or use [`reconnecting`].
///
/// # Errors
///
/// [`Error::Redis`](crate::Error::Redis) for a bad URL or a server that
/// cannot be reached within the connect timeout.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let server = rom_testing::RedisServer::start()?;
/// let mut conn = rom_dsl::connect::connection(server.url())?;
/// redis::cmd("SET").arg("k").arg(1).exec(&mut conn)?;
/// # Ok(()) }
/// ```
pub fn connection(url: impl IntoConnectionInfo) -> Result<redis::Connection> {
    Options::default().connection(url)
}

/// A synchronous [`Reconnecting`] connection with the [default
/// options](Options).
///
/// # Errors
///
/// As for [`connection`].
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let server = rom_testing::RedisServer::start()?;
/// let mut conn = rom_dsl::connect::reconnecting(server.url())?;
/// redis::cmd("SET").arg("k").arg(1).exec(&mut conn)?;
/// # Ok(()) }
/// ```
pub fn reconnecting(url: impl IntoConnectionInfo) -> Result<Reconnecting> {
    Options::default().reconnecting(url)
}

/// An async [`ConnectionManager`] with the [default options](Options):
/// connect timeout 1 s, response timeout 2 s, 2 reconnect retries. Needs a
/// Tokio runtime; connects before returning.
///
/// # Errors
///
/// [`Error::Redis`](crate::Error::Redis) for a bad URL or a server that
/// cannot be reached.
///
/// ```
/// # async fn demo(url: &str) -> Result<(), Box<dyn std::error::Error>> {
/// let mut conn = rom_dsl::connect::manager(url).await?;
/// redis::cmd("SET").arg("k").arg(1).exec_async(&mut conn).await?;
/// # Ok(()) }
/// ```
pub async fn manager(url: impl IntoConnectionInfo) -> Result<ConnectionManager> {
    Options::default().manager(url).await
}

/// A synchronous cluster connection with the [default options](Options).
///
/// # Errors
///
/// [`Error::Redis`](crate::Error::Redis) for a bad URL or unreachable nodes.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let cluster = rom_testing::RedisCluster::start(3)?;
/// let mut conn = rom_dsl::connect::cluster(cluster.urls())?;
/// redis::cmd("SET").arg("{user}:1").arg("ann").exec(&mut conn)?;
/// # Ok(()) }
/// ```
pub fn cluster<T: IntoConnectionInfo>(
    urls: impl IntoIterator<Item = T>,
) -> Result<redis::cluster::ClusterConnection> {
    Options::default().cluster(urls)
}

/// An async cluster connection with the [default options](Options) (needs
/// a Tokio runtime).
///
/// # Errors
///
/// [`Error::Redis`](crate::Error::Redis) for a bad URL or unreachable nodes.
///
/// ```
/// # async fn demo(urls: Vec<String>) -> Result<(), Box<dyn std::error::Error>> {
/// let mut conn = rom_dsl::connect::cluster_async(urls).await?;
/// redis::cmd("SET").arg("{user}:1").arg("ann").exec_async(&mut conn).await?;
/// # Ok(()) }
/// ```
pub async fn cluster_async<T: IntoConnectionInfo>(
    urls: impl IntoIterator<Item = T>,
) -> Result<redis::cluster_async::ClusterConnection> {
    Options::default().cluster_async(urls).await
}

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
    client: redis::Client,
    options: Options,
    conn: Option<redis::Connection>,
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
