//! The two kinds of connection rom runs on: [`Connection`] for the
//! synchronous methods (`load`, `insert`, `save`...) and [`AsyncConnection`]
//! for their `_async` twins.
//!
//! Both are implemented for every connection the `redis` crate accepts, so you
//! never implement them yourself: a `redis::Connection`, a cluster
//! `ClusterConnection`, [`crate::connect::Reconnecting`] or a pooled
//! connection that dereferences to one of them is a [`Connection`]; a
//! `MultiplexedConnection`, a `ConnectionManager` or an async cluster connection
//! is an [`AsyncConnection`]. Their purpose is the compile error when the two
//! are mixed up: it says which kind the method wanted and where to go instead.

pub use crate::exec::connection::*;
