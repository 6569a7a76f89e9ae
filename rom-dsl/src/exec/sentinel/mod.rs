//! Connections to a master that Redis Sentinel watches, which follow its
//! failovers (feature `sentinel`; re-exported by [`crate::connect`]).
//!
//! A Sentinel-aware client never stores the master's address: it asks the
//! Sentinels (`SENTINEL GET-MASTER-ADDR-BY-NAME <name>`), connects to the
//! address they give, and checks with `ROLE` that the node really is a
//! master, since a Sentinel's view may lag behind a failover. When that
//! connection breaks, it asks again. [`SentinelConnection`] (synchronous)
//! and [`AsyncSentinelConnection`] do exactly that, with the timeouts of
//! [`Options`] on every connection they open, to the Sentinels as well as to
//! the master: no step of a lookup can wait longer than a connect timeout
//! plus a response timeout per node asked.
//!
//! redis-rs' own `redis::sentinel` module (enabled by the same feature)
//! finds masters too, and handles TLS and replicas, but opens its
//! connections to the Sentinels and its `ROLE` check without any timeout;
//! the lookup here is written for rom's bounded waits instead.

#[cfg(feature = "tokio")]
use std::sync::atomic::{AtomicU64, Ordering};
#[cfg(feature = "tokio")]
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

#[cfg(feature = "tokio")]
use redis::aio::MultiplexedConnection;
#[cfg(feature = "tokio")]
use redis::{AsyncConnectionConfig, Pipeline, RedisFuture};
use redis::{
    Cmd, ConnectionAddr, ConnectionInfo, ConnectionLike, ErrorKind, IntoConnectionInfo,
    RedisConnectionInfo, RedisError, RedisResult, Value,
};

use crate::connect::Options;
use crate::error::Result;

/// How often a Sentinel connection asks the Sentinels whether the master is
/// still where it is connected: 1 s (see
/// [`SentinelMaster::recheck_interval`]).
pub const DEFAULT_SENTINEL_RECHECK: Duration = Duration::from_secs(1);

/// Where a Sentinel-managed master is: the Sentinels to ask, the name they
/// know the master by, and how to log in to the master (database, ACL user,
/// password, protocol).
///
/// The Sentinels' own URLs carry the Sentinels' credentials, if they need
/// any; the master's are set with [`master_settings`](Self::master_settings).
/// The master is reached over plain TCP at the address the Sentinels report.
///
/// ```
/// use rom_dsl::connect::SentinelMaster;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let master = SentinelMaster::new(
///     ["redis://10.0.0.1:26379", "redis://10.0.0.2:26379", "redis://10.0.0.3:26379"],
///     "mymaster",
/// )?
/// .master_settings(redis::RedisConnectionInfo::default().set_db(2).set_password("secret"));
/// assert_eq!(master.name(), "mymaster");
/// assert_eq!(master.sentinels().len(), 3);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct SentinelMaster {
    sentinels: Vec<ConnectionInfo>,
    name: String,
    settings: RedisConnectionInfo,
    recheck: Option<Duration>,
}

impl SentinelMaster {
    /// The master called `name` by the Sentinels at `sentinels` (URLs or
    /// anything else [`redis::Client::open`] takes). Nothing is contacted
    /// yet.
    ///
    /// # Errors
    ///
    /// [`Error::Redis`](crate::Error::Redis) for a bad URL, or no Sentinel
    /// at all (`redis::ErrorKind::EmptySentinelList`).
    ///
    /// ```
    /// use rom_dsl::connect::SentinelMaster;
    /// assert!(SentinelMaster::new(["redis://127.0.0.1:26379"], "mymaster").is_ok());
    /// assert!(SentinelMaster::new(Vec::<String>::new(), "mymaster").is_err());
    /// assert!(SentinelMaster::new(["not a url"], "mymaster").is_err());
    /// ```
    pub fn new<T: IntoConnectionInfo>(
        sentinels: impl IntoIterator<Item = T>,
        name: impl Into<String>,
    ) -> Result<Self> {
        let sentinels = sentinels
            .into_iter()
            .map(IntoConnectionInfo::into_connection_info)
            .collect::<RedisResult<Vec<_>>>()?;
        if sentinels.is_empty() {
            return Err(RedisError::from((
                ErrorKind::EmptySentinelList,
                "a Sentinel-managed master needs at least one Sentinel address",
            ))
            .into());
        }
        Ok(Self {
            sentinels,
            name: name.into(),
            settings: RedisConnectionInfo::default(),
            recheck: Some(DEFAULT_SENTINEL_RECHECK),
        })
    }

    /// How to log in to the master (and select a database): by default,
    /// database 0, no user, no password, RESP2.
    ///
    /// ```
    /// use redis::RedisConnectionInfo;
    /// use rom_dsl::connect::SentinelMaster;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let master = SentinelMaster::new(["redis://127.0.0.1:26379"], "mymaster")?
    ///     .master_settings(RedisConnectionInfo::default().set_username("app").set_password("pw"));
    /// assert_eq!(master.get_master_settings().username(), Some("app"));
    /// # Ok(()) }
    /// ```
    pub fn master_settings(mut self, settings: RedisConnectionInfo) -> Self {
        self.settings = settings;
        self
    }

    /// How often a connection asks the Sentinels whether the master moved,
    /// before a request ([`DEFAULT_SENTINEL_RECHECK`] = 1 s; `None`: only
    /// after the connection broke or was refused with `READONLY`).
    ///
    /// Why: when a failover is forced (`SENTINEL FAILOVER`) or the network
    /// splits, the old master keeps running and keeps accepting writes
    /// until the Sentinels turn it into a replica, which they do when they
    /// next look at it, up to 10 s later; then it drops those writes. A
    /// connection that asks the Sentinels every second moves to the new
    /// master within about a second of its promotion instead. The cost is
    /// one short connection to a Sentinel, and one command, per interval,
    /// made before a request (and bounded by the connect and response
    /// timeouts).
    ///
    /// ```
    /// use std::time::Duration;
    /// use rom_dsl::connect::SentinelMaster;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let master = SentinelMaster::new(["redis://127.0.0.1:26379"], "mymaster")?
    ///     .recheck_interval(Duration::from_millis(250));
    /// assert_eq!(master.get_recheck_interval(), Some(Duration::from_millis(250)));
    /// # Ok(()) }
    /// ```
    pub fn recheck_interval(mut self, interval: impl Into<Option<Duration>>) -> Self {
        self.recheck = interval.into();
        self
    }

    /// The recheck interval.
    ///
    /// ```
    /// use rom_dsl::connect::{DEFAULT_SENTINEL_RECHECK, SentinelMaster};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let master = SentinelMaster::new(["redis://127.0.0.1:26379"], "mymaster")?;
    /// assert_eq!(master.get_recheck_interval(), Some(DEFAULT_SENTINEL_RECHECK));
    /// # Ok(()) }
    /// ```
    pub fn get_recheck_interval(&self) -> Option<Duration> {
        self.recheck
    }

    /// The master's login settings.
    ///
    /// ```
    /// use rom_dsl::connect::SentinelMaster;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let master = SentinelMaster::new(["redis://127.0.0.1:26379"], "mymaster")?;
    /// assert_eq!(master.get_master_settings().db(), 0);
    /// # Ok(()) }
    /// ```
    pub fn get_master_settings(&self) -> &RedisConnectionInfo {
        &self.settings
    }

    /// The name the Sentinels know the master by.
    ///
    /// ```
    /// use rom_dsl::connect::SentinelMaster;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let master = SentinelMaster::new(["redis://127.0.0.1:26379"], "mymaster")?;
    /// assert_eq!(master.name(), "mymaster");
    /// # Ok(()) }
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The Sentinels' addresses, in the order they are asked.
    ///
    /// ```
    /// use rom_dsl::connect::SentinelMaster;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let master = SentinelMaster::new(["redis://127.0.0.1:26379"], "mymaster")?;
    /// assert_eq!(master.sentinels()[0].addr().to_string(), "127.0.0.1:26379");
    /// # Ok(()) }
    /// ```
    pub fn sentinels(&self) -> &[ConnectionInfo] {
        &self.sentinels
    }

    /// Asks the Sentinels, in order, for the master's address, and returns
    /// the first one whose node answers `ROLE` as a master, with these
    /// options' timeouts on each connection. The address comes with the
    /// [`master_settings`](Self::master_settings), ready for
    /// [`redis::Client::open`] (e.g. to build a pool).
    ///
    /// # Errors
    ///
    /// [`Error::Redis`](crate::Error::Redis) when no Sentinel gave the
    /// address of a reachable master: the error met on a master a Sentinel
    /// named (unreachable, or a replica: `redis::ErrorKind::Server(ReadOnly)`)
    /// if there was one, else the last Sentinel's (unreachable, or
    /// `redis::ErrorKind::MasterNameNotFoundBySentinel`).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let group = rom_testing::RedisSentinelGroup::start()?;
    /// # let urls = group.sentinel_urls();
    /// use rom_dsl::connect::{Options, SentinelMaster};
    ///
    /// let master = SentinelMaster::new(urls, "rommaster")?;
    /// let info = master.find(&Options::new())?;
    /// let mut conn = redis::Client::open(info)?.get_connection()?;
    /// redis::cmd("SET").arg("k").arg(1).exec(&mut conn)?;
    /// # Ok(()) }
    /// ```
    pub fn find(&self, options: &Options) -> Result<ConnectionInfo> {
        check(options)?;
        Ok(self.lookup(options)?.0)
    }

    /// The master's address and an open connection to it (see
    /// [`find`](Self::find)).
    fn lookup(&self, options: &Options) -> RedisResult<(ConnectionInfo, redis::Connection)> {
        let mut master_error = None;
        let mut last_error = None;
        for sentinel in &self.sentinels {
            let reported = open(options, sentinel.clone()).and_then(|mut conn| {
                get_master_addr_cmd(&self.name).query::<Option<(String, u16)>>(&mut conn)
            });
            let info = match reported {
                Ok(Some((host, port))) => self.master_info(host, port)?,
                Ok(None) => {
                    last_error = Some(unknown_name(&self.name, sentinel));
                    continue;
                }
                Err(err) => {
                    last_error = Some(err);
                    continue;
                }
            };
            let checked = open(options, info.clone()).and_then(|mut conn| {
                let role: redis::Role = redis::cmd("ROLE").query(&mut conn)?;
                is_master(&role, &info).map(|()| conn)
            });
            match checked {
                Ok(conn) => return Ok((info, conn)),
                Err(err) => master_error = Some(err),
            }
        }
        Err(master_error
            .or(last_error)
            .unwrap_or_else(|| unknown_name(&self.name, &self.sentinels[0])))
    }

    /// Whether the first Sentinel that answers names another master than
    /// `current` (a Sentinel that does not answer, or does not know the
    /// name, says nothing).
    fn moved(&self, options: &Options, current: &ConnectionInfo) -> bool {
        for sentinel in &self.sentinels {
            let reported = open(options, sentinel.clone()).and_then(|mut conn| {
                get_master_addr_cmd(&self.name).query::<Option<(String, u16)>>(&mut conn)
            });
            if let Ok(Some((host, port))) = reported {
                return *current.addr() != ConnectionAddr::Tcp(host, port);
            }
        }
        false
    }

    /// The async twin of [`moved`](Self::moved).
    #[cfg(feature = "tokio")]
    async fn moved_async(&self, options: &Options, current: &ConnectionInfo) -> bool {
        for sentinel in &self.sentinels {
            let reported = match open_async(options, sentinel.clone()).await {
                Ok(mut conn) => {
                    get_master_addr_cmd(&self.name)
                        .query_async::<Option<(String, u16)>>(&mut conn)
                        .await
                }
                Err(err) => Err(err),
            };
            if let Ok(Some((host, port))) = reported {
                return *current.addr() != ConnectionAddr::Tcp(host, port);
            }
        }
        false
    }

    /// The master's connection info: the reported address, our settings.
    fn master_info(&self, host: String, port: u16) -> RedisResult<ConnectionInfo> {
        Ok(ConnectionAddr::Tcp(host, port)
            .into_connection_info()?
            .set_redis_settings(self.settings.clone()))
    }

    /// The async twin of [`lookup`](Self::lookup).
    #[cfg(feature = "tokio")]
    async fn lookup_async(
        &self,
        options: &Options,
    ) -> RedisResult<(ConnectionInfo, MultiplexedConnection)> {
        let mut master_error = None;
        let mut last_error = None;
        for sentinel in &self.sentinels {
            let reported = match open_async(options, sentinel.clone()).await {
                Ok(mut conn) => {
                    get_master_addr_cmd(&self.name)
                        .query_async::<Option<(String, u16)>>(&mut conn)
                        .await
                }
                Err(err) => Err(err),
            };
            let info = match reported {
                Ok(Some((host, port))) => self.master_info(host, port)?,
                Ok(None) => {
                    last_error = Some(unknown_name(&self.name, sentinel));
                    continue;
                }
                Err(err) => {
                    last_error = Some(err);
                    continue;
                }
            };
            let checked = match open_async(options, info.clone()).await {
                Ok(mut conn) => match redis::cmd("ROLE").query_async(&mut conn).await {
                    Ok(role) => is_master(&role, &info).map(|()| conn),
                    Err(err) => Err(err),
                },
                Err(err) => Err(err),
            };
            match checked {
                Ok(conn) => return Ok((info, conn)),
                Err(err) => master_error = Some(err),
            }
        }
        Err(master_error
            .or(last_error)
            .unwrap_or_else(|| unknown_name(&self.name, &self.sentinels[0])))
    }
}

/// `SENTINEL GET-MASTER-ADDR-BY-NAME <name>`.
fn get_master_addr_cmd(name: &str) -> Cmd {
    let mut cmd = redis::cmd("SENTINEL");
    cmd.arg("GET-MASTER-ADDR-BY-NAME").arg(name);
    cmd
}

/// A Sentinel does not know the master's name.
fn unknown_name(name: &str, sentinel: &ConnectionInfo) -> RedisError {
    RedisError::from((
        ErrorKind::MasterNameNotFoundBySentinel,
        "the Sentinel does not know this master",
        format!("{name:?} at {}", sentinel.addr()),
    ))
}

/// `Ok` if `role` is a master's; the node a Sentinel named may have been
/// demoted since.
fn is_master(role: &redis::Role, info: &ConnectionInfo) -> RedisResult<()> {
    match role {
        redis::Role::Primary { .. } => Ok(()),
        other => Err(RedisError::from((
            ErrorKind::Server(redis::ServerErrorKind::ReadOnly),
            "the node the Sentinel reported is not a master (yet, or any more)",
            format!("{}: {other:?}", info.addr()),
        ))),
    }
}

/// A zero timeout would fail every call, as [`Options`] refuses it elsewhere.
fn check(options: &Options) -> RedisResult<()> {
    for (name, timeout) in [
        ("connect timeout", options.get_connect_timeout()),
        ("response timeout", options.get_response_timeout()),
    ] {
        if timeout == Some(Duration::ZERO) {
            return Err(RedisError::from((
                ErrorKind::InvalidClientConfig,
                "invalid rom::connect::Options",
                format!("a zero {name} would fail every call; use None for no timeout"),
            )));
        }
    }
    Ok(())
}

/// A synchronous connection to `info` with the options' timeouts.
fn open(options: &Options, info: ConnectionInfo) -> RedisResult<redis::Connection> {
    let client = redis::Client::open(info)?;
    let conn = match options.get_connect_timeout() {
        Some(timeout) => client.get_connection_with_timeout(timeout)?,
        None => client.get_connection()?,
    };
    conn.set_read_timeout(options.get_response_timeout())?;
    conn.set_write_timeout(options.get_response_timeout())?;
    Ok(conn)
}

/// Whether the connection that gave `result` must be dropped: it broke, or
/// the node is no longer the master (a `READONLY` answer).
fn must_replace<T>(result: &RedisResult<T>, replies: impl Fn(&T) -> bool) -> bool {
    match result {
        Err(err) => {
            err.is_unrecoverable_error()
                || err.kind() == ErrorKind::Server(redis::ServerErrorKind::ReadOnly)
        }
        Ok(value) => replies(value),
    }
}

/// Whether a reply is a `READONLY` error.
fn is_read_only(value: &Value) -> bool {
    matches!(value, Value::ServerError(err)
        if err.kind() == Some(redis::ServerErrorKind::ReadOnly))
}

impl Options {
    /// A synchronous [`SentinelConnection`] to the master the Sentinels at
    /// `sentinels` call `name`, with these timeouts. The master is looked up
    /// and connected at once, so that a wrong address or name shows at
    /// startup.
    ///
    /// # Errors
    ///
    /// [`Error::Redis`](crate::Error::Redis) for a bad URL, a zero timeout,
    /// or no reachable master (see [`SentinelMaster::find`]).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let group = rom_testing::RedisSentinelGroup::start()?;
    /// # let urls = group.sentinel_urls();
    /// use std::time::{Duration, Instant};
    /// let options = rom_dsl::connect::Options::new().response_timeout(Duration::from_secs(5));
    /// let mut conn = options.sentinel(urls, "rommaster")?; // urls: ["redis://10.0.0.1:26379", ...]
    /// redis::cmd("SET").arg("k").arg(1).exec(&mut conn)?;
    /// # Ok(()) }
    /// ```
    pub fn sentinel<T: IntoConnectionInfo>(
        &self,
        sentinels: impl IntoIterator<Item = T>,
        name: impl Into<String>,
    ) -> Result<SentinelConnection> {
        self.sentinel_from(SentinelMaster::new(sentinels, name)?)
    }

    /// [`sentinel`](Self::sentinel) for a [`SentinelMaster`] (to set the
    /// master's login).
    ///
    /// # Errors
    ///
    /// As for [`sentinel`](Self::sentinel).
    ///
    /// ```no_run
    /// use rom_dsl::connect::{Options, SentinelMaster};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let master = SentinelMaster::new(["redis://10.0.0.1:26379"], "mymaster")?
    ///     .master_settings(redis::RedisConnectionInfo::default().set_password("secret"));
    /// let mut conn = Options::new().sentinel_from(master)?;
    /// # Ok(()) }
    /// ```
    pub fn sentinel_from(&self, master: SentinelMaster) -> Result<SentinelConnection> {
        check(self)?;
        let (info, conn) = master.lookup(self)?;
        Ok(SentinelConnection {
            master,
            options: *self,
            current: Some((info, conn)),
            checked: Instant::now(),
        })
    }

    /// An [`AsyncSentinelConnection`] to the master the Sentinels at
    /// `sentinels` call `name`, with these timeouts (needs a Tokio runtime).
    /// It connects before returning.
    ///
    /// # Errors
    ///
    /// As for [`sentinel`](Self::sentinel).
    ///
    /// ```no_run
    /// # async fn demo(urls: Vec<String>) -> Result<(), Box<dyn std::error::Error>> {
    /// let mut conn = rom_dsl::connect::Options::new().sentinel_async(urls, "mymaster").await?;
    /// redis::cmd("SET").arg("k").arg(1).exec_async(&mut conn).await?;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "tokio")]
    pub async fn sentinel_async<T: IntoConnectionInfo>(
        &self,
        sentinels: impl IntoIterator<Item = T>,
        name: impl Into<String>,
    ) -> Result<AsyncSentinelConnection> {
        self.sentinel_async_from(SentinelMaster::new(sentinels, name)?)
            .await
    }

    /// [`sentinel_async`](Self::sentinel_async) for a [`SentinelMaster`].
    ///
    /// # Errors
    ///
    /// As for [`sentinel`](Self::sentinel).
    ///
    /// ```no_run
    /// use rom_dsl::connect::{Options, SentinelMaster};
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let master = SentinelMaster::new(["redis://10.0.0.1:26379"], "mymaster")?;
    /// let mut conn = Options::new().sentinel_async_from(master).await?;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "tokio")]
    pub async fn sentinel_async_from(
        &self,
        master: SentinelMaster,
    ) -> Result<AsyncSentinelConnection> {
        check(self)?;
        let (info, conn) = master.lookup_async(self).await?;
        let shared = Shared {
            master,
            options: *self,
            current: Mutex::new(None),
            generations: AtomicU64::new(0),
            checked: Mutex::new(Instant::now()),
        };
        shared.install(info, conn);
        Ok(AsyncSentinelConnection {
            shared: Arc::new(shared),
        })
    }
}

/// A synchronous [`SentinelConnection`] with the [default options](Options)
/// to the master the Sentinels at `sentinels` call `name`.
///
/// # Errors
///
/// As for [`Options::sentinel`].
///
/// ```
/// # use rom_dsl::prelude::*;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let group = rom_testing::RedisSentinelGroup::start()?;
/// # let urls = group.sentinel_urls();
/// let mut conn = rom_dsl::connect::sentinel(urls, "rommaster")?; // urls: ["redis://10.0.0.1:26379", ...]
/// redis::cmd("SET").arg("k").arg(1).exec(&mut conn)?;
/// # Ok(()) }
/// ```
pub fn sentinel<T: IntoConnectionInfo>(
    sentinels: impl IntoIterator<Item = T>,
    name: impl Into<String>,
) -> Result<SentinelConnection> {
    Options::default().sentinel(sentinels, name)
}

/// An [`AsyncSentinelConnection`] with the [default options](Options)
/// (needs a Tokio runtime).
///
/// # Errors
///
/// As for [`Options::sentinel`].
///
/// ```no_run
/// # async fn demo(urls: Vec<String>) -> Result<(), Box<dyn std::error::Error>> {
/// let mut conn = rom_dsl::connect::sentinel_async(urls, "mymaster").await?;
/// redis::cmd("SET").arg("k").arg(1).exec_async(&mut conn).await?;
/// # Ok(()) }
/// ```
#[cfg(feature = "tokio")]
pub async fn sentinel_async<T: IntoConnectionInfo>(
    sentinels: impl IntoIterator<Item = T>,
    name: impl Into<String>,
) -> Result<AsyncSentinelConnection> {
    Options::default().sentinel_async(sentinels, name).await
}

#[cfg(feature = "tokio")]
/// A multiplexed connection to `info` with the options' timeouts.
#[cfg(feature = "tokio")]
async fn open_async(options: &Options, info: ConnectionInfo) -> RedisResult<MultiplexedConnection> {
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(options.get_connect_timeout())
        .set_response_timeout(options.get_response_timeout());
    redis::Client::open(info)?
        .get_multiplexed_async_connection_with_config(&config)
        .await
}

#[cfg(feature = "tokio")]
mod async_conn;
mod sync;

#[cfg(feature = "tokio")]
pub use async_conn::AsyncSentinelConnection;
#[cfg(feature = "tokio")]
use async_conn::Shared;
pub use sync::SentinelConnection;
