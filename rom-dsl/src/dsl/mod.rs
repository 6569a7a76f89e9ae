//! The typed DSL: columns and their marker traits, filters and orders built
//! from column methods, the query builder and its terminals, records and the
//! CRUD operations. Everything here is checked at compile time; nothing here
//! encodes arguments or talks to a server (the plans and execution do).

pub(crate) mod across;
pub(crate) mod across_pages;
pub(crate) mod across_related;
pub(crate) mod across_tokens;
pub(crate) mod batch;
pub(crate) mod budget;
pub(crate) mod children;
pub(crate) mod column_methods;
pub(crate) mod columns;
pub(crate) mod committed;
pub(crate) mod crud;
pub(crate) mod expiry;
pub(crate) mod filter;
pub(crate) mod hooks;
pub(crate) mod increment;
pub(crate) mod like;
pub(crate) mod lock;
pub(crate) mod page;
pub(crate) mod partitioned;
pub(crate) mod preload;
pub(crate) mod query;
pub(crate) mod query_dsl;
pub(crate) mod record;
mod record_serde;
pub(crate) mod related;
pub(crate) mod retry;
pub(crate) mod structures;
pub(crate) mod sweep;
pub(crate) mod transaction;
