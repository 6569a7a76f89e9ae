//! The fixes of `repair` (`verify.lua`), each one atomic call:
//! `repair_reindex` (decoded by `reindex_args`), `repair_unindex`
//! (`unindex_args`), `repair_unlist` (`unlist_args`).

use super::{Args, Argv, Encoded, NumOp, kind_letter, reply_strings};
use crate::error::Result;
use crate::exec::script::{self, Script};
use crate::storage::model::SlotKind;

/// An entry a row calls for, and the owner the client saw for a unique
/// value (empty: none, or this row).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub(crate) id: Vec<u8>,
    pub(crate) kind: SlotKind,
    pub(crate) value: Vec<u8>,
    pub(crate) owner: Vec<u8>,
}

/// `repair_reindex`: rewrites one row's index entries, numeric scores, `#i`
/// record and listing, if the row is still exactly as the client read it.
///
/// `KEYS`: ids, the row, then `declared` (every other key the call may read
/// or write: numeric indexes, the keys of the new entries and of those the
/// row's `#i` records, the rows of unique values' owners, the row's
/// structures; the builder computes them, since the old record is not an
/// argument).
/// `ARGV`: hash tag, numeric-ids flag, row prefix, member, the row as read
/// (counted list of field/value pairs), numeric ops (counted list of
/// [`NumOp`]), entries (counted list of slot id, kind letter, value, owner),
/// structures (counted list of the model's structure fields: record id
/// `st:<field>:`, index id or empty). The record is rewritten with one entry
/// per structure of the model; a structure recorded with another index (or
/// not recorded) moves its row to the index of each of its members.
/// Reply: [`ReindexReply`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ReindexArgs {
    pub(crate) ids: Vec<u8>,
    pub(crate) row: Vec<u8>,
    pub(crate) declared: Vec<Vec<u8>>,
    pub(crate) tag: Vec<u8>,
    pub(crate) numeric_ids: bool,
    pub(crate) row_prefix: Vec<u8>,
    pub(crate) member: Vec<u8>,
    pub(crate) fields: Vec<(Vec<u8>, Vec<u8>)>,
    pub(crate) numeric: Vec<NumOp>,
    pub(crate) entries: Vec<Entry>,
    /// The model's structure fields: (record id, index id or empty).
    pub(crate) structures: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Args for ReindexArgs {
    fn function(&self) -> &'static Script {
        &script::REPAIR_REINDEX
    }
    fn encode(&self) -> Encoded {
        let mut keys = vec![self.ids.clone(), self.row.clone()];
        keys.extend(self.declared.iter().cloned());
        let mut a = Argv::default();
        a.one(self.tag.clone())
            .flag(self.numeric_ids)
            .one(self.row_prefix.clone())
            .one(self.member.clone())
            .list(&self.fields, |a, (f, v)| {
                a.one(f.clone()).one(v.clone());
            })
            .list(&self.numeric, NumOp::write)
            .list(&self.entries, |a, e| {
                a.one(e.id.clone())
                    .one(kind_letter(e.kind))
                    .one(e.value.clone())
                    .one(e.owner.clone());
            })
            .list(&self.structures, |a, (id, index)| {
                a.one(id.clone()).one(index.clone());
            });
        (keys, a.0)
    }
}

/// What `repair_reindex` answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ReindexReply {
    /// `{'ok'}`: re-indexed.
    Ok,
    /// `{'changed'}`: the row changed or vanished; nothing written.
    Changed,
    /// `{'unique', id, value, owner}`, `{'wrongtype', key}`, or anything else:
    /// nothing written, the row is left alone.
    Refused,
}

impl ReindexReply {
    /// Decodes the reply.
    pub(crate) fn decode(v: redis::Value) -> Result<ReindexReply> {
        Ok(match reply_strings(v)?.first().map(Vec::as_slice) {
            Some(b"ok") => ReindexReply::Ok,
            Some(b"changed") => ReindexReply::Changed,
            _ => ReindexReply::Refused,
        })
    }
}

/// Which entry `repair_unindex` removes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Target {
    /// `n`: a numeric index entry, removed only while its row does not exist.
    Numeric,
    /// `x`: a malformed member of a lexicographic index (removed).
    Malformed,
    /// A value-keyed entry (its slot id and kind), removed unless the row's
    /// `#i` records it.
    Slot(Vec<u8>, SlotKind),
    /// Kind `k`: a structure (its record id `st:<field>:`; the index key is
    /// the structure's key, the value its index id), deleted with its row's
    /// entries in the indexes of its members while the row does not exist.
    Structure(Vec<u8>),
    /// Kind `i`: an entry of an indexed set's index (the index key is the
    /// index set of the value): its structure's record id and key. The row
    /// is added while it exists and its set holds the value, removed
    /// otherwise.
    StructureEntry {
        /// `st:<field>:`.
        id: Vec<u8>,
        /// The row's structure (declared as the third key).
        structure: Vec<u8>,
    },
}

/// `repair_unindex`: removes one index entry no row claims, deciding inside
/// the call. `KEYS`: the row the entry names, the index key, and for
/// [`Target::StructureEntry`] the structure. `ARGV`: hash tag, numeric-ids
/// flag, target (`n`, `x`, the slot id or the structure's id), the value
/// (the raw member for `x`), the member, the slot's kind letter (`''` for
/// `n` and `x`; `k` and `i` for the structure targets). Reply: [`Removed`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct UnindexArgs {
    pub(crate) row: Vec<u8>,
    pub(crate) index: Vec<u8>,
    pub(crate) tag: Vec<u8>,
    pub(crate) numeric_ids: bool,
    pub(crate) target: Target,
    pub(crate) value: Vec<u8>,
    pub(crate) member: Vec<u8>,
}

impl Args for UnindexArgs {
    fn function(&self) -> &'static Script {
        &script::REPAIR_UNINDEX
    }
    fn encode(&self) -> Encoded {
        let mut keys = vec![self.row.clone(), self.index.clone()];
        let (what, kind) = match &self.target {
            Target::Numeric => (b"n".to_vec(), ""),
            Target::Malformed => (b"x".to_vec(), ""),
            Target::Slot(id, k) => (id.clone(), kind_letter(*k)),
            Target::Structure(id) => (id.clone(), "k"),
            Target::StructureEntry { id, structure } => {
                keys.push(structure.clone());
                (id.clone(), "i")
            }
        };
        let mut a = Argv::default();
        a.one(self.tag.clone())
            .flag(self.numeric_ids)
            .one(what)
            .one(self.value.clone())
            .one(self.member.clone())
            .one(kind);
        (keys, a.0)
    }
}

/// `repair_unlist`: removes a member of `{ns}:ids` whose row does not exist,
/// and its scores. `KEYS`: ids, the row, the numeric indexes. `ARGV`: the
/// member. Reply: [`Removed`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct UnlistArgs {
    pub(crate) ids: Vec<u8>,
    pub(crate) row: Vec<u8>,
    pub(crate) numeric: Vec<Vec<u8>>,
    pub(crate) member: Vec<u8>,
}

impl Args for UnlistArgs {
    fn function(&self) -> &'static Script {
        &script::REPAIR_UNLIST
    }
    fn encode(&self) -> Encoded {
        let mut keys = vec![self.ids.clone(), self.row.clone()];
        keys.extend(self.numeric.iter().cloned());
        (keys, vec![self.member.clone()])
    }
}

/// The reply of `repair_unindex` and `repair_unlist`: whether the entry was
/// removed (1) or left (0: claimed again, or the row exists again).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Removed(pub(crate) bool);

impl Removed {
    /// Decodes the reply.
    pub(crate) fn decode(v: &redis::Value) -> Removed {
        Removed(matches!(v, redis::Value::Int(1)))
    }
}
