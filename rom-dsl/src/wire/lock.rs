//! `lock` and `unlock` (`lock.lua`, decoded by `lock_args` and
//! `unlock_args`): advisory row locks with a lease and a fencing token.
//!
//! `lock`: `KEYS` the lock key, the token counter; `ARGV` mode (`a` acquire,
//! `r` refresh), token (`''` to acquire), lease in milliseconds. Reply
//! [`LockReply`].
//!
//! `unlock`: `KEYS` the lock key; `ARGV` the token. Reply: 1 released, 0 not
//! held.

use super::{Args, Argv, Encoded, reply_strings};
use crate::error::{Error, Result};
use crate::exec::script::{self, Script};

/// Acquire, or refresh a held lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LockMode {
    Acquire,
    Refresh,
}

/// The arguments of `lock`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LockArgs {
    pub(crate) lock: Vec<u8>,
    pub(crate) seq: Vec<u8>,
    pub(crate) mode: LockMode,
    /// The holder's token (refresh); empty to acquire.
    pub(crate) token: Vec<u8>,
    pub(crate) lease_ms: u64,
}

impl Args for LockArgs {
    fn function(&self) -> &'static Script {
        &script::LOCK
    }

    fn encode(&self) -> Encoded {
        let mut a = Argv::default();
        a.one(match self.mode {
            LockMode::Acquire => "a",
            LockMode::Refresh => "r",
        })
        .one(self.token.clone())
        .num(self.lease_ms);
        (vec![self.lock.clone(), self.seq.clone()], a.0)
    }
}

/// What `lock` answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LockReply {
    /// The lock is held with this token.
    Ok(u64),
    /// Another holder has it for this many more milliseconds.
    Held(u64),
    /// A refresh found the lock gone or taken.
    Lost,
    /// The lock key (or the counter) holds another type.
    WrongType(Vec<u8>),
}

impl LockReply {
    pub(crate) fn decode(v: redis::Value) -> Result<LockReply> {
        let parts = reply_strings(v)?;
        let bad = || Error::decode(b"(lock reply)", None, "unexpected reply");
        let num = |b: &[u8]| -> Result<u64> {
            std::str::from_utf8(b)
                .ok()
                .and_then(|s| s.parse::<i64>().ok())
                .map(|n| n.max(0) as u64)
                .ok_or_else(bad)
        };
        match parts.as_slice() {
            [w, t] if w == b"ok" => Ok(LockReply::Ok(num(t)?)),
            [w, t] if w == b"held" => Ok(LockReply::Held(num(t)?)),
            [w] if w == b"lost" => Ok(LockReply::Lost),
            [w, k] if w == b"wrongtype" => Ok(LockReply::WrongType(k.clone())),
            _ => Err(bad()),
        }
    }
}

/// The arguments of `unlock`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct UnlockArgs {
    pub(crate) lock: Vec<u8>,
    pub(crate) token: Vec<u8>,
}

impl Args for UnlockArgs {
    fn function(&self) -> &'static Script {
        &script::UNLOCK
    }

    fn encode(&self) -> Encoded {
        (vec![self.lock.clone()], vec![self.token.clone()])
    }
}
