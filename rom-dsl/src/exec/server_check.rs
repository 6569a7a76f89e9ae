//! Server checks.
//! Public as `rom_dsl::server_check` (`src/server_check.rs`).

#[cfg(feature = "tokio")]
use crate::connection::AsyncConnection;
use crate::connection::Connection;
use crate::error::Result;
use redis::{RedisResult, Value};

/// The oldest Redis version rom runs on (major, minor): 7.0, for the scripts'
/// flags and `ZRANGE ... BYSCORE/BYLEX`.
///
/// ```
/// assert_eq!(rom_dsl::server_check::MIN_VERSION, (7, 0));
/// ```
pub const MIN_VERSION: (u32, u32) = (7, 0);

/// A server's `maxmemory-policy`: what it removes when its memory reaches
/// `maxmemory`.
///
/// ```
/// use rom_dsl::server_check::EvictionPolicy;
/// assert_eq!(EvictionPolicy::parse("noeviction"), EvictionPolicy::NoEviction);
/// assert!(EvictionPolicy::parse("allkeys-lru").can_evict_rom_keys());
/// assert!(!EvictionPolicy::parse("volatile-ttl").can_evict_rom_keys());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EvictionPolicy {
    /// `noeviction`, the recommended policy: nothing is removed; once memory is
    /// full, writes fail with an `OOM` error (and rom writes nothing).
    NoEviction,
    /// `volatile-lru`, `volatile-lfu`, `volatile-random` or `volatile-ttl`:
    /// only keys with a time to live are removed. rom sets none, so its keys
    /// are safe unless another program sets an `EXPIRE` on them; once no key
    /// with a TTL is left, writes fail with `OOM` as under `noeviction`.
    Volatile(String),
    /// `allkeys-lru`, `allkeys-lfu` or `allkeys-random`: any key can be
    /// removed, rom's too, one key of a row at a time.
    AllKeys(String),
    /// A policy rom does not know: assumed to evict any key.
    Other(String),
}

impl EvictionPolicy {
    /// The policy named as in `CONFIG GET maxmemory-policy`.
    ///
    /// ```
    /// use rom_dsl::server_check::EvictionPolicy;
    /// assert_eq!(EvictionPolicy::parse("allkeys-lfu"), EvictionPolicy::AllKeys("allkeys-lfu".into()));
    /// ```
    pub fn parse(name: &str) -> Self {
        let name = name.trim().to_ascii_lowercase();
        if name == "noeviction" {
            EvictionPolicy::NoEviction
        } else if name.starts_with("volatile-") {
            EvictionPolicy::Volatile(name)
        } else if name.starts_with("allkeys-") {
            EvictionPolicy::AllKeys(name)
        } else {
            EvictionPolicy::Other(name)
        }
    }

    /// The policy's name, as the server spells it.
    ///
    /// ```
    /// use rom_dsl::server_check::EvictionPolicy;
    /// assert_eq!(EvictionPolicy::NoEviction.name(), "noeviction");
    /// ```
    pub fn name(&self) -> &str {
        match self {
            EvictionPolicy::NoEviction => "noeviction",
            EvictionPolicy::Volatile(n) | EvictionPolicy::AllKeys(n) | EvictionPolicy::Other(n) => {
                n
            }
        }
    }

    /// Whether the server may remove keys rom wrote (which have no TTL).
    ///
    /// ```
    /// use rom_dsl::server_check::EvictionPolicy;
    /// assert!(!EvictionPolicy::NoEviction.can_evict_rom_keys());
    /// ```
    pub fn can_evict_rom_keys(&self) -> bool {
        matches!(self, EvictionPolicy::AllKeys(_) | EvictionPolicy::Other(_))
    }
}

/// What one server said about itself. A fact it would not give (a command
/// refused by an ACL, renamed or disabled) is `None`, and [`unknown`](Self::unknown)
/// says why.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let server = rom_testing::RedisServer::start_with_args(&["--maxmemory", "10mb"])?;
/// let report = rom_dsl::check_server(&mut server.connection()?)?;
/// let info = &report.servers[0];
/// assert_eq!(info.maxmemory, Some(10 * 1024 * 1024));
/// assert!(info.version.is_some());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct ServerInfo {
    /// The node's address on a cluster connection; `None` on a connection to
    /// one server.
    pub address: Option<String>,
    /// `redis_version` from `INFO`.
    pub version: Option<String>,
    /// `maxmemory` in bytes (0: no limit, so nothing is ever evicted until one
    /// is set).
    pub maxmemory: Option<u64>,
    /// `maxmemory-policy`.
    pub policy: Option<EvictionPolicy>,
    /// Why a fact is missing, one line per command the server refused.
    pub unknown: Vec<String>,
}

/// A reason rom's guarantees may not hold on a server.
///
/// ```
/// use rom_dsl::server_check::Problem;
/// let p = Problem::OldVersion { server: None, version: "6.2.14".into() };
/// assert_eq!(p.to_string(), "Redis 6.2.14 is older than 7.0, which rom needs");
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    /// The server is older than [`MIN_VERSION`]: rom's scripts fail on it.
    #[error("{}Redis {version} is older than 7.0, which rom needs", at(server))]
    OldVersion {
        /// The node's address, on a cluster.
        server: Option<String>,
        /// `redis_version` as the server gives it.
        version: String,
    },
    /// The server's `maxmemory-policy` can evict rom's keys: a row without
    /// its index entries, or the reverse. Use `noeviction` (or a `volatile-*`
    /// policy).
    #[error(
        "{}maxmemory-policy {policy} can evict rom's keys one at a time (a row without its index entries, or the reverse){}; set it to noeviction",
        at(server),
        limit(*maxmemory)
    )]
    EvictingPolicy {
        /// The node's address, on a cluster.
        server: Option<String>,
        /// The policy's name.
        policy: String,
        /// `maxmemory`, if known.
        maxmemory: Option<u64>,
    },
}

fn at(server: &Option<String>) -> String {
    server
        .as_ref()
        .map(|s| format!("{s}: "))
        .unwrap_or_default()
}

fn limit(maxmemory: Option<u64>) -> String {
    match maxmemory {
        Some(0) => " once a maxmemory is set (none is now)".into(),
        Some(n) => format!(" when memory reaches maxmemory ({n} bytes)"),
        None => String::new(),
    }
}

/// What [`check_server`] found: one [`ServerInfo`] per server that answered.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let server = rom_testing::RedisServer::start_with_args(&["--maxmemory-policy", "noeviction"])?;
/// let report = rom_dsl::check_server(&mut server.connection()?)?;
/// assert!(report.is_ok(), "{report}");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct ServerReport {
    /// One entry on a connection to one server; one per primary on a cluster
    /// connection (when `INFO` answers).
    pub servers: Vec<ServerInfo>,
}

impl ServerReport {
    /// Every problem found, server by server. Facts the server would not give
    /// are not problems; they are listed in each [`ServerInfo::unknown`].
    ///
    /// ```
    /// let report = rom_dsl::server_check::ServerReport::default();
    /// assert!(report.problems().is_empty());
    /// ```
    pub fn problems(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        for s in &self.servers {
            if let Some(v) = &s.version
                && version_of(v).is_some_and(|mm| mm < MIN_VERSION)
            {
                out.push(Problem::OldVersion {
                    server: s.address.clone(),
                    version: v.clone(),
                });
            }
            if let Some(p) = &s.policy
                && p.can_evict_rom_keys()
            {
                out.push(Problem::EvictingPolicy {
                    server: s.address.clone(),
                    policy: p.name().to_owned(),
                    maxmemory: s.maxmemory,
                });
            }
        }
        out
    }

    /// True when no problem was found.
    ///
    /// ```
    /// assert!(rom_dsl::server_check::ServerReport::default().is_ok());
    /// ```
    pub fn is_ok(&self) -> bool {
        self.problems().is_empty()
    }

    /// True when every server gave its version, `maxmemory` and policy.
    ///
    /// ```
    /// assert!(rom_dsl::server_check::ServerReport::default().is_complete());
    /// ```
    pub fn is_complete(&self) -> bool {
        self.servers
            .iter()
            .all(|s| s.version.is_some() && s.maxmemory.is_some() && s.policy.is_some())
    }
}

impl std::fmt::Display for ServerReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let unknown = |o: Option<String>| o.unwrap_or_else(|| "unknown".into());
        for s in &self.servers {
            writeln!(
                f,
                "{}Redis {}, maxmemory {}, maxmemory-policy {}",
                at(&s.address),
                unknown(s.version.clone()),
                unknown(s.maxmemory.map(|m| m.to_string())),
                unknown(s.policy.as_ref().map(|p| p.name().to_owned())),
            )?;
            for u in &s.unknown {
                writeln!(f, "  unknown: {u}")?;
            }
        }
        for p in self.problems() {
            writeln!(f, "problem: {p}")?;
        }
        Ok(())
    }
}

/// `major.minor` of a version string (`7.2.4` → (7, 2)).
fn version_of(v: &str) -> Option<(u32, u32)> {
    let mut parts = v.trim().split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().map_or(Some(0), |m| m.parse().ok())?;
    Some((major, minor))
}

/// Reads a server's version, `maxmemory` and `maxmemory-policy`, and reports
/// anything that can break rom: a server older than 7.0, or a policy that can
/// evict rom's keys (`allkeys-*`). One `INFO` (plus `CONFIG GET maxmemory*`
/// when `INFO` is refused).
///
/// Works on any connection rom accepts. On a cluster connection, redis-rs
/// sends `INFO` to every primary and the report has one entry per node (with
/// its address); `CONFIG GET`, used only when `INFO` is refused, goes to one
/// node chosen at random. A command the server refuses (an ACL without
/// `+info` or `+config|get`, a renamed command) leaves that fact unknown
/// rather than failing: see [`ServerReport::is_complete`].
///
/// # Errors
///
/// [`crate::Error::Redis`] if the connection fails.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use rom_dsl::server_check::EvictionPolicy;
/// let server = rom_testing::RedisServer::start()?;
/// let report = rom_dsl::check_server(&mut server.connection()?)?;
/// assert_eq!(report.servers[0].policy, Some(EvictionPolicy::NoEviction)); // Redis's default
/// assert!(report.is_ok());
/// # Ok(()) }
/// ```
pub fn check_server<C: Connection + ?Sized>(conn: &mut C) -> Result<ServerReport> {
    let mut ask = |cmd: redis::Cmd| conn.req_command(&cmd).and_then(Value::extract_error);
    let mut servers = from_info(answered(ask(redis::cmd("INFO")))?);
    if needs_config(&servers) {
        let reply = answered(ask(config_get()))?;
        apply_config(&mut servers, reply);
    }
    Ok(ServerReport { servers })
}

/// [`check_server`] on an async connection.
///
/// # Errors
///
/// [`crate::Error::Redis`] if the connection fails.
///
/// ```
/// async fn start(conn: &mut redis::aio::MultiplexedConnection) -> rom_dsl::Result<()> {
///     let report = rom_dsl::check_server_async(conn).await?;
///     for problem in report.problems() {
///         eprintln!("warning: {problem}");
///     }
///     Ok(())
/// }
/// ```
#[cfg(feature = "tokio")]
pub async fn check_server_async<C: AsyncConnection>(conn: &mut C) -> Result<ServerReport> {
    let mut servers = from_info(answered(redis::cmd("INFO").query_async(conn).await)?);
    if needs_config(&servers) {
        let reply = answered(config_get().query_async(conn).await)?;
        apply_config(&mut servers, reply);
    }
    Ok(ServerReport { servers })
}

fn config_get() -> redis::Cmd {
    // one pattern: a single argument works on every version
    let mut c = redis::cmd("CONFIG");
    c.arg("GET").arg("maxmemory*");
    c
}

/// A reply, or the server's refusal as text; a connection failure is an error.
fn answered(r: RedisResult<Value>) -> Result<std::result::Result<Value, String>> {
    match r {
        Ok(v) => Ok(Ok(v)),
        Err(e) if e.code().is_some() => Ok(Err(e.to_string())),
        Err(e) => Err(e.into()),
    }
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::SimpleString(s) => Some(s.clone()),
        Value::VerbatimString { text, .. } => Some(text.clone()),
        Value::Int(i) => Some(i.to_string()),
        _ => None,
    }
}

/// One `ServerInfo` per node that answered `INFO` (a map of address to text
/// on a cluster connection).
fn from_info(reply: std::result::Result<Value, String>) -> Vec<ServerInfo> {
    match reply {
        Err(e) => vec![ServerInfo {
            unknown: vec![format!("INFO refused: {e}")],
            ..ServerInfo::default()
        }],
        Ok(Value::Map(nodes)) => nodes
            .iter()
            .map(|(addr, info)| parse_info(text(addr), info))
            .collect(),
        Ok(v) => vec![parse_info(None, &v)],
    }
}

fn parse_info(address: Option<String>, v: &Value) -> ServerInfo {
    let mut s = ServerInfo {
        address,
        ..ServerInfo::default()
    };
    let Some(t) = text(v) else {
        s.unknown.push(format!("INFO gave no text: {v:?}"));
        return s;
    };
    for line in t.lines() {
        match line.trim_end().split_once(':') {
            Some(("redis_version", v)) => s.version = Some(v.to_owned()),
            Some(("maxmemory", v)) => s.maxmemory = v.parse().ok(),
            Some(("maxmemory_policy", v)) => s.policy = Some(EvictionPolicy::parse(v)),
            _ => {}
        }
    }
    if s.version.is_none() {
        s.unknown.push("INFO has no redis_version".into());
    }
    s
}

fn needs_config(servers: &[ServerInfo]) -> bool {
    servers
        .iter()
        .any(|s| s.maxmemory.is_none() || s.policy.is_none())
}

/// Fills the memory settings `INFO` did not give from `CONFIG GET` (pairs of
/// name and value, or a map under RESP3).
fn apply_config(servers: &mut [ServerInfo], reply: std::result::Result<Value, String>) {
    let pairs: Vec<(String, String)> = match &reply {
        Ok(Value::Array(items)) => items
            .chunks(2)
            .filter_map(|p| Some((text(p.first()?)?, text(p.get(1)?)?)))
            .collect(),
        Ok(Value::Map(items)) => items
            .iter()
            .filter_map(|(k, v)| Some((text(k)?, text(v)?)))
            .collect(),
        Ok(_) | Err(_) => Vec::new(),
    };
    let get = |name: &str| pairs.iter().find(|p| p.0 == name).map(|p| p.1.clone());
    for s in servers
        .iter_mut()
        .filter(|s| s.maxmemory.is_none() || s.policy.is_none())
    {
        if let Err(e) = &reply {
            s.unknown.push(format!("CONFIG GET refused: {e}"));
            continue;
        }
        if s.maxmemory.is_none() {
            s.maxmemory = get("maxmemory").and_then(|m| m.parse().ok());
        }
        if s.policy.is_none() {
            s.policy = get("maxmemory-policy").map(|p| EvictionPolicy::parse(&p));
        }
        if s.maxmemory.is_none() || s.policy.is_none() {
            s.unknown
                .push("CONFIG GET maxmemory* gave no maxmemory or policy".into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_by_major_and_minor() {
        assert_eq!(version_of("7.0.15"), Some((7, 0)));
        assert_eq!(version_of("6.2.14"), Some((6, 2)));
        assert_eq!(version_of("8"), Some((8, 0)));
        assert_eq!(version_of("x.y"), None);
        assert!((6, 2) < MIN_VERSION && (7, 0) >= MIN_VERSION && (10, 0) > MIN_VERSION);
    }

    #[test]
    fn an_old_server_and_an_evicting_policy_are_problems() {
        let info = "# Server\r\nredis_version:6.2.14\r\n# Memory\r\nmaxmemory:0\r\nmaxmemory_policy:allkeys-random\r\n";
        let report = ServerReport {
            servers: from_info(Ok(Value::BulkString(info.as_bytes().to_vec()))),
        };
        assert!(report.is_complete());
        let p = report.problems();
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(matches!(&p[0], Problem::OldVersion { version, .. } if version == "6.2.14"));
        assert!(
            matches!(&p[1], Problem::EvictingPolicy { policy, maxmemory: Some(0), .. } if policy == "allkeys-random")
        );
    }

    #[test]
    fn config_fills_what_info_refused() {
        let mut servers = from_info(Err("NOPERM".into()));
        let pairs = ["maxmemory", "5", "maxmemory-policy", "volatile-lru"]
            .map(|s| Value::BulkString(s.as_bytes().to_vec()));
        apply_config(&mut servers, Ok(Value::Array(pairs.to_vec())));
        assert_eq!(servers[0].maxmemory, Some(5));
        assert_eq!(
            servers[0].policy,
            Some(EvictionPolicy::Volatile("volatile-lru".into()))
        );
        assert_eq!(servers[0].version, None);
        let report = ServerReport { servers };
        assert!(report.is_ok() && !report.is_complete());
    }
}
