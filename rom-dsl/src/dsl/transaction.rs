//! Units of work: rows of the models of one placement, read, changed and
//! written together in one atomic call. Public as `rom_dsl::transaction`.

pub use super::committed::{Committed, Incremented, Inserted};
use super::committed::{typed, typed_mut};
#[cfg(feature = "tokio")]
use crate::connection::AsyncConnection;
use crate::connection::Connection;
use crate::dsl::increment::Add;
use crate::error::{Error, Result};
use crate::index::Column;
use crate::placement::PlacedIn;
use crate::plans::commit::{Entry, Event, Fence, Read, State, TxRow, apply_reply, commit_plan};
use crate::plans::read::get_plan;
use crate::record::Record;
use crate::storage::model::{IntoKey, Key, Model};
use std::any::TypeId;
use std::collections::HashMap;
use std::marker::PhantomData;

/// A unit of work over the models of one placement `P` (a group, or one
/// model in no group; see [`PlacedIn`]): it reads rows, holds the changes
/// made to them, and writes every insert, update and delete in **one atomic
/// call** at [`commit`](Transaction::commit), after checking that every row
/// it read is still as it read it. All or nothing: a conflict, a taken unique
/// value or any other failure writes nothing.
///
/// - **Reads** go to Redis once per row: [`get`](Transaction::get) of a row the
///   transaction holds returns its pending version without a round trip (an
///   identity map: one object per row, so a change made through it is seen by
///   every later read). Queries do not run inside a transaction: run them on
///   the connection and [`attach`](Transaction::attach) the records they load.
/// - **Writes** are held until commit; nothing is sent before it.
///   [`rollback`](Transaction::rollback), or dropping the transaction,
///   discards them.
/// - **Commit** checks every column of every row read (changed or not: a
///   decision made from a row is only valid while it holds), and that rows
///   read as absent are still absent; then it writes. Every row that changed
///   is named in [`Error::TransactionConflict`]. Run the transaction again from
///   its reads with [`retry`](crate::transaction::retry).
/// - **Placement** is checked at compile time: all models of a transaction
///   must be [`PlacedIn`] the same `P`, so one call can touch all their keys,
///   on a Redis Cluster too.
///
/// A transfer between two accounts of a group `Bank` (the book's "Units of
/// work" chapter runs it):
///
/// ```text
/// let mut tx = Transaction::new();            // Transaction<Bank>, inferred
/// tx.get_many::<Account, _>(&mut conn, &[1, 2])?;          // one round trip
/// tx.row::<Account>(1u64).unwrap().balance -= 30;
/// tx.row::<Account>(2u64).unwrap().balance += 30;
/// tx.insert(Entry { id: None, from: 1, to: 2, amount: 30 })?;
/// tx.commit(&mut conn)?;                // one round trip: all three or none
/// ```
///
/// A transaction holds nothing until used, and sends nothing until
/// committed:
///
/// ```
/// use rom_dsl::transaction::Transaction;
/// rom_dsl::group!(pub Bank = "bank");
///
/// let tx = Transaction::<Bank>::new();
/// assert!(tx.is_empty());
/// assert_eq!(tx.explain()?, ""); // a commit would send nothing
/// tx.rollback();
/// # Ok::<(), rom_dsl::Error>(())
/// ```
pub struct Transaction<P> {
    rows: Vec<Box<dyn Entry>>,
    /// The row of each (model, member) the transaction holds.
    by_key: HashMap<(TypeId, Vec<u8>), usize>,
    placement: PhantomData<fn() -> P>,
}

impl<P> std::fmt::Debug for Transaction<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rows: Vec<String> = self
            .rows
            .iter()
            .map(|r| {
                let (m, k) = r.who();
                format!("{m} {k}")
            })
            .collect();
        f.debug_struct("Transaction").field("rows", &rows).finish()
    }
}

impl<P> Default for Transaction<P> {
    fn default() -> Self {
        Transaction {
            rows: Vec::new(),
            by_key: HashMap::new(),
            placement: PhantomData,
        }
    }
}

impl<P> Transaction<P> {
    /// An empty transaction. Its placement `P` is inferred from the first
    /// model it touches.
    ///
    /// ```
    /// use rom_dsl::transaction::Transaction;
    /// rom_dsl::group!(pub Shop = "shop");
    ///
    /// let tx = Transaction::<Shop>::new();
    /// assert!(tx.is_empty());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the transaction holds no row.
    ///
    /// ```
    /// # use rom_dsl::{Model, Result};
    /// # use rom_dsl::placement::PlacedIn;
    /// # use rom_dsl::transaction::Transaction;
    /// fn holds_something<M: PlacedIn<M> + Model<Key = u64>>() -> Result<bool> {
    ///     let mut tx = Transaction::<M>::new();
    ///     tx.delete::<M>(7u64)?;
    ///     Ok(!tx.is_empty()) // true: the delete is held
    /// }
    /// ```
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    fn slot<M: Model>(&self, member: &[u8]) -> Option<usize> {
        self.by_key
            .get(&(TypeId::of::<M>(), member.to_vec()))
            .copied()
    }

    fn push<M: Model>(&mut self, row: TxRow<M>) -> usize {
        let i = self.rows.len();
        if let Some(m) = &row.member {
            self.by_key.insert((TypeId::of::<M>(), m.clone()), i);
        }
        self.rows.push(Box::new(row));
        i
    }

    fn view<M: Model>(&mut self, i: usize) -> Option<&mut Record<M>> {
        match &mut typed_mut::<M>(&mut *self.rows[i]).state {
            State::Row(r) => Some(r),
            _ => None,
        }
    }

    /// The row with this key as the transaction holds it, without a round
    /// trip: `None` when the transaction has not read it, read it as absent,
    /// or deleted it.
    ///
    /// ```
    /// # use rom_dsl::{Model, Result};
    /// # use rom_dsl::placement::PlacedIn;
    /// # use rom_dsl::transaction::Transaction;
    /// fn read_before<M: PlacedIn<M> + Model<Key = u64>>(tx: &mut Transaction<M>) -> bool {
    ///     tx.row::<M>(7u64).is_some() // no round trip
    /// }
    /// ```
    pub fn row<M: PlacedIn<P>>(&mut self, key: impl IntoKey<M::Key>) -> Option<&mut Record<M>> {
        let member = key.into_key()?.to_member();
        let i = self.slot::<M>(&member)?;
        self.view(i)
    }

    /// The held row for `get`: a row the transaction increments without
    /// reading it cannot be read in it.
    fn held<M: Model>(&mut self, key: M::Key) -> Result<Option<&mut Record<M>>> {
        let Some(i) = self.slot::<M>(&key.to_member()) else {
            return Ok(None);
        };
        if matches!(typed::<M>(&*self.rows[i]).state, State::Add { .. }) {
            return Err(crate::storage::model::invalid::<M>(
                M::SCHEMA.key_name,
                format!(
                    "this transaction increments the row {key:?} without reading it; read it before incrementing, or after the commit"
                ),
            ));
        }
        Ok(self.view(i))
    }

    /// Takes in the rows with these keys read from Redis (`found`: the
    /// present ones), unless the transaction holds them already.
    fn take_in<M: Model>(&mut self, keys: &[M::Key], found: Vec<Record<M>>) {
        let mut found: HashMap<Vec<u8>, Record<M>> = found
            .into_iter()
            .map(|r| (r.key().to_member(), r))
            .collect();
        for key in keys {
            let m = key.to_member();
            if self.slot::<M>(&m).is_some() {
                continue;
            }
            // the key as `Debug` shows it, present or not (`RowConflict::key`)
            let shown = format!("{key:?}");
            let row = match found.remove(&m) {
                Some(rec) => TxRow {
                    read: Read::Present(rec.snapshot.clone().unwrap_or_default()),
                    shown,
                    state: State::Row(rec),
                    member: Some(m),
                },
                None => TxRow {
                    read: Read::Absent,
                    shown,
                    state: State::Absent,
                    member: Some(m),
                },
            };
            self.push(row);
        }
    }

    /// The keys of `keys` the transaction does not hold.
    fn missing<M: Model>(&self, keys: &[M::Key]) -> Vec<M::Key> {
        keys.iter()
            .filter(|k| self.slot::<M>(&k.to_member()).is_none())
            .cloned()
            .collect()
    }

    /// The row with this key: from the transaction when it holds it (no round
    /// trip), else read from Redis (one round trip) and held from then on. The
    /// returned record is the transaction's: change it in place, and the
    /// commit writes the change. `None` when there is no such row (the commit
    /// then checks that there still is none).
    ///
    /// ```
    /// # use rom_dsl::{Model, Result};
    /// # use rom_dsl::placement::PlacedIn;
    /// # use rom_dsl::transaction::Transaction;
    /// fn check<M: PlacedIn<M> + Model<Key = u64>>(conn: &mut redis::Connection) -> Result<bool> {
    ///     let mut tx = Transaction::<M>::new();
    ///     let found = tx.get::<M, _>(conn, 7u64)?.is_some();
    ///     tx.commit(conn)?; // fails if row 7 changed in between
    ///     Ok(found)
    /// }
    /// ```
    pub fn get<M: PlacedIn<P>, C: Connection + ?Sized>(
        &mut self,
        conn: &mut C,
        key: impl IntoKey<M::Key>,
    ) -> Result<Option<&mut Record<M>>> {
        let Some(key) = key.into_key() else {
            return Ok(None);
        };
        self.get_many::<M, C>(conn, std::slice::from_ref(&key))?;
        self.held::<M>(key)
    }

    /// [`Transaction::get`] on an async connection.
    ///
    /// ```
    /// # use rom_dsl::{Model, Result};
    /// # use rom_dsl::placement::PlacedIn;
    /// # use rom_dsl::transaction::Transaction;
    /// async fn check<M: PlacedIn<M> + Model<Key = u64>>(
    ///     conn: &mut redis::aio::MultiplexedConnection,
    /// ) -> Result<bool> {
    ///     let mut tx = Transaction::<M>::new();
    ///     let found = tx.get_async::<M, _>(conn, 7u64).await?.is_some();
    ///     tx.commit_async(conn).await?;
    ///     Ok(found)
    /// }
    /// ```
    #[cfg(feature = "tokio")]
    pub async fn get_async<M: PlacedIn<P>, C: AsyncConnection>(
        &mut self,
        conn: &mut C,
        key: impl IntoKey<M::Key>,
    ) -> Result<Option<&mut Record<M>>> {
        let Some(key) = key.into_key() else {
            return Ok(None);
        };
        self.get_many_async::<M, C>(conn, std::slice::from_ref(&key))
            .await?;
        self.held::<M>(key)
    }

    /// Reads the rows with these keys that the transaction does not hold yet,
    /// in one round trip (none when it holds them all); then
    /// [`row`](Transaction::row) gives each.
    ///
    /// ```
    /// # use rom_dsl::{Model, Result};
    /// # use rom_dsl::placement::PlacedIn;
    /// # use rom_dsl::transaction::Transaction;
    /// fn count<M: PlacedIn<M> + Model<Key = u64>>(conn: &mut redis::Connection) -> Result<usize> {
    ///     let mut tx = Transaction::<M>::new();
    ///     tx.get_many::<M, _>(conn, &[1, 2])?; // one round trip
    ///     Ok([1u64, 2].into_iter().filter(|&k| tx.row::<M>(k).is_some()).count())
    /// }
    /// ```
    pub fn get_many<M: PlacedIn<P>, C: Connection + ?Sized>(
        &mut self,
        conn: &mut C,
        keys: &[M::Key],
    ) -> Result<()> {
        let keys = self.missing::<M>(keys);
        if keys.is_empty() {
            return Ok(());
        }
        let found = get_plan::<M>(&keys).run(conn)?;
        self.take_in(&keys, found);
        Ok(())
    }

    /// [`Transaction::get_many`] on an async connection.
    ///
    /// ```
    /// # use rom_dsl::{Model, Result};
    /// # use rom_dsl::placement::PlacedIn;
    /// # use rom_dsl::transaction::Transaction;
    /// async fn count<M: PlacedIn<M> + Model<Key = u64>>(
    ///     conn: &mut redis::aio::MultiplexedConnection,
    /// ) -> Result<usize> {
    ///     let mut tx = Transaction::<M>::new();
    ///     tx.get_many_async::<M, _>(conn, &[1, 2]).await?;
    ///     Ok([1u64, 2].into_iter().filter(|&k| tx.row::<M>(k).is_some()).count())
    /// }
    /// ```
    #[cfg(feature = "tokio")]
    pub async fn get_many_async<M: PlacedIn<P>, C: AsyncConnection>(
        &mut self,
        conn: &mut C,
        keys: &[M::Key],
    ) -> Result<()> {
        let keys = self.missing::<M>(keys);
        if keys.is_empty() {
            return Ok(());
        }
        let found = get_plan::<M>(&keys).run_async(conn).await?;
        self.take_in(&keys, found);
        Ok(())
    }

    /// Takes in a record read outside the transaction (by a query, say): the
    /// commit checks that the row still holds what the record was read with,
    /// and writes the changes made to it. When the transaction holds the row
    /// already, its own version is kept and returned (the record passed is
    /// dropped). A deserialized record, which does not know what is stored, is
    /// refused with [`Error::Validation`].
    ///
    /// ```
    /// # use rom_dsl::{Crud, Model, Result};
    /// # use rom_dsl::placement::PlacedIn;
    /// # use rom_dsl::transaction::Transaction;
    /// fn adopt<M: PlacedIn<M> + Model<Key = u64>>(conn: &mut redis::Connection) -> Result<()> {
    ///     let mut tx = Transaction::<M>::new();
    ///     if let Some(rec) = M::get(conn, 7u64)? {
    ///         tx.attach(rec)?; // the commit checks it is unchanged
    ///     }
    ///     tx.commit(conn)?;
    ///     Ok(())
    /// }
    /// ```
    pub fn attach<M: PlacedIn<P>>(&mut self, record: Record<M>) -> Result<&mut Record<M>> {
        let member = record.key().to_member();
        let i = match self.slot::<M>(&member) {
            Some(i) => i,
            None => {
                let snap = record.loaded()?.to_vec();
                self.push(TxRow {
                    read: Read::Present(snap),
                    shown: format!("{:?}", record.key()),
                    state: State::Row(record),
                    member: Some(member),
                })
            }
        };
        self.view(i).ok_or_else(|| Error::Validation {
            model: M::SCHEMA.name,
            column: M::SCHEMA.key_name.to_owned(),
            reason: "this transaction deletes the row, or increments it without reading it".into(),
        })
    }

    /// Inserts a new row at commit (its auto-increment key allocated then). A
    /// row with a natural key is held like a read one: [`row`](Transaction::row)
    /// and [`get`](Transaction::get) return it. Fails with
    /// [`Error::Validation`] when the transaction holds a row with that key
    /// (change that record instead) or deletes it, and at commit with
    /// [`Error::UniqueViolation`] when the key is taken.
    ///
    /// ```
    /// # use rom_dsl::{Model, Result};
    /// # use rom_dsl::placement::PlacedIn;
    /// # use rom_dsl::transaction::Transaction;
    /// fn add_two<M: PlacedIn<M>>(a: M, b: M, conn: &mut redis::Connection) -> Result<()> {
    ///     let mut tx = Transaction::<M>::new();
    ///     tx.insert(a)?;
    ///     tx.insert(b)?;
    ///     tx.commit(conn)?; // both rows or neither
    ///     Ok(())
    /// }
    /// ```
    pub fn insert<M: PlacedIn<P>>(&mut self, value: M) -> Result<Inserted<M>> {
        // values that cannot be stored are refused now, not at commit
        value.validate()?;
        value.cells()?;
        let Some(key) = value.key() else {
            if !M::SCHEMA.auto_key {
                return Err(crate::storage::model::invalid::<M>(
                    M::SCHEMA.key_name,
                    "a natural primary key must be set before saving".into(),
                ));
            }
            let row = self.push(TxRow {
                read: Read::Not,
                state: State::NewAuto(value),
                shown: "(new)".into(),
                member: None,
            });
            return Ok(Inserted {
                row,
                model: PhantomData,
            });
        };
        let member = key.to_member();
        let record = Record {
            value,
            key: key.clone(),
            snapshot: None,
        };
        match self.slot::<M>(&member) {
            // only a row read as absent may be inserted: a row deleted here
            // is refused too (the insert would not replace it)
            Some(i) => {
                let row = typed_mut::<M>(&mut *self.rows[i]);
                let reason = match (&row.read, &row.state) {
                    (Read::Absent, State::Absent) => None,
                    (_, State::Absent) => Some(format!(
                        "this transaction deletes the row {key:?}; it cannot also insert it"
                    )),
                    _ => Some(format!(
                        "this transaction holds the row {key:?} already; change it instead of inserting"
                    )),
                };
                if let Some(reason) = reason {
                    return Err(crate::storage::model::invalid::<M>(
                        M::SCHEMA.key_name,
                        reason,
                    ));
                }
                row.state = State::Row(record);
                Ok(Inserted {
                    row: i,
                    model: PhantomData,
                })
            }
            None => {
                let row = self.push(TxRow {
                    read: Read::Not,
                    state: State::Row(record),
                    shown: format!("{key:?}"),
                    member: Some(member),
                });
                Ok(Inserted {
                    row,
                    model: PhantomData,
                })
            }
        }
    }

    /// Deletes the row with this key at commit, with its index entries. A row
    /// the transaction read must still be as read; one it did not read is
    /// deleted if present. Deleting a row this transaction inserts is refused
    /// with [`Error::Validation`] (drop the insert instead).
    ///
    /// ```
    /// # use rom_dsl::{Model, Result};
    /// # use rom_dsl::placement::PlacedIn;
    /// # use rom_dsl::transaction::Transaction;
    /// fn remove<M: PlacedIn<M> + Model<Key = u64>>(conn: &mut redis::Connection) -> Result<()> {
    ///     let mut tx = Transaction::<M>::new();
    ///     tx.delete::<M>(7u64)?;
    ///     tx.commit(conn)?;
    ///     Ok(())
    /// }
    /// ```
    pub fn delete<M: PlacedIn<P>>(&mut self, key: impl IntoKey<M::Key>) -> Result<()> {
        let Some(key) = key.into_key() else {
            return Ok(());
        };
        let member = key.to_member();
        match self.slot::<M>(&member) {
            Some(i) => {
                let row = typed_mut::<M>(&mut *self.rows[i]);
                if !matches!(row.read, Read::Present(_)) && matches!(row.state, State::Row(_)) {
                    return Err(crate::storage::model::invalid::<M>(
                        M::SCHEMA.key_name,
                        format!(
                            "this transaction inserts the row {key:?}; it cannot also delete it"
                        ),
                    ));
                }
                row.state = State::Absent;
            }
            None => {
                self.push(TxRow::<M> {
                    read: Read::Not,
                    state: State::Absent,
                    shown: format!("{key:?}"),
                    member: Some(member),
                });
            }
        }
        Ok(())
    }

    /// Adds to an integer column of the row with this key at commit, on the
    /// server, without reading the row (so it cannot conflict: concurrent
    /// increments add up); [`Committed::value`] gives the new value. Several
    /// columns of one row may be incremented. The commit fails with
    /// [`Error::NotFound`] when the row does not exist and with
    /// [`Error::Validation`] when a new value would leave its bounds
    /// ([`Add`]). A row the transaction holds (read or inserted) is changed
    /// through its record instead: incrementing it is refused with
    /// [`Error::Validation`].
    ///
    /// ```
    /// # use rom_dsl::{Column, Model, Result};
    /// # use rom_dsl::placement::PlacedIn;
    /// # use rom_dsl::record::CounterMethods;
    /// # use rom_dsl::transaction::Transaction;
    /// fn transfer<M, C>(balance: C, conn: &mut redis::Connection) -> Result<i64>
    /// where
    ///     M: PlacedIn<M> + Model<Key = u64>,
    ///     C: Column<Model = M, Value = i64>,
    /// {
    ///     let mut tx = Transaction::<M>::new();
    ///     let from = tx.increment(1u64, balance.add(-30).at_least(0))?;
    ///     tx.increment(2u64, balance.add(30))?;
    ///     tx.commit(conn)?.value(from)
    /// }
    /// ```
    pub fn increment<C>(
        &mut self,
        key: impl IntoKey<<C::Model as Model>::Key>,
        add: Add<C>,
    ) -> Result<Incremented<C>>
    where
        C: Column,
        C::Model: PlacedIn<P>,
    {
        type M<C> = <C as Column>::Model;
        let Some(key) = key.into_key() else {
            return Err(Error::NotFound {
                model: <M<C> as Model>::SCHEMA.name,
                key: "(no key)".into(),
            });
        };
        let member = key.to_member();
        let wire = add.wire(&member)?;
        let invalid = |reason: String| Error::Validation {
            model: <M<C> as Model>::SCHEMA.name,
            column: C::NAME.to_owned(),
            reason,
        };
        let row = match self.slot::<M<C>>(&member) {
            Some(i) => {
                let State::Add { adds, columns, .. } =
                    &mut typed_mut::<M<C>>(&mut *self.rows[i]).state
                else {
                    return Err(invalid(format!(
                        "this transaction holds the row {key:?}: change the field of its record instead"
                    )));
                };
                if columns.contains(&C::INDEX) {
                    return Err(invalid(format!(
                        "this transaction increments the column of row {key:?} already; add the amounts"
                    )));
                }
                adds.push(wire);
                columns.push(C::INDEX);
                i
            }
            None => self.push(TxRow::<M<C>> {
                read: Read::Not,
                state: State::Add {
                    adds: vec![wire],
                    columns: vec![C::INDEX],
                    result: None,
                },
                shown: format!("{key:?}"),
                member: Some(member),
            }),
        };
        Ok(Incremented {
            row,
            column: PhantomData,
        })
    }

    /// Makes the commit depend on a lease: it writes nothing, and fails with
    /// [`Error::LeaseLost`], unless the lock still holds the lease's token
    /// when the commit runs (checked in the same atomic call). See
    /// [`Lease`](crate::lock::Lease).
    ///
    /// ```
    /// # use rom_dsl::{Model, Result};
    /// # use rom_dsl::placement::PlacedIn;
    /// # use rom_dsl::transaction::Transaction;
    /// # use rom_dsl::lock::Lease;
    /// fn fenced<M: PlacedIn<M>>(lease: &Lease<M>, row: M, conn: &mut redis::Connection) -> Result<()> {
    ///     let mut tx = Transaction::<M>::new();
    ///     tx.fence(lease); // no write if the lease was lost
    ///     tx.insert(row)?;
    ///     tx.commit(conn)?;
    ///     Ok(())
    /// }
    /// ```
    pub fn fence<M: PlacedIn<P>>(&mut self, lease: &crate::lock::Lease<M>) {
        let (lock, token) = lease.fence_parts();
        self.rows.push(Box::new(Fence::<M> {
            lock,
            token,
            shown: format!("{:?}", lease.key()),
            model: PhantomData,
        }));
    }

    /// What [`commit`](Transaction::commit) would send, without a server (the
    /// text of [`Plan::explain`](crate::plan::Plan::explain)); empty when it
    /// would send nothing.
    ///
    /// ```
    /// # use rom_dsl::Model;
    /// # use rom_dsl::transaction::Transaction;
    /// # #[derive(Clone, Debug)] struct Tag;
    /// # impl rom_dsl::__private::Sealed for Tag {}
    /// # impl rom_dsl::placement::Unpartitioned for Tag {}
    /// # impl rom_dsl::placement::PlacedIn<Tag> for Tag {}
    /// # impl Model for Tag {
    /// #     type Key = u64;
    /// #     const SCHEMA: &'static rom_dsl::__private::Schema = &rom_dsl::__private::Schema {
    /// #         name: "Tag", namespace: "tags", key_name: "id", auto_key: true, columns: &[], unique_together: &[] };
    /// #     fn layout() -> &'static rom_dsl::__private::Layout {
    /// #         static L: std::sync::OnceLock<rom_dsl::__private::Layout> = std::sync::OnceLock::new();
    /// #         L.get_or_init(|| rom_dsl::__private::Layout::new(Self::SCHEMA))
    /// #     }
    /// #     fn key(&self) -> Option<u64> { None }
    /// #     fn set_key(&mut self, _: u64) {}
    /// #     fn cells(&self) -> rom_dsl::Result<Vec<rom_dsl::__private::Cell>> { Ok(vec![]) }
    /// #     fn from_row(_: u64, _: &rom_dsl::__private::RowData) -> rom_dsl::Result<Self> { Ok(Tag) }
    /// # }
    /// // (`Tag` is a model written by hand; yours come from `#[derive(Model)]`)
    /// let mut tx = Transaction::<Tag>::new();
    /// tx.delete::<Tag>(7u64)?;
    /// assert!(tx.explain()?.starts_with("FCALL"));
    /// # Ok::<(), rom_dsl::Error>(())
    /// ```
    pub fn explain(&self) -> Result<String> {
        Ok(commit_plan(&self.rows)?
            .map(|(p, _)| p.explain())
            .unwrap_or_default())
    }

    /// Writes everything in one atomic call (one round trip; none when the
    /// transaction holds nothing). On success every held row reads as written
    /// ([`Committed`]); on failure nothing was written: a
    /// [`Error::TransactionConflict`] names every row not as read, or the error
    /// of the first row that cannot be written ([`Error::UniqueViolation`]...).
    ///
    /// ```
    /// # use rom_dsl::{Model, Result};
    /// # use rom_dsl::placement::PlacedIn;
    /// # use rom_dsl::transaction::{Transaction, retry};
    /// fn clear<M: PlacedIn<M> + Model<Key = u64>>(conn: &mut redis::Connection) -> Result<()> {
    ///     retry(3, || {
    ///         let mut tx = Transaction::<M>::new();
    ///         if tx.get::<M, _>(conn, 7u64)?.is_some() {
    ///             tx.delete::<M>(7u64)?;
    ///         }
    ///         tx.commit(conn).map(drop) // a conflict runs the closure again
    ///     })
    /// }
    /// ```
    pub fn commit<C: Connection + ?Sized>(mut self, conn: &mut C) -> Result<Committed> {
        let events = self.events()?;
        for (r, e) in self.rows.iter_mut().zip(&events) {
            r.before(*e)?;
        }
        // new rows of a partitioned group take their keys first
        for r in self.rows.iter_mut() {
            let mut tries = 0;
            while !r.take_key()? {
                tries += 1;
                match r.key_fill() {
                    Some(fill) if tries <= crate::plans::ids::TRIES => fill.run(conn)?,
                    _ => return Err(no_key(r.who().0)),
                }
            }
        }
        if let Some((plan, op_of)) = commit_plan(&self.rows)? {
            let reply = plan.run(conn)?;
            apply_reply(&mut self.rows, &op_of, reply)?;
        }
        self.after(&events);
        Ok(Committed { rows: self.rows })
    }

    /// The lifecycle event of each row (for its hooks).
    fn events(&self) -> Result<Vec<Event>> {
        self.rows.iter().map(|r| r.event()).collect()
    }

    fn after(&self, events: &[Event]) {
        for (r, e) in self.rows.iter().zip(events) {
            r.after(*e);
        }
    }

    /// [`Transaction::commit`] on an async connection.
    ///
    /// ```
    /// # use rom_dsl::{Model, Result};
    /// # use rom_dsl::placement::PlacedIn;
    /// # use rom_dsl::transaction::Transaction;
    /// async fn remove<M: PlacedIn<M> + Model<Key = u64>>(
    ///     conn: &mut redis::aio::MultiplexedConnection,
    /// ) -> Result<()> {
    ///     let mut tx = Transaction::<M>::new();
    ///     tx.delete::<M>(7u64)?;
    ///     tx.commit_async(conn).await?;
    ///     Ok(())
    /// }
    /// ```
    #[cfg(feature = "tokio")]
    pub async fn commit_async<C: AsyncConnection>(mut self, conn: &mut C) -> Result<Committed> {
        let events = self.events()?;
        for (r, e) in self.rows.iter_mut().zip(&events) {
            r.before_async(*e).await?;
        }
        for r in self.rows.iter_mut() {
            let mut tries = 0;
            while !r.take_key()? {
                tries += 1;
                match r.key_fill() {
                    Some(fill) if tries <= crate::plans::ids::TRIES => fill.run_async(conn).await?,
                    _ => return Err(no_key(r.who().0)),
                }
            }
        }
        if let Some((plan, op_of)) = commit_plan(&self.rows)? {
            let reply = plan.run_async(conn).await?;
            apply_reply(&mut self.rows, &op_of, reply)?;
        }
        self.after(&events);
        Ok(Committed { rows: self.rows })
    }

    /// Discards the transaction: nothing was sent, nothing is. (Dropping it
    /// does the same; this says so in the code.)
    ///
    /// ```
    /// # use rom_dsl::{Model, Result};
    /// # use rom_dsl::placement::PlacedIn;
    /// # use rom_dsl::transaction::Transaction;
    /// fn dry_run<M: PlacedIn<M>>(row: M) -> Result<String> {
    ///     let mut tx = Transaction::<M>::new();
    ///     tx.insert(row)?;
    ///     let plan = tx.explain()?;
    ///     tx.rollback(); // nothing is sent
    ///     Ok(plan)
    /// }
    /// ```
    pub fn rollback(self) {}
}

/// A new row of a partitioned model that found no key to take (other
/// threads kept emptying the block).
fn no_key(model: &'static str) -> Error {
    Error::Validation {
        model,
        column: String::new(),
        reason:
            "no key could be reserved for a new row (the block of keys kept running out); try again"
                .into(),
    }
}
