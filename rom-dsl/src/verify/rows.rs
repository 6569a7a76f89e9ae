//! Checking rows: read a page of rows, compute the entries each calls for with
//! the same code a save uses (`Model::cells` and `record::slot_values`), look
//! them up, and decide which rows to re-index.

use super::walk::{Walk, bytes, index_name, score};
use super::{DanglingFix, Fix, Problem};
use crate::error::{Result, show};
use crate::plan::Plan;
use crate::storage::model::{Cell, Key, Layout, Model, SlotKind};
use crate::storage::relations::{OnDelete, ParentRef};
use crate::storage::slots::{entry_key, kind_of_id, lex_member, parse_record};
use crate::storage::structures::{Recorded, is_structure_id};
use crate::wire::repair::{Entry, ReindexArgs};
use crate::wire::verify::{
    Probe, ProbeArgs, ProbeKind, ProbeReply, RowRef, RowReply, RowsArgs, RowsReply,
};
use crate::wire::{Keys, NumOp};

/// Where a member to check came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// A page of `{ns}:ids`.
    Ids,
    /// A row key found by scanning the keyspace.
    Scan,
    /// A row to re-read and re-index (its problems are already reported):
    /// the number of attempts so far.
    Retry(u8),
}

impl Origin {
    pub(crate) fn attempt(self) -> u8 {
        match self {
            Origin::Retry(n) => n,
            _ => 0,
        }
    }
}

/// A row as the walk read it.
#[derive(Debug, Clone)]
pub(crate) enum RowState {
    /// No such key.
    Absent,
    /// Not a hash, or a hash the model cannot decode.
    Bad(String),
    /// The row's cells, as a save would compute them, and the co-located
    /// rows it references.
    Row(Vec<Cell>, Vec<ParentRef>),
}

pub(crate) struct RowRead {
    /// The row's deadline has passed.
    pub(crate) expired: bool,
    pub(crate) listed: bool,
    pub(crate) state: RowState,
    pub(crate) fields: Vec<(Vec<u8>, Vec<u8>)>,
}

/// A decoded row with what it calls for, waiting for its lookups.
#[derive(Debug, Clone, Default)]
pub(crate) struct Checked {
    pub(crate) member: Vec<u8>,
    pub(crate) origin: Option<Origin>,
    pub(crate) listed: bool,
    /// The row as read: every field, `#i` included.
    pub(crate) fields: Vec<(Vec<u8>, Vec<u8>)>,
    /// Per column, the score its numeric index calls for.
    pub(crate) scores: Vec<Option<f64>>,
    /// (slot, value) entries the row calls for.
    pub(crate) entries: Vec<(usize, Vec<u8>)>,
    /// Per entry, the owner seen for a unique value (empty: none or this row).
    pub(crate) owners: Vec<Vec<u8>>,
    /// The stored `#i` record, parsed (empty when unreadable).
    pub(crate) old_record: Vec<(Vec<u8>, Vec<u8>)>,
    pub(crate) record_ok: bool,
    /// The co-located rows it references.
    pub(crate) parents: Vec<ParentRef>,
    /// How the record names each structure of the model.
    pub(crate) structures: Vec<Recorded>,
}

impl Checked {
    fn reported(&self) -> bool {
        !matches!(self.origin, Some(Origin::Retry(_)))
    }
}

/// `verify_rows` for the given members.
pub(crate) fn rows_plan<'a, M: Model>(
    l: &Layout,
    members: impl Iterator<Item = &'a Vec<u8>>,
) -> Plan<redis::Value> {
    let args = RowsArgs {
        ids: l.ids.clone(),
        rows: members
            .map(|m| RowRef {
                key: l.row_key(m),
                member: m.clone(),
            })
            .collect(),
        expiry: crate::storage::model::expiry_key::<M>(),
    };
    Plan::call(&args, Ok)
}

/// One row of a `verify_rows` reply.
pub(crate) fn decode_one<M: Model>(member: &[u8], item: RowReply) -> RowRead {
    let RowReply {
        expired,
        listed,
        kind,
        fields: fields_v,
    } = item;
    let mut fields = Vec::new();
    let state = match kind.as_slice() {
        b"none" => RowState::Absent,
        b"hash" => {
            if let redis::Value::Array(flat) = &fields_v {
                for pair in flat.chunks(2) {
                    if let (Some(f), Some(v)) = (bytes(&pair[0]), pair.get(1).and_then(bytes)) {
                        fields.push((f, v));
                    }
                }
            }
            match crate::plans::read::decode_row::<M>(member, fields_v) {
                Ok(Some(rec)) => match rec.cells() {
                    Ok(c) => RowState::Row(
                        c,
                        rec.parents().into_iter().filter(|p| p.colocated).collect(),
                    ),
                    Err(e) => RowState::Bad(e.to_string()),
                },
                Ok(None) => RowState::Absent,
                Err(e) => RowState::Bad(e.to_string()),
            }
        }
        other => RowState::Bad(format!("the key is a {}, not a hash", show(other))),
    };
    RowRead {
        expired,
        listed,
        state,
        fields,
    }
}

/// Reads a page of rows: reports rows missing, unlisted or undecodable, and
/// returns the decoded ones for their lookups.
pub(crate) fn read_rows<M: Model>(
    w: &mut Walk<M>,
    members: &[Vec<u8>],
    origin: Origin,
    reply: redis::Value,
) -> Result<Vec<Checked>> {
    let l = w.l;
    let mut out = Vec::new();
    let report = !matches!(origin, Origin::Retry(_));
    for (m, item) in members.iter().zip(RowsReply::decode(reply)?.0) {
        let read = decode_one::<M>(m, item);
        let key = show(&l.row_key(m));
        if let RowState::Absent = read.state {
            if origin == Origin::Ids && read.listed {
                w.problem(Problem::ListedWithoutRow { member: show(m) });
                w.fix(Fix::Unlist(m.clone()));
            }
            continue;
        }
        // a partitioned model's row under another bucket's tag than its
        // key's: no operation finds it there
        let home = crate::storage::partition::layout_for::<M>(m);
        if !std::ptr::eq(home, l) {
            if report {
                w.problem(Problem::Misplaced {
                    key,
                    expected: show(&home.row_key(m)),
                });
                w.fix(Fix::Skip);
            }
            continue;
        }
        if origin == Origin::Scan {
            if read.listed {
                continue; // checked with the ids
            }
            w.problem(Problem::RowNotListed { key: key.clone() });
        }
        // an expired row awaits its sweep: not damage, and its entries may
        // have been given to other rows (its unique values are free)
        if read.expired {
            if report {
                w.out.found.expired += 1;
            }
            continue;
        }
        let (cells, parents) = match read.state {
            RowState::Row(c, p) => (c, p),
            RowState::Bad(error) => {
                if report {
                    w.problem(Problem::Undecodable { key, error });
                    w.fix(Fix::Skip);
                } else {
                    w.out.skipped += 1;
                }
                continue;
            }
            RowState::Absent => continue,
        };
        if report {
            w.out.found.rows += 1;
        }
        let mut entries: Vec<(usize, Vec<u8>)> = Vec::new();
        for (s, slot) in l.slots.iter().enumerate() {
            for v in crate::storage::slots::slot_values(&cells, slot) {
                if !entries.iter().any(|(t, x)| *t == s && *x == v) {
                    entries.push((s, v));
                }
            }
        }
        let stored = read
            .fields
            .iter()
            .find(|(f, _)| f == b"#i")
            .map(|(_, v)| v.as_slice())
            .unwrap_or_default();
        let parsed = parse_record(stored);
        let mut want: Vec<(Vec<u8>, Vec<u8>)> = entries
            .iter()
            .map(|(s, v)| (l.slots[*s].id.clone().into_bytes(), v.clone()))
            .collect();
        want.sort();
        // the structures' entries are checked apart (with their keys' types)
        let record_ok = parsed.as_ref().is_some_and(|p| {
            let mut p: Vec<_> = p
                .iter()
                .filter(|(id, _)| !is_structure_id(id))
                .cloned()
                .collect();
            p.sort();
            p == want
        });
        let structures = l
            .structures
            .iter()
            .map(|st| st.recorded(parsed.as_deref().unwrap_or_default()))
            .collect();
        out.push(Checked {
            member: m.clone(),
            origin: Some(origin),
            listed: read.listed,
            fields: read.fields,
            scores: cells.iter().map(|c| c.score).collect(),
            owners: vec![Vec::new(); entries.len()],
            entries,
            old_record: parsed.unwrap_or_default(),
            record_ok,
            parents,
            structures,
        });
    }
    Ok(out)
}

/// `verify_probe` for every entry the rows call for (and every numeric score).
pub(crate) fn probe_plan<M: Model>(l: &Layout, checked: &[Checked]) -> Plan<redis::Value> {
    let mut probes = Vec::new();
    let mut probe = |kind, key, item| probes.push(Probe { kind, key, item });
    for c in checked {
        for z in l.numeric.iter().flatten() {
            probe(ProbeKind::Score, z.clone(), c.member.clone());
        }
        for (s, v) in &c.entries {
            let slot = &l.slots[*s];
            match slot.kind {
                SlotKind::Unique => probe(ProbeKind::Owner, slot.key.clone(), v.clone()),
                SlotKind::Set => probe(
                    ProbeKind::InSet,
                    [&slot.key[..], v].concat(),
                    c.member.clone(),
                ),
                SlotKind::Lex => probe(
                    ProbeKind::InZset,
                    slot.key.clone(),
                    lex_member::<M>(v, &c.member),
                ),
            }
        }
        for p in &c.parents {
            probe(ProbeKind::Row, p.row.clone(), Vec::new());
        }
        super::structures::row_probes::<M>(&c.member, &mut probe);
    }
    let args = ProbeArgs {
        ids: l.ids.clone(),
        probes,
    };
    Plan::call(&args, Ok)
}

/// Compares the lookups with what each row calls for; re-indexes the rows
/// that differ.
pub(crate) fn probed<M: Model>(
    w: &mut Walk<M>,
    checked: Vec<Checked>,
    reply: redis::Value,
) -> Result<()> {
    let l = w.l;
    let mut it = ProbeReply::decode(reply)?.0.into_iter();
    for mut c in checked {
        let report = c.reported();
        let mut need = !report || !c.listed || !c.record_ok;
        let mut missing = Vec::new();
        for (i, z) in l.numeric.iter().enumerate() {
            let Some(z) = z else { continue };
            let got = it.next().as_ref().and_then(score);
            match c.scores[i] {
                Some(want) if got != Some(want) => missing.push(show(z)),
                None if got.is_some() => need = true, // reported as an orphan later
                _ => {}
            }
        }
        for k in 0..c.entries.len() {
            let (s, v) = &c.entries[k];
            let got = it.next().unwrap_or(redis::Value::Nil);
            let present = match l.slots[*s].kind {
                SlotKind::Unique => {
                    let owner = bytes(&got);
                    if let Some(o) = owner.as_ref().filter(|o| **o != c.member) {
                        c.owners[k] = o.clone();
                    }
                    owner.as_ref() == Some(&c.member)
                }
                SlotKind::Set | SlotKind::Lex => matches!(got, redis::Value::Int(1)),
            };
            if !present {
                missing.push(index_name(l, super::walk::Index::Slot(*s), v));
            }
        }
        need |= !missing.is_empty();
        for p in &c.parents {
            let found = matches!(it.next(), Some(redis::Value::Int(1)));
            if !found && report {
                w.problem(Problem::Dangling {
                    key: show(&l.row_key(&c.member)),
                    column: p.column.to_owned(),
                    parent: show(&p.row),
                });
                // the column's rule, applied as the parent's delete would have
                let stored = c
                    .fields
                    .iter()
                    .find(|(f, _)| f == p.column.as_bytes())
                    .map(|(_, v)| v.clone());
                w.fix(match (p.rule, stored) {
                    (OnDelete::Cascade | OnDelete::SetNull | OnDelete::SetDefault, Some(v)) => {
                        Fix::Dangling(Box::new(DanglingFix {
                            member: c.member.clone(),
                            parent: p.clone(),
                            stored: v,
                        }))
                    }
                    _ => Fix::Skip,
                });
            }
        }
        if !super::structures::row_probed(w, &c.member, &c.structures, &mut it, report) {
            c.record_ok = false;
            need = true;
        }
        if report {
            for index in missing {
                w.problem(Problem::Missing {
                    index,
                    member: show(&c.member),
                });
            }
            if !c.record_ok {
                w.problem(Problem::Record {
                    key: show(&l.row_key(&c.member)),
                });
            }
        }
        if need {
            w.fix(Fix::Reindex(Box::new(c)));
        }
    }
    Ok(())
}

/// `repair_reindex` for a checked row.
pub(crate) fn reindex_plan<M: Model>(l: &Layout, c: &Checked) -> Plan<redis::Value> {
    let m = &c.member;
    let mut declared = Keys::new(vec![l.ids.clone(), l.row_key(m)]);
    let numeric: Vec<NumOp> = l
        .numeric
        .iter()
        .enumerate()
        .filter_map(|(i, z)| {
            Some(NumOp {
                key: z.clone()?,
                score: c.scores.get(i).copied().flatten(),
            })
        })
        .collect();
    for n in &numeric {
        declared.add(n.key.clone());
    }
    let mut entries = Vec::with_capacity(c.entries.len());
    for ((s, v), owner) in c.entries.iter().zip(&c.owners) {
        let slot = &l.slots[*s];
        let id = slot.id.as_bytes();
        declared.add(entry_key(&l.tag, slot.kind, id, v));
        if !owner.is_empty() {
            declared.add(l.row_key(owner));
        }
        entries.push(Entry {
            id: id.to_vec(),
            kind: slot.kind,
            value: v.clone(),
            owner: owner.clone(),
        });
    }
    // the entries the row's record names, found by their ids alone
    for (id, v) in &c.old_record {
        if let Some(kind) = kind_of_id(id) {
            declared.add(entry_key(&l.tag, kind, id, v));
        }
    }
    for st in &l.structures {
        declared.add(st.key(m));
    }
    let args = ReindexArgs {
        ids: l.ids.clone(),
        row: l.row_key(m),
        declared: declared.into_vec().split_off(2),
        tag: l.tag.clone(),
        numeric_ids: M::Key::NUMERIC,
        row_prefix: l.row_prefix.clone(),
        member: m.clone(),
        fields: c.fields.clone(),
        numeric,
        entries,
        structures: l
            .structures
            .iter()
            .map(|st| (st.id.clone().into_bytes(), st.index_id.clone().into_bytes()))
            .collect(),
    };
    Plan::call(&args, Ok)
}
