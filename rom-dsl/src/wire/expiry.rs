//! A row's expiry as the write functions receive it, and the contracts of
//! the functions `expire`, `ttl` and `sweep` (`expiry.lua`).
//!
//! In `save` (and each save of a `commit`): the model's expiry set (empty
//! when its rows never expire), a letter and a number: `k` keep the row's
//! deadline, `p` remove it (the row no longer expires), `t` expire `n`
//! milliseconds after the server's time, `a` expire at `n` (Unix
//! milliseconds); then the model's numeric indexes and expiry set when the
//! save may reclaim a few expired rows of the model (empty: it does not).
//!
//! `expire`: `KEYS` the row, the expiry set; `ARGV` the member, then the
//! letter and number as above (`p`, `t` or `a`). Reply 1 when the row is
//! live and now has that deadline, 0 when there is no live row.
//!
//! `ttl` (no-writes): `KEYS` the row, the expiry set; `ARGV` the member.
//! Reply the milliseconds left, -1 for a live row that does not expire, -2
//! for no live row.
//!
//! `sweep`: `KEYS` the expiry set, the model's ids; `ARGV` the most rows to
//! reclaim, then the delete graph of the model (`cascade.rs`: the model
//! first). Reply [`SweepReply`], or a failure status.

use super::{Args, Argv, Encoded};
use crate::exec::script::{self, Script};
use crate::wire::cascade::GraphNode;
use crate::wire::status::Status;

/// What a write does to the row's deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Deadline {
    /// `k`: as it is.
    #[default]
    Keep,
    /// `p`: none (the row no longer expires).
    Clear,
    /// `t`: this many milliseconds after the server's time at the call.
    In(u64),
    /// `a`: at this Unix time in milliseconds.
    At(u64),
}

impl Deadline {
    pub(crate) fn write(&self, a: &mut Argv) {
        match self {
            Deadline::Keep => a.one("k").one(""),
            Deadline::Clear => a.one("p").one(""),
            Deadline::In(ms) => a.one("t").num(*ms),
            Deadline::At(ms) => a.one("a").num(*ms),
        };
    }
}

/// A write's expiry part.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct RowExpiry {
    /// The model's expiry set; empty when its rows never expire (then the
    /// rest is ignored).
    pub(crate) key: Vec<u8>,
    pub(crate) deadline: Deadline,
    /// The model's numeric indexes and expiry set, when the write may
    /// reclaim a few expired rows of the model in the same call; empty when
    /// it may not (the model's rows are referenced under on_delete rules,
    /// which only `sweep` applies).
    pub(crate) reclaim: Vec<Vec<u8>>,
}

impl RowExpiry {
    pub(crate) fn write(&self, a: &mut Argv) {
        a.one(self.key.clone());
        self.deadline.write(a);
        a.list(&self.reclaim, |a, k| {
            a.one(k.clone());
        });
    }
}

/// The arguments of `expire`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ExpireArgs {
    pub(crate) row: Vec<u8>,
    pub(crate) expiry: Vec<u8>,
    pub(crate) member: Vec<u8>,
    pub(crate) deadline: Deadline,
}

impl Args for ExpireArgs {
    fn function(&self) -> &'static Script {
        &script::EXPIRE
    }
    fn encode(&self) -> Encoded {
        let mut a = Argv::default();
        a.one(self.member.clone());
        self.deadline.write(&mut a);
        (vec![self.row.clone(), self.expiry.clone()], a.0)
    }
}

/// The arguments of `ttl`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TtlArgs {
    pub(crate) row: Vec<u8>,
    pub(crate) expiry: Vec<u8>,
    pub(crate) member: Vec<u8>,
}

impl Args for TtlArgs {
    fn function(&self) -> &'static Script {
        &script::TTL
    }
    fn encode(&self) -> Encoded {
        (
            vec![self.row.clone(), self.expiry.clone()],
            vec![self.member.clone()],
        )
    }
}

/// The arguments of `sweep`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SweepArgs {
    pub(crate) expiry: Vec<u8>,
    pub(crate) ids: Vec<u8>,
    pub(crate) limit: u64,
    /// The model first, then every model its rules reach.
    pub(crate) graph: Vec<GraphNode>,
}

impl Args for SweepArgs {
    fn function(&self) -> &'static Script {
        &script::SWEEP
    }
    fn encode(&self) -> Encoded {
        let mut a = Argv::default();
        a.num(self.limit);
        crate::wire::cascade::write_nodes(&mut a, &self.graph);
        (vec![self.expiry.clone(), self.ids.clone()], a.0)
    }
}

/// What `sweep` answered: `{'ok', deadlines taken, expired rows deleted,
/// rows deleted in all, rows changed}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct SweepReply {
    /// Deadlines taken from the expiry set (rows, and entries whose row was
    /// removed from outside): fewer than the limit means none is left due.
    pub(crate) taken: u64,
    /// Expired rows deleted.
    pub(crate) expired: u64,
    /// Rows deleted, with the ones on_delete rules reached.
    pub(crate) deleted: u64,
    /// Rows a `set_null` or `set_default` changed.
    pub(crate) changed: u64,
}

impl SweepReply {
    /// Decodes the reply; a failure as its status.
    pub(crate) fn decode(
        v: redis::Value,
    ) -> crate::error::Result<std::result::Result<SweepReply, Status>> {
        let parts = super::reply_strings(v)?;
        if parts.first().map(Vec::as_slice) != Some(b"ok") {
            return Ok(Err(Status::from_parts(parts)?));
        }
        let num = |i: usize| -> u64 {
            parts
                .get(i)
                .and_then(|b| std::str::from_utf8(b).ok()?.parse().ok())
                .unwrap_or(0)
        };
        Ok(Ok(SweepReply {
            taken: num(1),
            expired: num(2),
            deleted: num(3),
            changed: num(4),
        }))
    }
}
