//! Lifecycle hooks: code of the application that runs before and after each
//! write of a model's rows. Public as `rom_dsl::hooks` (`src/hooks.rs`).

use crate::error::{Error, Result};
use crate::storage::model::Model;
use std::future::Future;
use std::pin::Pin;

/// What a before-hook returns to stop a write: any error of the
/// application, handed back to the caller in [`Error::Hook`].
pub type HookError = Box<dyn std::error::Error + Send + Sync>;

/// A boxed future of an async hook.
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
#[diagnostic::on_unimplemented(
    message = "`{Self}` is declared with `#[rom(hooks)]` but does not implement `rom::hooks::Hooks`",
    label = "`hooks` says the model has hooks",
    note = "implement the hooks it needs (the others default to nothing): `impl rom::hooks::Hooks for {Self} {{ fn before_insert(&mut self) -> Result<(), rom::hooks::HookError> {{ ... }} }}`, or remove `hooks`"
)]
pub trait Hooks: Model {
    /// Before a new row is written. May change the value.
    fn before_insert(&mut self) -> std::result::Result<(), HookError> {
        Ok(())
    }
    /// After a new row was written.
    fn after_insert(&self) {}
    /// Before a row's changes are written. May change the value.
    fn before_update(&mut self) -> std::result::Result<(), HookError> {
        Ok(())
    }
    /// After a row's changes were written.
    fn after_update(&self) {}
    /// Before the row with this key is deleted.
    fn before_delete(key: &Self::Key) -> std::result::Result<(), HookError> {
        let _ = key;
        Ok(())
    }
    /// After the row with this key was deleted (or found absent).
    fn after_delete(key: &Self::Key) {
        let _ = key;
    }
    /// [`Hooks::before_insert`] for async writes.
    fn before_insert_async(
        &mut self,
    ) -> impl Future<Output = std::result::Result<(), HookError>> + Send {
        let r = self.before_insert();
        async move { r }
    }
    /// [`Hooks::before_update`] for async writes.
    fn before_update_async(
        &mut self,
    ) -> impl Future<Output = std::result::Result<(), HookError>> + Send {
        let r = self.before_update();
        async move { r }
    }
    /// [`Hooks::before_delete`] for async writes.
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
