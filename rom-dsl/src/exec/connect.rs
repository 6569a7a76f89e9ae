//! Connections that fail fast and come back.
//! Public as `rom_dsl::connect` (`src/connect.rs`).

use std::time::Duration;

#[cfg(feature = "tokio")]
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{IntoConnectionInfo, RedisError, RedisResult};

pub use super::reconnecting::Reconnecting;
use crate::error::Result;

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
/// holds the documented defaults (see the [module documentation](crate::connect)).
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
    #[cfg(feature = "tokio")]
    pub async fn manager_from_client(&self, client: redis::Client) -> Result<ConnectionManager> {
        self.check()?;
        Ok(client
            .get_connection_manager_with_config(self.manager_config())
            .await?)
    }

    /// Opens a synchronous connection from `client` with these timeouts.
    pub(crate) fn open(&self, client: &redis::Client) -> RedisResult<redis::Connection> {
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
    #[cfg(feature = "tokio")]
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
    #[cfg(feature = "tokio")]
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
    #[cfg(feature = "cluster")]
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
    #[cfg(feature = "cluster")]
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
    #[cfg(all(feature = "cluster", feature = "tokio"))]
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
#[cfg(feature = "tokio")]
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
#[cfg(feature = "cluster")]
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
#[cfg(all(feature = "cluster", feature = "tokio"))]
pub async fn cluster_async<T: IntoConnectionInfo>(
    urls: impl IntoIterator<Item = T>,
) -> Result<redis::cluster_async::ClusterConnection> {
    Options::default().cluster_async(urls).await
}
