//! `commit` (`commit.lua`, decoded by `commit_args`): the rows of a
//! transaction, of one placement, written together, all or nothing.
//!
//! `KEYS` (derived): every key of every operation, each once.
//!
//! `ARGV`: the operations (a counted list), each a letter then its fields:
//! `s` a save ([`SaveArgs`]: its `ids` and `seq`, then its fields from the
//! mode on, as `save` sends them), `d` a delete ([`TxDelete`]), `c` a check of
//! a row read and not written ([`TxCheck`]).
//! Reply: [`CommitReply`].

use super::save::SaveArgs;
use super::{Args, Argv, Check, Encoded, Keys, kind_letter, reply_strings};
use crate::error::{Error, Result};
use crate::exec::script::{self, Script};
use crate::storage::model::SlotKind;
use crate::storage::slots::entry_key;

/// A delete of one row in a transaction.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TxDelete {
    pub(crate) numeric_ids: bool,
    pub(crate) ids: Vec<u8>,
    pub(crate) row_prefix: Vec<u8>,
    pub(crate) tag: Vec<u8>,
    /// Every numeric index of the model.
    pub(crate) numeric: Vec<Vec<u8>>,
    /// What the row's columns must hold (a row the transaction read).
    pub(crate) checks: Vec<Check>,
    /// The row must exist (it was read); else a missing row is no failure.
    pub(crate) must_exist: bool,
    pub(crate) member: Vec<u8>,
    /// The models its on_delete rules reach, the model first (empty: none).
    pub(crate) graph: Vec<crate::wire::cascade::GraphNode>,
    /// The model's expiry set (empty: its rows never expire).
    pub(crate) expiry: Vec<u8>,
}

/// A row the transaction read and does not write: it must still be as read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TxCheck {
    pub(crate) row_prefix: Vec<u8>,
    pub(crate) member: Vec<u8>,
    /// `Some(checks)`: present, with these columns; `None`: absent.
    pub(crate) present: Option<Vec<Check>>,
    /// The model's expiry set (empty: its rows never expire); an expired
    /// row is absent.
    pub(crate) expiry: Vec<u8>,
}

/// An add to one integer column (see [`TxIncrement`]).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TxAdd {
    pub(crate) field: Vec<u8>,
    pub(crate) by: i64,
    /// The new value must lie in `min..=max` (each within ±(2^53 − 1)).
    pub(crate) min: i64,
    pub(crate) max: i64,
    /// The column's numeric index.
    pub(crate) numeric: Option<Vec<u8>>,
    /// The column's value-keyed slots: id and kind (unique or set).
    pub(crate) slots: Vec<(Vec<u8>, SlotKind)>,
}

/// Adds to integer columns of one row without reading it first
/// (`increment.lua`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TxIncrement {
    pub(crate) numeric_ids: bool,
    pub(crate) ids: Vec<u8>,
    pub(crate) row_prefix: Vec<u8>,
    pub(crate) tag: Vec<u8>,
    pub(crate) member: Vec<u8>,
    /// The model's expiry set (empty: its rows never expire); an expired
    /// row is gone.
    pub(crate) expiry: Vec<u8>,
    pub(crate) adds: Vec<TxAdd>,
}

/// One operation of a transaction.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TxOp {
    Save(SaveArgs),
    Delete(TxDelete),
    Check(TxCheck),
    Increment(TxIncrement),
    /// A fence: the lock key must still hold the token.
    Fence {
        lock: Vec<u8>,
        token: Vec<u8>,
    },
}

/// The arguments of `commit`.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct CommitArgs {
    pub(crate) ops: Vec<TxOp>,
}

impl Args for CommitArgs {
    fn function(&self) -> &'static Script {
        &script::COMMIT
    }

    fn encode(&self) -> Encoded {
        let mut keys = Keys::default();
        let mut a = Argv::default();
        a.num(self.ops.len() as u64);
        for op in &self.ops {
            match op {
                TxOp::Save(s) => {
                    // the save's own encoding: KEYS ids, seq, ...; ARGV from the
                    // mode on, whole (more follows it)
                    let (k, argv) = s.encode_in(true);
                    for key in k {
                        keys.add(key);
                    }
                    a.one("s").one(s.ids.clone()).one(s.seq.clone());
                    a.0.extend(argv);
                }
                TxOp::Delete(d) => {
                    keys.add(d.ids.clone());
                    keys.add([&d.row_prefix[..], &d.member].concat());
                    for k in &d.numeric {
                        keys.add(k.clone());
                    }
                    a.one("d")
                        .flag(d.numeric_ids)
                        .one(d.ids.clone())
                        .one(d.row_prefix.clone())
                        .one(d.tag.clone())
                        .list(&d.numeric, |a, k| {
                            a.one(k.clone());
                        })
                        .list(&d.checks, Check::write)
                        .flag(d.must_exist)
                        .one(d.member.clone());
                    crate::wire::cascade::write_nodes(&mut a, &d.graph);
                    a.one(d.expiry.clone());
                    if !d.expiry.is_empty() {
                        keys.add(d.expiry.clone());
                    }
                }
                TxOp::Increment(n) => {
                    keys.add(n.ids.clone());
                    keys.add([&n.row_prefix[..], &n.member].concat());
                    a.one("n")
                        .flag(n.numeric_ids)
                        .one(n.ids.clone())
                        .one(n.row_prefix.clone())
                        .one(n.tag.clone())
                        .one(n.member.clone())
                        .one(n.expiry.clone())
                        .list(&n.adds, |a, add| {
                            a.one(add.field.clone())
                                .one(add.by.to_string())
                                .one(add.min.to_string())
                                .one(add.max.to_string())
                                .one(add.numeric.clone().unwrap_or_default())
                                .list(&add.slots, |a, (id, kind)| {
                                    a.one(id.clone()).one(kind_letter(*kind));
                                });
                        });
                    for add in &n.adds {
                        if let Some(k) = &add.numeric {
                            keys.add(k.clone());
                        }
                        // the unique hashes (the new value's set key is not
                        // known before the call; it shares the tag)
                        for (id, kind) in &add.slots {
                            if *kind == SlotKind::Unique {
                                keys.add(entry_key(&n.tag, *kind, id, b""));
                            }
                        }
                    }
                }
                TxOp::Fence { lock, token } => {
                    keys.add(lock.clone());
                    a.one("f").one(lock.clone()).one(token.clone());
                }
                TxOp::Check(c) => {
                    keys.add([&c.row_prefix[..], &c.member].concat());
                    a.one("c")
                        .one(c.row_prefix.clone())
                        .one(c.member.clone())
                        .one(c.expiry.clone());
                    if !c.expiry.is_empty() {
                        keys.add(c.expiry.clone());
                    }
                    match &c.present {
                        Some(checks) => {
                            a.one("p").list(checks, Check::write);
                        }
                        None => {
                            a.one("a");
                        }
                    }
                }
            }
        }
        (keys.into_vec(), a.0)
    }
}

/// How a row was not as the transaction expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unexpected {
    /// `exists`: an insert found the row.
    Exists,
    /// `gone`: a row the transaction read (or updates) is deleted.
    Gone,
    /// `conflict`: a column changed (the field).
    Changed(Vec<u8>),
    /// `appeared`: a row read as absent exists.
    Appeared,
    /// `lease`: a fence's lock no longer holds its token.
    Lease,
}

/// What `commit` answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CommitReply {
    /// Per operation: the member saved, `1`/`0` deleted, empty for a check.
    Ok(Vec<Vec<u8>>),
    /// Every operation (0-based) whose row was not as expected.
    Expect(Vec<(usize, Unexpected)>),
    /// The first other failure: the operation (0-based) and the reply `save`
    /// would give (`unique`, `wrongtype`, `badrecord`, `twice`...).
    Failed(usize, Vec<Vec<u8>>),
}

fn op_index(b: &[u8]) -> Result<usize> {
    std::str::from_utf8(b)
        .ok()
        .and_then(|s| s.parse::<usize>().ok())
        .and_then(|i| i.checked_sub(1))
        .ok_or_else(|| Error::decode(b"(commit reply)", None, "bad operation number"))
}

impl CommitReply {
    pub(crate) fn decode(v: redis::Value) -> Result<CommitReply> {
        let parts = reply_strings(v)?;
        let bad = || Error::decode(b"(commit reply)", None, "unexpected reply");
        let (word, rest) = parts.split_first().ok_or_else(bad)?;
        match word.as_slice() {
            b"ok" => Ok(CommitReply::Ok(rest.to_vec())),
            b"expect" => {
                if rest.len() % 3 != 0 {
                    return Err(bad());
                }
                rest.chunks(3)
                    .map(|c| {
                        let what = match c[1].as_slice() {
                            b"exists" => Unexpected::Exists,
                            b"gone" => Unexpected::Gone,
                            b"conflict" => Unexpected::Changed(c[2].clone()),
                            b"appeared" => Unexpected::Appeared,
                            b"lease" => Unexpected::Lease,
                            _ => return Err(bad()),
                        };
                        Ok((op_index(&c[0])?, what))
                    })
                    .collect::<Result<_>>()
                    .map(CommitReply::Expect)
            }
            b"failed" => {
                let (i, status) = rest.split_first().ok_or_else(bad)?;
                Ok(CommitReply::Failed(op_index(i)?, status.to_vec()))
            }
            _ => Err(bad()),
        }
    }
}
