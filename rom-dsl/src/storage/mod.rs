//! The storage format, shared by save, query and verify: the schema and
//! layout of a model (key names, slots), how each Rust type is stored, the
//! text rules, and the values a row holds in each slot (its `#i` record).

pub(crate) mod model;
pub(crate) mod partition;
pub(crate) mod relations;
pub(crate) mod rules;
pub(crate) mod slots;
pub(crate) mod structures;
pub(crate) mod text;
pub(crate) mod value;
