//! The query builder: filters, ordering, paging and terminals, compiled to one
//! call of the query script.
//!
//! ```ignore
//! let adults = users::table
//!     .filter(users::age.ge(18))
//!     .order_by(users::score.desc())
//!     .limit(10)
//!     .load(&mut conn)?;
//! ```
//!
//! Every predicate method requires a marker trait on its column
//! ([`EqFilterable`], [`RangeFilterable`], [`Sortable`]); a column without the
//! right index does not compile, and the error names the attribute to add.

pub use crate::dsl::budget::{Budget, default_budget, set_default_budget};
pub use crate::dsl::children::{WithChild, WithChildren};
pub use crate::dsl::filter::*;
pub use crate::dsl::page::{Page, PageToken};
pub use crate::dsl::preload::WithParents;
pub use crate::dsl::query::*;
pub use crate::dsl::related::WithRelated;
#[allow(unused_imports)] // the links above
use crate::index::{EqFilterable, RangeFilterable, Sortable};
