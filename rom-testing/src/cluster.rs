//! [`RedisCluster`]: a real local Redis Cluster of private nodes.

use std::collections::HashSet;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use redis::{ConnectionAddr, RedisResult, Value};
use tempfile::TempDir;

use super::process::{
    WaitOutcome, admin_connection, base_args, info_field, log_tail, make_tempdir, quiet_client,
    spawn, wait_ready,
};
use super::supervisor::Supervised;

mod failover;
use super::{
    CLUSTER_BUS_OFFSET, CLUSTER_SLOTS, CLUSTER_TIMEOUT, NODE_START_ATTEMPTS, READY_TIMEOUT,
    TestingError, redis_server_binary,
};
use failover::parse_cluster_nodes;

/// One node of a [`RedisCluster`].
#[derive(Debug)]
struct ClusterNode {
    // Field order matters: the process is killed before the directory is removed.
    process: Supervised,
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
/// their directories; so does the end of the test process, however it ends
/// (each node runs under a supervisor, see the [crate documentation](crate)).
///
/// [`start_with_replicas`](Self::start_with_replicas) starts a cluster whose
/// masters each have one replica, with a short `cluster-node-timeout`, for
/// failover tests: [`slot_nodes`](Self::slot_nodes) tells which node serves a
/// slot and which replicates it, [`kill_node`](Self::kill_node) crashes a
/// node (`SIGKILL`), and [`wait_for_failover`](Self::wait_for_failover)
/// waits until a replica has taken over the slot.
///
/// ```
/// use rom_testing::RedisCluster;
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

    /// The `cluster-node-timeout` (milliseconds) of the nodes of
    /// [`start_with_replicas`](Self::start_with_replicas): a master that does
    /// not answer for this long is suspected, and soon after replaced by its
    /// replica. ([`start`](Self::start) uses 5000.)
    pub const FAILOVER_NODE_TIMEOUT_MS: u32 = 1000;

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
            nodes.push(start_cluster_node(
                &binary,
                &mut used_ports,
                NODE_TIMEOUT_MS,
            )?);
        }
        let cluster = Self { nodes };
        cluster.form(masters)?;
        Ok(cluster)
    }

    /// Starts a cluster of `masters` masters (at least 1), each with one
    /// replica (`2 * masters` nodes), and waits (up to about 20 s) until it is
    /// fully formed: every node knows every other, all slots are served, every
    /// replica is linked to its master and every node knows who replicates
    /// whom.
    ///
    /// The nodes run with a `cluster-node-timeout` of
    /// [`FAILOVER_NODE_TIMEOUT_MS`](Self::FAILOVER_NODE_TIMEOUT_MS), so that
    /// a replica takes over a few seconds after its master dies. Nothing is
    /// persisted (no RDB, no AOF): what survives a failover is what reached
    /// the replica, e.g. what `WAIT 1 <ms>` confirmed. [`ports`](Self::ports),
    /// [`urls`](Self::urls) and [`pids`](Self::pids) list the masters first,
    /// then the replicas (replica `i` replicates master `i`), but a failover
    /// changes the roles: ask [`slot_nodes`](Self::slot_nodes).
    ///
    /// # Errors
    ///
    /// As for [`start`](Self::start).
    ///
    /// ```no_run
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut cluster = rom_testing::RedisCluster::start_with_replicas(3)?;
    /// let (master, replicas) = cluster.slot_nodes(0)?;
    /// assert_eq!(replicas.len(), 1);
    /// cluster.kill_node(master)?;
    /// let new_master = cluster.wait_for_failover(0, master)?;
    /// assert_eq!(new_master, replicas[0]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn start_with_replicas(masters: usize) -> Result<Self, TestingError> {
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
        let mut nodes = Vec::with_capacity(2 * masters);
        for _ in 0..2 * masters {
            nodes.push(start_cluster_node(
                &binary,
                &mut used_ports,
                Self::FAILOVER_NODE_TIMEOUT_MS,
            )?);
        }
        let cluster = Self { nodes };
        cluster.form(masters)?;
        Ok(cluster)
    }

    /// Forms the cluster: the first `masters` nodes share the slots, the
    /// others (if any) replicate them, node `masters + i` master `i`.
    fn form(&self, masters: usize) -> Result<(), TestingError> {
        let n = masters;
        let total = self.nodes.len();
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
            if i >= n {
                continue;
            }
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
        if total > n {
            self.attach_replicas(n, &mut cons, deadline)?;
        }
        let expected_nodes = total.to_string();
        let expected_slots = CLUSTER_SLOTS.to_string();
        loop {
            let mut states = Vec::with_capacity(total);
            for (i, (node, con)) in self.nodes.iter().zip(cons.iter_mut()).enumerate() {
                let info: String = redis::cmd("CLUSTER").arg("INFO").query(con)?;
                let state = info_field(&info, "cluster_state").unwrap_or("?");
                let known = info_field(&info, "cluster_known_nodes").unwrap_or("?");
                let slots = info_field(&info, "cluster_slots_ok").unwrap_or("?");
                let mut ok = state == "ok" && known == expected_nodes && slots == expected_slots;
                let mut line = format!(
                    "127.0.0.1:{}: cluster_state={state} known_nodes={known} slots_ok={slots}",
                    node.port
                );
                if total > n {
                    // Every node must know every replica as such (the masters
                    // vote in a failover), and each replica must be linked.
                    let nodes: String = redis::cmd("CLUSTER").arg("NODES").query(con)?;
                    let replicas = parse_cluster_nodes(&nodes)
                        .iter()
                        .filter(|entry| entry.has_flag("slave"))
                        .count();
                    ok &= replicas == total - n;
                    let _ = write!(line, " replicas_known={replicas}");
                    if i >= n {
                        let info: String = redis::cmd("INFO").arg("replication").query(con)?;
                        let link = info_field(&info, "master_link_status").unwrap_or("?");
                        ok &= link == "up";
                        let _ = write!(line, " master_link_status={link}");
                    }
                    // `CLUSTER SLOTS` (which clients read their topology
                    // from, once) lists a replica only after its master
                    // heard a replication offset from it: until then a
                    // client that reads from replicas would find none
                    let ranges: Vec<redis::Value> =
                        redis::cmd("CLUSTER").arg("SLOTS").query(con)?;
                    let listed = ranges
                        .iter()
                        .filter(|r| matches!(r, redis::Value::Array(parts) if parts.len() > 3))
                        .count();
                    ok &= !ranges.is_empty() && listed == ranges.len();
                    let _ = write!(line, " ranges_with_replicas={listed}/{}", ranges.len());
                }
                states.push((ok, line));
            }
            if states.iter().all(|(ok, _)| *ok) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                let summary: Vec<String> = states.into_iter().map(|(_, s)| s).collect();
                return Err(TestingError::StartFailed {
                    what: format!(
                        "the {total}-node cluster did not converge within {CLUSTER_TIMEOUT:?}: {}",
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
        self.nodes.iter().map(|node| node.process.pid()).collect()
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
    /// let cluster = rom_testing::RedisCluster::start(3)?;
    /// let mut con = cluster.async_connection().await?;
    /// redis::cmd("SET").arg("k").arg(1).exec_async(&mut con).await?;
    /// # Ok(())
    /// # }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(demo())
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

const NODE_TIMEOUT_MS: u32 = 5000;

fn start_cluster_node(
    binary: &Path,
    used_ports: &mut HashSet<u16>,
    node_timeout_ms: u32,
) -> Result<ClusterNode, TestingError> {
    let mut failures = Vec::new();
    for _ in 0..NODE_START_ATTEMPTS {
        let port = free_port_pair(used_ports)?;
        let (dir, dir_path) = make_tempdir("rom-redis-cluster-")?;
        let log = dir_path.join("redis.log");
        let mut args: Vec<OsString> = vec![
            "--port".into(),
            port.to_string().into(),
            "--bind".into(),
            "127.0.0.1".into(),
            "--cluster-enabled".into(),
            "yes".into(),
            "--cluster-config-file".into(),
            "nodes.conf".into(),
            "--cluster-node-timeout".into(),
            node_timeout_ms.to_string().into(),
        ];
        args.extend(base_args(&dir_path, &log));
        let process = spawn(binary, &args, &dir_path)?;
        let admin = quiet_client(ConnectionAddr::Tcp(Ipv4Addr::LOCALHOST.to_string(), port))?;
        match wait_ready(&process, &admin) {
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

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
}
