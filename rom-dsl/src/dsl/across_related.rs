//! Related rows of a query across partitions: [`Across::load_with`],
//! [`Across::load_children`] and [`Across::load_related`]. A partitioned
//! model's relations stay inside a bucket (a partitioned group, the
//! reference being the partition column), so each bucket's query loads its
//! rows with their related rows in its one call, as a query pinned to a
//! partition does; the parts are merged in the query's order.

use crate::dsl::across::{Across, Merged};
use crate::dsl::children::WithChildren;
use crate::dsl::preload::WithParents;
use crate::dsl::query::Query;
use crate::dsl::related::{RelatedSet, WithRelated};
use crate::error::Result;
#[cfg(feature = "tokio")]
use crate::exec::connection::AsyncConnection;
use crate::exec::connection::Connection;
use crate::index::Column;
use crate::placement::Partitioned;
use crate::plan::Plan;
use crate::plans::merge::{By, Place, merge};
use crate::record::Record;
use crate::relations::Reference;
use crate::storage::model::Key;

impl<M: Partitioned> Across<M> {
    /// Each bucket's rows with what `part` loads beside each, merged.
    fn with_fan<X: Send + 'static>(
        &self,
        part: impl Fn(&Query<M>) -> Result<Plan<Vec<(Record<M>, X)>>>,
    ) -> Result<Merged<(Record<M>, X)>> {
        let by = By::of::<M>(&self.query.order);
        let (offset, limit) = (self.query.offset, self.query.limit);
        self.fan(
            false,
            move |q, l| {
                Ok(part(q)?.map(move |rows| {
                    rows.into_iter()
                        .map(|(r, x)| Ok((by.place(&*r, r.key().to_member(), l)?, (r, x))))
                        .collect::<Result<Vec<(Place, (Record<M>, X))>>>()
                }))
            },
            move |parts| Ok(merge(&by, parts, offset, limit)),
        )
    }

    /// The matching rows of every partition, each with the row its reference
    /// `column` names (`None`: no such row), in the query's order: one call
    /// per bucket, as [`Query::load_with`] in each.
    ///
    /// ```
    /// # use rom_dsl::placement::{Across, Partitioned};
    /// # use rom_dsl::relations::Reference;
    /// # use rom_dsl::index::Column;
    /// fn orders_with_customers<M: Partitioned, C: Reference + Column<Model = M>>(
    ///     a: Across<M>, customer: C, conn: &mut redis::Connection,
    /// ) -> rom_dsl::Result<usize> {
    ///     Ok(a.load_with(conn, customer)?.len())
    /// }
    /// ```
    pub fn load_with<C, Conn>(&self, conn: &mut Conn, column: C) -> Result<WithParents<M, C>>
    where
        C: Reference + Column<Model = M>,
        Conn: Connection + ?Sized,
    {
        self.with_fan(|q| q.load_with_plan(column))?.run(conn)
    }

    /// [`Across::load_with`] on an async connection.
    ///
    /// ```
    /// # use rom_dsl::placement::{Across, Partitioned};
    /// # use rom_dsl::relations::Reference;
    /// # use rom_dsl::index::Column;
    /// async fn n<M: Partitioned, C: Reference + Column<Model = M>>(
    ///     a: Across<M>, c: C, conn: &mut redis::aio::MultiplexedConnection,
    /// ) -> rom_dsl::Result<usize> {
    ///     Ok(a.load_with_async(conn, c).await?.len())
    /// }
    /// ```
    #[cfg(feature = "tokio")]
    pub async fn load_with_async<C, Conn>(
        &self,
        conn: &mut Conn,
        column: C,
    ) -> Result<WithParents<M, C>>
    where
        C: Reference + Column<Model = M>,
        Conn: AsyncConnection + Clone,
    {
        crate::plans::fan::run_async(|| self.with_fan(|q| q.load_with_plan(column)), conn).await
    }

    /// The matching rows of every partition, each with the rows whose
    /// reference `column` names it, in the query's order: one call per
    /// bucket, as [`Query::load_children`] in each.
    ///
    /// ```
    /// # use rom_dsl::placement::{Across, Partitioned};
    /// # use rom_dsl::relations::Reference;
    /// fn customers_with_orders<M: Partitioned, C: Reference<Parent = M>>(
    ///     a: Across<M>, customer: C, conn: &mut redis::Connection,
    /// ) -> rom_dsl::Result<usize> {
    ///     Ok(a.load_children(conn, customer)?.iter().map(|(_, kids)| kids.len()).sum())
    /// }
    /// ```
    pub fn load_children<C, Conn>(&self, conn: &mut Conn, column: C) -> Result<WithChildren<M, C>>
    where
        C: Reference<Parent = M>,
        Conn: Connection + ?Sized,
    {
        self.with_fan(|q| q.load_children_plan(column))?.run(conn)
    }

    /// [`Across::load_children`] on an async connection.
    ///
    /// ```
    /// # use rom_dsl::placement::{Across, Partitioned};
    /// # use rom_dsl::relations::Reference;
    /// async fn n<M: Partitioned, C: Reference<Parent = M>>(
    ///     a: Across<M>, c: C, conn: &mut redis::aio::MultiplexedConnection,
    /// ) -> rom_dsl::Result<usize> {
    ///     Ok(a.load_children_async(conn, c).await?.len())
    /// }
    /// ```
    #[cfg(feature = "tokio")]
    pub async fn load_children_async<C, Conn>(
        &self,
        conn: &mut Conn,
        column: C,
    ) -> Result<WithChildren<M, C>>
    where
        C: Reference<Parent = M>,
        Conn: AsyncConnection + Clone,
    {
        crate::plans::fan::run_async(|| self.with_fan(|q| q.load_children_plan(column)), conn).await
    }

    /// The matching rows of every partition, each with several relations
    /// (see [`Query::load_related`]): one call per bucket.
    ///
    /// ```
    /// # use rom_dsl::placement::{Across, Partitioned};
    /// # use rom_dsl::relations::RelatedSet;
    /// fn n<M: Partitioned, S: RelatedSet<M> + Clone + Send + 'static>(
    ///     a: Across<M>, s: S, conn: &mut redis::Connection,
    /// ) -> rom_dsl::Result<usize> {
    ///     Ok(a.load_related(conn, s)?.len())
    /// }
    /// ```
    pub fn load_related<S, Conn>(&self, conn: &mut Conn, related: S) -> Result<WithRelated<M, S>>
    where
        S: RelatedSet<M> + Clone + Send + 'static,
        S::Out: Send + 'static,
        Conn: Connection + ?Sized,
    {
        self.with_fan(|q| q.load_related_plan(related.clone()))?
            .run(conn)
    }

    /// [`Across::load_related`] on an async connection.
    ///
    /// ```
    /// # use rom_dsl::placement::{Across, Partitioned};
    /// # use rom_dsl::relations::RelatedSet;
    /// async fn n<M: Partitioned, S: RelatedSet<M> + Clone + Send + Sync + 'static>(
    ///     a: Across<M>, s: S, conn: &mut redis::aio::MultiplexedConnection,
    /// ) -> rom_dsl::Result<usize> where S::Out: Send {
    ///     Ok(a.load_related_async(conn, s).await?.len())
    /// }
    /// ```
    #[cfg(feature = "tokio")]
    pub async fn load_related_async<S, Conn>(
        &self,
        conn: &mut Conn,
        related: S,
    ) -> Result<WithRelated<M, S>>
    where
        S: RelatedSet<M> + Clone + Send + Sync + 'static,
        S::Out: Send + 'static,
        Conn: AsyncConnection + Clone,
    {
        crate::plans::fan::run_async(
            || self.with_fan(|q| q.load_related_plan(related.clone())),
            conn,
        )
        .await
    }
}
