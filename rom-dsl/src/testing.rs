//! Test helpers: throwaway **real** Redis servers and clusters, and
//! connection wrappers that count round trips.
//!
//! Nothing in here is a mock. [`RedisServer`] starts a private
//! `redis-server` process listening on a unix socket inside a fresh
//! temporary directory; [`RedisCluster`] starts a real Redis Cluster of
//! several masters on free TCP ports of `127.0.0.1`. Both are torn down
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
//! ```
//! use rom_dsl::testing::RedisServer;
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

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redis::{
    Cmd, ConnectionAddr, IntoConnectionInfo, RedisConnectionInfo, RedisFuture, RedisResult, Value,
};
use tempfile::TempDir;

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

/// Finds the `redis-server` binary the helpers of this module use.
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
/// let binary = rom_dsl::testing::redis_server_binary()?;
/// assert!(binary.is_file());
/// # Ok::<(), rom_dsl::testing::TestingError>(())
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

/// Kills and reaps a child process when dropped.
#[derive(Debug)]
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        // The process may already be gone; both calls are then harmless.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A temporary directory whose unix socket path stays below the ~104 byte
/// `sun_path` limit even when `TMPDIR` is long.
fn make_tempdir(prefix: &str) -> Result<(TempDir, PathBuf), TestingError> {
    let dir = tempfile::Builder::new().prefix(prefix).tempdir()?;
    let dir = if dir.path().as_os_str().len() > 80 {
        tempfile::Builder::new().prefix(prefix).tempdir_in("/tmp")?
    } else {
        dir
    };
    let path = std::path::absolute(dir.path())?;
    Ok((dir, path))
}

fn spawn(binary: &Path, args: &[std::ffi::OsString]) -> Result<ChildGuard, TestingError> {
    let child = Command::new(binary)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|err| {
            if err.kind() == std::io::ErrorKind::NotFound {
                TestingError::NotInstalled {
                    searched: binary.display().to_string(),
                }
            } else {
                TestingError::Io(err)
            }
        })?;
    Ok(ChildGuard(child))
}

fn base_args(dir: &Path, log: &Path) -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> = Vec::new();
    for (flag, value) in [
        ("--save", ""),
        ("--appendonly", "no"),
        ("--daemonize", "no"),
    ] {
        args.push(flag.into());
        args.push(value.into());
    }
    args.push("--dir".into());
    args.push(dir.into());
    args.push("--logfile".into());
    args.push(log.into());
    args
}

/// The last [`LOG_TAIL_LINES`] lines of a log file, or a note why there are none.
fn log_tail(path: &Path) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let lines: Vec<&str> = text.lines().collect();
            let start = lines.len().saturating_sub(LOG_TAIL_LINES);
            if lines.is_empty() {
                format!("(log file {} is empty)", path.display())
            } else {
                lines[start..].join("\n")
            }
        }
        Err(err) => format!("(cannot read log file {}: {err})", path.display()),
    }
}

/// A client that does not send `CLIENT SETINFO` on connect, so that the
/// helpers' own connections leave no trace in `INFO commandstats`.
fn quiet_client(addr: ConnectionAddr) -> Result<redis::Client, TestingError> {
    let info = addr
        .into_connection_info()?
        .set_redis_settings(RedisConnectionInfo::default().set_skip_set_lib_name());
    Ok(redis::Client::open(info)?)
}

fn admin_connection(client: &redis::Client) -> Result<redis::Connection, TestingError> {
    let con = client.get_connection_with_timeout(Duration::from_secs(2))?;
    con.set_read_timeout(Some(Duration::from_secs(10)))?;
    con.set_write_timeout(Some(Duration::from_secs(10)))?;
    Ok(con)
}

/// `field:value` lookup in the text returned by `INFO` or `CLUSTER INFO`.
fn info_field<'a>(info: &'a str, field: &str) -> Option<&'a str> {
    info.lines().find_map(|line| {
        line.trim_end()
            .strip_prefix(field)
            .and_then(|rest| rest.strip_prefix(':'))
    })
}

fn parse_error(what: &'static str, text: String) -> TestingError {
    TestingError::Redis(redis::RedisError::from((
        redis::ErrorKind::Parse,
        what,
        text,
    )))
}

/// Asks a freshly started server for its pid. `Ok(None)` means "not ready
/// yet" (socket missing, connection refused, `LOADING`, ...).
fn probe_pid(client: &redis::Client) -> Option<u32> {
    let mut con = client
        .get_connection_with_timeout(Duration::from_millis(500))
        .ok()?;
    con.set_read_timeout(Some(Duration::from_secs(1))).ok()?;
    let info: String = redis::cmd("INFO").arg("server").query(&mut con).ok()?;
    info_field(&info, "process_id")?.parse().ok()
}

enum WaitOutcome {
    Ready,
    Exited(ExitStatus),
    TimedOut,
}

/// Polls until the server spawned as `child` answers on `client`.
///
/// The answer must come from *this* process (its `process_id` must match):
/// with TCP ports, another process may have grabbed the port in between.
fn wait_ready(child: &mut ChildGuard, client: &redis::Client) -> Result<WaitOutcome, TestingError> {
    let deadline = Instant::now() + READY_TIMEOUT;
    let pid = child.0.id();
    loop {
        if let Some(status) = child.0.try_wait()? {
            return Ok(WaitOutcome::Exited(status));
        }
        if probe_pid(client) == Some(pid) {
            return Ok(WaitOutcome::Ready);
        }
        if Instant::now() >= deadline {
            return Ok(WaitOutcome::TimedOut);
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// Percent-encodes a path for use in a `redis+unix://` URL.
fn encode_path(path: &Path) -> String {
    let mut out = String::new();
    for &byte in path.as_os_str().as_encoded_bytes() {
        if byte.is_ascii_alphanumeric() || b"/-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// A private, throwaway `redis-server` process.
///
/// It lives in a fresh temporary directory, listens only on the unix socket
/// `<dir>/redis.sock` (no TCP port), persists nothing (`--save ''
/// --appendonly no`) and logs to `<dir>/redis.log`. Dropping the value kills
/// the process (SIGKILL), reaps it and removes the directory.
///
/// `RESETSTAT` is issued once the server is up, and the commands this type
/// sends for its own bookkeeping are subtracted from
/// [`command_calls`](Self::command_calls), so the statistics reflect only
/// what the test itself sent.
///
/// ```
/// use rom_dsl::testing::RedisServer;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let server = RedisServer::start()?;
/// let mut con = server.connection()?;
/// redis::cmd("SET").arg("k").arg(42).exec(&mut con)?;
/// let calls = server.command_calls()?;
/// assert_eq!(calls.get("set"), Some(&1));
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct RedisServer {
    // Field order matters: the process is killed before the directory is removed.
    process: ChildGuard,
    socket: PathBuf,
    log: PathBuf,
    admin: redis::Client,
    /// `INFO` commands sent by this value since the last `RESETSTAT`.
    own_info_calls: AtomicU64,
    /// `CONFIG RESETSTAT` commands sent by this value since the last reset
    /// (the reset counts itself once it has run).
    own_resetstat_calls: AtomicU64,
    dir: TempDir,
}

impl RedisServer {
    /// Starts a server with the default configuration.
    ///
    /// Waits (up to about 5 s) until the server answers.
    ///
    /// # Errors
    ///
    /// [`TestingError::NotInstalled`] without a `redis-server` binary,
    /// [`TestingError::StartFailed`] (with the tail of the server log) if the
    /// process exits early or does not answer in time, [`TestingError::Io`]
    /// or [`TestingError::Redis`] for other failures.
    ///
    /// ```
    /// let server = rom_dsl::testing::RedisServer::start()?;
    /// assert!(server.socket_path().exists());
    /// # Ok::<(), rom_dsl::testing::TestingError>(())
    /// ```
    pub fn start() -> Result<Self, TestingError> {
        Self::start_with_args(&[])
    }

    /// Starts a server with extra `redis-server` command-line arguments,
    /// appended after the defaults (so they override them), e.g.
    /// `&["--maxmemory", "10mb"]`.
    ///
    /// # Errors
    ///
    /// As for [`start`](Self::start).
    ///
    /// ```
    /// use rom_dsl::testing::RedisServer;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let server = RedisServer::start_with_args(&["--maxmemory", "10mb"])?;
    /// let mut con = server.connection()?;
    /// let config: Vec<String> = redis::cmd("CONFIG").arg("GET").arg("maxmemory").query(&mut con)?;
    /// assert_eq!(config, ["maxmemory", "10485760"]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn start_with_args(extra: &[&str]) -> Result<Self, TestingError> {
        let binary = redis_server_binary()?;
        let (dir, dir_path) = make_tempdir("rom-redis-")?;
        let socket = dir_path.join("redis.sock");
        let log = dir_path.join("redis.log");

        let mut args: Vec<std::ffi::OsString> = vec![
            "--port".into(),
            "0".into(),
            "--unixsocket".into(),
            socket.clone().into(),
            "--unixsocketperm".into(),
            "700".into(),
        ];
        args.extend(base_args(&dir_path, &log));
        args.extend(extra.iter().map(Into::into));

        let mut process = spawn(&binary, &args)?;
        let admin = quiet_client(ConnectionAddr::Unix(socket.clone()))?;
        match wait_ready(&mut process, &admin)? {
            WaitOutcome::Ready => {}
            WaitOutcome::Exited(status) => {
                return Err(TestingError::StartFailed {
                    what: format!("{} exited during startup ({status})", binary.display()),
                    log_tail: log_tail(&log),
                });
            }
            WaitOutcome::TimedOut => {
                return Err(TestingError::StartFailed {
                    what: format!(
                        "{} did not answer on {} within {:?}",
                        binary.display(),
                        socket.display(),
                        READY_TIMEOUT
                    ),
                    log_tail: log_tail(&log),
                });
            }
        }

        let server = Self {
            process,
            socket,
            log,
            admin,
            own_info_calls: AtomicU64::new(0),
            own_resetstat_calls: AtomicU64::new(0),
            dir,
        };
        // Forget the readiness probes.
        server.reset_stats()?;
        Ok(server)
    }

    /// The redis-rs connection URL of the server:
    /// `redis+unix:///abs/path/redis.sock` (percent-encoded if needed).
    ///
    /// ```
    /// let server = rom_dsl::testing::RedisServer::start()?;
    /// assert!(server.url().starts_with("redis+unix:///"));
    /// let client = redis::Client::open(server.url())?;
    /// # let _ = client;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn url(&self) -> String {
        format!("redis+unix://{}", encode_path(&self.socket))
    }

    /// The absolute path of the server's unix socket.
    pub fn socket_path(&self) -> &Path {
        &self.socket
    }

    /// The temporary directory the server runs in (removed on drop).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The path of the server's log file.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The last lines of the server's log file (for test failure messages).
    pub fn log_tail(&self) -> String {
        log_tail(&self.log)
    }

    /// The process id of the `redis-server` process.
    pub fn pid(&self) -> u32 {
        self.process.0.id()
    }

    /// A redis-rs client for the server, with redis-rs' default connection
    /// settings (so its connections send `CLIENT SETINFO` on connect, like
    /// production connections do).
    ///
    /// # Errors
    ///
    /// [`TestingError::Redis`] if redis-rs rejects the address.
    pub fn client(&self) -> Result<redis::Client, TestingError> {
        Ok(redis::Client::open(ConnectionAddr::Unix(
            self.socket.clone(),
        ))?)
    }

    /// A new synchronous connection to the server.
    ///
    /// # Errors
    ///
    /// [`TestingError::Redis`] if the connection fails.
    pub fn connection(&self) -> Result<redis::Connection, TestingError> {
        Ok(self.client()?.get_connection()?)
    }

    /// A new multiplexed asynchronous connection (needs a Tokio runtime).
    ///
    /// # Errors
    ///
    /// [`TestingError::Redis`] if the connection fails.
    ///
    /// ```
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let server = rom_dsl::testing::RedisServer::start()?;
    /// let mut con = server.multiplexed().await?;
    /// redis::cmd("SET").arg("k").arg(1).exec_async(&mut con).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn multiplexed(&self) -> Result<redis::aio::MultiplexedConnection, TestingError> {
        Ok(self.client()?.get_multiplexed_async_connection().await?)
    }

    /// A new [`redis::aio::ConnectionManager`] (reconnecting multiplexed
    /// connection; needs a Tokio runtime).
    ///
    /// # Errors
    ///
    /// [`TestingError::Redis`] if the connection fails.
    pub async fn manager(&self) -> Result<redis::aio::ConnectionManager, TestingError> {
        Ok(self.client()?.get_connection_manager().await?)
    }

    /// `used_memory` from `INFO memory`, in bytes.
    ///
    /// # Errors
    ///
    /// [`TestingError::Redis`] if the command fails or the field is missing.
    ///
    /// ```
    /// let server = rom_dsl::testing::RedisServer::start()?;
    /// assert!(server.used_memory()? > 0);
    /// # Ok::<(), rom_dsl::testing::TestingError>(())
    /// ```
    pub fn used_memory(&self) -> Result<u64, TestingError> {
        let info = self.own_info("memory")?;
        info_field(&info, "used_memory")
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| parse_error("INFO memory has no numeric used_memory field", info))
    }

    /// The number of calls per command since the server started or since
    /// the last [`reset_stats`](Self::reset_stats), from
    /// `INFO commandstats` (`cmdstat_<name>:calls=N,...`).
    ///
    /// Names are lower case as Redis reports them; subcommands look like
    /// `config|get` or `client|setinfo`. The `INFO` and `CONFIG RESETSTAT`
    /// commands sent by this type itself are not included (the adjustment
    /// assumes no other thread calls these methods concurrently). Note that
    /// redis-rs connections opened through [`client`](Self::client) send
    /// `CLIENT SETINFO` when they connect, which the server reports as
    /// `client|setinfo` (Redis 7.2+).
    ///
    /// # Errors
    ///
    /// [`TestingError::Redis`] if the command fails or its output cannot be parsed.
    ///
    /// ```
    /// use rom_dsl::testing::RedisServer;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let server = RedisServer::start()?;
    /// let mut con = server.connection()?;
    /// redis::pipe().set("a", 1).ignore().set("b", 2).ignore().exec(&mut con)?;
    /// assert_eq!(server.command_calls()?.get("set"), Some(&2));
    /// # Ok(())
    /// # }
    /// ```
    pub fn command_calls(&self) -> Result<BTreeMap<String, u64>, TestingError> {
        let own_info = self.own_info_calls.load(Ordering::SeqCst);
        let own_resetstat = self.own_resetstat_calls.load(Ordering::SeqCst);
        let info = self.own_info("commandstats")?;
        let mut calls = BTreeMap::new();
        for line in info.lines() {
            let Some(rest) = line.trim_end().strip_prefix("cmdstat_") else {
                continue;
            };
            let parsed = rest.split_once(':').and_then(|(name, fields)| {
                let n = fields
                    .split(',')
                    .find_map(|f| f.strip_prefix("calls="))?
                    .parse::<u64>()
                    .ok()?;
                Some((name.to_owned(), n))
            });
            match parsed {
                Some((name, n)) => {
                    calls.insert(name, n);
                }
                None => {
                    return Err(parse_error(
                        "unexpected line in INFO commandstats",
                        line.to_owned(),
                    ));
                }
            }
        }
        for (name, own) in [("info", own_info), ("config|resetstat", own_resetstat)] {
            if own == 0 {
                continue;
            }
            if let Some(n) = calls.get_mut(name) {
                *n = n.saturating_sub(own);
                if *n == 0 {
                    calls.remove(name);
                }
            }
        }
        Ok(calls)
    }

    /// Resets the server statistics (`CONFIG RESETSTAT`): command calls,
    /// keyspace hits and misses, ...
    ///
    /// # Errors
    ///
    /// [`TestingError::Redis`] if the command fails.
    pub fn reset_stats(&self) -> Result<(), TestingError> {
        let mut con = admin_connection(&self.admin)?;
        redis::cmd("CONFIG").arg("RESETSTAT").exec(&mut con)?;
        self.own_info_calls.store(0, Ordering::SeqCst);
        self.own_resetstat_calls.store(1, Ordering::SeqCst);
        Ok(())
    }

    fn own_info(&self, section: &str) -> Result<String, TestingError> {
        let mut con = admin_connection(&self.admin)?;
        let info: String = redis::cmd("INFO").arg(section).query(&mut con)?;
        self.own_info_calls.fetch_add(1, Ordering::SeqCst);
        Ok(info)
    }
}

/// One node of a [`RedisCluster`].
#[derive(Debug)]
struct ClusterNode {
    // Field order matters: the process is killed before the directory is removed.
    process: ChildGuard,
    port: u16,
    log: PathBuf,
    admin: redis::Client,
    dir: TempDir,
}

/// A real local Redis Cluster of `N` masters (no replicas), each a private
/// `redis-server` process in its own temporary directory, on a free TCP port
/// of `127.0.0.1` (cluster bus on port + 10000).
///
/// The cluster is formed without `redis-cli`: the 16384 slots are split in
/// contiguous ranges, one per node, and the nodes meet each other.
/// [`start`](Self::start) returns once every node reports `cluster_state:ok`
/// and knows all nodes. Dropping the value kills all processes and removes
/// their directories.
///
/// ```
/// use rom_dsl::testing::RedisCluster;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let cluster = RedisCluster::start(3)?;
/// let mut con = cluster.connection()?;
/// redis::cmd("SET").arg("{user:1}:name").arg("ada").exec(&mut con)?;
/// let name: String = redis::cmd("GET").arg("{user:1}:name").query(&mut con)?;
/// assert_eq!(name, "ada");
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct RedisCluster {
    nodes: Vec<ClusterNode>,
}

impl RedisCluster {
    /// The number of masters of [`start_default`](Self::start_default).
    pub const DEFAULT_MASTERS: usize = 3;

    /// Starts a cluster of [`DEFAULT_MASTERS`](Self::DEFAULT_MASTERS) masters.
    ///
    /// # Errors
    ///
    /// As for [`start`](Self::start).
    pub fn start_default() -> Result<Self, TestingError> {
        Self::start(Self::DEFAULT_MASTERS)
    }

    /// Starts a cluster of `masters` masters (at least 1) and waits (up to
    /// about 20 s) until it is fully formed.
    ///
    /// # Errors
    ///
    /// [`TestingError::NotInstalled`] without a `redis-server` binary,
    /// [`TestingError::StartFailed`] (with the tails of the node logs) if a
    /// node does not start or the cluster does not converge in time,
    /// [`TestingError::Io`] or [`TestingError::Redis`] for other failures.
    pub fn start(masters: usize) -> Result<Self, TestingError> {
        if masters == 0 || masters > CLUSTER_SLOTS {
            return Err(TestingError::StartFailed {
                what: format!(
                    "a cluster needs between 1 and {CLUSTER_SLOTS} masters, not {masters}"
                ),
                log_tail: String::new(),
            });
        }
        let binary = redis_server_binary()?;
        let mut used_ports = HashSet::new();
        let mut nodes = Vec::with_capacity(masters);
        for _ in 0..masters {
            nodes.push(start_cluster_node(&binary, &mut used_ports)?);
        }
        let cluster = Self { nodes };
        cluster.form()?;
        Ok(cluster)
    }

    fn form(&self) -> Result<(), TestingError> {
        let n = self.nodes.len();
        let mut cons = self
            .nodes
            .iter()
            .map(|node| admin_connection(&node.admin))
            .collect::<Result<Vec<_>, _>>()?;

        for (i, con) in cons.iter_mut().enumerate() {
            // Distinct config epochs, as redis-cli does; failure is harmless.
            let _: RedisResult<Value> = redis::cmd("CLUSTER")
                .arg("SET-CONFIG-EPOCH")
                .arg(i + 1)
                .query(con);
            let first = i * CLUSTER_SLOTS / n;
            let last = (i + 1) * CLUSTER_SLOTS / n - 1;
            let ranged: RedisResult<()> = redis::cmd("CLUSTER")
                .arg("ADDSLOTSRANGE")
                .arg(first)
                .arg(last)
                .exec(con);
            if ranged.is_err() {
                // Redis < 7.0: no ADDSLOTSRANGE.
                let mut cmd = redis::cmd("CLUSTER");
                cmd.arg("ADDSLOTS");
                for slot in first..=last {
                    cmd.arg(slot);
                }
                cmd.exec(con)?;
            }
        }
        // Every node meets every earlier node (not only the first one): gossip
        // alone would get there too, but can take several seconds longer.
        let ports = self.ports();
        for (i, con) in cons.iter_mut().enumerate().skip(1) {
            for &port in &ports[..i] {
                redis::cmd("CLUSTER")
                    .arg("MEET")
                    .arg(Ipv4Addr::LOCALHOST.to_string())
                    .arg(port)
                    .exec(con)?;
            }
        }

        let deadline = Instant::now() + CLUSTER_TIMEOUT;
        let expected_nodes = n.to_string();
        let expected_slots = CLUSTER_SLOTS.to_string();
        loop {
            let mut states = Vec::with_capacity(n);
            for (node, con) in self.nodes.iter().zip(cons.iter_mut()) {
                let info: String = redis::cmd("CLUSTER").arg("INFO").query(con)?;
                let state = info_field(&info, "cluster_state").unwrap_or("?");
                let known = info_field(&info, "cluster_known_nodes").unwrap_or("?");
                let slots = info_field(&info, "cluster_slots_ok").unwrap_or("?");
                let ok = state == "ok" && known == expected_nodes && slots == expected_slots;
                states.push((
                    ok,
                    format!(
                        "127.0.0.1:{}: cluster_state={state} known_nodes={known} slots_ok={slots}",
                        node.port
                    ),
                ));
            }
            if states.iter().all(|(ok, _)| *ok) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                let summary: Vec<String> = states.into_iter().map(|(_, s)| s).collect();
                return Err(TestingError::StartFailed {
                    what: format!(
                        "the {n}-node cluster did not converge within {CLUSTER_TIMEOUT:?}: {}",
                        summary.join("; ")
                    ),
                    log_tail: self.log_tails(),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The connection URLs of the nodes, `redis://127.0.0.1:PORT`.
    pub fn urls(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|node| format!("redis://127.0.0.1:{}", node.port))
            .collect()
    }

    /// The client ports of the nodes (cluster bus ports are these + 10000).
    pub fn ports(&self) -> Vec<u16> {
        self.nodes.iter().map(|node| node.port).collect()
    }

    /// The process ids of the nodes.
    pub fn pids(&self) -> Vec<u32> {
        self.nodes.iter().map(|node| node.process.0.id()).collect()
    }

    /// The temporary directories of the nodes (removed on drop).
    pub fn dirs(&self) -> Vec<&Path> {
        self.nodes.iter().map(|node| node.dir.path()).collect()
    }

    /// The last lines of every node's log file.
    pub fn log_tails(&self) -> String {
        self.nodes
            .iter()
            .map(|node| {
                format!(
                    "=== node 127.0.0.1:{} ===\n{}",
                    node.port,
                    log_tail(&node.log)
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// A redis-rs cluster client seeded with all nodes.
    ///
    /// # Errors
    ///
    /// [`TestingError::Redis`] if redis-rs rejects the node list.
    pub fn client(&self) -> Result<redis::cluster::ClusterClient, TestingError> {
        Ok(redis::cluster::ClusterClient::new(self.urls())?)
    }

    /// A new synchronous cluster connection.
    ///
    /// # Errors
    ///
    /// [`TestingError::Redis`] if the connection fails.
    pub fn connection(&self) -> Result<redis::cluster::ClusterConnection, TestingError> {
        Ok(self.client()?.get_connection()?)
    }

    /// A new asynchronous cluster connection (needs a Tokio runtime).
    ///
    /// # Errors
    ///
    /// [`TestingError::Redis`] if the connection fails.
    ///
    /// ```
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let cluster = rom_dsl::testing::RedisCluster::start(3)?;
    /// let mut con = cluster.async_connection().await?;
    /// redis::cmd("SET").arg("k").arg(1).exec_async(&mut con).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn async_connection(
        &self,
    ) -> Result<redis::cluster_async::ClusterConnection, TestingError> {
        Ok(self.client()?.get_async_connection().await?)
    }
}

/// A free port `p <= 55535` of 127.0.0.1 whose cluster bus port `p + 10000`
/// is free too. Both are recorded in `used` so that nodes of one cluster
/// never collide with each other.
fn free_port_pair(used: &mut HashSet<u16>) -> Result<u16, TestingError> {
    for _ in 0..200 {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let port = listener.local_addr()?.port();
        let Some(bus) = port.checked_add(CLUSTER_BUS_OFFSET) else {
            continue;
        };
        if used.contains(&port) || used.contains(&bus) {
            continue;
        }
        if TcpListener::bind((Ipv4Addr::LOCALHOST, bus)).is_ok() {
            used.insert(port);
            used.insert(bus);
            return Ok(port);
        }
    }
    Err(TestingError::StartFailed {
        what: "could not find a free port pair (p, p + 10000) on 127.0.0.1".to_owned(),
        log_tail: String::new(),
    })
}

fn start_cluster_node(
    binary: &Path,
    used_ports: &mut HashSet<u16>,
) -> Result<ClusterNode, TestingError> {
    let mut failures = Vec::new();
    for _ in 0..NODE_START_ATTEMPTS {
        let port = free_port_pair(used_ports)?;
        let (dir, dir_path) = make_tempdir("rom-redis-cluster-")?;
        let log = dir_path.join("redis.log");
        let mut args: Vec<std::ffi::OsString> = vec![
            "--port".into(),
            port.to_string().into(),
            "--bind".into(),
            "127.0.0.1".into(),
            "--cluster-enabled".into(),
            "yes".into(),
            "--cluster-config-file".into(),
            "nodes.conf".into(),
            "--cluster-node-timeout".into(),
            "5000".into(),
        ];
        args.extend(base_args(&dir_path, &log));
        let mut process = spawn(binary, &args)?;
        let admin = quiet_client(ConnectionAddr::Tcp(Ipv4Addr::LOCALHOST.to_string(), port))?;
        match wait_ready(&mut process, &admin)? {
            WaitOutcome::Ready => {
                return Ok(ClusterNode {
                    process,
                    port,
                    log,
                    admin,
                    dir,
                });
            }
            WaitOutcome::Exited(status) => {
                // Most likely the port was taken in between: retry on another one.
                failures.push(format!(
                    "=== port {port}: exited during startup ({status}) ===\n{}",
                    log_tail(&log)
                ));
            }
            WaitOutcome::TimedOut => {
                return Err(TestingError::StartFailed {
                    what: format!(
                        "cluster node {} did not answer on 127.0.0.1:{port} within {READY_TIMEOUT:?}",
                        binary.display()
                    ),
                    log_tail: log_tail(&log),
                });
            }
        }
    }
    Err(TestingError::StartFailed {
        what: format!(
            "cluster node {} failed to start {NODE_START_ATTEMPTS} times",
            binary.display()
        ),
        log_tail: failures.join("\n"),
    })
}

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
/// use rom_dsl::testing::{CountingConnection, RedisServer};
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
/// use rom_dsl::testing::{CountingAsyncConnection, RedisServer};
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let server = RedisServer::start()?;
/// let mut con = CountingAsyncConnection::new(server.multiplexed().await?);
/// redis::cmd("SET").arg("a").arg(1).exec_async(&mut con).await?;
/// redis::pipe().get("a").get("b").exec_async(&mut con).await?;
/// assert_eq!(con.round_trips(), 2);
/// # Ok(())
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

    #[test]
    fn server_set_get() {
        let server = RedisServer::start().unwrap();
        assert!(server.url().starts_with("redis+unix:///"));
        assert!(server.url().ends_with("/redis.sock"));
        let mut con = server.connection().unwrap();
        redis::cmd("SET").arg("k").arg("v").exec(&mut con).unwrap();
        let v: String = redis::cmd("GET").arg("k").query(&mut con).unwrap();
        assert_eq!(v, "v");

        // The URL works too.
        let mut con = redis::Client::open(server.url())
            .unwrap()
            .get_connection()
            .unwrap();
        let v: String = redis::cmd("GET").arg("k").query(&mut con).unwrap();
        assert_eq!(v, "v");
        assert!(server.used_memory().unwrap() > 0);
    }

    #[test]
    fn servers_are_isolated() {
        let a = RedisServer::start().unwrap();
        let b = RedisServer::start().unwrap();
        assert_ne!(a.socket_path(), b.socket_path());
        redis::cmd("SET")
            .arg("k")
            .arg(1)
            .exec(&mut a.connection().unwrap())
            .unwrap();
        let v: Option<i64> = redis::cmd("GET")
            .arg("k")
            .query(&mut b.connection().unwrap())
            .unwrap();
        assert_eq!(v, None);
    }

    #[test]
    fn drop_stops_process_and_removes_dir() {
        let server = RedisServer::start().unwrap();
        let dir = server.dir().to_owned();
        let socket = server.socket_path().to_owned();
        let pid = server.pid();
        assert!(socket.exists());
        drop(server);
        assert!(!dir.exists(), "{} still exists", dir.display());
        #[cfg(unix)]
        assert!(std::os::unix::net::UnixStream::connect(&socket).is_err());
        if cfg!(target_os = "linux") {
            // Killed *and* reaped: no zombie left behind.
            assert!(!Path::new(&format!("/proc/{pid}")).exists());
        }
    }

    #[test]
    fn extra_args_and_failed_start() {
        let server = RedisServer::start_with_args(&["--maxmemory", "10mb"]).unwrap();
        let mut con = server.connection().unwrap();
        let config: Vec<String> = redis::cmd("CONFIG")
            .arg("GET")
            .arg("maxmemory")
            .query(&mut con)
            .unwrap();
        assert_eq!(config, ["maxmemory", "10485760"]);

        let err = RedisServer::start_with_args(&["--no-such-option", "1"]).unwrap_err();
        match &err {
            TestingError::StartFailed { what, log_tail } => {
                assert!(what.contains("exited"), "{what}");
                assert!(!log_tail.is_empty());
            }
            other => panic!("unexpected error {other:?}"),
        }
    }

    #[test]
    fn handles_are_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<RedisServer>();
        assert_send_sync::<RedisCluster>();
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

    #[test]
    fn command_calls_sees_commands() {
        let server = RedisServer::start().unwrap();
        // Only the test's own traffic shows up.
        assert_eq!(server.command_calls().unwrap(), BTreeMap::new());
        assert_eq!(server.command_calls().unwrap(), BTreeMap::new());

        let mut con = server.connection().unwrap();
        redis::cmd("SET").arg("k").arg("v").exec(&mut con).unwrap();
        let calls = server.command_calls().unwrap();
        assert_eq!(calls.get("set"), Some(&1), "{calls:?}");
        redis::cmd("INFO").arg("server").exec(&mut con).unwrap();
        let calls = server.command_calls().unwrap();
        assert_eq!(calls.get("info"), Some(&1), "{calls:?}");

        server.reset_stats().unwrap();
        assert_eq!(server.command_calls().unwrap(), BTreeMap::new());
        redis::cmd("GET").arg("k").exec(&mut con).unwrap();
        let _ = server.used_memory().unwrap();
        let calls = server.command_calls().unwrap();
        assert_eq!(calls, BTreeMap::from([("get".to_owned(), 1)]));
    }

    #[test]
    fn cluster_starts_serves_and_stops() {
        let started = Instant::now();
        let cluster = RedisCluster::start(3).unwrap();
        let urls = cluster.urls();
        assert_eq!(urls.len(), 3);
        assert!(urls.iter().all(|u| u.starts_with("redis://127.0.0.1:")));

        let mut con = cluster.connection().unwrap();
        for i in 0..30 {
            redis::cmd("SET")
                .arg(format!("key:{i}"))
                .arg(i)
                .exec(&mut con)
                .unwrap();
        }
        for i in 0..30 {
            let v: i64 = redis::cmd("GET")
                .arg(format!("key:{i}"))
                .query(&mut con)
                .unwrap();
            assert_eq!(v, i);
        }
        // The keys really are spread over the three masters.
        for url in &urls {
            let mut node = redis::Client::open(url.as_str())
                .unwrap()
                .get_connection()
                .unwrap();
            let size: u64 = redis::cmd("DBSIZE").query(&mut node).unwrap();
            assert!(size > 0, "{url} holds no key");
        }

        let pids = cluster.pids();
        let dirs: Vec<PathBuf> = cluster.dirs().into_iter().map(Path::to_owned).collect();
        drop(con);
        drop(cluster);
        for dir in &dirs {
            assert!(!dir.exists(), "{} still exists", dir.display());
        }
        if cfg!(target_os = "linux") {
            for pid in pids {
                assert!(!Path::new(&format!("/proc/{pid}")).exists());
            }
        }
        assert!(started.elapsed() < Duration::from_secs(20));
    }

    #[test]
    fn encode_path_escapes() {
        assert_eq!(
            encode_path(Path::new("/tmp/a b/redis.sock")),
            "/tmp/a%20b/redis.sock"
        );
        let url = format!("redis+unix://{}", encode_path(Path::new("/tmp/a b/r.sock")));
        let info = url.as_str().into_connection_info().unwrap();
        assert_eq!(
            info.addr(),
            &ConnectionAddr::Unix(PathBuf::from("/tmp/a b/r.sock"))
        );
    }
}
