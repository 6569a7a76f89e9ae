//! The wire contracts: for each function of rom's Lua library, one type for
//! its arguments (`KEYS` and `ARGV`) and one for its reply, each with a single
//! `encode` or `decode`. The plan builders fill an arguments type and call
//! [`Args::encode`]; on the Lua side each entry function first calls one
//! decoder (`save_args(keys, argv)`...) that returns the same fields by name.
//!
//! | function | arguments | reply | Lua decoder |
//! |---|---|---|---|
//! | `save` | [`save::SaveArgs`] | [`status::Status`] | `save_args` (`save.lua`) |
//! | `commit` | [`commit::CommitArgs`] | [`commit::CommitReply`] | `commit_args` (`commit.lua`) |
//! | `lock` | [`lock::LockArgs`] | [`lock::LockReply`] | `lock_args` (`lock.lua`) |
//! | `unlock` | [`lock::UnlockArgs`] | 1 or 0 | `unlock_args` (`lock.lua`) |
//! | `delete_graph` | [`cascade::GraphArgs`] | [`cascade::GraphReply`] | `graph_args` (`cascade.lua`) |
//! | `delete` | [`delete::DeleteArgs`] | [`status::Status`] | `delete_args` (`delete.lua`) |
//! | `get` | [`get::GetArgs`] | [`get::GetReply`] | `get_args` (`get.lua`) |
//! | `query`, `query_delete` | [`query::QueryArgs`] | [`query::QueryReply`] | `query_args` (`query.lua`) |
//! | `verify_scan` | [`verify::ScanArgs`] | [`verify::ScanReply`] | `scan_args` (`verify.lua`) |
//! | `verify_rows` | [`verify::RowsArgs`] | [`verify::RowsReply`] | `rows_args` (`verify.lua`) |
//! | `verify_probe` | [`verify::ProbeArgs`] | [`verify::ProbeReply`] | `probe_args` (`verify.lua`) |
//! | `repair_reindex` | [`repair::ReindexArgs`] | [`repair::ReindexReply`] | `reindex_args` (`verify.lua`) |
//! | `repair_unindex` | [`repair::UnindexArgs`] | [`repair::Removed`] | `unindex_args` (`verify.lua`) |
//! | `repair_unlist` | [`repair::UnlistArgs`] | [`repair::Removed`] | `unlist_args` (`verify.lua`) |
//! | `expire` | [`expiry::ExpireArgs`] | 1 or 0 | `expire_args` (`expiry.lua`) |
//! | `ttl` | [`expiry::TtlArgs`] | milliseconds, -1 or -2 | `ttl_args` (`expiry.lua`) |
//! | `sweep` | [`expiry::SweepArgs`] | [`cascade::GraphReply`] | `sweep_args` (`expiry.lua`) |
//!
//! # The encoding
//!
//! Every argument is one Redis bulk string, so values travel byte for byte
//! (`\0`, `:`, bytes that are not UTF-8): nothing is escaped or spliced into
//! Lua source. A contract's `ARGV` is a fixed sequence of:
//!
//! - **scalars**: one argument each, the bytes as they are (a key, a value, a
//!   field name);
//! - **flags**: `1` or `0` (the numeric-ids flag, "present" in a check);
//! - **letters**: one ASCII letter naming a choice (`i`/`u`/`p` save modes,
//!   `s`/`d` write kinds, `a`/`r` numeric ops, `u`/`s`/`l` slot kinds,
//!   `n`/`u`/`s`/`l` probe kinds);
//! - **numbers**: decimal text (an offset, a limit, a score as
//!   [`float_repr`](crate::value::float_repr) writes it);
//! - **counted lists**: the number of items in decimal, then each item's
//!   arguments in a fixed shape (a check is three arguments, a touched slot
//!   is its id, its kind, then a counted list of values);
//! - **trees** (the query's filter), in prefix order, each node a letter then
//!   its arguments, an `And`/`Or` followed by its number of children.
//!
//! Counts come before what they count, so a decoder reads left to right with
//! one cursor and never looks ahead (`wire.lua`: `take`, `take_flag`,
//! `take_list`). The `KEYS` of a call are every key it touches, declared for a
//! cluster's routing; where they follow from the arguments (a row key from the
//! row prefix and the member, an index key from a slot) `encode` derives them,
//! so a contract cannot declare one key and write another.
//!
//! Slot kinds travel explicitly wherever the client names a slot (save's
//! touched slots, repair's entries): the server does not re-derive the kind
//! of a slot the client sent from its id. The one place the server derives a
//! kind from an id is a row's `#i` record (`rows.lua`: `slotkind`), which names
//! its entries by id only, because a record outlives the schema that wrote it
//! (an index removed from the model still has entries to clean up).
//!
//! The tests in `echo/` send each contract to the Lua decoder and compare
//! what comes back, field by field.

pub(crate) mod cascade;
pub(crate) mod commit;
pub(crate) mod delete;
pub(crate) mod expiry;
pub(crate) mod get;
pub(crate) mod ids;
pub(crate) mod lock;
pub(crate) mod query;
pub(crate) mod repair;
pub(crate) mod save;
pub(crate) mod status;
pub(crate) mod structure;
pub(crate) mod unique;
pub(crate) mod verify;
pub(crate) mod xuniq;

#[cfg(test)]
mod echo;

use crate::error::{Error, Result};
use crate::exec::script::Script;
use crate::storage::model::SlotKind;

/// A call's `KEYS` then `ARGV`, as sent.
pub(crate) type Encoded = (Vec<Vec<u8>>, Vec<Vec<u8>>);

/// The arguments of one server function.
pub(crate) trait Args {
    /// The function these arguments are for.
    fn function(&self) -> &'static Script;
    /// The call's `KEYS` and `ARGV`.
    fn encode(&self) -> Encoded;
}

/// Writes `ARGV` in the encoding above.
#[derive(Debug, Default)]
pub(crate) struct Argv(pub(crate) Vec<Vec<u8>>);

impl Argv {
    /// A scalar.
    pub(crate) fn one(&mut self, v: impl Into<Vec<u8>>) -> &mut Self {
        self.0.push(v.into());
        self
    }
    /// A flag: `1` or `0`.
    pub(crate) fn flag(&mut self, b: bool) -> &mut Self {
        self.one(if b { "1" } else { "0" })
    }
    /// A number, in decimal.
    pub(crate) fn num(&mut self, n: u64) -> &mut Self {
        self.one(n.to_string())
    }
    /// A counted list: the count, then each item written by `item`.
    pub(crate) fn list<T>(
        &mut self,
        items: &[T],
        mut item: impl FnMut(&mut Self, &T),
    ) -> &mut Self {
        self.num(items.len() as u64);
        for i in items {
            item(self, i);
        }
        self
    }
}

/// Keys, each declared once, in the order first named.
#[derive(Debug, Default)]
pub(crate) struct Keys {
    list: Vec<Vec<u8>>,
    seen: std::collections::HashSet<Vec<u8>>,
}

impl Keys {
    /// Starts with `first`, declared as they are (even twice).
    pub(crate) fn new(first: Vec<Vec<u8>>) -> Self {
        Keys {
            seen: first.iter().cloned().collect(),
            list: first,
        }
    }
    /// Declares `k` unless it is declared already.
    pub(crate) fn add(&mut self, k: Vec<u8>) {
        if self.seen.insert(k.clone()) {
            self.list.push(k);
        }
    }
    /// The keys, in order.
    pub(crate) fn into_vec(self) -> Vec<Vec<u8>> {
        self.list
    }
}

/// A numeric index change: `ZADD` the row with a score, or `ZREM` it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NumOp {
    /// The numeric index (`{ns}:num:<column>`).
    pub(crate) key: Vec<u8>,
    /// The new score; `None` removes the row from the index.
    pub(crate) score: Option<f64>,
}

impl NumOp {
    /// Three arguments: key, `a` add / `r` remove, score (or '').
    pub(crate) fn write(a: &mut Argv, n: &NumOp) {
        a.one(n.key.clone());
        match n.score {
            Some(s) => a.one("a").one(crate::value::float_repr(s)),
            None => a.one("r").one(""),
        };
    }
}

/// A column's expected stored value, checked before a write: `None` when the
/// column must be absent.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Check {
    /// The hash field.
    pub(crate) field: Vec<u8>,
    /// The bytes it must hold.
    pub(crate) value: Option<Vec<u8>>,
}

impl Check {
    /// Three arguments: field, `1` present / `0` absent, value (or '').
    pub(crate) fn write(a: &mut Argv, c: &Check) {
        a.one(c.field.clone());
        match &c.value {
            Some(v) => a.flag(true).one(v.clone()),
            None => a.flag(false).one(""),
        };
    }
}

/// The letter a slot kind travels as: `u` unique hash, `s` a set per value,
/// `l` a lexicographic sorted set.
pub(crate) fn kind_letter(k: SlotKind) -> &'static str {
    match k {
        SlotKind::Unique => "u",
        SlotKind::Set => "s",
        SlotKind::Lex => "l",
    }
}

/// One string of a reply: a bulk or simple string, an integer as text, nil as
/// empty.
pub(crate) fn reply_bytes(v: redis::Value) -> Result<Vec<u8>> {
    match v {
        redis::Value::BulkString(b) => Ok(b),
        redis::Value::SimpleString(s) => Ok(s.into_bytes()),
        redis::Value::Int(n) => Ok(n.to_string().into_bytes()),
        redis::Value::Nil => Ok(Vec::new()),
        other => Err(Error::decode(b"(reply)", None, format!("{other:?}"))),
    }
}

/// The items of an array reply (a RESP3 map as its flat pairs, nil as none).
pub(crate) fn reply_items(v: redis::Value, what: &str) -> Result<Vec<redis::Value>> {
    match v {
        redis::Value::Array(items) | redis::Value::Set(items) => Ok(items),
        redis::Value::Map(m) => Ok(m.into_iter().flat_map(|(k, v)| [k, v]).collect()),
        redis::Value::Nil => Ok(Vec::new()),
        other => Err(Error::decode(
            what.as_bytes(),
            None,
            format!("expected an array, got {other:?}"),
        )),
    }
}

/// An array reply of strings.
pub(crate) fn reply_strings(v: redis::Value) -> Result<Vec<Vec<u8>>> {
    reply_items(v, "(reply)")?
        .into_iter()
        .map(|i| match i {
            redis::Value::BulkString(b) => Ok(b),
            redis::Value::SimpleString(s) => Ok(s.into_bytes()),
            redis::Value::Int(n) => Ok(n.to_string().into_bytes()),
            redis::Value::Nil => Ok(Vec::new()),
            other => Err(Error::decode(
                b"(reply)",
                None,
                format!("expected a string, got {other:?}"),
            )),
        })
        .collect()
}
