//! `id_block` (`ids.lua`, decoded by `IB.args`): a block of auto-increment
//! keys of a partitioned model, and the check of its number of buckets.
//!
//! `KEYS`: the counter, the partitions marker. `ARGV`: the block's size, the
//! declared number of buckets. Reply: `{'ok', last key}`, `{'partitions',
//! stored number}` (the data was written with another number of buckets:
//! nothing reserved) or `{'wrongtype', key}`.

use super::{Args, Argv, Encoded};
use crate::exec::script::{self, Script};

/// The arguments of `id_block`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct IdBlockArgs {
    pub(crate) seq: Vec<u8>,
    pub(crate) marker: Vec<u8>,
    pub(crate) size: u64,
    pub(crate) buckets: u16,
}

impl Args for IdBlockArgs {
    fn function(&self) -> &'static Script {
        &script::ID_BLOCK
    }

    fn encode(&self) -> Encoded {
        let mut a = Argv::default();
        a.num(self.size).num(u64::from(self.buckets));
        (vec![self.seq.clone(), self.marker.clone()], a.0)
    }
}
