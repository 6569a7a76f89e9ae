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

/// Implemented by `#[derive(Model)]` for the table of a model partitioned
/// by a column (`#[rom(partition(by = tenant, buckets = N))]`): the column
/// whose value picks a row's partition, so that a query can be pinned to
/// one with [`in_partition`](PartitionedQueries::in_partition).
///
/// ```
/// use rom_dsl::placement::PartitionedBy;
/// fn partition_column<T: PartitionedBy>(_: T) -> &'static str {
///     <T::Column as rom_dsl::index::Column>::NAME
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "this table's model is partitioned by its key, not by a column: there is no partition value to pin a query to",
    label = "this needs a model partitioned by a column",
    note = "read one row by key with `get`, or query every partition with `.across_partitions()`; to pin queries, partition by a column: `#[rom(partition(by = tenant, buckets = N))]`"
)]
pub trait PartitionedBy: PartitionedTable {
    /// The partition column (it has an exact `index(eq)`).
    type Column: crate::index::EqFilterable + crate::index::Column<Model = Self::Model> + Default;
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
    /// The query of the rows of one partition: those whose partition column
    /// equals `value`, in its bucket. An ordinary [`Query`]: one call to one
    /// slot, every query method (pages and tokens included), atomic as any
    /// query. For a model partitioned by a column only.
    ///
    /// ```
    /// # use rom_dsl::placement::{PartitionedBy, PartitionedQueries};
    /// # use rom_dsl::{QueryDsl, Result};
    /// fn tenant_rows<T>(t: T, tenant: &str, conn: &mut redis::Connection) -> Result<usize>
    /// where
    ///     T: PartitionedQueries + PartitionedBy,
    ///     T::Column: rom_dsl::index::Column<Value = String>,
    /// {
    ///     Ok(t.in_partition(tenant).load(conn)?.len())
    /// }
    /// ```
    fn in_partition(
        self,
        value: impl crate::index::ValueFor<
            <Self as PartitionedBy>::Column,
            <<Self as PartitionedBy>::Column as crate::index::Column>::Value,
        >,
    ) -> Query<Self::Model>
    where
        Self: PartitionedBy,
    {
        use crate::query::ColumnMethods;
        let f = <Self as PartitionedBy>::Column::default().eq(value);
        pinned::<Self::Model>(
            f.node,
            <<Self as PartitionedBy>::Column as crate::index::Column>::INDEX,
        )
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

/// The query of partition column `col` equal to the value of `eq` (an
/// equality node on its exact index), pinned to that value's bucket.
fn pinned<M: crate::Model>(eq: crate::dsl::filter::Node, col: usize) -> Query<M> {
    use crate::dsl::filter::Node;
    use crate::storage::model::{SlotKind, Source};
    let base = M::layout();
    let prefix = base
        .slots
        .iter()
        .find(|s| s.kind == SlotKind::Set && s.columns == [col] && s.source == Source::Value)
        .map(|s| s.key.clone())
        .unwrap_or_default();
    // a value that cannot be indexed gives no set: the query reports it
    let b = match &eq {
        Node::Set(key) => key
            .strip_prefix(prefix.as_slice())
            .map_or(0, |v| crate::storage::partition::bucket(v, M::BUCKETS)),
        _ => 0,
    };
    let layouts = M::bucket_layouts();
    let mut q = Query::<M>::unscoped();
    q.filters.push(eq);
    match layouts.get(usize::from(b)) {
        Some(l) => q.in_layout(&base.tag, l),
        None => q,
    }
}
