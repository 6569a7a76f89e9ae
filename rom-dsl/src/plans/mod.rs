//! The plans: what an operation sends (a function of the library with its
//! wire contract, or one command) and how its reply decodes, built without a
//! server from a query or a record. Pure: running a plan is `exec/run.rs`.

pub(crate) mod cascade;
pub(crate) mod commit;
pub(crate) mod fan;
pub(crate) mod ids;
pub(crate) mod merge;
pub(crate) mod plan;
pub(crate) mod query;
pub(crate) mod read;
pub(crate) mod steps;
pub(crate) mod unique;
pub(crate) mod write;
pub(crate) mod xuniq;
