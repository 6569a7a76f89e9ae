//! Rows that expire (`#[rom(expires)]`): a row's deadline set at insert (the
//! model's default time to live, or one given), moved (`touch`, `expire_at`)
//! or removed (`persist`) by key, read (`ttl`); expired rows reclaimed by
//! `sweep` and by writes. Public through `rom_dsl::expiry`.

#[cfg(feature = "tokio")]
use crate::connection::AsyncConnection;
use crate::connection::Connection;
use crate::error::{Error, Result};
use crate::plan::Plan;
use crate::plans::write::save_plan_with;
use crate::record::Record;
use crate::storage::model::{Key, Model};
use crate::wire::expiry::{Deadline, ExpireArgs, TtlArgs};
use crate::wire::save::SaveMode as Mode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::crud::inserted;
use super::hooks;
use super::record::with_key;

/// Implemented by `#[derive(Model)]` for a model declared
/// `#[rom(expires)]` or `#[rom(expires(ttl = "30m"))]`: its rows may expire.
///
/// ```
/// # use rom_dsl::Model;
/// # use rom_dsl::expiry::{Expiring, ExpiryMethods};
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
/// // (`Tag` is a model written by hand; `#[derive(Model)]` writes this line for `expires`)
/// impl Expiring for Tag {}
/// let p = Tag::touch_plan(&7, std::time::Duration::from_secs(60))?;
/// assert!(p.explain().starts_with("FCALL expire"));
/// # Ok::<(), rom_dsl::Error>(())
/// ```
#[diagnostic::on_unimplemented(
    message = "rows of `{Self}` do not expire",
    label = "`{Self}` is not declared `expires`",
    note = "declare the model `#[rom(expires)]`, or `#[rom(expires(ttl = \"30m\"))]` for a default time to live"
)]
pub trait Expiring: Model {}

/// Milliseconds of a time to live: at least 1, at most 2^53.
fn ttl_ms<M: Model>(ttl: Duration) -> Result<u64> {
    let ms = ttl.as_millis();
    if ms == 0 || ms > 1 << 53 {
        return Err(crate::storage::model::invalid::<M>(
            "(expiry)",
            format!("a time to live is from 1 ms to 2^53 ms, not {ttl:?}"),
        ));
    }
    Ok(ms as u64)
}

/// Unix milliseconds of a deadline.
fn at_ms<M: Model>(at: SystemTime) -> Result<u64> {
    let ms = at
        .duration_since(UNIX_EPOCH)
        .map_err(|_| {
            crate::storage::model::invalid::<M>("(expiry)", "a deadline before 1970".into())
        })?
        .as_millis();
    if ms > 1 << 53 {
        return Err(crate::storage::model::invalid::<M>(
            "(expiry)",
            "a deadline beyond 2^53 ms".into(),
        ));
    }
    Ok(ms as u64)
}

fn expire_plan<M: Expiring>(key: &M::Key, deadline: Deadline, what: &'static str) -> Plan<bool> {
    let l = M::layout();
    let m = key.to_member();
    Plan::call(
        &ExpireArgs {
            row: l.row_key(&m),
            expiry: l.expiry.clone(),
            member: m,
            deadline,
        },
        |v| match v {
            redis::Value::Int(n) => Ok(n == 1),
            other => Err(Error::decode(b"(expire reply)", None, format!("{other:?}"))),
        },
    )
    .step(format!("set the deadline of one {} row", M::SCHEMA.name))
    .about(what, M::SCHEMA.namespace)
}

/// The expiry operations of a model whose rows expire, sync and async: in
/// the prelude. Each is one round trip, atomic; "now" is always the
/// server's clock.
///
/// ```text
/// #[derive(Model)]
/// #[rom(expires(ttl = "30m"))]
/// struct Session { #[rom(primary_key)] id: String, user: u64 }
///
/// let s = Session { id: token, user: 7 }.insert(&mut conn)?;   // expires in 30 minutes
/// Session::touch(&mut conn, &s.id, Duration::from_secs(1800))?; // 30 more from now
/// ```
///
/// ```
/// # use rom_dsl::{Result, expiry::{Expiring, ExpiryMethods}};
/// # use std::time::Duration;
/// fn start<M: Expiring>(session: M, conn: &mut redis::Connection) -> Result<M::Key> {
///     let key = session.insert_with_ttl(conn, Duration::from_secs(1800))?.key().clone();
///     M::touch(conn, &key, Duration::from_secs(3600))?; // an hour from now
///     Ok(key)
/// }
/// ```
pub trait ExpiryMethods: Expiring {
    /// The plan of [`ExpiryMethods::insert_with_ttl`].
    ///
    /// ```
    /// # use rom_dsl::Model;
    /// # use rom_dsl::expiry::{Expiring, ExpiryMethods};
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
    /// let p = Tag.insert_with_ttl_plan(std::time::Duration::from_secs(60))?;
    /// assert!(p.explain().starts_with("FCALL save"));
    /// # Ok::<(), rom_dsl::Error>(())
    /// ```
    fn insert_with_ttl_plan(&self, ttl: Duration) -> Result<Plan<crate::record::Saved<Self::Key>>> {
        let ms = ttl_ms::<Self>(ttl)?;
        save_plan_with(self, None, Mode::Insert, false, Some(Deadline::In(ms)))
    }
    /// Inserts the row (as [`Crud::insert`](crate::record::Crud::insert)),
    /// expiring `ttl` after the server's time instead of the model's
    /// default. An expired row with the same key is written over.
    ///
    /// ```
    /// # use rom_dsl::{Result, expiry::{Expiring, ExpiryMethods}};
    /// # use std::time::Duration;
    /// fn start<M: Expiring>(session: M, conn: &mut redis::Connection) -> Result<M::Key> {
    ///     Ok(session.insert_with_ttl(conn, Duration::from_secs(900))?.key().clone())
    /// }
    /// ```
    fn insert_with_ttl<C: Connection + ?Sized>(
        mut self,
        conn: &mut C,
        ttl: Duration,
    ) -> Result<Record<Self>> {
        hooks::before_insert(&mut self)?;
        let s = with_key(self.insert_with_ttl_plan(ttl)?.run(conn), &self.key())?;
        Ok(inserted(self, s))
    }
    /// [`ExpiryMethods::insert_with_ttl`] on an async connection.
    ///
    /// ```
    /// # use rom_dsl::{Result, expiry::{Expiring, ExpiryMethods}};
    /// # use std::time::Duration;
    /// async fn start<M: Expiring>(
    ///     session: M,
    ///     conn: &mut redis::aio::MultiplexedConnection,
    /// ) -> Result<M::Key> {
    ///     let rec = session.insert_with_ttl_async(conn, Duration::from_secs(900)).await?;
    ///     Ok(rec.key().clone())
    /// }
    /// ```
    #[cfg(feature = "tokio")]
    fn insert_with_ttl_async<C: AsyncConnection>(
        self,
        conn: &mut C,
        ttl: Duration,
    ) -> impl Future<Output = Result<Record<Self>>> + Send {
        async move {
            let mut value = self;
            hooks::before_insert_async(&mut value).await?;
            let plan = value.insert_with_ttl_plan(ttl)?;
            let s = with_key(plan.run_async(conn).await, &value.key())?;
            Ok(inserted(value, s))
        }
    }
    /// The plan of [`ExpiryMethods::touch`].
    ///
    /// ```
    /// # use rom_dsl::Model;
    /// # use rom_dsl::expiry::{Expiring, ExpiryMethods};
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
    /// let p = Tag::touch_plan(&7, std::time::Duration::from_secs(60))?;
    /// assert!(p.explain().contains("{tags}:row:7"));
    /// # Ok::<(), rom_dsl::Error>(())
    /// ```
    fn touch_plan(key: &Self::Key, ttl: Duration) -> Result<Plan<bool>> {
        Ok(expire_plan::<Self>(
            key,
            Deadline::In(ttl_ms::<Self>(ttl)?),
            "touch",
        ))
    }
    /// Makes the live row `key` expire `ttl` after the server's time (a
    /// sliding session): `false` when there is no live row (absent, or
    /// expired already; an expired row cannot be brought back).
    ///
    /// ```
    /// # use rom_dsl::{Result, expiry::{Expiring, ExpiryMethods}};
    /// # use std::time::Duration;
    /// fn keep_alive<M: Expiring>(conn: &mut redis::Connection, key: &M::Key) -> Result<bool> {
    ///     M::touch(conn, key, Duration::from_secs(1800))
    /// }
    /// ```
    fn touch<C: Connection + ?Sized>(conn: &mut C, key: &Self::Key, ttl: Duration) -> Result<bool> {
        Self::touch_plan(key, ttl)?.run(conn)
    }
    /// [`ExpiryMethods::touch`] on an async connection.
    ///
    /// ```
    /// # use rom_dsl::{Result, expiry::{Expiring, ExpiryMethods}};
    /// # use std::time::Duration;
    /// async fn keep_alive<M: Expiring>(
    ///     conn: &mut redis::aio::MultiplexedConnection,
    ///     key: &M::Key,
    /// ) -> Result<bool> {
    ///     M::touch_async(conn, key, Duration::from_secs(1800)).await
    /// }
    /// ```
    #[cfg(feature = "tokio")]
    fn touch_async<C: AsyncConnection>(
        conn: &mut C,
        key: &Self::Key,
        ttl: Duration,
    ) -> impl Future<Output = Result<bool>> + Send {
        let plan = Self::touch_plan(key, ttl);
        async move { plan?.run_async(conn).await }
    }
    /// Makes the live row `key` expire at `at` (a wall-clock time, compared
    /// with the server's clock): `false` when there is no live row. A time
    /// in the past expires it at once.
    ///
    /// ```
    /// # use rom_dsl::{Result, expiry::{Expiring, ExpiryMethods}};
    /// # use std::time::SystemTime;
    /// fn end_now<M: Expiring>(conn: &mut redis::Connection, key: &M::Key) -> Result<bool> {
    ///     M::expire_at(conn, key, SystemTime::now())
    /// }
    /// ```
    fn expire_at<C: Connection + ?Sized>(
        conn: &mut C,
        key: &Self::Key,
        at: SystemTime,
    ) -> Result<bool> {
        Self::expire_at_plan(key, at)?.run(conn)
    }
    /// The plan of [`ExpiryMethods::expire_at`].
    ///
    /// ```
    /// # use rom_dsl::{Result, expiry::{Expiring, ExpiryMethods}};
    /// # use std::time::{Duration, SystemTime};
    /// fn show<M: Expiring>(key: &M::Key) -> Result<String> {
    ///     let at = SystemTime::now() + Duration::from_secs(60);
    ///     Ok(M::expire_at_plan(key, at)?.explain())
    /// }
    /// ```
    fn expire_at_plan(key: &Self::Key, at: SystemTime) -> Result<Plan<bool>> {
        Ok(expire_plan::<Self>(
            key,
            Deadline::At(at_ms::<Self>(at)?),
            "expire at",
        ))
    }
    /// [`ExpiryMethods::expire_at`] on an async connection.
    ///
    /// ```
    /// # use rom_dsl::{Result, expiry::{Expiring, ExpiryMethods}};
    /// # use std::time::SystemTime;
    /// async fn end_now<M: Expiring>(
    ///     conn: &mut redis::aio::MultiplexedConnection,
    ///     key: &M::Key,
    /// ) -> Result<bool> {
    ///     M::expire_at_async(conn, key, SystemTime::now()).await
    /// }
    /// ```
    #[cfg(feature = "tokio")]
    fn expire_at_async<C: AsyncConnection>(
        conn: &mut C,
        key: &Self::Key,
        at: SystemTime,
    ) -> impl Future<Output = Result<bool>> + Send {
        let plan = Self::expire_at_plan(key, at);
        async move { plan?.run_async(conn).await }
    }
    /// The plan of [`ExpiryMethods::persist`].
    ///
    /// ```
    /// # use rom_dsl::expiry::{Expiring, ExpiryMethods};
    /// fn show<M: Expiring>(key: &M::Key) -> String {
    ///     M::persist_plan(key).explain()
    /// }
    /// ```
    fn persist_plan(key: &Self::Key) -> Plan<bool> {
        expire_plan::<Self>(key, Deadline::Clear, "persist")
    }
    /// Removes the live row's deadline (it no longer expires): `false` when
    /// there is no live row.
    ///
    /// ```
    /// # use rom_dsl::{Result, expiry::{Expiring, ExpiryMethods}};
    /// fn keep_forever<M: Expiring>(conn: &mut redis::Connection, key: &M::Key) -> Result<bool> {
    ///     M::persist(conn, key)
    /// }
    /// ```
    fn persist<C: Connection + ?Sized>(conn: &mut C, key: &Self::Key) -> Result<bool> {
        Self::persist_plan(key).run(conn)
    }
    /// [`ExpiryMethods::persist`] on an async connection.
    ///
    /// ```
    /// # use rom_dsl::{Result, expiry::{Expiring, ExpiryMethods}};
    /// async fn keep_forever<M: Expiring>(
    ///     conn: &mut redis::aio::MultiplexedConnection,
    ///     key: &M::Key,
    /// ) -> Result<bool> {
    ///     M::persist_async(conn, key).await
    /// }
    /// ```
    #[cfg(feature = "tokio")]
    fn persist_async<C: AsyncConnection>(
        conn: &mut C,
        key: &Self::Key,
    ) -> impl Future<Output = Result<bool>> + Send {
        let plan = Self::persist_plan(key);
        async move { plan.run_async(conn).await }
    }
    /// The plan of [`ExpiryMethods::ttl`].
    ///
    /// ```
    /// # use rom_dsl::Model;
    /// # use rom_dsl::expiry::{Expiring, ExpiryMethods};
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
    /// let p = Tag::ttl_plan(&7);
    /// assert!(p.explain().starts_with("FCALL ttl"));
    /// ```
    fn ttl_plan(key: &Self::Key) -> Plan<Option<Duration>> {
        let shown = format!("{key:?}");
        ttl_call::<Self>(key)
            .map(move |v| match v {
                redis::Value::Int(-1) => Ok(None),
                redis::Value::Int(n) if n >= 0 => Ok(Some(Duration::from_millis(n as u64))),
                redis::Value::Int(_) => Err(Error::NotFound {
                    model: Self::SCHEMA.name,
                    key: shown,
                }),
                other => Err(Error::decode(b"(ttl reply)", None, format!("{other:?}"))),
            })
            .about("ttl", Self::SCHEMA.namespace)
    }
    /// The time the live row `key` has left by the server's clock (`None`:
    /// it does not expire); [`Error::NotFound`] when there is no live row.
    ///
    /// ```
    /// # use rom_dsl::{Result, expiry::{Expiring, ExpiryMethods}};
    /// # use std::time::Duration;
    /// fn time_left<M: Expiring>(conn: &mut redis::Connection, key: &M::Key) -> Result<Option<Duration>> {
    ///     M::ttl(conn, key) // `None`: the row never expires
    /// }
    /// ```
    fn ttl<C: Connection + ?Sized>(conn: &mut C, key: &Self::Key) -> Result<Option<Duration>> {
        Self::ttl_plan(key).run(conn)
    }
    /// [`ExpiryMethods::ttl`] on an async connection.
    ///
    /// ```
    /// # use rom_dsl::{Result, expiry::{Expiring, ExpiryMethods}};
    /// # use std::time::Duration;
    /// async fn time_left<M: Expiring>(
    ///     conn: &mut redis::aio::MultiplexedConnection,
    ///     key: &M::Key,
    /// ) -> Result<Option<Duration>> {
    ///     M::ttl_async(conn, key).await
    /// }
    /// ```
    #[cfg(feature = "tokio")]
    fn ttl_async<C: AsyncConnection>(
        conn: &mut C,
        key: &Self::Key,
    ) -> impl Future<Output = Result<Option<Duration>>> + Send {
        let plan = Self::ttl_plan(key);
        async move { plan.run_async(conn).await }
    }
}

impl<M: Expiring> ExpiryMethods for M {}

/// A call of `ttl` for the row `key` of `M` (any model: `exists` of a model
/// whose rows expire uses it), replying as the function does.
pub(crate) fn ttl_call<M: Model>(key: &M::Key) -> Plan<redis::Value> {
    let l = M::layout();
    let m = key.to_member();
    Plan::call(
        &TtlArgs {
            row: l.row_key(&m),
            expiry: l.expiry.clone(),
            member: m,
        },
        Ok,
    )
    .step(format!("read the deadline of one {} row", M::SCHEMA.name))
}
