//! Records and the CRUD operations.
//! Public as `rom_dsl::record` (`src/record.rs`).

#[cfg(feature = "tokio")]
use crate::connection::AsyncConnection;
use crate::connection::Connection;
use crate::error::{Error, Result};
use crate::plan::Plan;
use crate::plans::read::get_plan;
use crate::plans::write::{delete_plan, save_plan};
use crate::storage::model::Model;

use super::hooks;
use crate::wire::save::SaveMode as Mode;
use std::ops::{Deref, DerefMut};

/// A row loaded from (or saved to) Redis: the model value plus what was stored
/// when it was last read or written, so that [`Record::save`] sends only the
/// changed columns and detects a row changed underneath.
///
/// Derefs to the model, so fields are read and assigned directly. Its `Debug`
/// shows the key and the model (`Record { key: 1, value: User { .. } }`), never
/// the stored bytes.
///
/// # serde
///
/// A record serializes exactly as its model: what it remembers of the stored
/// row is not part of it. A deserialized record (the key taken from the model;
/// none is an error) is *detached*: it does not know what is stored, and its
/// values may be anyone's edits, so [`Record::save`] and [`Record::save_all`]
/// refuse it with [`Error::Validation`] (nothing sent) rather than guess;
/// [`Record::save_forced`] writes every column (the value given wins, a
/// deleted row stays deleted) and [`Record::refresh`] reloads it, after which
/// it is an ordinary record. To save a client's edits with a conflict check,
/// apply them to a freshly loaded record. The book's "Writes and guarantees"
/// chapter has a runnable example.
///
/// ```
/// use rom_dsl::{Model, Record};
/// // the JSON of a record is the JSON of its model
/// fn to_json<M: Model + serde::Serialize>(r: &Record<M>) -> serde_json::Result<String> {
///     serde_json::to_string(r)
/// }
/// ```
#[derive(Clone)]
pub struct Record<M: Model> {
    pub(super) value: M,
    pub(super) key: M::Key,
    /// The stored bytes of each column as last read or written; `None` for a
    /// deserialized record, which does not know them.
    pub(super) snapshot: Option<Vec<Option<Vec<u8>>>>,
}

impl<M: Model> Deref for Record<M> {
    type Target = M;
    fn deref(&self) -> &M {
        &self.value
    }
}

impl<M: Model> DerefMut for Record<M> {
    fn deref_mut(&mut self) -> &mut M {
        &mut self.value
    }
}

/// What a save plan reports: the row's key and the stored bytes it wrote.
///
/// ```
/// # use rom_dsl::{Crud, Result};
/// fn inserted_key<M: Crud>(row: &M, conn: &mut redis::Connection) -> Result<M::Key> {
///     Ok(row.insert_plan()?.run(conn)?.key)
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Saved<K> {
    /// The row's key (allocated by this save for a new auto-increment row).
    pub key: K,
    pub(crate) snapshot: Vec<Option<Vec<u8>>>,
}

impl<M: Model> Record<M> {
    /// The row's primary key.
    ///
    /// ```
    /// # use rom_dsl::{Model, Record};
    /// fn keys<M: Model>(rows: &[Record<M>]) -> Vec<M::Key> {
    ///     rows.iter().map(|r| r.key().clone()).collect()
    /// }
    /// ```
    pub fn key(&self) -> &M::Key {
        &self.key
    }

    /// The model value, without the record of what was stored.
    ///
    /// ```
    /// # use rom_dsl::{Model, Record};
    /// fn values<M: Model>(rows: Vec<Record<M>>) -> Vec<M> {
    ///     rows.into_iter().map(Record::into_inner).collect()
    /// }
    /// ```
    pub fn into_inner(self) -> M {
        self.value
    }

    /// The columns changed since the row was loaded or saved (every column for
    /// a deserialized record, which does not know what is stored).
    ///
    /// ```
    /// # use rom_dsl::{Model, Record, Result};
    /// fn unsaved<M: Model>(r: &Record<M>) -> Result<bool> {
    ///     Ok(!r.changed_columns()?.is_empty())
    /// }
    /// ```
    pub fn changed_columns(&self) -> Result<Vec<&'static str>> {
        let cells = self.value.cells()?;
        let Some(snapshot) = &self.snapshot else {
            return Ok(M::SCHEMA.columns.iter().map(|d| d.name).collect());
        };
        Ok(M::SCHEMA
            .columns
            .iter()
            .zip(cells.iter().zip(snapshot))
            .filter(|(_, (c, s))| c.stored != **s)
            .map(|(d, _)| d.name)
            .collect())
    }

    /// Nothing to save: no column changed and no structure has recorded
    /// writes.
    pub(crate) fn is_unchanged(&self) -> Result<bool> {
        Ok(self.changed_columns()?.is_empty() && !crate::dsl::structures::has_pending(&self.value))
    }

    pub(crate) fn from_parts(value: M, key: M::Key, snapshot: Vec<Option<Vec<u8>>>) -> Self {
        Record {
            value,
            key,
            snapshot: Some(snapshot),
        }
    }

    pub(crate) fn check_key(&self) -> Result<()> {
        if self.value.key().as_ref() != Some(&self.key) {
            return Err(Error::Validation {
                model: M::SCHEMA.name,
                column: M::SCHEMA.key_name.to_owned(),
                reason: "the primary key of a stored row cannot change; insert a new row instead"
                    .into(),
            });
        }
        Ok(())
    }

    /// The plan of [`Record::save`]: writes the changed columns and their index
    /// entries, provided that the stored values of those columns are still the
    /// ones this record last saw.
    ///
    /// ```
    /// # use rom_dsl::{Model, Record, Result};
    /// fn plan_text<M: Model>(r: &Record<M>) -> Result<String> {
    ///     Ok(r.save_plan()?.explain()) // the changed columns and what they must still be
    /// }
    /// ```
    pub fn save_plan(&self) -> Result<Plan<Saved<M::Key>>> {
        self.check_key()?;
        save_plan(&self.value, Some(self.loaded()?), Mode::Update, false)
    }

    /// The plan of [`Record::save_forced`]: like [`Record::save_plan`] without the
    /// conflict check (every column for a deserialized record).
    ///
    /// ```
    /// # use rom_dsl::{Model, Record, Result};
    /// fn plan_text<M: Model>(r: &Record<M>) -> Result<String> {
    ///     Ok(r.save_forced_plan()?.explain())
    /// }
    /// ```
    pub fn save_forced_plan(&self) -> Result<Plan<Saved<M::Key>>> {
        self.check_key()?;
        save_plan(&self.value, self.snapshot.as_deref(), Mode::Update, true)
    }

    fn apply(&mut self, s: Saved<M::Key>) {
        self.snapshot = Some(s.snapshot);
        crate::dsl::structures::saved(&mut self.value, &self.key);
    }

    /// Saves the changed columns, atomically, in one round trip. Fails with
    /// [`Error::Conflict`] when another writer changed one of those columns (or
    /// deleted the row) since this record was read, and with
    /// [`Error::UniqueViolation`] when a unique value is taken; nothing is written
    /// then. Saving an unchanged record sends nothing. A deserialized record
    /// (see [serde](Record#serde)) is refused with [`Error::Validation`].
    ///
    /// ```
    /// # use rom_dsl::{Error, Model, Record, Result};
    /// fn update<M: Model>(r: &mut Record<M>, edit: impl Fn(&mut M), conn: &mut redis::Connection) -> Result<()> {
    ///     edit(r);
    ///     match r.save(conn) {
    ///         // another writer came first: reload, edit again, save once more
    ///         Err(Error::Conflict { .. }) => {
    ///             r.refresh(conn)?;
    ///             edit(r);
    ///             r.save(conn)
    ///         }
    ///         other => other,
    ///     }
    /// }
    /// ```
    pub fn save<C: Connection + ?Sized>(&mut self, conn: &mut C) -> Result<()> {
        self.check_key()?;
        self.loaded()?;
        if self.is_unchanged()? {
            return Ok(());
        }
        hooks::before_update(&mut self.value)?;
        let s = with_key(self.save_plan()?.run(conn), &self.key)?;
        self.apply(s);
        hooks::after_update(&self.value);
        Ok(())
    }

    /// [`Record::save`] on an async connection.
    ///
    /// ```
    /// # use rom_dsl::{Model, Record, Result};
    /// async fn update<M: Model>(r: &mut Record<M>, edit: impl FnOnce(&mut M), conn: &mut redis::aio::MultiplexedConnection) -> Result<()> {
    ///     edit(r);
    ///     r.save_async(conn).await
    /// }
    /// ```
    #[cfg(feature = "tokio")]
    pub async fn save_async<C: AsyncConnection>(&mut self, conn: &mut C) -> Result<()> {
        self.check_key()?;
        self.loaded()?;
        if self.is_unchanged()? {
            return Ok(());
        }
        hooks::before_update_async(&mut self.value).await?;
        let s = with_key(self.save_plan()?.run_async(conn).await, &self.key)?;
        self.apply(s);
        hooks::after_update(&self.value);
        Ok(())
    }

    /// Saves the changed columns even if another writer changed them since this
    /// record was read (the last writer wins). Unique constraints still hold.
    /// It always makes the call, even for an unchanged record, and fails with
    /// [`Error::Conflict`] when the row was deleted (it never resurrects a row).
    /// A deserialized record writes every column.
    ///
    /// ```
    /// # use rom_dsl::{Model, Record, Result};
    /// fn overwrite<M: Model>(r: &mut Record<M>, edit: impl FnOnce(&mut M), conn: &mut redis::Connection) -> Result<()> {
    ///     edit(r);
    ///     r.save_forced(conn) // no conflict check: this value wins
    /// }
    /// ```
    pub fn save_forced<C: Connection + ?Sized>(&mut self, conn: &mut C) -> Result<()> {
        hooks::before_update(&mut self.value)?;
        let s = with_key(self.save_forced_plan()?.run(conn), &self.key)?;
        self.apply(s);
        hooks::after_update(&self.value);
        Ok(())
    }

    /// [`Record::save_forced`] on an async connection.
    ///
    /// ```
    /// # use rom_dsl::{Model, Record, Result};
    /// async fn overwrite<M: Model>(r: &mut Record<M>, edit: impl FnOnce(&mut M), conn: &mut redis::aio::MultiplexedConnection) -> Result<()> {
    ///     edit(r);
    ///     r.save_forced_async(conn).await
    /// }
    /// ```
    #[cfg(feature = "tokio")]
    pub async fn save_forced_async<C: AsyncConnection>(&mut self, conn: &mut C) -> Result<()> {
        hooks::before_update_async(&mut self.value).await?;
        let s = with_key(self.save_forced_plan()?.run_async(conn).await, &self.key)?;
        self.apply(s);
        hooks::after_update(&self.value);
        Ok(())
    }

    /// Saves the changed columns of many records in one round trip (a pipeline
    /// of one script call per changed record, each atomic and conflict-checked
    /// as [`Record::save`]); one result per record, in order.
    ///
    /// ```
    /// # use rom_dsl::{Model, Record, Result};
    /// fn save_each<M: Model>(rows: &mut [Record<M>], conn: &mut redis::Connection) -> Result<usize> {
    ///     let results = Record::save_all(conn, rows)?;
    ///     Ok(results.iter().filter(|r| r.is_err()).count()) // how many were not saved
    /// }
    /// ```
    pub fn save_all<C: Connection + ?Sized>(
        conn: &mut C,
        records: &mut [Record<M>],
    ) -> Result<Vec<Result<()>>> {
        let hooked = records
            .iter_mut()
            .map(|r| match r.is_unchanged() {
                Ok(false) => hooks::before_update(&mut r.value),
                _ => Ok(()),
            })
            .collect();
        let (mut out, plans, idx) = Self::plans_of(records, hooked);
        let results = crate::plans::fan::run_rows::<M, _, _>(plans, conn)?;
        Self::apply_all(records, &mut out, results, idx);
        Ok(out)
    }

    /// [`Record::save_all`] on an async connection.
    ///
    /// ```
    /// # use rom_dsl::{Model, Record, Result};
    /// async fn save_each<M: Model>(rows: &mut [Record<M>], conn: &mut redis::aio::MultiplexedConnection) -> Result<Vec<Result<()>>> {
    ///     Record::save_all_async(conn, rows).await
    /// }
    /// ```
    #[cfg(feature = "tokio")]
    pub async fn save_all_async<C: AsyncConnection>(
        conn: &mut C,
        records: &mut [Record<M>],
    ) -> Result<Vec<Result<()>>> {
        let mut hooked = Vec::with_capacity(records.len());
        for r in records.iter_mut() {
            hooked.push(match r.is_unchanged() {
                Ok(false) => hooks::before_update_async(&mut r.value).await,
                _ => Ok(()),
            });
        }
        let (mut out, plans, idx) = Self::plans_of(records, hooked);
        let results = crate::plans::fan::run_rows_async::<M, _, _>(plans, conn).await?;
        Self::apply_all(records, &mut out, results, idx);
        Ok(out)
    }

    #[allow(clippy::type_complexity)]
    fn plans_of(
        records: &[Record<M>],
        hooked: Vec<Result<()>>,
    ) -> (Vec<Result<()>>, Vec<Plan<Saved<M::Key>>>, Vec<usize>) {
        let mut out = Vec::with_capacity(records.len());
        let (mut plans, mut idx) = (Vec::new(), Vec::new());
        for (i, (r, h)) in records.iter().zip(hooked).enumerate() {
            match h
                .and_then(|()| r.check_key())
                .and_then(|()| r.loaded().map(|_| ()))
                .and_then(|()| r.is_unchanged())
                .and_then(|unchanged| {
                    if unchanged {
                        Ok(None)
                    } else {
                        r.save_plan().map(Some)
                    }
                }) {
                Ok(Some(p)) => {
                    plans.push(p);
                    idx.push(i);
                    out.push(Ok(()));
                }
                Ok(None) => out.push(Ok(())),
                Err(e) => out.push(Err(e)),
            }
        }
        (out, plans, idx)
    }

    fn apply_all(
        records: &mut [Record<M>],
        out: &mut [Result<()>],
        results: Vec<Result<Saved<M::Key>>>,
        idx: Vec<usize>,
    ) {
        for (i, r) in idx.into_iter().zip(results) {
            match with_key(r, &records[i].key) {
                Ok(s) => {
                    records[i].apply(s);
                    hooks::after_update(&records[i].value);
                }
                Err(e) => out[i] = Err(e),
            }
        }
    }

    /// Deletes the row and its index entries; `false` when it was already gone.
    ///
    /// ```
    /// # use rom_dsl::{Crud, Model, Query, QueryDsl};
    /// # #[derive(Clone, Debug)] struct Tag;
    /// # impl rom_dsl::__private::Sealed for Tag {}
    /// # impl rom_dsl::placement::Unpartitioned for Tag {}
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
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = rom_testing::RedisServer::start()?;
    /// # let mut conn = server.connection()?;
    /// // (`Tag` is a model written by hand; yours come from `#[derive(Model)]`)
    /// let tag = Tag.insert(&mut conn)?;
    /// let copy = tag.clone();
    /// assert!(tag.delete(&mut conn)?);
    /// assert!(!copy.delete(&mut conn)?); // already gone
    /// # Ok(()) }
    /// ```
    pub fn delete<C: Connection + ?Sized>(self, conn: &mut C) -> Result<bool> {
        hooks::before_delete::<M>(&self.key)?;
        let n = delete_plan::<M>(std::slice::from_ref(&self.key)).run(conn)?;
        hooks::after_delete::<M>(&self.key);
        Ok(n == 1)
    }

    /// [`Record::delete`] on an async connection.
    ///
    /// ```
    /// # use rom_dsl::{Model, Record, Result};
    /// async fn remove<M: Model>(r: Record<M>, conn: &mut redis::aio::MultiplexedConnection) -> Result<bool> {
    ///     r.delete_async(conn).await
    /// }
    /// ```
    #[cfg(feature = "tokio")]
    pub async fn delete_async<C: AsyncConnection>(self, conn: &mut C) -> Result<bool> {
        hooks::before_delete_async::<M>(&self.key).await?;
        let n = delete_plan::<M>(std::slice::from_ref(&self.key))
            .run_async(conn)
            .await?;
        hooks::after_delete::<M>(&self.key);
        Ok(n == 1)
    }

    /// Reloads the row from Redis, dropping unsaved changes; [`Error::NotFound`]
    /// when it was deleted.
    ///
    /// ```
    /// # use rom_dsl::{Model, OptionalExtension, Record, Result};
    /// fn still_there<M: Model>(r: &mut Record<M>, conn: &mut redis::Connection) -> Result<bool> {
    ///     Ok(r.refresh(conn).optional()?.is_some())
    /// }
    /// ```
    pub fn refresh<C: Connection + ?Sized>(&mut self, conn: &mut C) -> Result<()> {
        let fresh = get_plan::<M>(std::slice::from_ref(&self.key)).run(conn)?;
        self.replace(fresh)
    }

    /// [`Record::refresh`] on an async connection.
    ///
    /// ```
    /// # use rom_dsl::{Model, Record, Result};
    /// async fn reload<M: Model>(r: &mut Record<M>, conn: &mut redis::aio::MultiplexedConnection) -> Result<()> {
    ///     r.refresh_async(conn).await
    /// }
    /// ```
    #[cfg(feature = "tokio")]
    pub async fn refresh_async<C: AsyncConnection>(&mut self, conn: &mut C) -> Result<()> {
        let fresh = get_plan::<M>(std::slice::from_ref(&self.key))
            .run_async(conn)
            .await?;
        self.replace(fresh)
    }

    fn replace(&mut self, fresh: Vec<Record<M>>) -> Result<()> {
        match fresh.into_iter().next() {
            Some(r) => {
                *self = r;
                Ok(())
            }
            None => Err(Error::NotFound {
                model: M::SCHEMA.name,
                key: format!("{:?}", self.key),
            }),
        }
    }
}

/// Fills the key into error messages that only the caller knows.
pub(super) fn with_key<T>(r: Result<T>, key: &impl std::fmt::Debug) -> Result<T> {
    r.map_err(|e| match e {
        Error::Conflict { model, column, .. } => Error::Conflict {
            model,
            key: format!("{key:?}"),
            column,
        },
        Error::UniqueViolation {
            model,
            column,
            value,
        } if value.is_empty() => Error::UniqueViolation {
            model,
            column,
            value: format!("{key:?}"),
        },
        other => other,
    })
}
