//! `save` (`save.lua`, decoded by `save_args`): inserts or updates one row.
//!
//! `KEYS`: the ids sorted set, the auto-increment counter, then (derived, for
//! a cluster's routing) the row key when the member is known, the numeric
//! indexes and the keys of the new index entries.
//!
//! `ARGV`: mode letter, member (`''`: allocate a key), numeric-ids flag, row
//! prefix, hash tag, then four counted lists: checks ([`Check`]), writes
//! ([`Write`]), numeric ops ([`NumOp`]), touched slots ([`Touched`]),
//! then the referenced parents ([`Parent`]), then the row's expiry
//! ([`RowExpiry`](super::expiry::RowExpiry)), then the structures
//! ([`StructWrites`], one per structure field). That tail (parents,
//! expiry, structures) is left out when it says nothing (no parents, rows
//! that never expire, no structures), except inside a transaction's ARGV
//! ([`SaveArgs::encode_in`]).
//! Reply: [`Status`](super::status::Status), `Ok` carrying the member.

use super::expiry::RowExpiry;
use super::{Args, Argv, Check, Encoded, Keys, NumOp, kind_letter};
use crate::exec::script::{self, Script};
use crate::storage::model::SlotKind;
use crate::storage::slots::entry_key;
use crate::storage::structures::StructureKind;

/// How `save` treats an existing row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SaveMode {
    /// `i`: the row must not exist.
    Insert,
    /// `u`: the row must exist (a record's update).
    Update,
    /// `p`: insert or overwrite.
    Put,
}

/// A field to set (`s`, with its bytes) or delete (`d`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Write {
    pub(crate) field: Vec<u8>,
    /// `None` deletes the field.
    pub(crate) value: Option<Vec<u8>>,
}

/// A slot whose entries the save replaces: its id, its kind, and the row's
/// new values in it (possibly none).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Touched {
    pub(crate) id: Vec<u8>,
    pub(crate) kind: SlotKind,
    pub(crate) values: Vec<Vec<u8>>,
}

/// A row a save references, which must exist and be live.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Parent {
    /// The referencing column.
    pub(crate) field: Vec<u8>,
    /// The parent's row key.
    pub(crate) row: Vec<u8>,
    /// The parent model's expiry set (empty: its rows never expire).
    pub(crate) expiry: Vec<u8>,
    /// The parent's member.
    pub(crate) member: Vec<u8>,
}

/// The arguments of `save`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SaveArgs {
    pub(crate) ids: Vec<u8>,
    pub(crate) seq: Vec<u8>,
    pub(crate) mode: SaveMode,
    /// The row's member; empty to allocate one.
    pub(crate) member: Vec<u8>,
    pub(crate) numeric_ids: bool,
    pub(crate) row_prefix: Vec<u8>,
    pub(crate) tag: Vec<u8>,
    pub(crate) checks: Vec<Check>,
    pub(crate) writes: Vec<Write>,
    pub(crate) numeric: Vec<NumOp>,
    pub(crate) touched: Vec<Touched>,
    /// Rows this row references (`belongs_to`, same hash tag), which must
    /// exist.
    pub(crate) parents: Vec<Parent>,
    /// The row's deadline, and the expired rows the save may reclaim.
    pub(crate) expiry: RowExpiry,
    /// Every structure field of the model, with the writes to apply
    /// (`structures.lua`).
    pub(crate) structures: Vec<StructWrites>,
}

/// One structure field of the row, and the writes recorded on it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StructWrites {
    /// `st:<field>:`, the id of the row's record entry.
    pub(crate) id: Vec<u8>,
    /// `eq:<field>:` for an indexed set, else empty.
    pub(crate) index: Vec<u8>,
    pub(crate) kind: StructureKind,
    /// `#v:<field>`: the row hash field holding the structure's version.
    pub(crate) version: Vec<u8>,
    /// Each write's letter and arguments, in order.
    pub(crate) ops: Vec<(String, Vec<Vec<u8>>)>,
}

impl Args for SaveArgs {
    fn function(&self) -> &'static Script {
        &script::SAVE
    }

    fn encode(&self) -> Encoded {
        self.encode_in(false)
    }
}

impl SaveArgs {
    /// Whether the save's tail (its parents, its expiry, its structures) says
    /// nothing: no parents, a model whose rows never expire, no structures.
    fn empty_tail(&self) -> bool {
        self.parents.is_empty() && self.expiry == RowExpiry::default() && self.structures.is_empty()
    }

    /// The save's KEYS and ARGV. An empty tail is left out (the reader takes
    /// the end of ARGV for it: every argument costs the server about a
    /// thousand instructions to receive and hand to Lua), unless `whole`: a
    /// save inside a transaction's ARGV, where more follows, is written whole.
    pub(crate) fn encode_in(&self, whole: bool) -> Encoded {
        let mut keys = vec![self.ids.clone(), self.seq.clone()];
        if !self.member.is_empty() {
            keys.push([&self.row_prefix[..], &self.member].concat());
        }
        keys.extend(self.numeric.iter().map(|n| n.key.clone()));
        // each entry key once (a text names many, maybe the same twice)
        keys.extend(self.parents.iter().map(|p| p.row.clone()));
        let mut entries = Keys::new(keys);
        for p in &self.parents {
            if !p.expiry.is_empty() {
                entries.add(p.expiry.clone());
            }
        }
        if !self.expiry.key.is_empty() {
            entries.add(self.expiry.key.clone());
        }
        for t in &self.touched {
            for v in &t.values {
                entries.add(entry_key(&self.tag, t.kind, &t.id, v));
            }
        }
        let mut a = Argv::default();
        a.one(match self.mode {
            SaveMode::Insert => "i",
            SaveMode::Update => "u",
            SaveMode::Put => "p",
        })
        .one(self.member.clone())
        .flag(self.numeric_ids)
        .one(self.row_prefix.clone())
        .one(self.tag.clone())
        .list(&self.checks, Check::write)
        .list(&self.writes, |a, w| {
            a.one(w.field.clone());
            match &w.value {
                Some(v) => a.one("s").one(v.clone()),
                None => a.one("d").one(""),
            };
        })
        .list(&self.numeric, NumOp::write)
        .list(&self.touched, |a, t| {
            a.one(t.id.clone())
                .one(kind_letter(t.kind))
                .list(&t.values, |a, v| {
                    a.one(v.clone());
                });
        });
        if !whole && self.empty_tail() {
            return (entries.into_vec(), a.0);
        }
        a.list(&self.parents, |a, p| {
            a.one(p.field.clone())
                .one(p.row.clone())
                .one(p.expiry.clone())
                .one(p.member.clone());
        });
        self.expiry.write(&mut a);
        a.list(&self.structures, |a, s| {
            a.one(s.id.clone())
                .one(s.index.clone())
                .one(s.kind.letter())
                .one(s.version.clone())
                .list(&s.ops, |a, (letter, args)| {
                    a.one(letter.clone()).list(args, |a, x| {
                        a.one(x.clone());
                    });
                });
        });
        (entries.into_vec(), a.0)
    }
}
