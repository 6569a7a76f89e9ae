//! The runtime of rom: models, plans, Lua scripts, execution and errors.
//!
//! Users depend on the `rom` facade crate, which re-exports this crate and the
//! `#[derive(Model)]` macro; see its documentation for a tour.

#![deny(missing_docs)]

// The layers (ARCHITECTURE.md): the typed DSL, the plans built from it
// (pure), the wire contracts of the server functions, the storage format, and
// execution. The public modules below are thin: their documentation and
// re-exports of the layers' items.
mod dsl;
mod exec;
#[cfg(feature = "fail-points")]
#[doc(hidden)]
pub mod fail;
#[cfg(not(feature = "fail-points"))]
mod fail;
mod plans;
mod storage;
mod wire;

pub mod connect;
pub mod connection;
pub mod error;
pub mod expiry;
pub mod hooks;
pub mod index;
pub mod lock;
pub mod placement;
pub mod plan;
pub mod query;
pub mod record;
pub mod relations;
pub mod server_check;
pub mod structure;
pub mod text;
#[cfg(feature = "tracing")]
pub mod tracing_config;
pub mod transaction;
pub mod value;
pub mod verify;

/// rom's server code: the Lua function library it loads into Redis by itself
/// (see the book's key-layout chapter), and the switch to plain scripts.
pub mod library {
    pub use crate::exec::script::{library_name, load_command, use_eval_scripts};
}

#[cfg(feature = "tokio")]
pub use connection::AsyncConnection;
pub use connection::Connection;
pub use error::{Error, Result};
pub use index::{
    Column, EqFilterable, LikeFilterable, PrefixFilterable, RangeFilterable, Sortable,
    SuffixFilterable, Table, TextFilterable, Unique,
};
pub use plan::Plan;
pub use query::{Filter, OptionalExtension, Order, Query, QueryDsl};
pub use record::{Crud, Record};
#[cfg(feature = "tokio")]
pub use server_check::check_server_async;
pub use server_check::{ServerReport, check_server};
pub use storage::model::{IntoKey, Key, Model};
pub use value::Json;
pub use verify::{Repair, RepairReport, repair};
#[cfg(feature = "tokio")]
pub use verify::{repair_async, verify_async};

/// Everything an application needs in scope: `use rom::prelude::*;`.
pub mod prelude {
    pub use crate::error::{Error, Result};
    pub use crate::expiry::ExpiryMethods as _;
    pub use crate::index::Table as _;
    pub use crate::placement::PartitionedQueries as _;
    pub use crate::query::{ColumnMethods as _, OptionalExtension as _, QueryDsl as _};
    pub use crate::record::{CounterMethods as _, Crud as _, Record};
    pub use crate::relations::ReferenceMethods as _;
    pub use crate::storage::model::Model;
    pub use crate::structure::ContainsMethods as _;
    pub use crate::value::Json;
}

/// Items used by the code `#[derive(Model)]` generates. Not a public API.
#[doc(hidden)]
pub mod __private {
    /// Fail points for the crash tests (`fail-points` feature).
    #[cfg(feature = "fail-points")]
    pub use crate::fail::{Action, arm, fail_point};
    /// Implemented by `#[derive(Model)]` for the model and each of its column
    /// types: [`Model`] and [`Column`] require it, so that only the derive
    /// implements them (their contract with the storage layer is not a public
    /// API and changes between versions).
    pub trait Sealed {}

    /// The server functions (for benchmarks and the Lua tests).
    pub mod script {
        pub use crate::exec::script::{
            ALL, DELETE, Flags, GET, LIBRARY_BODY, QUERY, QUERY_DELETE, SAVE, Script,
        };
    }
    pub use crate::index::{
        CellNeeds, Column, EqFilterable, LikeFilterable, PrefixFilterable, RangeFilterable,
        Sortable, SuffixFilterable, Table, TextFilterable, Unique,
    };
    pub use crate::query::BelongsTo;
    pub use crate::storage::model::{
        Cell, ColumnDef, Fold, Layout, Model, RowData, Schema, invalid,
    };
    /// The validation rules the derive's `validate` calls.
    pub mod rules {
        pub use crate::storage::rules::*;
    }
    pub use crate::dsl::expiry::Expiring;
    pub use crate::dsl::hooks::HookTable;
    pub use crate::dsl::structures::{
        AnyStructure, HomeOf, IndexedStructure, Structure, StructureColumn, home,
    };
    pub use crate::storage::relations::OnDelete;
    pub use crate::storage::relations::{
        ChildRel, HasChild, ParentRef, Reference, check_colocated, check_has_one, check_listed,
        check_unpartitioned_parent, member_of,
    };
    pub use crate::storage::rules::CounterRules;
    pub use crate::storage::structures::StructureDef;
    pub use crate::value::{EqKey, Field, Scaled, ScoreBound, Scored, Text, Value, score_u53};
    pub use std::sync::OnceLock;
}
