//! [`RedisServer`]: one private `redis-server` on a unix socket.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use redis::ConnectionAddr;
use tempfile::TempDir;

use super::process::{
    WaitOutcome, admin_connection, base_args, encode_path, info_field, log_tail, make_tempdir,
    parse_error, quiet_client, spawn, wait_ready,
};
use super::supervisor::Supervised;
use super::{READY_TIMEOUT, TestingError, redis_server_binary};

/// A private, throwaway `redis-server` process.
///
/// It lives in a fresh temporary directory, listens only on the unix socket
/// `<dir>/redis.sock` (no TCP port), persists nothing (`--save ''
/// --appendonly no`) and logs to `<dir>/redis.log`. Dropping the value kills
/// the process (SIGKILL), reaps it and removes the directory; so does the end
/// of the test process, however it ends (the server runs under a supervisor
/// that watches a pipe from this process, see the [crate
/// documentation](crate)).
///
/// [`stop`](Self::stop) and [`restart`](Self::restart) simulate a crash and
/// a restart of the server on the same socket, to test how code behaves
/// while Redis is away.
///
/// `RESETSTAT` is issued once the server is up, and the commands this type
/// sends for its own bookkeeping are subtracted from
/// [`command_calls`](Self::command_calls), so the statistics reflect only
/// what the test itself sent.
///
/// ```
/// use rom_testing::RedisServer;
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
    process: Supervised,
    /// Supervisors of earlier runs (before [`restart`](Self::restart)): their
    /// servers are gone, they remove the directory once the owner lets go.
    retired: Vec<Supervised>,
    binary: PathBuf,
    args: Vec<OsString>,
    dir_path: PathBuf,
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
    /// let server = rom_testing::RedisServer::start()?;
    /// assert!(server.socket_path().exists());
    /// # Ok::<(), rom_testing::TestingError>(())
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
    /// use rom_testing::RedisServer;
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

        let mut args: Vec<OsString> = vec![
            "--port".into(),
            "0".into(),
            "--unixsocket".into(),
            socket.clone().into(),
            "--unixsocketperm".into(),
            "700".into(),
        ];
        args.extend(base_args(&dir_path, &log));
        args.extend(extra.iter().map(Into::into));

        let admin = quiet_client(ConnectionAddr::Unix(socket.clone()))?;
        let process = launch(&binary, &args, &dir_path, &socket, &log, &admin)?;
        let server = Self {
            process,
            retired: Vec::new(),
            binary,
            args,
            dir_path,
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
    /// let server = rom_testing::RedisServer::start()?;
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
        self.process.pid()
    }

    /// Whether the server process is running (it is, unless it crashed or
    /// was [`stop`](Self::stop)ped).
    pub fn is_running(&self) -> bool {
        self.process.exited().is_none()
    }

    /// Kills the server as a crash would (`SIGKILL`) and waits until the
    /// process is gone. The directory stays; connections fail until
    /// [`restart`](Self::restart). Does nothing if the server is not running.
    ///
    /// # Errors
    ///
    /// [`TestingError::Io`] or [`TestingError::StartFailed`] if the process
    /// could not be confirmed gone.
    ///
    /// ```
    /// let mut server = rom_testing::RedisServer::start()?;
    /// server.stop()?;
    /// assert!(!server.is_running());
    /// assert!(server.connection().is_err());
    /// # Ok::<(), rom_testing::TestingError>(())
    /// ```
    pub fn stop(&mut self) -> Result<(), TestingError> {
        self.process.stop()
    }

    /// Starts the server again with the same arguments on the same socket
    /// (stopping it first if it runs), and waits until it answers. Like a
    /// real restart, the data is gone unless the arguments enabled
    /// persistence (`--appendonly yes`, the files stay in [`dir`](Self::dir)).
    /// Existing connections are broken; new ones work.
    ///
    /// # Errors
    ///
    /// As for [`start`](Self::start).
    ///
    /// ```
    /// use rom_testing::RedisServer;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut server = RedisServer::start()?;
    /// let before = server.pid();
    /// server.restart()?;
    /// assert_ne!(server.pid(), before);
    /// let pong: String = redis::cmd("PING").query(&mut server.connection()?)?;
    /// assert_eq!(pong, "PONG");
    /// # Ok(())
    /// # }
    /// ```
    pub fn restart(&mut self) -> Result<(), TestingError> {
        self.stop()?;
        let process = launch(
            &self.binary,
            &self.args,
            &self.dir_path,
            &self.socket,
            &self.log,
            &self.admin,
        )?;
        let old = std::mem::replace(&mut self.process, process);
        self.retired.push(old);
        self.reset_stats()
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
    /// let server = rom_testing::RedisServer::start()?;
    /// let mut con = server.multiplexed().await?;
    /// redis::cmd("SET").arg("k").arg(1).exec_async(&mut con).await?;
    /// # Ok(())
    /// # }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(demo())
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
    ///
    /// ```
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let server = rom_testing::RedisServer::start()?;
    /// let mut con = server.manager().await?;
    /// redis::cmd("SET").arg("k").arg(1).exec_async(&mut con).await?;
    /// # Ok(())
    /// # }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(demo())
    /// # }
    /// ```
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
    /// let server = rom_testing::RedisServer::start()?;
    /// assert!(server.used_memory()? > 0);
    /// # Ok::<(), rom_testing::TestingError>(())
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
    /// use rom_testing::RedisServer;
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

/// Starts `redis-server` under a supervisor and waits until it answers on
/// `admin`.
fn launch(
    binary: &Path,
    args: &[OsString],
    dir: &Path,
    socket: &Path,
    log: &Path,
    admin: &redis::Client,
) -> Result<Supervised, TestingError> {
    let process = spawn(binary, args, dir)?;
    match wait_ready(&process, admin) {
        WaitOutcome::Ready => Ok(process),
        WaitOutcome::Exited(status) => Err(TestingError::StartFailed {
            what: format!("{} exited during startup ({status})", binary.display()),
            log_tail: log_tail(log),
        }),
        WaitOutcome::TimedOut => Err(TestingError::StartFailed {
            what: format!(
                "{} did not answer on {} within {READY_TIMEOUT:?}",
                binary.display(),
                socket.display(),
            ),
            log_tail: log_tail(log),
        }),
    }
}

#[cfg(test)]
mod tests;
