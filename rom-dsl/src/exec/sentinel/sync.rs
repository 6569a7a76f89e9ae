//! The synchronous connection to a Sentinel-managed master.

use super::*;

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
    pub(super) master: SentinelMaster,
    pub(super) options: Options,
    pub(super) current: Option<(ConnectionInfo, redis::Connection)>,
    /// When the Sentinels were last asked where the master is.
    pub(super) checked: Instant,
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
