//! What a committed transaction hands back: the handles of the rows it
//! inserted and the increments it made, and [`Committed`], which reads them.

use crate::dsl::increment::new_value;
use crate::error::{Error, Result};
use crate::index::Column;
use crate::plans::commit::{Entry, State, TxRow};
use crate::record::Record;
use crate::storage::model::Model;
use std::marker::PhantomData;

/// A row inserted by a [`Transaction`](crate::transaction::Transaction): after the commit,
/// [`Committed::key`] gives its key (allocated by the commit for an
/// auto-increment key).
///
/// ```
/// # use rom_dsl::Result;
/// # use rom_dsl::placement::PlacedIn;
/// # use rom_dsl::transaction::{Inserted, Transaction};
/// fn add<M: PlacedIn<M>>(row: M, conn: &mut redis::Connection) -> Result<M::Key> {
///     let mut tx = Transaction::<M>::new();
///     let new: Inserted<M> = tx.insert(row)?;
///     Ok(tx.commit(conn)?.key(new))
/// }
/// ```
pub struct Inserted<M> {
    pub(super) row: usize,
    pub(super) model: PhantomData<fn() -> M>,
}

impl<M> Clone for Inserted<M> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<M> Copy for Inserted<M> {}
impl<M> std::fmt::Debug for Inserted<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Inserted({})", self.row)
    }
}

/// An increment made by a [`Transaction`](crate::transaction::Transaction): after the commit,
/// [`Committed::value`] gives the column's new value.
///
/// ```
/// # use rom_dsl::{Column, Model, Result};
/// # use rom_dsl::placement::PlacedIn;
/// # use rom_dsl::record::CounterMethods;
/// # use rom_dsl::transaction::{Incremented, Transaction};
/// fn visit<M, C>(visits: C, page: u64, conn: &mut redis::Connection) -> Result<i64>
/// where
///     M: PlacedIn<M> + Model<Key = u64>,
///     C: Column<Model = M, Value = i64>,
/// {
///     let mut tx = Transaction::<M>::new();
///     let inc: Incremented<C> = tx.increment(page, visits.add(1))?;
///     tx.commit(conn)?.value(inc)
/// }
/// ```
pub struct Incremented<C> {
    pub(super) row: usize,
    pub(super) column: PhantomData<fn() -> C>,
}

impl<C> Clone for Incremented<C> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<C> Copy for Incremented<C> {}
impl<C> std::fmt::Debug for Incremented<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Incremented({})", self.row)
    }
}

/// What a committed [`Transaction`](crate::transaction::Transaction) wrote: the keys of its inserted rows and
/// every row as written.
///
/// ```
/// # use rom_dsl::{Column, Model, Result};
/// # use rom_dsl::placement::PlacedIn;
/// # use rom_dsl::record::CounterMethods;
/// # use rom_dsl::transaction::{Committed, Transaction};
/// // an order and the item's stock, in one atomic call
/// fn order<P, O, S>(
///     row: O,
///     stock: S,
///     item: u64,
///     conn: &mut redis::Connection,
/// ) -> Result<(O::Key, i64)>
/// where
///     O: PlacedIn<P>,
///     S: Column<Value = i64>,
///     S::Model: PlacedIn<P> + Model<Key = u64>,
/// {
///     let mut tx = Transaction::<P>::new();
///     let new = tx.insert(row)?;
///     let left = tx.increment(item, stock.add(-1).at_least(0))?;
///     let done: Committed = tx.commit(conn)?;
///     Ok((done.key(new), done.value(left)?))
/// }
/// ```
pub struct Committed {
    pub(super) rows: Vec<Box<dyn Entry>>,
}

impl std::fmt::Debug for Committed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Committed")
            .field("rows", &self.rows.len())
            .finish()
    }
}

impl Committed {
    /// The key of a row the transaction inserted.
    ///
    /// ```
    /// # use rom_dsl::Result;
    /// # use rom_dsl::placement::PlacedIn;
    /// # use rom_dsl::transaction::Transaction;
    /// fn add_two<M: PlacedIn<M>>(
    ///     a: M,
    ///     b: M,
    ///     conn: &mut redis::Connection,
    /// ) -> Result<(M::Key, M::Key)> {
    ///     let mut tx = Transaction::<M>::new();
    ///     let (a, b) = (tx.insert(a)?, tx.insert(b)?);
    ///     let done = tx.commit(conn)?;
    ///     Ok((done.key(a), done.key(b)))
    /// }
    /// ```
    pub fn key<M: Model>(&self, row: Inserted<M>) -> M::Key {
        self.record(row).key().clone()
    }

    /// A row the transaction inserted, as written (ready for
    /// [`Record::save`]).
    ///
    /// ```
    /// # use rom_dsl::{Record, Result};
    /// # use rom_dsl::placement::PlacedIn;
    /// # use rom_dsl::transaction::Transaction;
    /// fn add<M: PlacedIn<M>>(row: M, conn: &mut redis::Connection) -> Result<Record<M>> {
    ///     let mut tx = Transaction::<M>::new();
    ///     let new = tx.insert(row)?;
    ///     Ok(tx.commit(conn)?.record(new).clone())
    /// }
    /// ```
    pub fn record<M: Model>(&self, row: Inserted<M>) -> &Record<M> {
        match &typed::<M>(&*self.rows[row.row]).state {
            State::Row(r) => r,
            // an insert a later delete cancelled is refused by `delete`
            _ => unreachable!("an inserted row is written"),
        }
    }
}

impl Committed {
    /// The new value of a column a transaction incremented.
    ///
    /// ```
    /// # use rom_dsl::{Column, Model, Result};
    /// # use rom_dsl::placement::PlacedIn;
    /// # use rom_dsl::record::CounterMethods;
    /// # use rom_dsl::transaction::Transaction;
    /// fn like<M, A, B>(
    ///     likes: A,
    ///     score: B,
    ///     post: u64,
    ///     conn: &mut redis::Connection,
    /// ) -> Result<(i64, i64)>
    /// where
    ///     M: PlacedIn<M> + Model<Key = u64>,
    ///     A: Column<Model = M, Value = i64>,
    ///     B: Column<Model = M, Value = i64>,
    /// {
    ///     let mut tx = Transaction::<M>::new();
    ///     let a = tx.increment(post, likes.add(1))?;
    ///     let b = tx.increment(post, score.add(10))?; // the same row
    ///     let done = tx.commit(conn)?;
    ///     Ok((done.value(a)?, done.value(b)?))
    /// }
    /// ```
    pub fn value<C: Column>(&self, inc: Incremented<C>) -> Result<C::Value> {
        match &typed::<C::Model>(&*self.rows[inc.row]).state {
            State::Add {
                columns,
                result: Some(result),
                ..
            } => {
                let i = columns.iter().position(|&c| c == C::INDEX).unwrap_or(0);
                let part = result.split(|&b| b == b',').nth(i).unwrap_or_default();
                new_value::<C>(part)
            }
            _ => Err(Error::decode(
                b"(commit)",
                Some(C::NAME),
                "no increment result",
            )),
        }
    }
}

pub(super) fn typed<M: Model>(e: &dyn Entry) -> &TxRow<M> {
    e.as_any()
        .downcast_ref::<TxRow<M>>()
        .expect("a handle names a row of its model")
}

pub(super) fn typed_mut<M: Model>(e: &mut dyn Entry) -> &mut TxRow<M> {
    e.as_any_mut()
        .downcast_mut::<TxRow<M>>()
        .expect("a row is stored under its model")
}
