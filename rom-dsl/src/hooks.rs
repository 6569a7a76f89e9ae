//! Lifecycle hooks: [`Hooks`], code of the application that runs before and
//! after each write of a model declared with `#[rom(hooks)]`.

pub use crate::dsl::hooks::{HookError, HookFuture, Hooks};
