//! `delete` (`delete.lua`, decoded by `delete_args`): deletes rows by key
//! with every index entry they recorded, all or nothing.
//!
//! `KEYS` (derived): the ids sorted set, the row keys, the numeric indexes.
//!
//! `ARGV`: numeric-ids flag, row prefix, hash tag, the numeric indexes
//! (counted list), the checks (counted list of [`Check`], on the first
//! member), the model's expiry set (`''` when its rows never expire), then
//! every member to the end.
//! Reply: [`Status`](super::status::Status), `Ok` carrying the number deleted.

use super::{Args, Argv, Check, Encoded};
use crate::exec::script::{self, Script};

/// The arguments of `delete`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DeleteArgs {
    pub(crate) ids: Vec<u8>,
    pub(crate) numeric_ids: bool,
    pub(crate) row_prefix: Vec<u8>,
    pub(crate) tag: Vec<u8>,
    /// Every numeric index of the model (a row is removed from each).
    pub(crate) numeric: Vec<Vec<u8>>,
    /// Checked on the first member's row before anything is deleted.
    pub(crate) checks: Vec<Check>,
    pub(crate) members: Vec<Vec<u8>>,
    /// The model's expiry set (empty: its rows never expire): an expired
    /// row is deleted but not counted, and fails the checks as gone.
    pub(crate) expiry: Vec<u8>,
}

impl Args for DeleteArgs {
    fn function(&self) -> &'static Script {
        &script::DELETE
    }

    fn encode(&self) -> Encoded {
        let mut keys = vec![self.ids.clone()];
        keys.extend(
            self.members
                .iter()
                .map(|m| [&self.row_prefix[..], m].concat()),
        );
        keys.extend(self.numeric.iter().cloned());
        let mut a = Argv::default();
        a.flag(self.numeric_ids)
            .one(self.row_prefix.clone())
            .one(self.tag.clone())
            .list(&self.numeric, |a, k| {
                a.one(k.clone());
            })
            .list(&self.checks, Check::write)
            .one(self.expiry.clone());
        a.0.extend(self.members.iter().cloned());
        (keys, a.0)
    }
}
