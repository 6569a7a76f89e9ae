//! `structure_read` (`structures.lua`, decoded by `structure_read_args`): a
//! read of a structure of a model whose rows expire.
//!
//! `KEYS`: the structure, the model's expiry set, a key of the same hash tag
//! that is never written. `ARGV`: the row's member, the read command, its
//! arguments after the key. Reply: the command's reply; for an expired row,
//! its reply on the never-written key (an absent key's).

use super::{Args, Encoded};
use crate::exec::script::{self, Script};

/// The arguments of `structure_read`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StructureReadArgs {
    pub(crate) key: Vec<u8>,
    pub(crate) expiry: Vec<u8>,
    pub(crate) absent: Vec<u8>,
    pub(crate) member: Vec<u8>,
    pub(crate) command: String,
    pub(crate) args: Vec<Vec<u8>>,
}

impl Args for StructureReadArgs {
    fn function(&self) -> &'static Script {
        &script::STRUCTURE_READ
    }

    fn encode(&self) -> Encoded {
        let keys = vec![self.key.clone(), self.expiry.clone(), self.absent.clone()];
        let mut argv = vec![self.member.clone(), self.command.clone().into_bytes()];
        argv.extend(self.args.iter().cloned());
        (keys, argv)
    }
}
