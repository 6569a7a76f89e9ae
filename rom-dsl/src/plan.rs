//! Plans: what an operation will send to Redis (a script or a command, its keys
//! and arguments) and how the reply is decoded. Built without a server, printed
//! by [`Plan::explain`], run by [`Plan::run`] or [`Plan::run_async`].

pub use crate::exec::run::*;
pub use crate::plans::plan::*;
