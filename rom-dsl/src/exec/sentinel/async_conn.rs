//! The asynchronous connection to a Sentinel-managed master.

use super::*;

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
    pub(super) shared: Arc<Shared>,
}

/// What the clones of an [`AsyncSentinelConnection`] share.
#[cfg(feature = "tokio")]
pub(super) struct Shared {
    pub(super) master: SentinelMaster,
    pub(super) options: Options,
    /// The current connection, its generation and where it goes.
    pub(super) current: Mutex<Option<Current>>,
    /// The generation of the next connection.
    pub(super) generations: AtomicU64,
    /// When the Sentinels were last asked where the master is.
    pub(super) checked: Mutex<Instant>,
}

/// One connection to the master, numbered so that a request only drops the
/// connection it used, not a newer one another task opened meanwhile.
#[derive(Clone)]
#[cfg(feature = "tokio")]
pub(super) struct Current {
    pub(super) generation: u64,
    pub(super) info: ConnectionInfo,
    pub(super) conn: MultiplexedConnection,
}

#[cfg(feature = "tokio")]
impl Shared {
    /// Makes `conn` the current connection; returns it numbered.
    pub(super) fn install(&self, info: ConnectionInfo, conn: MultiplexedConnection) -> Current {
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
