//! Checking native structures (`List`, `Set`, `Hash`, `SortedSet` fields):
//! every key rule is `StructureLayout`'s (`storage/structures.rs`).
//!
//! - **From each row** (with its other lookups, `rows.rs`): the type of each
//!   of its structures (a key of another type is reported; a key that exists
//!   makes the row's record name it), and for an indexed set the first page of
//!   its members; each member's index set must hold the row (else
//!   [`Problem::Missing`]). A set larger than a page is scanned on (`SSCAN`).
//! - **From the keyspace walk**: a structure key whose row does not exist
//!   ([`Problem::StructureWithoutRow`]); the index sets of indexed sets,
//!   scanned, each entry checked against the row it names (its set must hold
//!   the value, else [`Problem::Orphan`]).

use super::walk::{PAGE, Task, Walk, bytes};
use super::{Fix, Problem};
use crate::error::{Result, show};
use crate::plan::{Call, Plan};
use crate::storage::model::{Key, Model};
use crate::storage::structures::{Recorded, StructureKind, StructureLayout};
use crate::wire::repair::{Target, UnindexArgs};
use crate::wire::verify::{Probe, ProbeArgs, ProbeKind, ProbeReply, ScanReply};

/// An entry of an indexed set's index: structure field `structure` of row
/// `member` holds `value` (or should not be in its index).
#[derive(Debug, Clone)]
pub(crate) struct StEntry {
    /// The position of the field in `Layout::structures`.
    pub(crate) structure: usize,
    pub(crate) value: Vec<u8>,
    pub(crate) member: Vec<u8>,
}

/// The fix of one such entry, and which way the walk found it.
#[derive(Debug)]
pub(crate) struct StEntryFix {
    pub(crate) structure: usize,
    pub(crate) value: Vec<u8>,
    pub(crate) member: Vec<u8>,
    /// Found missing (to add); otherwise an orphan (to remove).
    pub(crate) add: bool,
}

/// Which set a scan walks.
#[derive(Debug, Clone)]
pub(crate) enum Side {
    /// Row `member`'s indexed set: each member must be in its index.
    Row(Vec<u8>),
    /// The index set of value `v`: each row it names must hold `v`.
    Index(Vec<u8>),
}

/// The walk's tasks about structures.
#[derive(Debug)]
pub(crate) enum StTask {
    /// One page of a set (`SSCAN`).
    Scan {
        structure: usize,
        key: Vec<u8>,
        cursor: Vec<u8>,
        side: Side,
    },
    /// Index entries that rows' sets call for, looked up.
    Held(Vec<StEntry>),
    /// Index entries found, checked against their rows' sets.
    Claimed(Vec<StEntry>),
    /// Structure keys found by the keyspace walk (field, member), checked
    /// for their row.
    Keys(Vec<(usize, Vec<u8>)>),
}

fn probes_plan<M: Model>(probes: Vec<Probe>) -> Plan<redis::Value> {
    let args = ProbeArgs {
        ids: M::layout().ids.clone(),
        probes,
    };
    Plan::call(&args, Ok)
}

/// The call of a task.
pub(crate) fn plan<M: Model>(t: &StTask) -> Plan<redis::Value> {
    let l = M::layout();
    let st = |s: usize| &l.structures[s];
    match t {
        StTask::Scan { key, cursor, .. } => Plan::new(
            Call::Command("SSCAN"),
            vec![key.clone()],
            vec![
                cursor.clone(),
                b"COUNT".to_vec(),
                PAGE.to_string().into_bytes(),
            ],
            Ok,
        ),
        StTask::Held(entries) => probes_plan::<M>(
            entries
                .iter()
                .map(|e| Probe {
                    kind: ProbeKind::InSet,
                    key: st(e.structure).index_key(&e.value),
                    item: e.member.clone(),
                })
                .collect(),
        ),
        StTask::Claimed(entries) => probes_plan::<M>(
            entries
                .iter()
                .flat_map(|e| {
                    [
                        Probe {
                            kind: ProbeKind::Type,
                            key: l.row_key(&e.member),
                            item: Vec::new(),
                        },
                        Probe {
                            kind: ProbeKind::InSet,
                            key: st(e.structure).key(&e.member),
                            item: e.value.clone(),
                        },
                    ]
                })
                .collect(),
        ),
        StTask::Keys(keys) => probes_plan::<M>(
            keys.iter()
                .map(|(_, m)| Probe {
                    kind: ProbeKind::Type,
                    key: l.row_key(m),
                    item: Vec::new(),
                })
                .collect(),
        ),
    }
}

/// Consumes the reply of a task's call.
pub(crate) fn feed<M: Model>(w: &mut Walk<M>, t: StTask, reply: redis::Value) -> Result<()> {
    let l = M::layout();
    match t {
        StTask::Scan {
            structure,
            key,
            cursor: _,
            side,
        } => {
            let r = ScanReply::decode(reply)?;
            page(w, structure, key, side, r.next, r.items);
        }
        StTask::Held(entries) => {
            let answers = ProbeReply::decode(reply)?.0;
            for (e, a) in entries.into_iter().zip(answers) {
                if !matches!(a, redis::Value::Int(1)) {
                    let st = &l.structures[e.structure];
                    w.problem(Problem::Missing {
                        index: show(&st.index_key(&e.value)),
                        member: show(&e.member),
                    });
                    w.fix(entry_fix(e, true));
                }
            }
        }
        StTask::Claimed(entries) => {
            let answers = ProbeReply::decode(reply)?.0;
            for (e, a) in entries.into_iter().zip(answers.chunks(2)) {
                let row = a.first().and_then(bytes).unwrap_or_default();
                let held = matches!(a.get(1), Some(redis::Value::Int(1)));
                if row == b"hash" && held {
                    continue;
                }
                let st = &l.structures[e.structure];
                w.problem(Problem::Orphan {
                    index: show(&st.index_key(&e.value)),
                    member: show(&e.member),
                });
                // a row key of another type: left, with its entries
                w.fix(if row == b"hash" || row == b"none" {
                    entry_fix(e, false)
                } else {
                    Fix::Skip
                });
            }
        }
        StTask::Keys(keys) => {
            let answers = ProbeReply::decode(reply)?.0;
            for ((s, m), a) in keys.into_iter().zip(answers) {
                if bytes(&a).as_deref() != Some(b"none") {
                    continue; // checked with the row
                }
                let st = &l.structures[s];
                let key = st.key(&m);
                w.problem(Problem::StructureWithoutRow { key: show(&key) });
                w.fix(Fix::Unindex {
                    target: Target::Structure(st.id.clone().into_bytes()),
                    key,
                    value: st.index_id.clone().into_bytes(),
                    member: m,
                });
            }
        }
    }
    Ok(())
}

fn entry_fix(e: StEntry, add: bool) -> Fix {
    Fix::StEntry(StEntryFix {
        structure: e.structure,
        value: e.value,
        member: e.member,
        add,
    })
}

/// A page of a set: its continuation, and the check of its entries.
fn page<M: Model>(
    w: &mut Walk<M>,
    structure: usize,
    key: Vec<u8>,
    side: Side,
    next: Vec<u8>,
    items: Vec<redis::Value>,
) {
    let items: Vec<Vec<u8>> = items.iter().filter_map(bytes).collect();
    let entries: Vec<StEntry> = items
        .into_iter()
        .map(|x| match &side {
            Side::Row(m) => StEntry {
                structure,
                value: x,
                member: m.clone(),
            },
            Side::Index(v) => StEntry {
                structure,
                value: v.clone(),
                member: x,
            },
        })
        .collect();
    let check = matches!(side, Side::Row(_));
    if next != b"0" {
        w.push(Task::St(StTask::Scan {
            structure,
            key,
            cursor: next,
            side,
        }));
    }
    if !entries.is_empty() {
        w.push(Task::St(if check {
            StTask::Held(entries)
        } else {
            StTask::Claimed(entries)
        }));
    }
}

/// `repair_unindex` (kind `i`) for an entry of an indexed set's index.
pub(crate) fn entry_fix_plan<M: Model>(e: &StEntryFix) -> Plan<redis::Value> {
    let l = M::layout();
    let st = &l.structures[e.structure];
    Plan::call(
        &UnindexArgs {
            row: l.row_key(&e.member),
            index: st.index_key(&e.value),
            tag: l.tag.clone(),
            numeric_ids: M::Key::NUMERIC,
            target: Target::StructureEntry {
                id: st.id.clone().into_bytes(),
                structure: st.key(&e.member),
            },
            value: e.value.clone(),
            member: e.member.clone(),
        },
        Ok,
    )
}

/// Whether a structure field is an indexed set (whose members a row's check
/// reads).
fn indexed(st: &StructureLayout) -> bool {
    st.def.index && st.def.kind == StructureKind::Set
}

/// The lookups of row `member`'s structures (after its other probes): the
/// type of each, and the first page of each indexed set.
pub(crate) fn row_probes<M: Model>(
    member: &[u8],
    probe: &mut impl FnMut(ProbeKind, Vec<u8>, Vec<u8>),
) {
    for st in &M::layout().structures {
        probe(ProbeKind::Type, st.key(member), Vec::new());
        if indexed(st) {
            probe(ProbeKind::Members, st.key(member), b"0".to_vec());
        }
    }
}

/// Reads the answers of [`row_probes`] for row `member` whose record names
/// each structure as `recorded` says; reports keys of the wrong type, and
/// pushes the check of each indexed set's members. Returns whether the
/// record is right about the structures (a structure that exists must be
/// recorded).
pub(crate) fn row_probed<M: Model>(
    w: &mut Walk<M>,
    member: &[u8],
    recorded: &[Recorded],
    answers: &mut impl Iterator<Item = redis::Value>,
    report: bool,
) -> bool {
    let l = M::layout();
    let mut ok = true;
    for (s, st) in l.structures.iter().enumerate() {
        let found = answers.next().as_ref().and_then(bytes).unwrap_or_default();
        let members = if indexed(st) { answers.next() } else { None };
        let exists = found != b"none";
        let rec = recorded.get(s).copied().unwrap_or(Recorded::Absent);
        if rec == Recorded::Wrong || (rec == Recorded::Absent && exists) {
            ok = false;
        }
        let expected = st.def.kind.redis_type();
        if exists && found != expected.as_bytes() {
            if report {
                w.problem(Problem::StructureType {
                    key: show(&st.key(member)),
                    expected: expected.to_owned(),
                    found: show(&found),
                });
                w.fix(Fix::Skip);
            }
            continue;
        }
        if !report {
            continue; // a row read again to re-index: its entries were checked
        }
        if let Some(v) = members {
            // {next cursor, first page}
            if let Ok(r) = ScanReply::decode(v) {
                page(
                    w,
                    s,
                    st.key(member),
                    Side::Row(member.to_vec()),
                    r.next,
                    r.items,
                );
            }
        }
    }
    ok
}

/// A key found by the keyspace walk, when it is a structure's or the index
/// set of an indexed set's member; `column` is the length of the longest
/// column index prefix the key matched (a longer structure prefix wins).
/// Returns whether the key was taken.
pub(crate) fn key_found<M: Model>(
    w: &mut Walk<M>,
    key: &[u8],
    column: usize,
    found: &mut Vec<(usize, Vec<u8>)>,
) -> bool {
    let l = M::layout();
    for (s, st) in l.structures.iter().enumerate() {
        if let Some(m) = st.member_of(key) {
            found.push((s, m.to_vec()));
            return true;
        }
        if let Some(v) = st.value_of(key).filter(|_| st.index_prefix.len() > column) {
            w.push(Task::St(StTask::Scan {
                structure: s,
                key: key.to_vec(),
                cursor: b"0".to_vec(),
                side: Side::Index(v.to_vec()),
            }));
            return true;
        }
    }
    false
}
