//! The operations every model has (`Crud`): insert, upsert, get, exists and
//! delete by key, one row or a batch, sync and async.
//! Public through `rom_dsl::record` (`src/record.rs`).

#[cfg(feature = "tokio")]
use crate::connection::AsyncConnection;
use crate::connection::Connection;
use crate::error::Result;
use crate::plan::{Call, Plan};
use crate::plans::read::get_plan;
use crate::plans::write::{delete_plan, save_plan};
use crate::record::{Record, Saved};
use crate::storage::model::{IntoKey, Key, Model};
use crate::wire::save::SaveMode as Mode;

use super::batch::batch;
#[cfg(feature = "tokio")]
use super::batch::batch_async;
use super::hooks;
use super::increment::increment_by_key;
#[cfg(feature = "tokio")]
use super::increment::increment_by_key_async;
use super::increment::{Add, increment_plan};
use super::record::with_key;
use crate::index::Column;

/// The operations every model has, sync and async: implemented for every
/// [`Model`]. Bring it into scope with `use rom::prelude::*`.
///
/// ```
/// # use rom_dsl::{Crud, Model, Result};
/// fn round_trip<M: Model>(row: M, conn: &mut redis::Connection) -> Result<()> {
///     let key = row.insert(conn)?.key().clone();
///     assert!(M::exists(conn, &key)?);
///     M::delete_many(conn, &[key])?;
///     Ok(())
/// }
/// ```
pub trait Crud: Model {
    /// The plan of [`Crud::insert`].
    ///
    /// ```
    /// # use rom_dsl::{Crud, Model};
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
    /// // (`Tag` is a model written by hand; yours come from `#[derive(Model)]`)
    /// let p = Tag.insert_plan()?;
    /// assert!(p.explain().starts_with("FCALL save"));
    /// # Ok::<(), rom_dsl::Error>(())
    /// ```
    fn insert_plan(&self) -> Result<Plan<Saved<Self::Key>>> {
        save_plan(self, None, Mode::Insert, false)
    }
    /// The plan of [`Crud::upsert`].
    ///
    /// ```
    /// # use rom_dsl::{Crud, Model, Result};
    /// fn show<M: Model>(row: &M) -> Result<String> {
    ///     Ok(row.upsert_plan()?.explain())
    /// }
    /// ```
    fn upsert_plan(&self) -> Result<Plan<Saved<Self::Key>>> {
        let mode = if self.key().is_none() {
            Mode::Insert
        } else {
            Mode::Put
        };
        save_plan(self, None, mode, false)
    }
    /// Renamed [`Crud::upsert_plan`].
    ///
    /// ```
    /// # use rom_dsl::{Crud, Model, Result};
    /// fn show<M: Model>(row: &M) -> Result<String> {
    ///     Ok(row.upsert_plan()?.explain()) // was `row.save_plan()`
    /// }
    /// ```
    #[deprecated(
        note = "renamed to `upsert_plan`: the unconditional upsert of a plain value is \
                         `upsert`; `save` is the conflict-checked write of a `Record`"
    )]
    fn save_plan(&self) -> Result<Plan<Saved<Self::Key>>> {
        Crud::upsert_plan(self)
    }
    /// Inserts a new row: allocates the auto-increment key, or fails with
    /// [`Error::UniqueViolation`](crate::Error::UniqueViolation) on the primary key when a row with this natural
    /// key exists. One round trip, atomic.
    ///
    /// ```
    /// # use rom_dsl::{Crud, Error, Model, Result};
    /// fn register<M: Model>(user: M, conn: &mut redis::Connection) -> Result<Option<M::Key>> {
    ///     match user.insert(conn) {
    ///         Ok(rec) => Ok(Some(rec.key().clone())),
    ///         Err(Error::UniqueViolation { .. }) => Ok(None), // taken
    ///         Err(e) => Err(e),
    ///     }
    /// }
    /// ```
    fn insert<C: Connection + ?Sized>(mut self, conn: &mut C) -> Result<Record<Self>> {
        hooks::before_insert(&mut self)?;
        let s = with_key(self.insert_plan()?.run(conn), &self.key())?;
        Ok(inserted(self, s))
    }
    /// [`Crud::insert`] on an async connection.
    ///
    /// ```
    /// # use rom_dsl::{Crud, Model, Result};
    /// async fn add<M: Model>(
    ///     row: M,
    ///     conn: &mut redis::aio::MultiplexedConnection,
    /// ) -> Result<M::Key> {
    ///     Ok(row.insert_async(conn).await?.key().clone())
    /// }
    /// ```
    #[cfg(feature = "tokio")]
    fn insert_async<C: AsyncConnection>(
        self,
        conn: &mut C,
    ) -> impl Future<Output = Result<Record<Self>>> + Send {
        async move {
            let mut value = self;
            hooks::before_insert_async(&mut value).await?;
            let s = with_key(value.insert_plan()?.run_async(conn).await, &value.key())?;
            Ok(inserted(value, s))
        }
    }
    /// Inserts the row, or overwrites every column of the row with the same key
    /// (no conflict check: the value given wins). Unique constraints hold. To
    /// write only what changed, and only if nobody else changed it, read a
    /// [`Record`] and call [`Record::save`].
    ///
    /// ```
    /// # use rom_dsl::{Crud, Model, Result};
    /// fn store<M: Model>(settings: M, conn: &mut redis::Connection) -> Result<M::Key> {
    ///     Ok(settings.upsert(conn)?.key().clone())
    /// }
    /// ```
    fn upsert<C: Connection + ?Sized>(mut self, conn: &mut C) -> Result<Record<Self>> {
        hooks::before_insert(&mut self)?;
        let s = Crud::upsert_plan(&self)?.run(conn)?;
        Ok(inserted(self, s))
    }
    /// [`Crud::upsert`] on an async connection.
    ///
    /// ```
    /// # use rom_dsl::{Crud, Model, Result};
    /// async fn store<M: Model>(
    ///     settings: M,
    ///     conn: &mut redis::aio::MultiplexedConnection,
    /// ) -> Result<M::Key> {
    ///     Ok(settings.upsert_async(conn).await?.key().clone())
    /// }
    /// ```
    #[cfg(feature = "tokio")]
    fn upsert_async<C: AsyncConnection>(
        self,
        conn: &mut C,
    ) -> impl Future<Output = Result<Record<Self>>> + Send {
        async move {
            let mut value = self;
            hooks::before_insert_async(&mut value).await?;
            let s = Crud::upsert_plan(&value)?.run_async(conn).await?;
            Ok(inserted(value, s))
        }
    }
    /// Renamed [`Crud::upsert`].
    ///
    /// ```
    /// # use rom_dsl::{Crud, Model, Result};
    /// fn store<M: Model>(row: M, conn: &mut redis::Connection) -> Result<()> {
    ///     row.upsert(conn)?; // was `row.save(conn)?`
    ///     Ok(())
    /// }
    /// ```
    #[deprecated(
        note = "renamed to `upsert` (an unconditional overwrite); `save` is the \
                         conflict-checked write of a `Record`"
    )]
    fn save<C: Connection + ?Sized>(self, conn: &mut C) -> Result<Record<Self>> {
        Crud::upsert(self, conn)
    }
    /// Renamed [`Crud::upsert_async`].
    ///
    /// ```
    /// # use rom_dsl::{Crud, Model, Result};
    /// async fn store<M: Model>(
    ///     row: M,
    ///     conn: &mut redis::aio::MultiplexedConnection,
    /// ) -> Result<()> {
    ///     row.upsert_async(conn).await?; // was `row.save_async(conn)`
    ///     Ok(())
    /// }
    /// ```
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
    ///
    /// ```
    /// # use rom_dsl::{Crud, Model, Result};
    /// fn import<M: Model>(rows: Vec<M>, conn: &mut redis::Connection) -> Result<usize> {
    ///     let results = M::insert_all(conn, rows)?;
    ///     Ok(results.iter().filter(|r| r.is_ok()).count())
    /// }
    /// ```
    fn insert_all<C: Connection + ?Sized>(
        conn: &mut C,
        rows: Vec<Self>,
    ) -> Result<Vec<Result<Record<Self>>>> {
        batch(conn, rows, Crud::insert_plan)
    }
    /// [`Crud::insert_all`] on an async connection.
    ///
    /// ```
    /// # use rom_dsl::{Crud, Model, Result};
    /// async fn import<M: Model>(
    ///     rows: Vec<M>,
    ///     conn: &mut redis::aio::MultiplexedConnection,
    /// ) -> Result<usize> {
    ///     let results = M::insert_all_async(conn, rows).await?;
    ///     Ok(results.iter().filter(|r| r.is_ok()).count())
    /// }
    /// ```
    #[cfg(feature = "tokio")]
    fn insert_all_async<C: AsyncConnection>(
        conn: &mut C,
        rows: Vec<Self>,
    ) -> impl Future<Output = Result<Vec<Result<Record<Self>>>>> + Send {
        batch_async(conn, rows, Crud::insert_plan)
    }
    /// Upserts many rows (insert or overwrite, as [`Crud::upsert`]) in one
    /// round trip; each row is atomic and gets its own result, in order.
    ///
    /// ```
    /// # use rom_dsl::{Crud, Model, Result};
    /// fn sync<M: Model>(rows: Vec<M>, conn: &mut redis::Connection) -> Result<usize> {
    ///     let results = M::upsert_all(conn, rows)?;
    ///     Ok(results.iter().filter(|r| r.is_ok()).count())
    /// }
    /// ```
    fn upsert_all<C: Connection + ?Sized>(
        conn: &mut C,
        rows: Vec<Self>,
    ) -> Result<Vec<Result<Record<Self>>>> {
        batch(conn, rows, Crud::upsert_plan)
    }
    /// [`Crud::upsert_all`] on an async connection.
    ///
    /// ```
    /// # use rom_dsl::{Crud, Model, Result};
    /// async fn sync<M: Model>(
    ///     rows: Vec<M>,
    ///     conn: &mut redis::aio::MultiplexedConnection,
    /// ) -> Result<usize> {
    ///     let results = M::upsert_all_async(conn, rows).await?;
    ///     Ok(results.iter().filter(|r| r.is_ok()).count())
    /// }
    /// ```
    #[cfg(feature = "tokio")]
    fn upsert_all_async<C: AsyncConnection>(
        conn: &mut C,
        rows: Vec<Self>,
    ) -> impl Future<Output = Result<Vec<Result<Record<Self>>>>> + Send {
        batch_async(conn, rows, Crud::upsert_plan)
    }
    /// Renamed [`Crud::upsert_all`].
    ///
    /// ```
    /// # use rom_dsl::{Crud, Model, Result};
    /// fn sync<M: Model>(rows: Vec<M>, conn: &mut redis::Connection) -> Result<usize> {
    ///     Ok(M::upsert_all(conn, rows)?.len()) // was `M::save_all(conn, rows)`
    /// }
    /// ```
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
    ///
    /// ```
    /// # use rom_dsl::{Crud, Model, Result};
    /// async fn sync<M: Model>(
    ///     rows: Vec<M>,
    ///     conn: &mut redis::aio::MultiplexedConnection,
    /// ) -> Result<usize> {
    ///     Ok(M::upsert_all_async(conn, rows).await?.len()) // was `save_all_async`
    /// }
    /// ```
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
    ///
    /// ```
    /// # use rom_dsl::{Crud, Model};
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
    /// let p = Tag::get_plan(&[7]);
    /// assert_eq!(p.keys(), [b"{tags}:row:7".to_vec()]); // one key: one HGETALL
    /// ```
    fn get_plan(keys: &[Self::Key]) -> Plan<Vec<Record<Self>>> {
        get_plan(keys)
    }
    /// Loads the row with this key.
    ///
    /// ```
    /// # use rom_dsl::{Crud, Model, Result};
    /// fn find<M: Model<Key = u64>>(conn: &mut redis::Connection) -> Result<Option<M>> {
    ///     Ok(M::get(conn, 7u64)?.map(|rec| rec.into_inner()))
    /// }
    /// ```
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
    ///
    /// ```
    /// # use rom_dsl::{Crud, Model, Result};
    /// async fn find<M: Model<Key = u64>>(
    ///     conn: &mut redis::aio::MultiplexedConnection,
    /// ) -> Result<Option<M>> {
    ///     Ok(M::get_async(conn, 7u64).await?.map(|rec| rec.into_inner()))
    /// }
    /// ```
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
    ///
    /// ```
    /// # use rom_dsl::{Crud, Model, Result};
    /// fn found<M: Model<Key = u64>>(conn: &mut redis::Connection) -> Result<usize> {
    ///     Ok(M::get_many(conn, &[1, 2, 3])?.len())
    /// }
    /// ```
    fn get_many<C: Connection + ?Sized>(
        conn: &mut C,
        keys: &[Self::Key],
    ) -> Result<Vec<Record<Self>>> {
        get_plan(keys).run(conn)
    }
    /// [`Crud::get_many`] on an async connection.
    ///
    /// ```
    /// # use rom_dsl::{Crud, Model, Result};
    /// async fn found<M: Model<Key = u64>>(
    ///     conn: &mut redis::aio::MultiplexedConnection,
    /// ) -> Result<usize> {
    ///     Ok(M::get_many_async(conn, &[1, 2, 3]).await?.len())
    /// }
    /// ```
    #[cfg(feature = "tokio")]
    fn get_many_async<C: AsyncConnection>(
        conn: &mut C,
        keys: &[Self::Key],
    ) -> impl Future<Output = Result<Vec<Record<Self>>>> + Send {
        let plan = get_plan::<Self>(keys);
        async move { plan.run_async(conn).await }
    }
    /// The plan of [`Crud::exists`].
    ///
    /// ```
    /// # use rom_dsl::{Crud, Model};
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
    /// let p = Tag::exists_plan(&7);
    /// assert!(p.explain().starts_with("EXISTS {tags}:row:7")); // a plain command
    /// ```
    fn exists_plan(key: &Self::Key) -> Plan<bool> {
        let member = key.to_member();
        let l = crate::storage::partition::layout_for::<Self>(&member);
        if Self::EXPIRES.is_some() {
            // a row that may have expired: the function `ttl` knows the
            // server's time (-2: no live row)
            return crate::dsl::expiry::ttl_call::<Self>(key)
                .map(|v| Ok(!matches!(v, redis::Value::Int(-2))))
                .about("exists", Self::SCHEMA.namespace);
        }
        Plan::new(
            Call::Command("EXISTS"),
            vec![l.row_key(&member)],
            vec![],
            |v| Ok(matches!(v, redis::Value::Int(1))),
        )
        .about("exists", Self::SCHEMA.namespace)
    }
    /// Whether a row with this key exists.
    ///
    /// ```
    /// # use rom_dsl::{Crud, Model, Result};
    /// fn taken<M: Model<Key = String>>(name: &str, conn: &mut redis::Connection) -> Result<bool> {
    ///     M::exists(conn, name.to_owned())
    /// }
    /// ```
    fn exists<C: Connection + ?Sized>(conn: &mut C, key: impl IntoKey<Self::Key>) -> Result<bool> {
        match key.into_key() {
            Some(k) => Self::exists_plan(&k).run(conn),
            None => Ok(false),
        }
    }
    /// [`Crud::exists`] on an async connection.
    ///
    /// ```
    /// # use rom_dsl::{Crud, Model, Result};
    /// async fn taken<M: Model<Key = String>>(
    ///     name: &str,
    ///     conn: &mut redis::aio::MultiplexedConnection,
    /// ) -> Result<bool> {
    ///     M::exists_async(conn, name.to_owned()).await
    /// }
    /// ```
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
    ///
    /// ```
    /// # use rom_dsl::{Crud, Model};
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
    /// let p = Tag::delete_plan(&[7, 8]);
    /// assert!(p.explain().starts_with("FCALL delete")); // both rows in one call
    /// ```
    fn delete_plan(keys: &[Self::Key]) -> Plan<u64> {
        delete_plan::<Self>(keys)
    }
    /// Deletes the rows with these keys and their index entries, atomically;
    /// returns how many existed.
    ///
    /// ```
    /// # use rom_dsl::{Crud, Model, Result};
    /// fn purge<M: Model<Key = u64>>(conn: &mut redis::Connection) -> Result<u64> {
    ///     M::delete_many(conn, &[1, 2, 3])
    /// }
    /// ```
    fn delete_many<C: Connection + ?Sized>(conn: &mut C, keys: &[Self::Key]) -> Result<u64> {
        for k in keys {
            hooks::before_delete::<Self>(k)?;
        }
        let n = delete_plan::<Self>(keys).run(conn)?;
        keys.iter().for_each(hooks::after_delete::<Self>);
        Ok(n)
    }
    /// [`Crud::delete_many`] on an async connection.
    ///
    /// ```
    /// # use rom_dsl::{Crud, Model, Result};
    /// async fn purge<M: Model<Key = u64>>(
    ///     conn: &mut redis::aio::MultiplexedConnection,
    /// ) -> Result<u64> {
    ///     M::delete_many_async(conn, &[1, 2, 3]).await
    /// }
    /// ```
    #[cfg(feature = "tokio")]
    fn delete_many_async<C: AsyncConnection>(
        conn: &mut C,
        keys: &[Self::Key],
    ) -> impl Future<Output = Result<u64>> + Send {
        let plan = delete_plan::<Self>(keys);
        let keys = keys.to_vec();
        async move {
            for k in &keys {
                hooks::before_delete_async::<Self>(k).await?;
            }
            let n = plan.run_async(conn).await?;
            keys.iter().for_each(hooks::after_delete::<Self>);
            Ok(n)
        }
    }
    /// The plan of [`Crud::increment`].
    ///
    /// ```
    /// # use rom_dsl::{Column, Crud, Model, Result};
    /// # use rom_dsl::record::CounterMethods;
    /// fn show<M: Model<Key = u64>, C: Column<Model = M, Value = i64>>(
    ///     visits: C,
    /// ) -> Result<String> {
    ///     Ok(M::increment_plan(&7, visits.add(1))?.explain())
    /// }
    /// ```
    fn increment_plan<Col>(key: &Self::Key, add: Add<Col>) -> Result<Plan<Col::Value>>
    where
        Col: Column<Model = Self>,
    {
        increment_plan(key, add)
    }
    /// Adds to an integer column of the row with this key on the server, in
    /// one atomic call without reading the row first, and returns the new
    /// value; the column's indexes move with it (a unique value must be
    /// free). Concurrent increments add up: there is no conflict to retry.
    /// Fails with [`Error::NotFound`](crate::Error::NotFound) when there is no such row and with
    /// [`Error::Validation`](crate::Error::Validation) when the new value would leave its bounds
    /// ([`Add`]); nothing is written then.
    ///
    /// ```
    /// # use rom_dsl::{Column, Crud, Model, Result};
    /// # use rom_dsl::record::CounterMethods;
    /// fn withdraw<M, C>(balance: C, conn: &mut redis::Connection) -> Result<i64>
    /// where
    ///     M: Model<Key = u64>,
    ///     C: Column<Model = M, Value = i64>,
    /// {
    ///     M::increment(conn, 7u64, balance.add(-30).at_least(0))
    /// }
    /// ```
    fn increment<Col, C>(
        conn: &mut C,
        key: impl IntoKey<Self::Key>,
        add: Add<Col>,
    ) -> Result<Col::Value>
    where
        Col: Column<Model = Self>,
        C: Connection + ?Sized,
    {
        increment_by_key(conn, key, add)
    }
    /// [`Crud::increment`] on an async connection.
    ///
    /// ```
    /// # use rom_dsl::{Column, Crud, Model, Result};
    /// # use rom_dsl::record::CounterMethods;
    /// async fn visit<M, C>(visits: C, conn: &mut redis::aio::MultiplexedConnection) -> Result<i64>
    /// where
    ///     M: Model<Key = u64>,
    ///     C: Column<Model = M, Value = i64>,
    /// {
    ///     M::increment_async(conn, 7u64, visits.add(1)).await
    /// }
    /// ```
    #[cfg(feature = "tokio")]
    fn increment_async<Col, C>(
        conn: &mut C,
        key: impl IntoKey<Self::Key>,
        add: Add<Col>,
    ) -> impl Future<Output = Result<Col::Value>> + Send
    where
        Col: Column<Model = Self>,
        C: AsyncConnection,
    {
        let key = key.into_key();
        increment_by_key_async(conn, key, add)
    }
}

impl<M: Model> Crud for M {}

fn finish<M: Model>(mut value: M, s: Saved<M::Key>) -> Record<M> {
    value.set_key(s.key.clone());
    crate::dsl::structures::saved(&mut value, &s.key);
    Record::from_parts(value, s.key, s.snapshot)
}

/// The record of a new row, after its after-insert hook.
pub(super) fn inserted<M: Model>(value: M, s: Saved<M::Key>) -> Record<M> {
    let r = finish(value, s);
    hooks::after_insert(&r.value);
    r
}
