//! Lifecycle hooks: code of the application that runs before and after each
//! write of a model's rows. Public as `rom_dsl::hooks` (`src/hooks.rs`).

use crate::error::{Error, Result};
use crate::storage::model::Model;
use std::future::Future;
use std::pin::Pin;

/// What a before-hook returns to stop a write: any error of the
/// application, handed back to the caller in [`Error::Hook`].
///
/// ```
/// # use rom_dsl::hooks::HookError;
/// let e: HookError = "a title is required".into();
/// assert_eq!(e.to_string(), "a title is required");
/// ```
pub type HookError = Box<dyn std::error::Error + Send + Sync>;

/// A boxed future of an async hook.
///
/// ```
/// # use rom_dsl::hooks::HookFuture;
/// fn nothing_to_do() -> HookFuture<'static> {
///     Box::pin(async { Ok(()) })
/// }
/// # let _ = nothing_to_do();
/// ```
pub type HookFuture<'a> =
    Pin<Box<dyn Future<Output = std::result::Result<(), HookError>> + Send + 'a>>;

/// Code that runs around the writes of a model's rows. Declare the model
/// with `#[rom(hooks)]` and implement the hooks it needs (every one has a
/// default that does nothing):
///
/// ```text
/// #[derive(Model, Clone, Debug)]
/// #[rom(table = posts, hooks)]
/// struct Post { #[rom(primary_key)] id: Option<u64>, title: String, updated: u64 }
///
/// impl rom::hooks::Hooks for Post {
///     fn before_update(&mut self) -> Result<(), rom::hooks::HookError> {
///         self.updated = now();
///         Ok(())
///     }
/// }
/// ```
///
/// - A **before** hook runs before anything is sent, and may change the value
///   it is given (a timestamp, a normalised field); the write then sends the
///   changed value. An error stops the write, with nothing written, and
///   reaches the caller as [`Error::Hook`], which carries the hook's own error
///   (`downcast` it back).
/// - An **after** hook runs once the server has confirmed the write, and only
///   then. It cannot fail the write, which is done: it returns nothing, and
///   what it does on its own failure (log, retry, queue) is up to it.
/// - **Async** writes (`insert_async`, `commit_async`...) call the `_async`
///   before-hooks, which by default call the synchronous ones.
/// - Which writes run which hooks: `insert`, `upsert` and their batches run
///   the insert hooks; `save`, `save_forced`, `save_all` the update hooks (not
///   for a record without changes, which sends nothing); `delete` of a record
///   and `delete_many` the delete hooks, with the key; a transaction's commit
///   runs each row's hooks in the order it touched them (before-hooks all
///   before it sends, after-hooks once it succeeded). Increments, queries'
///   `delete` and `repair` run no hooks: they write without the values.
///
/// ```
/// # use rom_dsl::Model;
/// # use rom_dsl::hooks::{HookError, Hooks};
/// # #[derive(Clone, Debug)] struct Tag { name: String }
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
/// #     fn from_row(_: u64, _: &rom_dsl::__private::RowData) -> rom_dsl::Result<Self> {
/// #         Ok(Tag { name: String::new() })
/// #     }
/// # }
/// // (`Tag` is a model written by hand; yours come from `#[derive(Model)]`)
/// impl Hooks for Tag {
///     fn before_insert(&mut self) -> Result<(), HookError> {
///         self.name = self.name.trim().to_lowercase();
///         if self.name.is_empty() {
///             return Err("a tag needs a name".into());
///         }
///         Ok(())
///     }
/// }
/// let mut tag = Tag { name: " Rust ".into() };
/// tag.before_insert()?;
/// assert_eq!(tag.name, "rust");
/// assert!(Tag { name: " ".into() }.before_insert().is_err());
/// # Ok::<(), HookError>(())
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is declared with `#[rom(hooks)]` but does not implement `rom::hooks::Hooks`",
    label = "`hooks` says the model has hooks",
    note = "implement the hooks it needs (the others default to nothing): `impl rom::hooks::Hooks for {Self} {{ fn before_insert(&mut self) -> Result<(), rom::hooks::HookError> {{ ... }} }}`, or remove `hooks`"
)]
pub trait Hooks: Model {
    /// Before a new row is written. May change the value.
    ///
    /// ```
    /// # use rom_dsl::hooks::{HookError, Hooks};
    /// // what an insert runs first, on the value it then sends
    /// fn prepare<M: Hooks>(mut row: M) -> Result<M, HookError> {
    ///     row.before_insert()?;
    ///     Ok(row)
    /// }
    /// ```
    fn before_insert(&mut self) -> std::result::Result<(), HookError> {
        Ok(())
    }
    /// After a new row was written.
    ///
    /// ```
    /// # use rom_dsl::hooks::{HookError, Hooks};
    /// fn written<M: Hooks>(row: &M) {
    ///     row.after_insert(); // once the server confirmed the insert
    /// }
    /// ```
    fn after_insert(&self) {}
    /// Before a row's changes are written. May change the value.
    ///
    /// ```
    /// # use rom_dsl::hooks::{HookError, Hooks};
    /// fn prepare<M: Hooks>(mut row: M) -> Result<M, HookError> {
    ///     row.before_update()?; // an error stops the save
    ///     Ok(row)
    /// }
    /// ```
    fn before_update(&mut self) -> std::result::Result<(), HookError> {
        Ok(())
    }
    /// After a row's changes were written.
    ///
    /// ```
    /// # use rom_dsl::hooks::{HookError, Hooks};
    /// fn saved<M: Hooks>(row: &M) {
    ///     row.after_update();
    /// }
    /// ```
    fn after_update(&self) {}
    /// Before the row with this key is deleted.
    ///
    /// ```
    /// # use rom_dsl::hooks::{HookError, Hooks};
    /// fn may_delete<M: Hooks>(key: &M::Key) -> bool {
    ///     M::before_delete(key).is_ok()
    /// }
    /// ```
    fn before_delete(key: &Self::Key) -> std::result::Result<(), HookError> {
        let _ = key;
        Ok(())
    }
    /// After the row with this key was deleted (or found absent).
    ///
    /// ```
    /// # use rom_dsl::hooks::{HookError, Hooks};
    /// fn deleted<M: Hooks>(key: &M::Key) {
    ///     M::after_delete(key);
    /// }
    /// ```
    fn after_delete(key: &Self::Key) {
        let _ = key;
    }
    /// [`Hooks::before_insert`] for async writes.
    ///
    /// ```
    /// # use rom_dsl::hooks::{HookError, Hooks};
    /// async fn prepare<M: Hooks>(mut row: M) -> Result<M, HookError> {
    ///     row.before_insert_async().await?;
    ///     Ok(row)
    /// }
    /// ```
    fn before_insert_async(
        &mut self,
    ) -> impl Future<Output = std::result::Result<(), HookError>> + Send {
        let r = self.before_insert();
        async move { r }
    }
    /// [`Hooks::before_update`] for async writes.
    ///
    /// ```
    /// # use rom_dsl::hooks::{HookError, Hooks};
    /// async fn prepare<M: Hooks>(mut row: M) -> Result<M, HookError> {
    ///     row.before_update_async().await?;
    ///     Ok(row)
    /// }
    /// ```
    fn before_update_async(
        &mut self,
    ) -> impl Future<Output = std::result::Result<(), HookError>> + Send {
        let r = self.before_update();
        async move { r }
    }
    /// [`Hooks::before_delete`] for async writes.
    ///
    /// ```
    /// # use rom_dsl::hooks::{HookError, Hooks};
    /// async fn may_delete<M: Hooks>(key: &M::Key) -> bool {
    ///     M::before_delete_async(key).await.is_ok()
    /// }
    /// ```
    fn before_delete_async(
        key: &Self::Key,
    ) -> impl Future<Output = std::result::Result<(), HookError>> + Send {
        let r = Self::before_delete(key);
        async move { r }
    }
}

/// The hooks of a model as function pointers (what `#[rom(hooks)]` makes the
/// derive return from `Model::hooks`). Not a public API.
#[doc(hidden)]
#[allow(missing_debug_implementations)]
pub struct HookTable<M: Model> {
    pub active: bool,
    pub before_insert: fn(&mut M) -> std::result::Result<(), HookError>,
    pub after_insert: fn(&M),
    pub before_update: fn(&mut M) -> std::result::Result<(), HookError>,
    pub after_update: fn(&M),
    pub before_delete: fn(&M::Key) -> std::result::Result<(), HookError>,
    pub after_delete: fn(&M::Key),
    pub before_insert_async: for<'a> fn(&'a mut M) -> HookFuture<'a>,
    pub before_update_async: for<'a> fn(&'a mut M) -> HookFuture<'a>,
    pub before_delete_async: for<'a> fn(&'a M::Key) -> HookFuture<'a>,
}

impl<M: Model> HookTable<M> {
    /// No hooks.
    pub fn none() -> Self {
        HookTable {
            active: false,
            before_insert: |_| Ok(()),
            after_insert: |_| {},
            before_update: |_| Ok(()),
            after_update: |_| {},
            before_delete: |_| Ok(()),
            after_delete: |_| {},
            before_insert_async: |_| Box::pin(async { Ok(()) }),
            before_update_async: |_| Box::pin(async { Ok(()) }),
            before_delete_async: |_| Box::pin(async { Ok(()) }),
        }
    }

    /// The hooks `M` implements.
    pub fn of() -> Self
    where
        M: Hooks,
    {
        HookTable {
            active: true,
            before_insert: M::before_insert,
            after_insert: M::after_insert,
            before_update: M::before_update,
            after_update: M::after_update,
            before_delete: M::before_delete,
            after_delete: M::after_delete,
            before_insert_async: |v| Box::pin(v.before_insert_async()),
            before_update_async: |v| Box::pin(v.before_update_async()),
            before_delete_async: |k| Box::pin(M::before_delete_async(k)),
        }
    }
}

fn failed<M: Model>(hook: &'static str, error: HookError) -> Error {
    Error::Hook {
        model: M::SCHEMA.name,
        hook,
        error,
    }
}

pub(crate) fn before_insert<M: Model>(v: &mut M) -> Result<()> {
    (M::hooks().before_insert)(v).map_err(|e| failed::<M>("before_insert", e))
}
pub(crate) fn before_update<M: Model>(v: &mut M) -> Result<()> {
    (M::hooks().before_update)(v).map_err(|e| failed::<M>("before_update", e))
}
pub(crate) fn before_delete<M: Model>(k: &M::Key) -> Result<()> {
    (M::hooks().before_delete)(k).map_err(|e| failed::<M>("before_delete", e))
}
pub(crate) fn after_insert<M: Model>(v: &M) {
    (M::hooks().after_insert)(v);
}
pub(crate) fn after_update<M: Model>(v: &M) {
    (M::hooks().after_update)(v);
}
pub(crate) fn after_delete<M: Model>(k: &M::Key) {
    (M::hooks().after_delete)(k);
}
#[cfg(feature = "tokio")]
pub(crate) async fn before_insert_async<M: Model>(v: &mut M) -> Result<()> {
    let h = M::hooks();
    if !h.active {
        return Ok(());
    }
    (h.before_insert_async)(v)
        .await
        .map_err(|e| failed::<M>("before_insert", e))
}
#[cfg(feature = "tokio")]
pub(crate) async fn before_update_async<M: Model>(v: &mut M) -> Result<()> {
    let h = M::hooks();
    if !h.active {
        return Ok(());
    }
    (h.before_update_async)(v)
        .await
        .map_err(|e| failed::<M>("before_update", e))
}
#[cfg(feature = "tokio")]
pub(crate) async fn before_delete_async<M: Model>(k: &M::Key) -> Result<()> {
    let h = M::hooks();
    if !h.active {
        return Ok(());
    }
    (h.before_delete_async)(k)
        .await
        .map_err(|e| failed::<M>("before_delete", e))
}
