//! Reclaiming expired rows: `sweep` (one model, in calls of a bounded
//! size), the background sweeper, and what a sweep reports. Public through
//! `rom_dsl::expiry`.

#[cfg(feature = "tokio")]
use crate::connection::AsyncConnection;
use crate::connection::Connection;
use crate::error::Result;
use crate::plan::Plan;
use crate::plans::write::status_error;
use crate::wire::expiry::{SweepArgs, SweepReply};
#[cfg(feature = "tokio")]
use std::time::Duration;

use super::expiry::Expiring;

/// What one sweep call reclaimed.
///
/// ```
/// # use rom_dsl::expiry::Swept;
/// let mut total = Swept::default();
/// total += Swept { expired: 2, deleted: 3, changed: 1, more: false };
/// assert_eq!((total.expired, total.deleted), (2, 3));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Swept {
    /// Expired rows deleted (with their index entries and unique values).
    pub expired: u64,
    /// Rows deleted in all: the expired rows and the rows their `cascade`
    /// rules reached.
    pub deleted: u64,
    /// Rows a `set_null` or `set_default` rule changed.
    pub changed: u64,
    /// Whether rows that expired may remain (the call reached its limit):
    /// call again.
    pub more: bool,
}

impl std::ops::AddAssign for Swept {
    fn add_assign(&mut self, o: Swept) {
        self.expired += o.expired;
        self.deleted += o.deleted;
        self.changed += o.changed;
        self.more = o.more;
    }
}

/// The most expired rows one sweep call reclaims.
///
/// ```
/// # use rom_dsl::{Plan, expiry::{Expiring, SWEEP_BATCH, Swept, sweep_plan}};
/// fn one_batch<M: Expiring>() -> Plan<Swept> {
///     sweep_plan::<M>(SWEEP_BATCH)
/// }
/// ```
pub const SWEEP_BATCH: u64 = 500;

/// The plan of [`sweep`]: one call reclaiming at most `limit` expired rows
/// of `M`.
///
/// ```
/// # use rom_dsl::Model;
/// # use rom_dsl::expiry::{Expiring, sweep_plan};
/// # #[derive(Clone, Debug)] struct Tag;
/// # impl rom_dsl::__private::Sealed for Tag {}
/// # impl rom_dsl::placement::Unpartitioned for Tag {}
/// # impl Model for Tag {
/// #     type Key = u64;
/// #     const SCHEMA: &'static rom_dsl::__private::Schema = &rom_dsl::__private::Schema {
/// #         name: "Tag", namespace: "tags", key_name: "id", auto_key: true, columns: &[], unique_together: &[] };
/// #     const EXPIRES: Option<u64> = Some(0);
/// #     fn layout() -> &'static rom_dsl::__private::Layout {
/// #         static L: std::sync::OnceLock<rom_dsl::__private::Layout> = std::sync::OnceLock::new();
/// #         L.get_or_init(|| rom_dsl::__private::Layout::new(Self::SCHEMA))
/// #     }
/// #     fn key(&self) -> Option<u64> { None }
/// #     fn set_key(&mut self, _: u64) {}
/// #     fn cells(&self) -> rom_dsl::Result<Vec<rom_dsl::__private::Cell>> { Ok(vec![]) }
/// #     fn from_row(_: u64, _: &rom_dsl::__private::RowData) -> rom_dsl::Result<Self> { Ok(Tag) }
/// # }
/// # impl Expiring for Tag {}
/// // (`Tag` is a model written by hand; yours come from `#[derive(Model)]`)
/// let p = sweep_plan::<Tag>(100);
/// assert!(p.explain().starts_with("FCALL sweep"));
/// ```
pub fn sweep_plan<M: Expiring>(limit: u64) -> Plan<Swept> {
    let l = M::layout();
    let limit = limit.max(1);
    Plan::call(
        &SweepArgs {
            expiry: l.expiry.clone(),
            ids: l.ids.clone(),
            limit,
            graph: crate::plans::cascade::graph::<M>(),
        },
        move |v| match SweepReply::decode(v)? {
            Ok(r) => Ok(Swept {
                expired: r.expired,
                deleted: r.deleted,
                changed: r.changed,
                more: r.taken >= limit,
            }),
            Err(status) => Err(status_error::<M>(status)),
        },
    )
    .step(format!(
        "reclaim up to {limit} expired {} row(s), applying on_delete rules",
        M::SCHEMA.name
    ))
    .about("sweep", M::SCHEMA.namespace)
}

/// Reclaims the expired rows of `M`: deletes them with their index entries
/// and unique values, applying the `on_delete` rules of the rows that
/// reference them, in calls of at most [`SWEEP_BATCH`] rows (each atomic)
/// until none is due. Expired rows are already invisible to every read;
/// this frees their memory.
///
/// ```text
/// let swept = rom::expiry::sweep::<Session, _>(&mut conn)?;
/// println!("reclaimed {} sessions", swept.expired);
/// ```
///
/// ```
/// # use rom_dsl::{Result, expiry::{Expiring, sweep}};
/// fn reclaim<M: Expiring>(conn: &mut redis::Connection) -> Result<u64> {
///     Ok(sweep::<M, _>(conn)?.expired)
/// }
/// ```
pub fn sweep<M: Expiring, C: Connection + ?Sized>(conn: &mut C) -> Result<Swept> {
    let mut total = Swept::default();
    loop {
        let s = sweep_plan::<M>(SWEEP_BATCH).run(conn)?;
        total += s;
        if !s.more {
            return Ok(total);
        }
    }
}

/// [`sweep`] on an async connection.
///
/// ```
/// # use rom_dsl::{Result, expiry::{Expiring, sweep_async}};
/// async fn reclaim<M: Expiring>(conn: &mut redis::aio::MultiplexedConnection) -> Result<u64> {
///     Ok(sweep_async::<M, _>(conn).await?.expired)
/// }
/// ```
#[cfg(feature = "tokio")]
pub async fn sweep_async<M: Expiring, C: AsyncConnection>(conn: &mut C) -> Result<Swept> {
    let mut total = Swept::default();
    loop {
        let s = sweep_plan::<M>(SWEEP_BATCH).run_async(conn).await?;
        total += s;
        if !s.more {
            return Ok(total);
        }
    }
}

/// Runs [`sweep_async`] every `every` on its own task, for as long as the
/// returned handle is not aborted. A failed sweep (a dropped connection,
/// say) is retried at the next tick. Expired rows then occupy memory for
/// at most about `every` after their deadline, as long as fewer than
/// [`SWEEP_BATCH`] rows per call are due, or rows keep being reclaimed in
/// batches until none is.
///
/// ```text
/// let sweeper = rom::expiry::spawn_sweeper::<Session, _>(manager.clone(), Duration::from_secs(1));
/// // ...
/// sweeper.abort();
/// ```
///
/// ```
/// # use rom_dsl::expiry::{Expiring, spawn_sweeper};
/// # use std::time::Duration;
/// fn start<M: Expiring>(conn: redis::aio::MultiplexedConnection) -> tokio::task::JoinHandle<()> {
///     spawn_sweeper::<M, _>(conn, Duration::from_secs(1)) // `abort()` it to stop
/// }
/// ```
#[cfg(feature = "tokio")]
pub fn spawn_sweeper<M: Expiring, C: AsyncConnection + Send + 'static>(
    mut conn: C,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every.max(Duration::from_millis(1)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let _ = sweep_async::<M, C>(&mut conn).await;
        }
    })
}
