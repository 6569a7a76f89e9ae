//! Active-record operations: insert, save, get, delete, refresh. Each one builds a
//! [`Plan`](crate::plan::Plan) (one script call) that a sync or an async connection runs.

pub use crate::dsl::crud::*;
pub use crate::dsl::increment::{Add, CounterMethods};
pub use crate::dsl::record::*;
