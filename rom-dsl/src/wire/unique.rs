//! `unique_get` (`unique.lua`, decoded by `UQ.args`): the row that owns a
//! unique value, for a query whose whole filter is one unique column's
//! equality (in key order, from its start).
//!
//! `KEYS`: the unique hash, then the model's expiry set when its rows
//! expire. `ARGV`: the row prefix, the numeric-ids flag, the expiry set
//! (empty when rows never expire), the mode (`r` rows, `i` ids), the value as
//! the hash holds it. Reply: the `query` function's reply in rows or ids
//! mode ([`crate::wire::query`]) with at most one row, so the query's
//! decoders read it.

use super::{Args, Argv, Encoded};
use crate::exec::script::{self, Script};

/// The arguments of `unique_get`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct UniqueGetArgs {
    /// The unique hash (`{tag}:uniq:<column>`).
    pub(crate) key: Vec<u8>,
    pub(crate) row_prefix: Vec<u8>,
    pub(crate) numeric_ids: bool,
    /// The model's expiry set (empty: its rows never expire).
    pub(crate) expiry: Vec<u8>,
    /// Rows (each with its fields) rather than ids.
    pub(crate) rows: bool,
    /// The value, folded as the hash holds it.
    pub(crate) value: Vec<u8>,
}

impl Args for UniqueGetArgs {
    fn function(&self) -> &'static Script {
        &script::UNIQUE_GET
    }

    fn encode(&self) -> Encoded {
        let mut keys = vec![self.key.clone()];
        if !self.expiry.is_empty() {
            keys.push(self.expiry.clone());
        }
        let mut a = Argv::default();
        a.one(self.row_prefix.clone())
            .flag(self.numeric_ids)
            .one(self.expiry.clone())
            .one(if self.rows { "r" } else { "i" })
            .one(self.value.clone());
        (keys, a.0)
    }
}
