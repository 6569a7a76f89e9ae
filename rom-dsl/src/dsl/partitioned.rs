//! The table of a partitioned model (`#[rom(partition(..))]`): it is not a
//! [`Table`](crate::index::Table), so no query runs on it by accident; its
//! queries start with `across_partitions()`. Its other query methods exist
//! only to turn a query written against it into one compile error that
//! says what to do instead (the bound `Self::Model: Unpartitioned` never
//! holds for it).

use crate::dsl::across::Across;
use crate::dsl::filter::IntoFilter;
use crate::dsl::query::Query;
use crate::dsl::query_dsl::QueryDsl;
use crate::dsl::record::Record;
use crate::error::Result;
use crate::exec::connection::Connection;
use crate::placement::Unpartitioned;

/// Implemented by `#[derive(Model)]` for the table of a partitioned model
/// (instead of [`Table`](crate::index::Table)): its rows are spread over
/// many hash tags, so they are read and written by key
/// ([`Crud`](crate::record::Crud)).
///
/// ```
/// use rom_dsl::placement::PartitionedTable;
/// fn model_of<T: PartitionedTable>(_: T) -> &'static str {
///     <T::Model as rom_dsl::Model>::SCHEMA.name
/// }
/// ```
pub trait PartitionedTable: Copy + Send + Sync + 'static {
    /// The model the table holds.
    type Model: crate::placement::Partitioned;
}

/// The query methods of a partitioned model's table: `across_partitions()`,
/// and the usual ones, each a compile error ("`User` is partitioned: query
/// all its partitions with `.across_partitions()`, or read its rows by
/// key").
/// In the prelude, so that the error is that one line rather than "no method
/// named `filter`".
///
/// ```compile_fail
/// # use rom_dsl::placement::PartitionedQueries;
/// # fn f<T: PartitionedQueries>(t: T) where T::Model: rom_dsl::placement::Partitioned {
/// let _ = t.limit(3); // `T::Model` is partitioned
/// # }
/// ```
pub trait PartitionedQueries: PartitionedTable {
    /// A query over every partition of the model: one call per bucket,
    /// merged into the order one slot would give (see [`Across`]).
    ///
    /// ```
    /// # use rom_dsl::placement::{Across, PartitionedQueries};
    /// fn everything<T: PartitionedQueries>(t: T) -> Across<T::Model> {
    ///     t.across_partitions()
    /// }
    /// ```
    fn across_partitions(self) -> Across<Self::Model> {
        Across::default()
    }
    /// Not available: see the trait.
    fn filter(self, f: impl IntoFilter<Self::Model>) -> Query<Self::Model>
    where
        Self::Model: Unpartitioned,
    {
        Query::<Self::Model>::unscoped().filter(f)
    }
    /// Not available: see the trait.
    fn order_by(self, o: impl crate::dsl::filter::IntoOrder<Self::Model>) -> Query<Self::Model>
    where
        Self::Model: Unpartitioned,
    {
        Query::<Self::Model>::unscoped().order_by(o)
    }
    /// Not available: see the trait.
    fn limit(self, n: u64) -> Query<Self::Model>
    where
        Self::Model: Unpartitioned,
    {
        Query::<Self::Model>::unscoped().limit(n)
    }
    /// Not available: see the trait.
    fn offset(self, n: u64) -> Query<Self::Model>
    where
        Self::Model: Unpartitioned,
    {
        Query::<Self::Model>::unscoped().offset(n)
    }
    /// Not available: see the trait.
    fn load<C: Connection + ?Sized>(self, conn: &mut C) -> Result<Vec<Record<Self::Model>>>
    where
        Self::Model: Unpartitioned,
    {
        Query::<Self::Model>::unscoped().load(conn)
    }
    /// Not available: see the trait.
    fn first<C: Connection + ?Sized>(self, conn: &mut C) -> Result<Record<Self::Model>>
    where
        Self::Model: Unpartitioned,
    {
        Query::<Self::Model>::unscoped().first(conn)
    }
    /// Not available: see the trait.
    fn count<C: Connection + ?Sized>(self, conn: &mut C) -> Result<u64>
    where
        Self::Model: Unpartitioned,
    {
        Query::<Self::Model>::unscoped().count(conn)
    }
    /// Not available: see the trait.
    fn exists<C: Connection + ?Sized>(self, conn: &mut C) -> Result<bool>
    where
        Self::Model: Unpartitioned,
    {
        QueryDsl::exists(Query::<Self::Model>::unscoped(), conn)
    }
    /// Not available: see the trait.
    fn delete<C: Connection + ?Sized>(self, conn: &mut C) -> Result<u64>
    where
        Self::Model: Unpartitioned,
    {
        QueryDsl::delete(Query::<Self::Model>::unscoped(), conn)
    }
    /// Not available: see the trait.
    fn pages(self, page_size: u64) -> crate::query::Pages<Self::Model>
    where
        Self::Model: Unpartitioned,
    {
        Query::<Self::Model>::unscoped().pages(page_size)
    }
}

impl<T: PartitionedTable> PartitionedQueries for T {}
