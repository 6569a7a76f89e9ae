//! `get` (`get.lua`, decoded by `get_args`): rows by key.
//!
//! `KEYS`: the row keys. `ARGV`: none.
//! Reply: [`GetReply`], per key its fields (`HGETALL`: empty when absent) or
//! the error string when the key is not a hash.

use super::{Args, Encoded, reply_items};
use crate::error::Result;
use crate::exec::script::{self, Script};

/// The arguments of `get`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GetArgs {
    pub(crate) rows: Vec<Vec<u8>>,
}

impl Args for GetArgs {
    fn function(&self) -> &'static Script {
        &script::GET
    }

    fn encode(&self) -> Encoded {
        (self.rows.clone(), Vec::new())
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
