//! [`RedisSentinelGroup`]: a master, a replica and three Sentinels watching
//! them, all private processes on free TCP ports of `127.0.0.1`.

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use redis::ConnectionAddr;
use tempfile::TempDir;

use super::process::{
    WaitOutcome, admin_connection, base_args, info_field, log_tail, make_tempdir, quiet_client,
    spawn, wait_ready,
};
use super::supervisor::Supervised;
use super::{NODE_START_ATTEMPTS, READY_TIMEOUT, TestingError, redis_server_binary};

/// How many Sentinels watch the master.
const SENTINELS: usize = 3;
/// How many Sentinels must agree that the master is down before a failover.
const QUORUM: usize = 2;
/// After how long without an answer a Sentinel considers a node down.
const DOWN_AFTER_MS: u64 = 1000;
/// Sentinel's `failover-timeout` (it also spaces two failovers of one master
/// by twice this).
const FAILOVER_TIMEOUT_MS: u64 = 4000;
/// How long the group may take to form, and a failover to complete.
const GROUP_TIMEOUT: Duration = Duration::from_secs(30);
/// Interval between two polls of the Sentinels.
const SENTINEL_POLL: Duration = Duration::from_millis(50);

/// A `redis-server` of the group: the master or the replica.
#[derive(Debug)]
struct DataNode {
    // Field order matters: the process is killed before the directory is removed.
    process: Supervised,
    port: u16,
    socket: PathBuf,
    log: PathBuf,
    admin: redis::Client,
    dir: TempDir,
}

/// A `redis-server --sentinel` of the group.
#[derive(Debug)]
struct SentinelNode {
    process: Supervised,
    port: u16,
    log: PathBuf,
    admin: redis::Client,
    dir: TempDir,
}

/// A real Redis Sentinel deployment: one master, one replica of it, and
/// three Sentinels that monitor the master under the name
/// [`MASTER_NAME`](Self::MASTER_NAME) with a quorum of 2, declaring a node
/// down after 1 s without an answer (`down-after-milliseconds 1000`,
/// `failover-timeout 4000`).
///
/// Every process is a private `redis-server` (Sentinels are `redis-server
/// <config> --sentinel`) on a free TCP port of `127.0.0.1` in its own
/// temporary directory; the master and the replica also listen on a unix
/// socket there. Nothing is persisted. Dropping the value kills every
/// process and removes the directories, and so does the end of the test
/// process however it ends (each runs under a supervisor, see the [crate
/// documentation](crate)).
///
/// [`start`](Self::start) returns once the replica is in sync and every
/// Sentinel knows the master, the replica and the two other Sentinels, so a
/// failover can start at once: [`failover`](Self::failover) forces one
/// (`SENTINEL FAILOVER`), [`stop_master`](Self::stop_master) crashes the
/// master so that the Sentinels fail over by themselves. Every wait is
/// bounded (30 s) and fails with the tails of all logs.
///
/// ```
/// use rom_testing::RedisSentinelGroup;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let group = RedisSentinelGroup::start()?;
/// let (host, port) = group.master_addr()?; // as the Sentinels report it
/// let mut master = redis::Client::open(format!("redis://{host}:{port}"))?.get_connection()?;
/// redis::cmd("SET").arg("k").arg(1).exec(&mut master)?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct RedisSentinelGroup {
    // Field order matters: the Sentinels go first, so that they do not fail
    // over while the data nodes are being dropped.
    sentinels: Vec<SentinelNode>,
    /// The master at start, then the replica.
    nodes: Vec<DataNode>,
}

impl RedisSentinelGroup {
    /// The name the Sentinels know the master by: `"rommaster"`.
    ///
    /// ```
    /// assert_eq!(rom_testing::RedisSentinelGroup::MASTER_NAME, "rommaster");
    /// ```
    pub const MASTER_NAME: &'static str = "rommaster";

    /// Starts the master, the replica and the three Sentinels, and waits (up
    /// to about 30 s; a few seconds in practice) until the replica is in
    /// sync and every Sentinel knows the whole group.
    ///
    /// # Errors
    ///
    /// [`TestingError::NotInstalled`] without a `redis-server` binary,
    /// [`TestingError::StartFailed`] (with the log tails) if a process does
    /// not start or the group does not form in time, [`TestingError::Io`] or
    /// [`TestingError::Redis`] for other failures.
    ///
    /// ```
    /// let group = rom_testing::RedisSentinelGroup::start()?;
    /// assert_eq!(group.sentinel_urls().len(), 3);
    /// # Ok::<(), rom_testing::TestingError>(())
    /// ```
    pub fn start() -> Result<Self, TestingError> {
        let binary = redis_server_binary()?;
        let mut used_ports = HashSet::new();
        let master = start_data_node(&binary, &mut used_ports, None)?;
        let replica = start_data_node(&binary, &mut used_ports, Some(master.port))?;
        let master_port = master.port;
        let mut group = Self {
            sentinels: Vec::with_capacity(SENTINELS),
            nodes: vec![master, replica],
        };
        group.wait_for("the replica to sync with the master", |group| {
            let mut con = admin_connection(&group.nodes[1].admin)?;
            let info: String = redis::cmd("INFO").arg("replication").query(&mut con)?;
            let link = info_field(&info, "master_link_status").unwrap_or("?");
            Ok((link == "up")
                .then_some(())
                .ok_or(format!("master_link_status={link}")))
        })?;
        for _ in 0..SENTINELS {
            let sentinel = start_sentinel(&binary, &mut used_ports, master_port)?;
            group.sentinels.push(sentinel);
        }
        group.wait_for("the Sentinels to know the group", Self::group_known)?;
        Ok(group)
    }

    /// Whether every Sentinel sees the master up, the replica in sync and
    /// the other Sentinels.
    fn group_known(&self) -> Result<Result<(), String>, TestingError> {
        let mut missing = Vec::new();
        for sentinel in &self.sentinels {
            let mut con = admin_connection(&sentinel.admin)?;
            let master: HashMap<String, String> = redis::cmd("SENTINEL")
                .arg("MASTER")
                .arg(Self::MASTER_NAME)
                .query(&mut con)?;
            let replicas: Vec<HashMap<String, String>> = redis::cmd("SENTINEL")
                .arg("REPLICAS")
                .arg(Self::MASTER_NAME)
                .query(&mut con)?;
            let flags = master.get("flags").map_or("?", String::as_str);
            let others = master
                .get("num-other-sentinels")
                .map_or("?", String::as_str);
            let replica_ok = replicas.iter().any(|r| {
                r.get("flags").is_some_and(|f| f == "slave")
                    && r.get("master-link-status").is_some_and(|s| s == "ok")
            });
            let wanted_others = (SENTINELS - 1).to_string();
            if flags != "master" || others != wanted_others || !replica_ok {
                missing.push(format!(
                    "sentinel 127.0.0.1:{}: master flags={flags}, other sentinels={others}, \
                     replica in sync={replica_ok}",
                    sentinel.port
                ));
            }
        }
        Ok(if missing.is_empty() {
            Ok(())
        } else {
            Err(missing.join("; "))
        })
    }

    /// The master's name for the Sentinels, [`MASTER_NAME`](Self::MASTER_NAME).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let group = rom_testing::RedisSentinelGroup::start()?;
    /// let mut sentinel = redis::Client::open(group.sentinel_urls()[0].as_str())?.get_connection()?;
    /// let addr: (String, u16) = redis::cmd("SENTINEL")
    ///     .arg("GET-MASTER-ADDR-BY-NAME")
    ///     .arg(group.master_name())
    ///     .query(&mut sentinel)?;
    /// assert_eq!(addr, group.master_addr()?);
    /// # Ok(())
    /// # }
    /// ```
    pub fn master_name(&self) -> &str {
        Self::MASTER_NAME
    }

    /// The URLs of the three Sentinels, `redis://127.0.0.1:PORT`: what a
    /// Sentinel-aware client is given.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let group = rom_testing::RedisSentinelGroup::start()?;
    /// for url in group.sentinel_urls() {
    ///     let mut con = redis::Client::open(url)?.get_connection()?;
    ///     let pong: String = redis::cmd("PING").query(&mut con)?;
    ///     assert_eq!(pong, "PONG");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn sentinel_urls(&self) -> Vec<String> {
        self.sentinels
            .iter()
            .map(|sentinel| format!("redis://127.0.0.1:{}", sentinel.port))
            .collect()
    }

    /// The TCP ports of the three Sentinels.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let group = rom_testing::RedisSentinelGroup::start()?;
    /// assert_eq!(group.sentinel_ports().len(), 3);
    /// # Ok(())
    /// # }
    /// ```
    pub fn sentinel_ports(&self) -> Vec<u16> {
        self.sentinels
            .iter()
            .map(|sentinel| sentinel.port)
            .collect()
    }

    /// The TCP ports of the two data nodes: the master at start, then the
    /// replica (a failover swaps their roles, not this order).
    ///
    /// ```no_run
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let group = rom_testing::RedisSentinelGroup::start()?;
    /// let [first, _replica] = group.node_ports()[..] else { unreachable!() };
    /// assert_eq!(group.master_addr()?, ("127.0.0.1".to_owned(), first));
    /// # Ok(())
    /// # }
    /// ```
    pub fn node_ports(&self) -> Vec<u16> {
        self.nodes.iter().map(|node| node.port).collect()
    }

    /// The unix socket URLs of the two data nodes (`redis+unix:///...`), in
    /// the order of [`node_ports`](Self::node_ports).
    ///
    /// ```no_run
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let group = rom_testing::RedisSentinelGroup::start()?;
    /// let replica = &group.node_socket_urls()[1];
    /// let mut con = redis::Client::open(replica.as_str())?.get_connection()?;
    /// let role: redis::Role = redis::cmd("ROLE").query(&mut con)?;
    /// assert!(matches!(role, redis::Role::Replica { .. }));
    /// # Ok(())
    /// # }
    /// ```
    pub fn node_socket_urls(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|node| format!("redis+unix://{}", super::process::encode_path(&node.socket)))
            .collect()
    }

    /// The process ids: the data nodes (as [`node_ports`](Self::node_ports)),
    /// then the Sentinels.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let group = rom_testing::RedisSentinelGroup::start()?;
    /// assert_eq!(group.pids().len(), 5);
    /// # Ok(())
    /// # }
    /// ```
    pub fn pids(&self) -> Vec<u32> {
        let nodes = self.nodes.iter().map(|node| node.process.pid());
        nodes
            .chain(self.sentinels.iter().map(|s| s.process.pid()))
            .collect()
    }

    /// The temporary directories, in the order of [`pids`](Self::pids)
    /// (removed on drop).
    ///
    /// ```no_run
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let group = rom_testing::RedisSentinelGroup::start()?;
    /// let dirs: Vec<std::path::PathBuf> = group.dirs().into_iter().map(Into::into).collect();
    /// drop(group);
    /// assert!(dirs.iter().all(|dir| !dir.exists()));
    /// # Ok(())
    /// # }
    /// ```
    pub fn dirs(&self) -> Vec<&Path> {
        let nodes = self.nodes.iter().map(|node| node.dir.path());
        nodes
            .chain(self.sentinels.iter().map(|s| s.dir.path()))
            .collect()
    }

    /// The last lines of every log: the data nodes, then the Sentinels.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let group = rom_testing::RedisSentinelGroup::start()?;
    /// assert!(group.log_tails().contains("=== sentinel 127.0.0.1:"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn log_tails(&self) -> String {
        let nodes = self.nodes.iter().map(|node| {
            format!(
                "=== redis-server 127.0.0.1:{} ===\n{}",
                node.port,
                log_tail(&node.log)
            )
        });
        let sentinels = self.sentinels.iter().map(|sentinel| {
            format!(
                "=== sentinel 127.0.0.1:{} ===\n{}",
                sentinel.port,
                log_tail(&sentinel.log)
            )
        });
        nodes.chain(sentinels).collect::<Vec<_>>().join("\n")
    }

    /// The master's address as the Sentinels report it
    /// (`SENTINEL GET-MASTER-ADDR-BY-NAME`): the answer of the first
    /// Sentinel that answers. During a failover Sentinels may disagree for a
    /// moment; [`wait_for_new_master`](Self::wait_for_new_master) waits
    /// until they agree.
    ///
    /// # Errors
    ///
    /// [`TestingError::Redis`] if no Sentinel answers with an address.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let group = rom_testing::RedisSentinelGroup::start()?;
    /// let (host, port) = group.master_addr()?;
    /// assert_eq!(host, "127.0.0.1");
    /// assert_eq!(port, group.node_ports()[0]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn master_addr(&self) -> Result<(String, u16), TestingError> {
        let mut last = None;
        for sentinel in &self.sentinels {
            match self.ask_master_addr(sentinel) {
                Ok(Some(addr)) => return Ok(addr),
                Ok(None) => {}
                Err(err) => last = Some(err),
            }
        }
        Err(last.unwrap_or_else(|| {
            TestingError::Redis(redis::RedisError::from((
                redis::ErrorKind::MasterNameNotFoundBySentinel,
                "no Sentinel knows the master",
            )))
        }))
    }

    /// The master's URL, `redis://HOST:PORT`, from
    /// [`master_addr`](Self::master_addr).
    ///
    /// # Errors
    ///
    /// As for [`master_addr`](Self::master_addr).
    ///
    /// ```no_run
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let group = rom_testing::RedisSentinelGroup::start()?;
    /// let mut master = redis::Client::open(group.master_url()?)?.get_connection()?;
    /// redis::cmd("SET").arg("k").arg(1).exec(&mut master)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn master_url(&self) -> Result<String, TestingError> {
        let (host, port) = self.master_addr()?;
        Ok(format!("redis://{host}:{port}"))
    }

    /// A new synchronous connection to the current master (from
    /// [`master_addr`](Self::master_addr)), with 2 s to connect and 10 s to
    /// answer.
    ///
    /// # Errors
    ///
    /// [`TestingError::Redis`] if no Sentinel answers or the master cannot
    /// be reached.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let group = rom_testing::RedisSentinelGroup::start()?;
    /// let mut master = group.master_connection()?;
    /// let role: redis::Role = redis::cmd("ROLE").query(&mut master)?;
    /// assert!(matches!(role, redis::Role::Primary { .. }));
    /// # Ok(())
    /// # }
    /// ```
    pub fn master_connection(&self) -> Result<redis::Connection, TestingError> {
        let (host, port) = self.master_addr()?;
        admin_connection(&redis::Client::open(ConnectionAddr::Tcp(host, port))?)
    }

    /// Forces a failover (`SENTINEL FAILOVER rommaster`, sent to the first
    /// Sentinel that accepts it) and waits until it is complete (see
    /// [`wait_for_new_master`](Self::wait_for_new_master)). Returns the new
    /// master's address.
    ///
    /// The old master keeps running, and keeps accepting writes, until the
    /// Sentinels turn it into a replica of the new one, which they do when
    /// they next look at it (up to 10 s later); it then drops the writes it
    /// took meanwhile. That is the window a forced failover or a network
    /// split opens in a real deployment.
    ///
    /// # Errors
    ///
    /// [`TestingError::StartFailed`] with the log tails if no Sentinel
    /// accepts the failover or it does not complete within 30 s;
    /// [`TestingError::Redis`] if the Sentinels cannot be asked.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let group = rom_testing::RedisSentinelGroup::start()?;
    /// let before = group.master_addr()?;
    /// let after = group.failover()?;
    /// assert_ne!(before, after);
    /// assert_eq!(group.master_addr()?, after);
    /// # Ok(())
    /// # }
    /// ```
    pub fn failover(&self) -> Result<(String, u16), TestingError> {
        let old = self.master_addr()?;
        let deadline = Instant::now() + GROUP_TIMEOUT;
        let mut refusals = Vec::new();
        'accepted: loop {
            refusals.clear();
            for sentinel in &self.sentinels {
                if sentinel.process.exited().is_some() {
                    continue;
                }
                let mut con = admin_connection(&sentinel.admin)?;
                let answer: redis::RedisResult<()> = redis::cmd("SENTINEL")
                    .arg("FAILOVER")
                    .arg(Self::MASTER_NAME)
                    .exec(&mut con);
                match answer {
                    Ok(()) => break 'accepted,
                    Err(err) => refusals.push(format!("127.0.0.1:{}: {err}", sentinel.port)),
                }
            }
            if Instant::now() >= deadline {
                return Err(TestingError::StartFailed {
                    what: format!(
                        "no Sentinel accepted SENTINEL FAILOVER within {GROUP_TIMEOUT:?}: {}",
                        refusals.join("; ")
                    ),
                    log_tail: self.log_tails(),
                });
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        self.wait_for_new_master(&old)
    }

    /// Waits (up to 30 s) until every running Sentinel reports the same
    /// master, other than `old`, and that node answers `ROLE` as a master.
    /// Returns its address.
    ///
    /// # Errors
    ///
    /// [`TestingError::StartFailed`] with the log tails and what each
    /// Sentinel said last, if that does not happen in time;
    /// [`TestingError::Redis`] if a Sentinel cannot be reached.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut group = rom_testing::RedisSentinelGroup::start()?;
    /// let old = group.stop_master()?; // a crash: the Sentinels fail over by themselves
    /// let new = group.wait_for_new_master(&old)?;
    /// assert_ne!(new, old);
    /// # Ok(())
    /// # }
    /// ```
    pub fn wait_for_new_master(&self, old: &(String, u16)) -> Result<(String, u16), TestingError> {
        let what = format!("a new master instead of {}:{}", old.0, old.1);
        self.wait_for(&what, |group| {
            let mut seen = Vec::new();
            for sentinel in &group.sentinels {
                if sentinel.process.exited().is_some() {
                    continue;
                }
                seen.push(group.ask_master_addr(sentinel)?);
            }
            let Some(Some(first)) = seen.first() else {
                return Ok(Err(format!("sentinels answered {seen:?}")));
            };
            if seen.iter().any(|addr| addr.as_ref() != Some(first)) || first == old {
                return Ok(Err(format!("sentinels answered {seen:?}")));
            }
            let role = redis::Client::open(ConnectionAddr::Tcp(first.0.clone(), first.1))
                .and_then(|client| client.get_connection_with_timeout(Duration::from_secs(1)))
                .and_then(|mut con| {
                    con.set_read_timeout(Some(Duration::from_secs(2)))?;
                    redis::cmd("ROLE").query::<redis::Role>(&mut con)
                });
            Ok(match role {
                Ok(redis::Role::Primary { .. }) => Ok(first.clone()),
                other => Err(format!(
                    "sentinels agree on {}:{}, whose ROLE is {other:?}",
                    first.0, first.1
                )),
            })
        })
    }

    /// Kills the current master as a crash would (`SIGKILL`), and returns the
    /// address it had. With the master gone, the Sentinels agree it is down
    /// after about a second and promote the replica: wait for that with
    /// [`wait_for_new_master`](Self::wait_for_new_master). The killed node
    /// stays down (its directory stays until the group is dropped).
    ///
    /// # Errors
    ///
    /// [`TestingError::Redis`] if no Sentinel answers,
    /// [`TestingError::StartFailed`] if the reported master is not a node of
    /// the group or could not be confirmed stopped.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut group = rom_testing::RedisSentinelGroup::start()?;
    /// let old = group.stop_master()?;
    /// assert!(redis::Client::open(format!("redis://{}:{}", old.0, old.1))?.get_connection().is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn stop_master(&mut self) -> Result<(String, u16), TestingError> {
        let addr = self.master_addr()?;
        let log_tail = self.log_tails();
        let Some(node) = self.nodes.iter_mut().find(|node| node.port == addr.1) else {
            return Err(TestingError::StartFailed {
                what: format!(
                    "the Sentinels report {}:{}, which is not a node of the group",
                    addr.0, addr.1
                ),
                log_tail,
            });
        };
        node.process.stop()?;
        Ok(addr)
    }

    /// `SENTINEL GET-MASTER-ADDR-BY-NAME` on one Sentinel (`None`: it does
    /// not know the name).
    fn ask_master_addr(
        &self,
        sentinel: &SentinelNode,
    ) -> Result<Option<(String, u16)>, TestingError> {
        let mut con = admin_connection(&sentinel.admin)?;
        Ok(redis::cmd("SENTINEL")
            .arg("GET-MASTER-ADDR-BY-NAME")
            .arg(Self::MASTER_NAME)
            .query(&mut con)?)
    }

    /// Polls `check` until it returns `Ok(Ok(value))`, for at most
    /// [`GROUP_TIMEOUT`]; `Ok(Err(state))` means "not yet", and `state` goes
    /// into the timeout's message.
    fn wait_for<T>(
        &self,
        what: &str,
        mut check: impl FnMut(&Self) -> Result<Result<T, String>, TestingError>,
    ) -> Result<T, TestingError> {
        let deadline = Instant::now() + GROUP_TIMEOUT;
        loop {
            let state = match check(self) {
                Ok(Ok(value)) => return Ok(value),
                Ok(Err(state)) => state,
                Err(err) => err.to_string(),
            };
            if Instant::now() >= deadline {
                return Err(TestingError::StartFailed {
                    what: format!("waited {GROUP_TIMEOUT:?} for {what}; last seen: {state}"),
                    log_tail: self.log_tails(),
                });
            }
            std::thread::sleep(SENTINEL_POLL);
        }
    }
}

/// A free TCP port of 127.0.0.1 not handed out before (in `used`).
fn free_port(used: &mut HashSet<u16>) -> Result<u16, TestingError> {
    for _ in 0..200 {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
            .local_addr()?
            .port();
        if used.insert(port) {
            return Ok(port);
        }
    }
    Err(TestingError::StartFailed {
        what: "could not find a free port on 127.0.0.1".to_owned(),
        log_tail: String::new(),
    })
}

/// A process started on a free port, with its directory and log.
struct Started {
    process: Supervised,
    port: u16,
    log: PathBuf,
    admin: redis::Client,
    dir: TempDir,
    dir_path: PathBuf,
}

/// Starts `redis-server` with the arguments `args(port, dir, log)` gives,
/// on a fresh free port, until it answers; retries on another port when it
/// exits during startup (most likely, another process took the port).
fn start_on_free_port(
    binary: &Path,
    used_ports: &mut HashSet<u16>,
    what: &str,
    args: impl Fn(u16, &Path, &Path) -> Result<Vec<OsString>, TestingError>,
) -> Result<Started, TestingError> {
    let mut failures = Vec::new();
    for _ in 0..NODE_START_ATTEMPTS {
        let port = free_port(used_ports)?;
        let (dir, dir_path) = make_tempdir("rom-redis-sentinel-")?;
        let log = dir_path.join("redis.log");
        let process = spawn(binary, &args(port, &dir_path, &log)?, &dir_path)?;
        let admin = quiet_client(ConnectionAddr::Tcp(Ipv4Addr::LOCALHOST.to_string(), port))?;
        match wait_ready(&process, &admin) {
            WaitOutcome::Ready => {
                return Ok(Started {
                    process,
                    port,
                    log,
                    admin,
                    dir,
                    dir_path,
                });
            }
            WaitOutcome::Exited(status) => failures.push(format!(
                "=== {what} on port {port}: exited during startup ({status}) ===\n{}",
                log_tail(&log)
            )),
            WaitOutcome::TimedOut => {
                return Err(TestingError::StartFailed {
                    what: format!(
                        "{what} ({}) did not answer on 127.0.0.1:{port} within {READY_TIMEOUT:?}",
                        binary.display()
                    ),
                    log_tail: log_tail(&log),
                });
            }
        }
    }
    Err(TestingError::StartFailed {
        what: format!("{what} failed to start {NODE_START_ATTEMPTS} times"),
        log_tail: failures.join("\n"),
    })
}

/// Starts the master (`replica_of: None`) or a replica of the master on
/// `replica_of`.
fn start_data_node(
    binary: &Path,
    used_ports: &mut HashSet<u16>,
    replica_of: Option<u16>,
) -> Result<DataNode, TestingError> {
    let what = if replica_of.is_some() {
        "replica"
    } else {
        "master"
    };
    let started = start_on_free_port(binary, used_ports, what, |port, dir, log| {
        let mut args: Vec<OsString> = vec![
            "--port".into(),
            port.to_string().into(),
            "--bind".into(),
            "127.0.0.1".into(),
            "--unixsocket".into(),
            dir.join("redis.sock").into(),
            "--unixsocketperm".into(),
            "700".into(),
            // a replica (or a demoted master) syncs at once, not after 5 s
            "--repl-diskless-sync".into(),
            "yes".into(),
            "--repl-diskless-sync-delay".into(),
            "0".into(),
        ];
        if let Some(master) = replica_of {
            args.push("--replicaof".into());
            args.push("127.0.0.1".into());
            args.push(master.to_string().into());
        }
        args.extend(base_args(dir, log));
        Ok(args)
    })?;
    Ok(DataNode {
        socket: started.dir_path.join("redis.sock"),
        process: started.process,
        port: started.port,
        log: started.log,
        admin: started.admin,
        dir: started.dir,
    })
}

/// Starts a Sentinel monitoring the master on `master_port`.
fn start_sentinel(
    binary: &Path,
    used_ports: &mut HashSet<u16>,
    master_port: u16,
) -> Result<SentinelNode, TestingError> {
    let name = RedisSentinelGroup::MASTER_NAME;
    let started = start_on_free_port(binary, used_ports, "sentinel", |port, dir, log| {
        // Sentinel rewrites its configuration file, so it must be a file of
        // its own; the paths go on the command line, which Redis quotes.
        let config = dir.join("sentinel.conf");
        std::fs::write(
            &config,
            format!(
                "sentinel monitor {name} 127.0.0.1 {master_port} {QUORUM}\n\
                 sentinel down-after-milliseconds {name} {DOWN_AFTER_MS}\n\
                 sentinel failover-timeout {name} {FAILOVER_TIMEOUT_MS}\n\
                 sentinel parallel-syncs {name} 1\n"
            ),
        )?;
        let mut args: Vec<OsString> = vec![config.into(), "--sentinel".into()];
        for (flag, value) in [
            ("--port", OsString::from(port.to_string())),
            ("--bind", "127.0.0.1".into()),
            ("--daemonize", "no".into()),
            ("--dir", dir.into()),
            ("--logfile", log.into()),
        ] {
            args.push(flag.into());
            args.push(value);
        }
        Ok(args)
    })?;
    Ok(SentinelNode {
        process: started.process,
        port: started.port,
        log: started.log,
        admin: started.admin,
        dir: started.dir,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn group_starts_fails_over_and_cleans_up() {
        let started = Instant::now();
        let group = RedisSentinelGroup::start().unwrap();
        eprintln!("group formed in {:?}", started.elapsed());
        let first = group.master_addr().unwrap();
        assert_eq!(first.1, group.node_ports()[0]);

        let mut master = group.master_connection().unwrap();
        redis::cmd("SET")
            .arg("k")
            .arg("v")
            .exec(&mut master)
            .unwrap();
        redis::cmd("WAIT")
            .arg(1)
            .arg(1000)
            .exec(&mut master)
            .unwrap();

        let failing_over = Instant::now();
        let second = group.failover().unwrap();
        eprintln!("failover in {:?}", failing_over.elapsed());
        assert_eq!(second.1, group.node_ports()[1]);
        let mut master = group.master_connection().unwrap();
        let value: String = redis::cmd("GET").arg("k").query(&mut master).unwrap();
        assert_eq!(value, "v");

        // and back: the demoted master is a replica in sync again
        let failing_back = Instant::now();
        let third = group.failover().unwrap();
        eprintln!("failover back in {:?}", failing_back.elapsed());
        assert_eq!(third, first);

        let pids = group.pids();
        let dirs: Vec<PathBuf> = group.dirs().into_iter().map(Path::to_owned).collect();
        drop(master);
        drop(group);
        for dir in &dirs {
            assert!(!dir.exists(), "{} still exists", dir.display());
        }
        if cfg!(target_os = "linux") {
            for pid in pids {
                assert!(!Path::new(&format!("/proc/{pid}")).exists());
            }
        }
    }
}
