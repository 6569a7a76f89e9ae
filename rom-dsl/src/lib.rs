//! The runtime of rom: models, plans, Lua scripts, execution and errors.
//!
//! Users depend on the `rom` facade crate, which re-exports this crate and the
//! `#[derive(Model)]` macro; see its documentation for a tour.

#![deny(missing_docs)]

pub mod connect;
pub mod error;
pub mod index;
pub mod model;
pub mod plan;
pub mod query;
pub mod record;
pub mod script;
pub mod server_check;
#[cfg(feature = "testing")]
pub mod testing;
pub mod text;
pub mod value;
pub mod verify;

pub use error::{Error, Result};
pub use index::{
    Column, EqFilterable, LikeFilterable, PrefixFilterable, RangeFilterable, Sortable,
    SuffixFilterable, Table, TextFilterable,
};
pub use model::{IntoKey, Key, Model};
pub use plan::Plan;
pub use query::{Filter, OptionalExtension, Order, Query, QueryDsl};
pub use record::{Crud, Record};
pub use server_check::{ServerReport, check_server, check_server_async};
pub use value::Json;
pub use verify::{Repair, RepairReport, repair, repair_async, verify_async};

/// Everything an application needs in scope: `use rom::prelude::*;`.
pub mod prelude {
    pub use crate::error::{Error, Result};
    pub use crate::index::Table as _;
    pub use crate::model::Model;
    pub use crate::query::{ColumnMethods as _, OptionalExtension as _, QueryDsl as _};
    pub use crate::record::{Crud as _, Record};
    pub use crate::value::Json;
}

/// Items used by the code `#[derive(Model)]` generates. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::index::{
        CellNeeds, Column, EqFilterable, LikeFilterable, PrefixFilterable, RangeFilterable,
        Sortable, SuffixFilterable, Table, TextFilterable,
    };
    pub use crate::model::{Cell, ColumnDef, Fold, Layout, Model, RowData, Schema, invalid};
    pub use crate::query::BelongsTo;
    pub use crate::value::{EqKey, Field, Scored, Text, Value, score_u53};
    pub use std::sync::OnceLock;
}
