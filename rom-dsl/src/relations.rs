//! Relations between models: a column declared
//! `#[rom(belongs_to(Parent, on_delete = ...))]` references a row of
//! `Parent`, which lists the column in `#[rom(has_many(...))]`. Writes check
//! that the referenced row exists; deleting a parent row applies each
//! column's [`OnDelete`] rule over the whole graph in one atomic call. The
//! book's "Relations" chapter walks through them.

pub use crate::dsl::preload::ReferenceMethods;
pub use crate::dsl::related::{
    Child, Children, Parent, Related, RelatedSet, child, children, parent,
};
pub use crate::storage::relations::{OnDelete, Reference};
