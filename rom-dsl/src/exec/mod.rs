//! Execution: the connection traits, running plans (sync, async, pipelines,
//! the function library and its script fallback), well-configured
//! connections and the server check.

pub(crate) mod connect;
pub(crate) mod connection;
pub(crate) mod durable;
pub(crate) mod reconnecting;
pub(crate) mod run;
pub(crate) mod script;
#[cfg(feature = "sentinel")]
pub(crate) mod sentinel;
pub(crate) mod server_check;
#[cfg(feature = "tracing")]
pub(crate) mod trace;
