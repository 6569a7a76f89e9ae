//! A query across every partition of a partitioned model:
//! `accounts::table.across_partitions()`. It runs the query in each bucket
//! (one call per bucket: one pipeline on a single server, one call after
//! another on a cluster) and merges the answers in the
//! order one slot would give (see `plans/merge.rs` for the rules). It is a
//! type of its own, not a [`QueryDsl`](crate::QueryDsl), so that generic
//! query code never fans out without saying so.

use crate::dsl::across_pages::AcrossPages;
use crate::dsl::filter::{IntoFilter, IntoOrder};
use crate::dsl::query::Query;
use crate::dsl::query_dsl::{QueryDsl, at_most_one, first_of};
use crate::error::{Error, Result};
#[cfg(feature = "tokio")]
use crate::exec::connection::AsyncConnection;
use crate::exec::connection::Connection;
use crate::placement::Partitioned;
use crate::plan::Plan;
#[cfg(feature = "tokio")]
use crate::plans::fan;
use crate::plans::fan::Fan;
use crate::plans::merge::{By, Place, merge};
use crate::record::Record;
use crate::storage::model::{Key, Model};

/// A query over every partition of model `M`, made by
/// [`across_partitions`](crate::placement::PartitionedQueries::across_partitions):
/// the builder methods of a query (`filter`, `order_by`, `offset`, `limit`,
/// `budget`) and its terminals (`load`, `first`, `ids`, `count`, `exists`,
/// `delete`, each with an `_async` twin and a `_plan`), pages (`pages`, and
/// `load_page` with `after` for page tokens) and related rows (`load_with`,
/// `load_children`, `load_related`).
///
/// Each bucket answers its part in one call (`offset + limit` rows at most,
/// in the query's order); the parts are merged with the rules of a query in
/// one slot (ties by key ascending, nulls last, by key without an order),
/// so the answer is the one the same rows would give unpartitioned. On a
/// single server the `N` calls go as one pipeline (one round trip); on an
/// async cluster connection all at once, each on a clone of the connection
/// (so the `_async` terminals take a `Clone` connection, as every redis-rs
/// async connection is); on a sync cluster connection one after another
/// (`N` round trips), since redis-rs sends a pipeline to one node. The answer is not atomic across buckets (each
/// bucket's part is). The `_plan` methods give the calls as one plan that
/// runs them one after another.
///
/// ```
/// use rom_dsl::placement::{Across, Partitioned};
/// use rom_dsl::{Filter, Order};
/// fn top<M: Partitioned>(a: Across<M>, f: Filter<M>, by: Order<M>) -> Across<M> {
///     a.filter(f).order_by(by).limit(10)
/// }
/// ```
pub struct Across<M> {
    pub(super) query: Query<M>,
}

impl<M> Clone for Across<M> {
    fn clone(&self) -> Self {
        Across {
            query: self.query.clone(),
        }
    }
}

impl<M> std::fmt::Debug for Across<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Across")
            .field("query", &self.query)
            .finish()
    }
}

impl<M: Partitioned> Default for Across<M> {
    fn default() -> Self {
        Across {
            query: Query::unscoped(),
        }
    }
}

impl<M: Partitioned> Across<M> {
    /// Keeps the rows matching `f` (chained filters are ANDed).
    ///
    /// ```
    /// # use rom_dsl::placement::{Across, Partitioned};
    /// # use rom_dsl::Filter;
    /// fn both<M: Partitioned>(a: Across<M>, x: Filter<M>, y: Filter<M>) -> Across<M> {
    ///     a.filter(x).filter(y)
    /// }
    /// ```
    pub fn filter(self, f: impl IntoFilter<M>) -> Self {
        Across {
            query: self.query.filter(f),
        }
    }

    /// Orders the rows (replacing an earlier order).
    ///
    /// ```
    /// # use rom_dsl::placement::{Across, Partitioned};
    /// # use rom_dsl::Order;
    /// fn by<M: Partitioned>(a: Across<M>, o: Order<M>) -> Across<M> {
    ///     a.order_by(o)
    /// }
    /// ```
    pub fn order_by(self, o: impl IntoOrder<M>) -> Self {
        Across {
            query: self.query.order_by(o),
        }
    }

    /// Returns at most `n` rows (over all partitions).
    ///
    /// ```
    /// # use rom_dsl::placement::{Across, Partitioned};
    /// fn ten<M: Partitioned>(a: Across<M>) -> Across<M> {
    ///     a.limit(10)
    /// }
    /// ```
    pub fn limit(self, n: u64) -> Self {
        Across {
            query: self.query.limit(n),
        }
    }

    /// Skips the first `n` rows (over all partitions): each bucket is asked
    /// for `offset + limit` rows, so a deep offset costs every bucket.
    ///
    /// ```
    /// # use rom_dsl::placement::{Across, Partitioned};
    /// fn second_page<M: Partitioned>(a: Across<M>) -> Across<M> {
    ///     a.offset(20).limit(20)
    /// }
    /// ```
    pub fn offset(self, n: u64) -> Self {
        Across {
            query: self.query.offset(n),
        }
    }

    /// Lets replicas answer the query's calls (see
    /// [`QueryDsl::read_from_replicas`]).
    ///
    /// ```
    /// # use rom_dsl::placement::{Across, Partitioned};
    /// fn on_replicas<M: Partitioned>(a: Across<M>) -> Across<M> {
    ///     a.read_from_replicas()
    /// }
    /// ```
    pub fn read_from_replicas(self) -> Self {
        Across {
            query: self.query.read_from_replicas(),
        }
    }

    /// Sets how much work one call may do, in each bucket (see
    /// [`Budget`](crate::query::Budget)).
    ///
    /// ```
    /// # use rom_dsl::placement::{Across, Partitioned};
    /// # use rom_dsl::query::Budget;
    /// fn whole<M: Partitioned>(a: Across<M>) -> Across<M> {
    ///     a.budget(Budget::UNBOUNDED)
    /// }
    /// ```
    pub fn budget(self, b: crate::query::Budget) -> Self {
        Across {
            query: self.query.budget(b),
        }
    }

    /// The query of each bucket: every index key retagged to the bucket,
    /// asked for the first `offset + limit` rows.
    pub(super) fn parts(
        &self,
        whole: bool,
    ) -> Vec<(Query<M>, &'static crate::storage::model::Layout)> {
        let base = M::layout().tag.clone();
        M::bucket_layouts()
            .iter()
            .map(|l| {
                let mut q = self.query.in_layout(&base, l);
                q.offset = 0;
                q.limit = if whole {
                    None
                } else {
                    self.query
                        .limit
                        .map(|n| n.saturating_add(self.query.offset))
                };
                (q, l)
            })
            .collect()
    }

    /// One plan per bucket, merged by `done`.
    pub(super) fn fan<P: Send + 'static, T: 'static>(
        &self,
        whole: bool,
        part: impl Fn(&Query<M>, &'static crate::storage::model::Layout) -> Result<Plan<P>>,
        done: impl FnOnce(Vec<P>) -> Result<T> + Send + 'static,
    ) -> Result<Fan<P, T>> {
        let parts = self
            .parts(whole)
            .iter()
            .map(|(q, l)| part(q, l))
            .collect::<Result<Vec<_>>>()?;
        if parts.is_empty() {
            return Err(not_partitioned::<M>());
        }
        Ok(Fan {
            parts,
            merge: Box::new(done),
        })
    }

    /// The plan of [`Across::load`].
    ///
    /// ```
    /// # use rom_dsl::placement::{Across, Partitioned};
    /// fn shown<M: Partitioned>(a: Across<M>) -> rom_dsl::Result<String> {
    ///     Ok(a.load_plan()?.explain()) // the first bucket's call, then the others
    /// }
    /// ```
    pub fn load_plan(&self) -> Result<Plan<Vec<Record<M>>>> {
        self.load_fan()?.plan().ok_or_else(not_partitioned::<M>)
    }

    fn load_fan(&self) -> Result<Merged<Record<M>>> {
        let by = By::of::<M>(&self.query.order);
        let (offset, limit) = (self.query.offset, self.query.limit);
        self.fan(
            false,
            move |q, l| {
                Ok(q.load_plan()?.map(move |rows| {
                    rows.into_iter()
                        .map(|r| Ok((by.place(&*r, r.key().to_member(), l)?, r)))
                        .collect::<Result<Vec<(Place, Record<M>)>>>()
                }))
            },
            move |parts| Ok(merge(&by, parts, offset, limit)),
        )
    }

    /// Loads the matching rows of every partition, in the query's order.
    ///
    /// ```
    /// # use rom_dsl::placement::{Across, Partitioned};
    /// # use rom_dsl::{Record, Result};
    /// fn all<M: Partitioned>(a: Across<M>, conn: &mut redis::Connection) -> Result<Vec<Record<M>>> {
    ///     a.load(conn)
    /// }
    /// ```
    pub fn load<C: Connection + ?Sized>(self, conn: &mut C) -> Result<Vec<Record<M>>> {
        self.load_fan()?.run(conn)
    }

    /// [`Across::load`] on an async connection.
    ///
    /// ```
    /// # use rom_dsl::placement::{Across, Partitioned};
    /// # use rom_dsl::{Record, Result};
    /// async fn all<M: Partitioned>(a: Across<M>, conn: &mut redis::aio::MultiplexedConnection) -> Result<Vec<Record<M>>> {
    ///     a.load_async(conn).await
    /// }
    /// ```
    #[cfg(feature = "tokio")]
    pub async fn load_async<C: AsyncConnection + Clone>(
        self,
        conn: &mut C,
    ) -> Result<Vec<Record<M>>> {
        fan::run_async(|| self.load_fan(), conn).await
    }

    /// The first matching row in the query's order over all partitions;
    /// [`Error::NotFound`] when none matches.
    ///
    /// ```
    /// # use rom_dsl::placement::{Across, Partitioned};
    /// # use rom_dsl::{Record, Result};
    /// fn newest<M: Partitioned>(a: Across<M>, conn: &mut redis::Connection) -> Result<Record<M>> {
    ///     a.first(conn)
    /// }
    /// ```
    pub fn first<C: Connection + ?Sized>(self, conn: &mut C) -> Result<Record<M>> {
        first_of(self.at_most_one().load_fan()?.run(conn)?)
    }

    /// [`Across::first`] on an async connection.
    ///
    /// ```
    /// # use rom_dsl::placement::{Across, Partitioned};
    /// # use rom_dsl::{Record, Result};
    /// async fn newest<M: Partitioned>(a: Across<M>, conn: &mut redis::aio::MultiplexedConnection) -> Result<Record<M>> {
    ///     a.first_async(conn).await
    /// }
    /// ```
    #[cfg(feature = "tokio")]
    pub async fn first_async<C: AsyncConnection + Clone>(self, conn: &mut C) -> Result<Record<M>> {
        let one = self.at_most_one();
        first_of(fan::run_async(|| one.load_fan(), conn).await?)
    }

    fn at_most_one(self) -> Self {
        Across {
            query: at_most_one(self.query),
        }
    }

    /// The plan of [`Across::ids`].
    ///
    /// ```
    /// # use rom_dsl::placement::{Across, Partitioned};
    /// fn shown<M: Partitioned>(a: Across<M>) -> rom_dsl::Result<String> {
    ///     Ok(a.ids_plan()?.explain())
    /// }
    /// ```
    pub fn ids_plan(&self) -> Result<Plan<Vec<M::Key>>> {
        self.ids_fan()?.plan().ok_or_else(not_partitioned::<M>)
    }

    fn ids_fan(&self) -> Result<Merged<M::Key>> {
        let by = By::of::<M>(&self.query.order);
        let (offset, limit) = (self.query.offset, self.query.limit);
        let ordered = self.query.order.is_some();
        self.fan(
            false,
            move |q, l| {
                if ordered {
                    // the order values come with the rows
                    return Ok(q.load_plan()?.map(move |rows| {
                        rows.into_iter()
                            .map(|r| Ok((by.place(&*r, r.key().to_member(), l)?, r.key().clone())))
                            .collect::<Result<Vec<_>>>()
                    }));
                }
                Ok(q.ids_plan()?.map(|ids| {
                    Ok(ids
                        .into_iter()
                        .map(|k| {
                            let member = k.to_member();
                            (
                                Place {
                                    value: None,
                                    member,
                                },
                                k,
                            )
                        })
                        .collect::<Vec<_>>())
                }))
            },
            move |parts| Ok(merge(&by, parts, offset, limit)),
        )
    }

    /// The keys of the matching rows of every partition, in the query's
    /// order.
    ///
    /// ```
    /// # use rom_dsl::placement::{Across, Partitioned};
    /// # use rom_dsl::{Model, Result};
    /// fn keys<M: Partitioned>(a: Across<M>, conn: &mut redis::Connection) -> Result<Vec<M::Key>> {
    ///     a.ids(conn)
    /// }
    /// ```
    pub fn ids<C: Connection + ?Sized>(self, conn: &mut C) -> Result<Vec<M::Key>> {
        self.ids_fan()?.run(conn)
    }

    /// [`Across::ids`] on an async connection.
    ///
    /// ```
    /// # use rom_dsl::placement::{Across, Partitioned};
    /// # use rom_dsl::{Model, Result};
    /// async fn keys<M: Partitioned>(a: Across<M>, conn: &mut redis::aio::MultiplexedConnection) -> Result<Vec<M::Key>> {
    ///     a.ids_async(conn).await
    /// }
    /// ```
    #[cfg(feature = "tokio")]
    pub async fn ids_async<C: AsyncConnection + Clone>(self, conn: &mut C) -> Result<Vec<M::Key>> {
        fan::run_async(|| self.ids_fan(), conn).await
    }

    /// The plan of [`Across::count`].
    ///
    /// ```
    /// # use rom_dsl::placement::{Across, Partitioned};
    /// fn shown<M: Partitioned>(a: Across<M>) -> rom_dsl::Result<String> {
    ///     Ok(a.count_plan()?.explain())
    /// }
    /// ```
    pub fn count_plan(&self) -> Result<Plan<u64>> {
        self.count_fan()?.plan().ok_or_else(not_partitioned::<M>)
    }

    fn count_fan(&self) -> Result<Fan<u64, u64>> {
        let (offset, limit) = (self.query.offset, self.query.limit);
        self.fan(
            true,
            |q, _| q.count_plan(),
            move |n| {
                let n = n.iter().sum::<u64>().saturating_sub(offset);
                Ok(limit.map_or(n, |l| n.min(l)))
            },
        )
    }

    /// How many rows match over all partitions (after the offset, at most
    /// the limit): the sum of each bucket's count.
    ///
    /// ```
    /// # use rom_dsl::placement::{Across, Partitioned};
    /// fn how_many<M: Partitioned>(a: Across<M>, conn: &mut redis::Connection) -> rom_dsl::Result<u64> {
    ///     a.count(conn)
    /// }
    /// ```
    pub fn count<C: Connection + ?Sized>(self, conn: &mut C) -> Result<u64> {
        self.count_fan()?.run(conn)
    }

    /// [`Across::count`] on an async connection.
    ///
    /// ```
    /// # use rom_dsl::placement::{Across, Partitioned};
    /// async fn how_many<M: Partitioned>(a: Across<M>, conn: &mut redis::aio::MultiplexedConnection) -> rom_dsl::Result<u64> {
    ///     a.count_async(conn).await
    /// }
    /// ```
    #[cfg(feature = "tokio")]
    pub async fn count_async<C: AsyncConnection + Clone>(self, conn: &mut C) -> Result<u64> {
        fan::run_async(|| self.count_fan(), conn).await
    }

    /// The plan of [`Across::exists`].
    ///
    /// ```
    /// # use rom_dsl::placement::{Across, Partitioned};
    /// fn shown<M: Partitioned>(a: Across<M>) -> rom_dsl::Result<String> {
    ///     Ok(a.exists_plan()?.explain())
    /// }
    /// ```
    pub fn exists_plan(&self) -> Result<Plan<bool>> {
        self.exists_fan()?.plan().ok_or_else(not_partitioned::<M>)
    }

    fn exists_fan(&self) -> Result<Fan<u64, bool>> {
        let (offset, limit) = (self.query.offset, self.query.limit);
        if offset > 0 || limit == Some(0) {
            // past an offset: how many match, against it
            return self.fan(
                true,
                |q, _| q.count_plan(),
                move |n| {
                    let n = n.iter().sum::<u64>().saturating_sub(offset);
                    Ok(limit.map_or(n, |l| n.min(l)) > 0)
                },
            );
        }
        self.fan(
            true,
            |q, _| Ok(q.exists_plan()?.map(|b| Ok(u64::from(b)))),
            |found| Ok(found.iter().any(|&b| b > 0)),
        )
    }

    /// Whether any row of any partition matches.
    ///
    /// ```
    /// # use rom_dsl::placement::{Across, Partitioned};
    /// fn any<M: Partitioned>(a: Across<M>, conn: &mut redis::Connection) -> rom_dsl::Result<bool> {
    ///     a.exists(conn)
    /// }
    /// ```
    pub fn exists<C: Connection + ?Sized>(self, conn: &mut C) -> Result<bool> {
        self.exists_fan()?.run(conn)
    }

    /// [`Across::exists`] on an async connection.
    ///
    /// ```
    /// # use rom_dsl::placement::{Across, Partitioned};
    /// async fn any<M: Partitioned>(a: Across<M>, conn: &mut redis::aio::MultiplexedConnection) -> rom_dsl::Result<bool> {
    ///     a.exists_async(conn).await
    /// }
    /// ```
    #[cfg(feature = "tokio")]
    pub async fn exists_async<C: AsyncConnection + Clone>(self, conn: &mut C) -> Result<bool> {
        fan::run_async(|| self.exists_fan(), conn).await
    }

    /// The plan of [`Across::delete`].
    ///
    /// ```
    /// # use rom_dsl::placement::{Across, Partitioned};
    /// fn shown<M: Partitioned>(a: Across<M>) -> rom_dsl::Result<String> {
    ///     Ok(a.delete_plan()?.explain())
    /// }
    /// ```
    pub fn delete_plan(&self) -> Result<Plan<u64>> {
        self.delete_fan()?.plan().ok_or_else(not_partitioned::<M>)
    }

    fn delete_fan(&self) -> Result<Fan<(u64, u64), u64>> {
        if self.query.offset > 0 || self.query.limit.is_some() {
            return Err(Error::Validation {
                model: M::SCHEMA.name,
                column: M::SCHEMA.key_name.to_owned(),
                reason: "a delete across partitions takes no offset or limit: load the keys \
                         (`ids`) and delete them by key"
                    .into(),
            });
        }
        self.fan(
            true,
            |q, _| q.delete_plan(),
            |n| Ok(n.iter().map(|(deleted, _)| deleted).sum()),
        )
    }

    /// Deletes the matching rows of every partition: each bucket's delete is
    /// one atomic call, the whole is not. How many rows it deleted. A delete
    /// with an offset or a limit is an [`Error::Validation`].
    ///
    /// ```
    /// # use rom_dsl::placement::{Across, Partitioned};
    /// fn purge<M: Partitioned>(a: Across<M>, conn: &mut redis::Connection) -> rom_dsl::Result<u64> {
    ///     a.delete(conn)
    /// }
    /// ```
    pub fn delete<C: Connection + ?Sized>(self, conn: &mut C) -> Result<u64> {
        self.delete_fan()?.run(conn)
    }

    /// [`Across::delete`] on an async connection.
    ///
    /// ```
    /// # use rom_dsl::placement::{Across, Partitioned};
    /// async fn purge<M: Partitioned>(a: Across<M>, conn: &mut redis::aio::MultiplexedConnection) -> rom_dsl::Result<u64> {
    ///     a.delete_async(conn).await
    /// }
    /// ```
    #[cfg(feature = "tokio")]
    pub async fn delete_async<C: AsyncConnection + Clone>(self, conn: &mut C) -> Result<u64> {
        fan::run_async(|| self.delete_fan(), conn).await
    }

    /// Pages through the matches, `page_size` rows per page, in the query's
    /// order over every partition (see [`AcrossPages`]): the query's offset
    /// and limit apply to the merged rows.
    ///
    /// ```
    /// # use rom_dsl::placement::{Across, AcrossPages, Partitioned};
    /// fn by_hundreds<M: Partitioned>(a: Across<M>) -> AcrossPages<M> {
    ///     a.pages(100)
    /// }
    /// ```
    pub fn pages(self, page_size: u64) -> AcrossPages<M> {
        let by = By::of::<M>(&self.query.order);
        let parts = self.parts(true);
        AcrossPages::new(by, page_size, self.query.offset, self.query.limit, parts)
    }

    /// The plan of [`Across::load`] as text (no server needed): the first
    /// bucket's call, and the others' keys.
    ///
    /// ```
    /// # use rom_dsl::placement::{Across, Partitioned};
    /// fn shown<M: Partitioned>(a: Across<M>) -> String {
    ///     a.explain()
    /// }
    /// ```
    pub fn explain(&self) -> String {
        match self.load_plan() {
            Ok(p) => p.explain(),
            Err(e) => format!("error: {e}"),
        }
    }
}

/// The buckets' answers (each item with its place in the order), merged
/// into one list in order.
pub(super) type Merged<T> = Fan<Vec<(Place, T)>, Vec<T>>;

/// A model with no buckets given to `Across` (only generic code can).
pub(super) fn not_partitioned<M: Model>() -> Error {
    Error::Validation {
        model: M::SCHEMA.name,
        column: M::SCHEMA.key_name.to_owned(),
        reason: "not a partitioned model: query it with its table".into(),
    }
}
