//! `get` (`get.lua`, decoded by `get_args`): rows by key.
//!
//! `KEYS`: the row keys, then the model's expiry set when its rows expire.
//! `ARGV`: none when they never do; else the expiry set, then each row's
//! member (an expired row reads as absent).
//! Reply: [`GetReply`], per key its fields (`HGETALL`: empty when absent) or
//! the error string when the key is not a hash.

use super::{Args, Encoded, reply_items};
use crate::error::Result;
use crate::exec::script::{self, Script};

/// The arguments of `get`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GetArgs {
    pub(crate) rows: Vec<Vec<u8>>,
    /// The model's expiry set (empty: its rows never expire).
    pub(crate) expiry: Vec<u8>,
    /// Each row's member (sent only with an expiry set).
    pub(crate) members: Vec<Vec<u8>>,
}

impl Args for GetArgs {
    fn function(&self) -> &'static Script {
        &script::GET
    }

    fn encode(&self) -> Encoded {
        if self.expiry.is_empty() {
            return (self.rows.clone(), Vec::new());
        }
        let mut keys = self.rows.clone();
        keys.push(self.expiry.clone());
        let mut argv = vec![self.expiry.clone()];
        argv.extend(self.members.iter().cloned());
        (keys, argv)
    }
}

/// The reply of `get`: one item per key, in order, each decoded as a row
/// (flat field/value pairs or a map; a string is the key's error).
#[derive(Debug)]
pub(crate) struct GetReply(pub(crate) Vec<redis::Value>);

impl GetReply {
    /// Decodes the reply.
    pub(crate) fn decode(v: redis::Value) -> Result<GetReply> {
        reply_items(v, "(get reply)").map(GetReply)
    }
}
