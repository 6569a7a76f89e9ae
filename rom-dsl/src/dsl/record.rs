//! Records and the CRUD operations.
//! Public as `rom_dsl::record` (`src/record.rs`).

#[cfg(feature = "tokio")]
use crate::connection::AsyncConnection;
use crate::connection::Connection;
use crate::error::{Error, Result};
use crate::plan::{Call, Plan};
use crate::plans::write::{delete_plan, get_plan, save_plan};
use crate::storage::model::{IntoKey, Key, Model};
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
#[derive(Debug, Clone)]
pub struct Saved<K> {
    /// The row's key (allocated by this save for a new auto-increment row).
    pub key: K,
    pub(crate) snapshot: Vec<Option<Vec<u8>>>,
}

impl<M: Model> Record<M> {
    /// The row's primary key.
    pub fn key(&self) -> &M::Key {
        &self.key
    }

    /// The model value, without the record of what was stored.
    pub fn into_inner(self) -> M {
        self.value
    }

    /// The columns changed since the row was loaded or saved (every column for
    /// a deserialized record, which does not know what is stored).
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
    pub fn save_plan(&self) -> Result<Plan<Saved<M::Key>>> {
        self.check_key()?;
        save_plan(&self.value, Some(self.loaded()?), Mode::Update, false)
    }

    /// The plan of [`Record::save_forced`]: like [`Record::save_plan`] without the
    /// conflict check (every column for a deserialized record).
    pub fn save_forced_plan(&self) -> Result<Plan<Saved<M::Key>>> {
        self.check_key()?;
        save_plan(&self.value, self.snapshot.as_deref(), Mode::Update, true)
    }

    fn apply(&mut self, s: Saved<M::Key>) {
        self.snapshot = Some(s.snapshot);
    }

    /// Saves the changed columns, atomically, in one round trip. Fails with
    /// [`Error::Conflict`] when another writer changed one of those columns (or
    /// deleted the row) since this record was read, and with
    /// [`Error::UniqueViolation`] when a unique value is taken; nothing is written
    /// then. Saving an unchanged record sends nothing. A deserialized record
    /// (see [serde](Record#serde)) is refused with [`Error::Validation`].
    pub fn save<C: Connection + ?Sized>(&mut self, conn: &mut C) -> Result<()> {
        self.check_key()?;
        self.loaded()?;
        if self.changed_columns()?.is_empty() {
            return Ok(());
        }
        let s = with_key(self.save_plan()?.run(conn), &self.key)?;
        self.apply(s);
        Ok(())
    }

    /// [`Record::save`] on an async connection.
    #[cfg(feature = "tokio")]
    pub async fn save_async<C: AsyncConnection>(&mut self, conn: &mut C) -> Result<()> {
        self.check_key()?;
        self.loaded()?;
        if self.changed_columns()?.is_empty() {
            return Ok(());
        }
        let s = with_key(self.save_plan()?.run_async(conn).await, &self.key)?;
        self.apply(s);
        Ok(())
    }

    /// Saves the changed columns even if another writer changed them since this
    /// record was read (the last writer wins). Unique constraints still hold.
    /// It always makes the call, even for an unchanged record, and fails with
    /// [`Error::Conflict`] when the row was deleted (it never resurrects a row).
    /// A deserialized record writes every column.
    pub fn save_forced<C: Connection + ?Sized>(&mut self, conn: &mut C) -> Result<()> {
        let s = with_key(self.save_forced_plan()?.run(conn), &self.key)?;
        self.apply(s);
        Ok(())
    }

    /// [`Record::save_forced`] on an async connection.
    #[cfg(feature = "tokio")]
    pub async fn save_forced_async<C: AsyncConnection>(&mut self, conn: &mut C) -> Result<()> {
        let s = with_key(self.save_forced_plan()?.run_async(conn).await, &self.key)?;
        self.apply(s);
        Ok(())
    }

    /// Saves the changed columns of many records in one round trip (a pipeline
    /// of one script call per changed record, each atomic and conflict-checked
    /// as [`Record::save`]); one result per record, in order.
    pub fn save_all<C: Connection + ?Sized>(
        conn: &mut C,
        records: &mut [Record<M>],
    ) -> Result<Vec<Result<()>>> {
        let (mut out, plans, idx) = Self::plans_of(records);
        let results = crate::plan::run_all(plans, conn)?;
        Self::apply_all(records, &mut out, results, idx);
        Ok(out)
    }

    /// [`Record::save_all`] on an async connection.
    #[cfg(feature = "tokio")]
    pub async fn save_all_async<C: AsyncConnection>(
        conn: &mut C,
        records: &mut [Record<M>],
    ) -> Result<Vec<Result<()>>> {
        let (mut out, plans, idx) = Self::plans_of(records);
        let results = crate::plan::run_all_async(plans, conn).await?;
        Self::apply_all(records, &mut out, results, idx);
        Ok(out)
    }

    #[allow(clippy::type_complexity)]
    fn plans_of(records: &[Record<M>]) -> (Vec<Result<()>>, Vec<Plan<Saved<M::Key>>>, Vec<usize>) {
        let mut out = Vec::with_capacity(records.len());
        let (mut plans, mut idx) = (Vec::new(), Vec::new());
        for (i, r) in records.iter().enumerate() {
            match r
                .check_key()
                .and_then(|()| r.loaded().map(|_| ()))
                .and_then(|()| r.changed_columns())
                .and_then(|c| {
                    if c.is_empty() {
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
                Ok(s) => records[i].apply(s),
                Err(e) => out[i] = Err(e),
            }
        }
    }

    /// Deletes the row and its index entries; `false` when it was already gone.
    pub fn delete<C: Connection + ?Sized>(self, conn: &mut C) -> Result<bool> {
        Ok(delete_plan::<M>(std::slice::from_ref(&self.key)).run(conn)? == 1)
    }

    /// [`Record::delete`] on an async connection.
    #[cfg(feature = "tokio")]
    pub async fn delete_async<C: AsyncConnection>(self, conn: &mut C) -> Result<bool> {
        Ok(delete_plan::<M>(std::slice::from_ref(&self.key))
            .run_async(conn)
            .await?
            == 1)
    }

    /// Reloads the row from Redis, dropping unsaved changes; [`Error::NotFound`]
    /// when it was deleted.
    pub fn refresh<C: Connection + ?Sized>(&mut self, conn: &mut C) -> Result<()> {
        let fresh = get_plan::<M>(std::slice::from_ref(&self.key)).run(conn)?;
        self.replace(fresh)
    }

    /// [`Record::refresh`] on an async connection.
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

/// The operations every model has, sync and async: implemented for every
/// [`Model`]. Bring it into scope with `use rom::prelude::*`.
pub trait Crud: Model {
    /// The plan of [`Crud::insert`].
    fn insert_plan(&self) -> Result<Plan<Saved<Self::Key>>> {
        save_plan(self, None, Mode::Insert, false)
    }
    /// The plan of [`Crud::upsert`].
    fn upsert_plan(&self) -> Result<Plan<Saved<Self::Key>>> {
        let mode = if self.key().is_none() {
            Mode::Insert
        } else {
            Mode::Put
        };
        save_plan(self, None, mode, false)
    }
    /// Renamed [`Crud::upsert_plan`].
    #[deprecated(
        note = "renamed to `upsert_plan`: the unconditional upsert of a plain value is \
                         `upsert`; `save` is the conflict-checked write of a `Record`"
    )]
    fn save_plan(&self) -> Result<Plan<Saved<Self::Key>>> {
        Crud::upsert_plan(self)
    }
    /// Inserts a new row: allocates the auto-increment key, or fails with
    /// [`Error::UniqueViolation`] on the primary key when a row with this natural
    /// key exists. One round trip, atomic.
    fn insert<C: Connection + ?Sized>(self, conn: &mut C) -> Result<Record<Self>> {
        let s = with_key(self.insert_plan()?.run(conn), &self.key())?;
        Ok(finish(self, s))
    }
    /// [`Crud::insert`] on an async connection.
    #[cfg(feature = "tokio")]
    fn insert_async<C: AsyncConnection>(
        self,
        conn: &mut C,
    ) -> impl Future<Output = Result<Record<Self>>> + Send {
        async move {
            let s = with_key(self.insert_plan()?.run_async(conn).await, &self.key())?;
            Ok(finish(self, s))
        }
    }
    /// Inserts the row, or overwrites every column of the row with the same key
    /// (no conflict check: the value given wins). Unique constraints hold. To
    /// write only what changed, and only if nobody else changed it, read a
    /// [`Record`] and call [`Record::save`].
    fn upsert<C: Connection + ?Sized>(self, conn: &mut C) -> Result<Record<Self>> {
        let s = Crud::upsert_plan(&self)?.run(conn)?;
        Ok(finish(self, s))
    }
    /// [`Crud::upsert`] on an async connection.
    #[cfg(feature = "tokio")]
    fn upsert_async<C: AsyncConnection>(
        self,
        conn: &mut C,
    ) -> impl Future<Output = Result<Record<Self>>> + Send {
        async move {
            let s = Crud::upsert_plan(&self)?.run_async(conn).await?;
            Ok(finish(self, s))
        }
    }
    /// Renamed [`Crud::upsert`].
    #[deprecated(
        note = "renamed to `upsert` (an unconditional overwrite); `save` is the \
                         conflict-checked write of a `Record`"
    )]
    fn save<C: Connection + ?Sized>(self, conn: &mut C) -> Result<Record<Self>> {
        Crud::upsert(self, conn)
    }
    /// Renamed [`Crud::upsert_async`].
    #[deprecated(
        note = "renamed to `upsert_async` (an unconditional overwrite); `save_async` is \
                         the conflict-checked write of a `Record`"
    )]
    #[cfg(feature = "tokio")]
    fn save_async<C: AsyncConnection>(
        self,
        conn: &mut C,
    ) -> impl Future<Output = Result<Record<Self>>> + Send {
        Crud::upsert_async(self, conn)
    }
    /// Inserts many rows in one round trip (a pipeline of one script call per
    /// row): each row is atomic and gets its own result, in order.
    fn insert_all<C: Connection + ?Sized>(
        conn: &mut C,
        rows: Vec<Self>,
    ) -> Result<Vec<Result<Record<Self>>>> {
        batch(conn, rows, Crud::insert_plan)
    }
    /// [`Crud::insert_all`] on an async connection.
    #[cfg(feature = "tokio")]
    fn insert_all_async<C: AsyncConnection>(
        conn: &mut C,
        rows: Vec<Self>,
    ) -> impl Future<Output = Result<Vec<Result<Record<Self>>>>> + Send {
        batch_async(conn, rows, Crud::insert_plan)
    }
    /// Upserts many rows (insert or overwrite, as [`Crud::upsert`]) in one
    /// round trip; each row is atomic and gets its own result, in order.
    fn upsert_all<C: Connection + ?Sized>(
        conn: &mut C,
        rows: Vec<Self>,
    ) -> Result<Vec<Result<Record<Self>>>> {
        batch(conn, rows, Crud::upsert_plan)
    }
    /// [`Crud::upsert_all`] on an async connection.
    #[cfg(feature = "tokio")]
    fn upsert_all_async<C: AsyncConnection>(
        conn: &mut C,
        rows: Vec<Self>,
    ) -> impl Future<Output = Result<Vec<Result<Record<Self>>>>> + Send {
        batch_async(conn, rows, Crud::upsert_plan)
    }
    /// Renamed [`Crud::upsert_all`].
    #[deprecated(
        note = "renamed to `upsert_all` (unconditional overwrites); `Record::save_all` \
                         is the conflict-checked write of records"
    )]
    fn save_all<C: Connection + ?Sized>(
        conn: &mut C,
        rows: Vec<Self>,
    ) -> Result<Vec<Result<Record<Self>>>> {
        Crud::upsert_all(conn, rows)
    }
    /// Renamed [`Crud::upsert_all_async`].
    #[deprecated(note = "renamed to `upsert_all_async` (unconditional overwrites); \
                         `Record::save_all_async` is the conflict-checked write of records")]
    #[cfg(feature = "tokio")]
    fn save_all_async<C: AsyncConnection>(
        conn: &mut C,
        rows: Vec<Self>,
    ) -> impl Future<Output = Result<Vec<Result<Record<Self>>>>> + Send {
        Crud::upsert_all_async(conn, rows)
    }
    /// The plan of [`Crud::get_many`] (and of [`Crud::get`] with one key).
    fn get_plan(keys: &[Self::Key]) -> Plan<Vec<Record<Self>>> {
        get_plan(keys)
    }
    /// Loads the row with this key.
    fn get<C: Connection + ?Sized>(
        conn: &mut C,
        key: impl IntoKey<Self::Key>,
    ) -> Result<Option<Record<Self>>> {
        let Some(key) = key.into_key() else {
            return Ok(None);
        };
        Ok(get_plan(&[key]).run(conn)?.into_iter().next())
    }
    /// [`Crud::get`] on an async connection.
    #[cfg(feature = "tokio")]
    fn get_async<C: AsyncConnection>(
        conn: &mut C,
        key: impl IntoKey<Self::Key>,
    ) -> impl Future<Output = Result<Option<Record<Self>>>> + Send {
        let plan = key.into_key().map(|k| get_plan::<Self>(&[k]));
        async move {
            match plan {
                Some(p) => Ok(p.run_async(conn).await?.into_iter().next()),
                None => Ok(None),
            }
        }
    }
    /// Loads many rows in one round trip, in the order of `keys`; keys with no
    /// row are skipped.
    fn get_many<C: Connection + ?Sized>(
        conn: &mut C,
        keys: &[Self::Key],
    ) -> Result<Vec<Record<Self>>> {
        get_plan(keys).run(conn)
    }
    /// [`Crud::get_many`] on an async connection.
    #[cfg(feature = "tokio")]
    fn get_many_async<C: AsyncConnection>(
        conn: &mut C,
        keys: &[Self::Key],
    ) -> impl Future<Output = Result<Vec<Record<Self>>>> + Send {
        let plan = get_plan::<Self>(keys);
        async move { plan.run_async(conn).await }
    }
    /// The plan of [`Crud::exists`].
    fn exists_plan(key: &Self::Key) -> Plan<bool> {
        let l = Self::layout();
        Plan::new(
            Call::Command("EXISTS"),
            vec![l.row_key(&key.to_member())],
            vec![],
            |v| Ok(matches!(v, redis::Value::Int(1))),
        )
        .about("exists", Self::SCHEMA.namespace)
    }
    /// Whether a row with this key exists.
    fn exists<C: Connection + ?Sized>(conn: &mut C, key: impl IntoKey<Self::Key>) -> Result<bool> {
        match key.into_key() {
            Some(k) => Self::exists_plan(&k).run(conn),
            None => Ok(false),
        }
    }
    /// [`Crud::exists`] on an async connection.
    #[cfg(feature = "tokio")]
    fn exists_async<C: AsyncConnection>(
        conn: &mut C,
        key: impl IntoKey<Self::Key>,
    ) -> impl Future<Output = Result<bool>> + Send {
        let plan = key.into_key().map(|k| Self::exists_plan(&k));
        async move {
            match plan {
                Some(p) => p.run_async(conn).await,
                None => Ok(false),
            }
        }
    }
    /// The plan of [`Crud::delete_many`]: returns how many rows were deleted.
    fn delete_plan(keys: &[Self::Key]) -> Plan<u64> {
        delete_plan::<Self>(keys)
    }
    /// Deletes the rows with these keys and their index entries, atomically;
    /// returns how many existed.
    fn delete_many<C: Connection + ?Sized>(conn: &mut C, keys: &[Self::Key]) -> Result<u64> {
        delete_plan::<Self>(keys).run(conn)
    }
    /// [`Crud::delete_many`] on an async connection.
    #[cfg(feature = "tokio")]
    fn delete_many_async<C: AsyncConnection>(
        conn: &mut C,
        keys: &[Self::Key],
    ) -> impl Future<Output = Result<u64>> + Send {
        let plan = delete_plan::<Self>(keys);
        async move { plan.run_async(conn).await }
    }
}

impl<M: Model> Crud for M {}

type PlanOf<M> = fn(&M) -> Result<Plan<Saved<<M as Model>::Key>>>;

fn batch<M: Model, C: Connection + ?Sized>(
    conn: &mut C,
    rows: Vec<M>,
    plan: PlanOf<M>,
) -> Result<Vec<Result<Record<M>>>> {
    let (ok, plans, slots) = batch_plans(&rows, plan);
    let results = crate::plan::run_all(plans, conn)?;
    Ok(batch_finish(rows, ok, results, slots))
}

#[cfg(feature = "tokio")]
async fn batch_async<M: Model, C: AsyncConnection>(
    conn: &mut C,
    rows: Vec<M>,
    plan: PlanOf<M>,
) -> Result<Vec<Result<Record<M>>>> {
    let (ok, plans, slots) = batch_plans(&rows, plan);
    let results = crate::plan::run_all_async(plans, conn).await?;
    Ok(batch_finish(rows, ok, results, slots))
}

/// Plans every row; a row that fails validation keeps its error and sends
/// nothing.
#[allow(clippy::type_complexity)]
fn batch_plans<M: Model>(
    rows: &[M],
    plan: PlanOf<M>,
) -> (Vec<Option<Error>>, Vec<Plan<Saved<M::Key>>>, Vec<usize>) {
    let mut errs = Vec::with_capacity(rows.len());
    let mut plans = Vec::new();
    let mut slots = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        match plan(r) {
            Ok(p) => {
                plans.push(p);
                slots.push(i);
                errs.push(None);
            }
            Err(e) => errs.push(Some(e)),
        }
    }
    (errs, plans, slots)
}

fn batch_finish<M: Model>(
    rows: Vec<M>,
    errs: Vec<Option<Error>>,
    results: Vec<Result<Saved<M::Key>>>,
    slots: Vec<usize>,
) -> Vec<Result<Record<M>>> {
    let mut by_row: Vec<Option<Result<Saved<M::Key>>>> = (0..rows.len()).map(|_| None).collect();
    for (i, r) in slots.into_iter().zip(results) {
        by_row[i] = Some(r);
    }
    rows.into_iter()
        .zip(errs.into_iter().zip(by_row))
        .map(|(row, (err, res))| match (err, res) {
            (Some(e), _) => Err(e),
            (None, Some(r)) => {
                let key = row.key();
                with_key(r, &key).map(|s| finish(row, s))
            }
            (None, None) => Err(Error::decode(b"(batch)", None, "no reply for this row")),
        })
        .collect()
}

fn finish<M: Model>(mut value: M, s: Saved<M::Key>) -> Record<M> {
    value.set_key(s.key.clone());
    Record::from_parts(value, s.key, s.snapshot)
}

/// Fills the key into error messages that only the caller knows.
fn with_key<T>(r: Result<T>, key: &impl std::fmt::Debug) -> Result<T> {
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
