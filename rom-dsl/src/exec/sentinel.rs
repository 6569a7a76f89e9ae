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

/// A synchronous connection to a Sentinel-managed master that follows
/// failovers.
///
/// Like [`Reconnecting`](crate::connect::Reconnecting), a request that meets
/// a broken connection fails with that error and is **not** sent again (a
/// write may have been applied). The same goes for a request the node
/// refused with `READONLY`: it is a replica now. Either way the connection
/// is dropped, and the next request asks the Sentinels for the current
/// master, checks its `ROLE` and connects to it. While a failover is under
/// way, that lookup may fail too (the old master is down or demoted, the new
/// one not yet announced): the request fails with an
/// [`Error::Redis`](crate::Error::Redis) and the next one tries again.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let group = rom_testing::RedisSentinelGroup::start()?;
/// # let urls = group.sentinel_urls();
/// let mut conn = rom_dsl::connect::sentinel(urls, "rommaster")?;
/// redis::cmd("SET").arg("k").arg(1).exec(&mut conn)?;
/// let before = conn.master_addr().cloned();
///
/// group.failover()?; // SENTINEL FAILOVER rommaster, then wait for it
/// let mut answer = redis::cmd("SET").arg("k").arg(2).exec(&mut conn);
/// if answer.is_err() {
///     answer = redis::cmd("SET").arg("k").arg(2).exec(&mut conn); // the new master
/// }
/// answer?;
/// assert_ne!(conn.master_addr().cloned(), before);
/// # Ok(()) }
/// ```
pub struct SentinelConnection {
    master: SentinelMaster,
    options: Options,
    current: Option<(ConnectionInfo, redis::Connection)>,
    /// When the Sentinels were last asked where the master is.
    checked: Instant,
}

impl std::fmt::Debug for SentinelConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentinelConnection")
            .field("master", &self.master)
            .field("options", &self.options)
            .field("connected_to", &self.master_addr())
            .finish()
    }
}

impl SentinelConnection {
    /// Which master this connection looks up.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let conn = rom_dsl::connect::sentinel(["redis://10.0.0.1:26379"], "mymaster")?;
    /// assert_eq!(conn.master().name(), "mymaster");
    /// # Ok(()) }
    /// ```
    pub fn master(&self) -> &SentinelMaster {
        &self.master
    }

    /// The address of the master it is connected to; `None` after the
    /// connection was dropped, until the next request connects again.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let conn = rom_dsl::connect::sentinel(["redis://10.0.0.1:26379"], "mymaster")?;
    /// println!("connected to {:?}", conn.master_addr());
    /// # Ok(()) }
    /// ```
    pub fn master_addr(&self) -> Option<&ConnectionAddr> {
        self.current
            .as_ref()
            .filter(|(_, conn)| conn.is_open())
            .map(|(info, _)| info.addr())
    }

    /// Whether a connection is open now.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let conn = rom_dsl::connect::sentinel(["redis://10.0.0.1:26379"], "mymaster")?;
    /// assert!(conn.is_connected());
    /// # Ok(()) }
    /// ```
    pub fn is_connected(&self) -> bool {
        self.master_addr().is_some()
    }

    /// Runs `request` on the current connection, looking the master up
    /// first if there is none; drops the connection when it turns out
    /// broken or no longer the master's.
    fn with<T>(
        &mut self,
        request: impl FnOnce(&mut redis::Connection) -> RedisResult<T>,
        read_only: impl Fn(&T) -> bool,
    ) -> RedisResult<T> {
        let due = self
            .master
            .recheck
            .is_some_and(|every| self.checked.elapsed() >= every);
        let (info, mut conn) = match self.current.take() {
            Some((info, conn)) if conn.is_open() => {
                if due && self.master.moved(&self.options, &info) {
                    self.master.lookup(&self.options)?
                } else {
                    (info, conn)
                }
            }
            _ => self.master.lookup(&self.options)?,
        };
        if due {
            self.checked = Instant::now();
        }
        let result = request(&mut conn);
        if !must_replace(&result, read_only) && conn.is_open() {
            self.current = Some((info, conn));
        }
        result
    }
}

impl ConnectionLike for SentinelConnection {
    fn req_packed_command(&mut self, cmd: &[u8]) -> RedisResult<Value> {
        self.with(|conn| conn.req_packed_command(cmd), is_read_only)
    }

    fn req_packed_commands(
        &mut self,
        cmd: &[u8],
        offset: usize,
        count: usize,
    ) -> RedisResult<Vec<Value>> {
        self.with(
            |conn| conn.req_packed_commands(cmd, offset, count),
            |values| values.iter().any(is_read_only),
        )
    }

    fn req_command(&mut self, cmd: &Cmd) -> RedisResult<Value> {
        self.with(|conn| conn.req_command(cmd), is_read_only)
    }

    fn get_db(&self) -> i64 {
        self.master.settings.db()
    }

    fn check_connection(&mut self) -> bool {
        self.with(|conn| redis::cmd("PING").query::<String>(conn), |_| false)
            .is_ok()
    }

    fn is_open(&self) -> bool {
        // A broken connection is replaced on the next request.
        true
    }
}

/// An async connection to a Sentinel-managed master that follows failovers
/// (needs a Tokio runtime).
///
/// It behaves like [`SentinelConnection`]: the request that meets a broken
/// connection, or a `READONLY` refusal, fails and is not resent; the next
/// request looks the master up again through the Sentinels. Underneath is a
/// multiplexed connection, and clones share it (cloning is cheap, as for a
/// `ConnectionManager`): requests from many tasks go over one connection,
/// and after a failover the first request to need it looks the master up
/// for all of them.
///
/// ```no_run
/// # async fn demo(urls: Vec<String>) -> Result<(), Box<dyn std::error::Error>> {
/// let conn = rom_dsl::connect::sentinel_async(urls, "mymaster").await?;
/// let mut for_a_task = conn.clone();
/// redis::cmd("SET").arg("k").arg(1).exec_async(&mut for_a_task).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
#[cfg(feature = "tokio")]
pub struct AsyncSentinelConnection {
    shared: Arc<Shared>,
}

/// What the clones of an [`AsyncSentinelConnection`] share.
#[cfg(feature = "tokio")]
struct Shared {
    master: SentinelMaster,
    options: Options,
    /// The current connection, its generation and where it goes.
    current: Mutex<Option<Current>>,
    /// The generation of the next connection.
    generations: AtomicU64,
    /// When the Sentinels were last asked where the master is.
    checked: Mutex<Instant>,
}

/// One connection to the master, numbered so that a request only drops the
/// connection it used, not a newer one another task opened meanwhile.
#[derive(Clone)]
#[cfg(feature = "tokio")]
struct Current {
    generation: u64,
    info: ConnectionInfo,
    conn: MultiplexedConnection,
}

#[cfg(feature = "tokio")]
impl Shared {
    /// Makes `conn` the current connection; returns it numbered.
    fn install(&self, info: ConnectionInfo, conn: MultiplexedConnection) -> Current {
        let current = Current {
            generation: self.generations.fetch_add(1, Ordering::Relaxed),
            info,
            conn,
        };
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) = Some(current.clone());
        current
    }

    /// The current connection, or a new one to the master the Sentinels
    /// report now.
    async fn connection(&self) -> RedisResult<Current> {
        let existing = self
            .current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(current) = existing {
            if !(self.due() && self.master.moved_async(&self.options, &current.info).await) {
                return Ok(current);
            }
            self.forget(current.generation);
        }
        let (info, conn) = self.master.lookup_async(&self.options).await?;
        Ok(self.install(info, conn))
    }

    /// Whether it is time to ask the Sentinels again; if so, the next ask is
    /// one interval from now (so that one request of many asks).
    fn due(&self) -> bool {
        let Some(every) = self.master.recheck else {
            return false;
        };
        let mut checked = self.checked.lock().unwrap_or_else(PoisonError::into_inner);
        if checked.elapsed() < every {
            return false;
        }
        *checked = Instant::now();
        true
    }

    /// Drops connection `generation` if it is still the current one.
    fn forget(&self, generation: u64) {
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        if current.as_ref().is_some_and(|c| c.generation == generation) {
            *current = None;
        }
    }
}

#[cfg(feature = "tokio")]
impl std::fmt::Debug for AsyncSentinelConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncSentinelConnection")
            .field("master", &self.shared.master)
            .field("options", &self.shared.options)
            .field("connected_to", &self.master_addr())
            .finish()
    }
}

#[cfg(feature = "tokio")]
impl AsyncSentinelConnection {
    /// Which master this connection looks up.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let conn = rom_dsl::connect::sentinel_async(["redis://10.0.0.1:26379"], "mymaster").await?;
    /// assert_eq!(conn.master().name(), "mymaster");
    /// # Ok(()) }
    /// ```
    pub fn master(&self) -> &SentinelMaster {
        &self.shared.master
    }

    /// The address of the master it is connected to; `None` after the
    /// connection was dropped, until the next request connects again.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let conn = rom_dsl::connect::sentinel_async(["redis://10.0.0.1:26379"], "mymaster").await?;
    /// println!("connected to {:?}", conn.master_addr());
    /// # Ok(()) }
    /// ```
    pub fn master_addr(&self) -> Option<ConnectionAddr> {
        self.shared
            .current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(|current| current.info.addr().clone())
    }
}

#[cfg(feature = "tokio")]
impl redis::aio::ConnectionLike for AsyncSentinelConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(async move {
            let mut current = self.shared.connection().await?;
            let result = current.conn.req_packed_command(cmd).await;
            if must_replace(&result, is_read_only) {
                self.shared.forget(current.generation);
            }
            result
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        Box::pin(async move {
            let mut current = self.shared.connection().await?;
            let result = current
                .conn
                .req_packed_commands(pipeline, offset, count)
                .await;
            if must_replace(&result, |values| values.iter().any(is_read_only)) {
                self.shared.forget(current.generation);
            }
            result
        })
    }

    fn get_db(&self) -> i64 {
        self.shared.master.settings.db()
    }
}
