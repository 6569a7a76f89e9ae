//! The plans of writes and reads by key: `save` (insert, update, put),
//! `delete` and `get` as wire contracts built from a model value and its
//! record, and the decoding of their replies and of stored rows.

use crate::error::{Error, Result, show};
use crate::plan::Plan;
use crate::record::Saved;
use crate::storage::model::{Key, Layout, Model};
use crate::storage::slots::slot_values;
use crate::wire::delete::DeleteArgs;
use crate::wire::expiry::{Deadline, RowExpiry};
use crate::wire::save::{Parent, SaveArgs, SaveMode as Mode, StructWrites, Touched, Write};
use crate::wire::status::Status;
use crate::wire::{Check, NumOp};

/// A save's arguments, the stored bytes of each column after it, and the
/// `explain()` step.
pub(crate) struct SaveParts {
    pub(crate) args: SaveArgs,
    pub(crate) snapshot: Vec<Option<Vec<u8>>>,
    pub(crate) step: String,
}

pub(crate) fn save_plan<M: Model>(
    value: &M,
    snapshot: Option<&[Option<Vec<u8>>]>,
    mode: Mode,
    force: bool,
) -> Result<Plan<Saved<M::Key>>> {
    save_plan_with(value, snapshot, mode, force, None)
}

/// [`save_plan`] with the row's deadline set (a model whose rows expire).
pub(crate) fn save_plan_with<M: Model>(
    value: &M,
    snapshot: Option<&[Option<Vec<u8>>]>,
    mode: Mode,
    force: bool,
    deadline: Option<Deadline>,
) -> Result<Plan<Saved<M::Key>>> {
    // a partitioned model's new row without a key: a key from a block
    if M::BUCKETS > 0 && mode != Mode::Update && value.key().is_none() {
        return crate::plans::ids::auto_save_plan(value, mode, 0);
    }
    // a unique claimed across partitions: several calls (plans/xuniq.rs)
    if crate::plans::xuniq::has_remote::<M>() {
        return crate::plans::xuniq::save_plan(value, snapshot, mode, force);
    }
    keyed_save_plan(value, snapshot, mode, force, deadline)
}

/// [`save_plan_with`] of a row in one call: its key set, or a model in one
/// slot.
pub(crate) fn keyed_save_plan<M: Model>(
    value: &M,
    snapshot: Option<&[Option<Vec<u8>>]>,
    mode: Mode,
    force: bool,
    deadline: Option<Deadline>,
) -> Result<Plan<Saved<M::Key>>> {
    let SaveParts {
        mut args,
        snapshot: snapshot_after,
        mut step,
    } = save_parts(value, snapshot, mode, force)?;
    if let Some(d) = deadline {
        args.expiry.deadline = d;
        step.push_str(&match d {
            Deadline::In(ms) => format!(", expire {ms} ms after the server's time"),
            Deadline::At(ms) => format!(", expire at {ms} (Unix ms)"),
            Deadline::Clear => ", never expire".to_owned(),
            Deadline::Keep => String::new(),
        });
    }
    let what = match mode {
        Mode::Insert => "insert",
        Mode::Update => "update",
        Mode::Put => "put",
    };
    Ok(Plan::call(&args, move |v| {
        let member = script_reply::<M>(v)?;
        let key = M::Key::from_member(&member)
            .map_err(|e| Error::decode(&member, None, format!("bad key from save: {e}")))?;
        Ok(Saved {
            key,
            snapshot: snapshot_after,
        })
    })
    .step(step)
    .about(what, M::SCHEMA.namespace))
}

/// The parts of a save of `value` (see [`save_plan`]): checks on the changed
/// columns of a record (`snapshot`, unless `force`), writes of the changed
/// columns (all of a new row's non-null ones).
pub(crate) fn save_parts<M: Model>(
    value: &M,
    snapshot: Option<&[Option<Vec<u8>>]>,
    mode: Mode,
    force: bool,
) -> Result<SaveParts> {
    value.validate()?;
    let schema = M::SCHEMA;
    let cells = value.cells()?;
    let key = value.key();
    if key.is_none() && !schema.auto_key {
        return Err(crate::storage::model::invalid::<M>(
            schema.key_name,
            "a natural primary key must be set before saving".into(),
        ));
    }
    let member = key.as_ref().map(Key::to_member).unwrap_or_default();
    // an empty member means "allocate a key" to the script
    if key.is_some() && member.is_empty() {
        return Err(crate::storage::model::invalid::<M>(
            schema.key_name,
            "a natural primary key cannot be empty".into(),
        ));
    }
    // a partitioned model's row lives in its key's bucket
    let l = crate::storage::partition::layout_for_row::<M>(&member, &cells)?;
    // a new row has nothing to clear: its null columns are simply not
    // written; but an insert of a model whose rows expire may write over an
    // expired row, so it writes every column, as a put does
    let whole = mode != Mode::Insert || M::EXPIRES.is_some();
    let changed: Vec<usize> = (0..cells.len())
        .filter(|&i| match snapshot {
            Some(s) => s[i] != cells[i].stored,
            None => whole || cells[i].stored.is_some(),
        })
        .collect();

    // conflict checks: the stored bytes of each written column
    let mut checks: Vec<Check> = match (snapshot, force, mode) {
        (Some(snap), false, Mode::Update) => changed
            .iter()
            .map(|&i| Check {
                field: schema.columns[i].name.as_bytes().to_vec(),
                value: snap[i].clone(),
            })
            .collect(),
        _ => Vec::new(),
    };
    // structures that detect conflicts: the version each was read at
    if snapshot.is_some() && !force && mode == Mode::Update {
        checks.extend(structure_checks(value));
    }
    let writes = changed
        .iter()
        .map(|&i| Write {
            field: schema.columns[i].name.as_bytes().to_vec(),
            value: cells[i].stored.clone(),
        })
        .collect();
    let numeric: Vec<NumOp> = changed
        .iter()
        .filter_map(|&i| {
            Some(NumOp {
                key: l.numeric[i].clone()?,
                score: cells[i].score,
            })
        })
        .collect();
    let touched: Vec<Touched> = l
        .slots
        .iter()
        .filter(|s| s.columns.iter().any(|c| changed.contains(c)))
        .map(|slot| Touched {
            id: slot.id.clone().into_bytes(),
            kind: slot.kind,
            values: slot_values(&cells, slot),
        })
        .collect();
    // the parents it names must exist (checked in the call when co-located)
    let parents = value
        .parents()
        .into_iter()
        .filter(|p| {
            p.colocated
                && schema
                    .columns
                    .iter()
                    .position(|c| c.name == p.column)
                    .is_some_and(|i| changed.contains(&i))
        })
        .map(|p| Parent {
            field: p.column.as_bytes().to_vec(),
            member: p.row[p.prefix.len()..].to_vec(),
            row: p.row,
            expiry: p.expiry,
        })
        .collect();
    // an insert or a put starts the row's time to live (the model's default,
    // or none); an update keeps it. The caller may set another deadline.
    let expiry = match M::EXPIRES {
        None => RowExpiry::default(),
        Some(ttl) => RowExpiry {
            key: l.expiry.clone(),
            deadline: match (mode, ttl) {
                (Mode::Update, _) => Deadline::Keep,
                (_, 0) => Deadline::Clear,
                (_, ms) => Deadline::In(ms),
            },
            // reclaiming deletes rows without applying on_delete rules
            reclaim: if crate::plans::cascade::has_rules::<M>() {
                Vec::new()
            } else {
                numeric_keys::<M>()
            },
        },
    };
    let structures = structure_writes(value)?;
    let nstruct: usize = structures.iter().map(|s| s.ops.len()).sum();
    let (nchecks, nwrites, nnums, ntouched) =
        (checks.len(), changed.len(), numeric.len(), touched.len());
    // the counter is read only to allocate a key: a row with a key names
    // the id list in its place, so that the call declares no key that may
    // not exist (during a slot migration Redis answers TRYAGAIN to a call
    // naming a missing key)
    let seq = if member.is_empty() { &l.seq } else { &l.ids };
    let args = SaveArgs {
        ids: l.ids.clone(),
        seq: seq.clone(),
        mode,
        member,
        numeric_ids: M::Key::NUMERIC,
        row_prefix: l.row_prefix.clone(),
        tag: l.tag.clone(),
        checks,
        writes,
        numeric,
        touched,
        parents,
        expiry,
        structures,
    };
    let snapshot_after: Vec<Option<Vec<u8>>> = cells.into_iter().map(|c| c.stored).collect();
    let mut step = format!(
        "{} {}: check {} column(s), write {} column(s), update {} numeric and {} keyed index(es)",
        match mode {
            Mode::Insert => "insert",
            Mode::Update => "update",
            Mode::Put => "put",
        },
        schema.name,
        nchecks,
        nwrites,
        nnums,
        ntouched
    );
    if nstruct > 0 {
        step.push_str(&format!(", apply {nstruct} structure write(s)"));
    }
    Ok(SaveParts {
        args,
        snapshot: snapshot_after,
        step,
    })
}

/// The version checks of the structures of `value` that detect conflicts
/// and have writes to save (see `detect_conflicts`): the version field as
/// the handle knows it (0: absent).
fn structure_checks<M: Model>(value: &M) -> Vec<Check> {
    value
        .structures()
        .into_iter()
        .zip(&M::layout().structures)
        .filter(|(s, _)| s.core().detect && !s.core().pending.is_empty())
        .map(|(s, sl)| Check {
            field: sl.version_field.clone(),
            value: match s.core().version {
                0 => None,
                v => Some(v.to_string().into_bytes()),
            },
        })
        .collect()
}

/// The Redis type rom keeps at key `k` of model `M`, from the key layout
/// (for the error of a key of another type).
fn expected_type<M: Model>(k: &[u8]) -> &'static str {
    // a partitioned model's key: the layout of its bucket
    let l = M::bucket_layouts()
        .iter()
        .find(|l| k.starts_with(&l.tag))
        .unwrap_or_else(|| M::layout());
    if let Some(s) = l.structures.iter().find(|s| k.starts_with(&s.key_prefix)) {
        return s.def.kind.redis_type();
    }
    if l.structures
        .iter()
        .any(|s| !s.index_prefix.is_empty() && k.starts_with(&s.index_prefix))
    {
        return "set";
    }
    if k == l.seq.as_slice() {
        return "string";
    }
    if k.starts_with(&l.row_prefix) {
        return "hash";
    }
    if k == l.ids.as_slice()
        || k == l.expiry.as_slice()
        || l.numeric.iter().flatten().any(|z| z == k)
    {
        return "zset";
    }
    match l.slots.iter().find(|s| k.starts_with(&s.key)) {
        Some(s) => match s.kind {
            crate::storage::model::SlotKind::Unique => "hash",
            crate::storage::model::SlotKind::Set => "set",
            crate::storage::model::SlotKind::Lex => "zset",
        },
        None => "hash",
    }
}

/// Every structure field of `value` with its recorded writes (a save sends
/// all of them, so that a new row's record names each); a write that cannot
/// be saved (a NaN score) fails the save before anything is sent.
fn structure_writes<M: Model>(value: &M) -> Result<Vec<StructWrites>> {
    let l = M::layout();
    value
        .structures()
        .into_iter()
        .zip(&l.structures)
        .map(|(s, sl)| {
            let core = s.core();
            if let Some(reason) = &core.invalid {
                return Err(crate::storage::model::invalid::<M>(
                    sl.def.name,
                    reason.clone(),
                ));
            }
            Ok(StructWrites {
                id: sl.id.clone().into_bytes(),
                index: sl.index_id.clone().into_bytes(),
                kind: sl.def.kind,
                version: sl.version_field.clone(),
                ops: core
                    .pending
                    .iter()
                    .map(|o| (o.letter.to_owned(), o.args.clone()))
                    .collect(),
            })
        })
        .collect()
}

/// Turns the status reply of `save` and `delete` into the member (or the
/// count) they report, or the typed error.
pub(crate) fn script_reply<M: Model>(v: redis::Value) -> Result<Vec<u8>> {
    match Status::decode(v)? {
        Status::Ok(what) => Ok(what),
        other => Err(status_error::<M>(other)),
    }
}

/// The typed error of a failed status of model `M` (`Ok` is not one: a
/// decode error).
pub(crate) fn status_error<M: Model>(status: Status) -> Error {
    let name = M::SCHEMA.name;
    match status {
        Status::Ok(_) => Error::decode(b"(script reply)", None, "unexpected ok"),
        Status::Unique(id, value) => {
            let id = show(&id);
            Error::UniqueViolation {
                model: name,
                column: M::layout()
                    .slots
                    .iter()
                    .find(|s| s.id == id)
                    .map_or(id.clone(), |s| s.label.clone()),
                value: show(&value),
            }
        }
        s @ (Status::Conflict(_) | Status::Gone) => Error::Conflict {
            model: name,
            key: String::new(),
            column: match s {
                // a structure's version field names the structure
                Status::Conflict(c) => Some(show(c.strip_prefix(b"#v:").unwrap_or(&c))),
                _ => None,
            },
        },
        Status::Exists => Error::UniqueViolation {
            model: name,
            column: M::SCHEMA.key_name.to_owned(),
            value: String::new(),
        },
        Status::WrongType(k) => {
            let want = expected_type::<M>(&k);
            Error::decode(&k, None, format!("the key is not a {want}, as rom expects"))
        }
        Status::BadRecord(row) => Error::decode(&row, Some("#i"), "unreadable index record"),
        Status::Range(parts) => {
            let [field, current, by, new] = [0, 1, 2, 3].map(|i| show(&parts[i]));
            Error::Validation {
                model: name,
                column: field,
                reason: format!(
                    "adding {by} to {current} gives {new}, outside the bounds of the increment; nothing was written"
                ),
            }
        }
        Status::Twice(row) => Error::Validation {
            model: name,
            column: M::SCHEMA.key_name.to_owned(),
            reason: format!(
                "the row {} would be written twice in one call (a delete's cascade reaches a row the transaction also writes); nothing was written",
                show(&row)
            ),
        },
        Status::NoParent(field, row) => Error::MissingParent {
            model: name,
            column: show(&field),
            row: show(&row),
        },
        Status::Restrict(child, field, member) => Error::Restricted {
            model: name,
            child: show(&child),
            column: show(&field),
            key: show(&member),
        },
        Status::NotInteger(row, field) => Error::decode(
            &row,
            Some(&show(&field)),
            "not an integer within ±(2^53 − 1), so it cannot be incremented",
        ),
    }
}

/// Every numeric index of a model (a deleted row leaves each).
/// The sorted sets a row's delete removes its member from: its numeric
/// indexes, and its expiry set when the model's rows expire.
pub(crate) fn numeric_keys<M: Model>() -> Vec<Vec<u8>> {
    numeric_keys_in::<M>(M::layout())
}

/// [`numeric_keys`] in layout `l` (a bucket of a partitioned model).
pub(crate) fn numeric_keys_in<M: Model>(l: &Layout) -> Vec<Vec<u8>> {
    let mut keys: Vec<Vec<u8>> = l.numeric.iter().flatten().cloned().collect();
    if M::EXPIRES.is_some() {
        keys.push(l.expiry.clone());
    }
    keys
}

pub(crate) fn delete_plan<M: Model>(keys: &[M::Key]) -> Plan<u64> {
    if crate::plans::cascade::has_rules::<M>() {
        return crate::plans::cascade::graph_delete_plan::<M>(keys);
    }
    let members: Vec<Vec<u8>> = keys.iter().map(Key::to_member).collect();
    let mut groups = crate::storage::partition::group_by_layout::<M>(&members).into_iter();
    let Some((l, first)) = groups.next() else {
        return delete_part::<M>(M::layout(), Vec::new());
    };
    let pick = |idx: &[usize]| idx.iter().map(|&i| members[i].clone()).collect::<Vec<_>>();
    let first_part = delete_part::<M>(l, pick(&first));
    let parts: Vec<Plan<u64>> = groups
        .map(|(l, idx)| delete_part::<M>(l, pick(&idx)))
        .collect();
    if parts.is_empty() {
        return first_part;
    }
    // a partitioned model: one atomic delete per bucket
    crate::plans::fan::serial(first_part, parts, |n| Ok(n.iter().sum()))
}

/// The delete of rows `members`, all in layout `l` (one slot).
fn delete_part<M: Model>(l: &Layout, members: Vec<Vec<u8>>) -> Plan<u64> {
    // the numeric indexes it removes the rows from (the keyed entries are
    // found in each row's record, and read before anything is written)
    let args = DeleteArgs {
        ids: l.ids.clone(),
        numeric_ids: M::Key::NUMERIC,
        row_prefix: l.row_prefix.clone(),
        tag: l.tag.clone(),
        numeric: numeric_keys_in::<M>(l),
        checks: Vec::new(),
        members,
        expiry: crate::storage::model::expiry_key::<M>(),
    };
    let n = args.members.len();
    Plan::call(&args, |v| {
        let n = script_reply::<M>(v)?;
        show(&n)
            .parse()
            .map_err(|_| Error::decode(b"(delete reply)", None, "bad count"))
    })
    .step(format!(
        "delete {n} row(s) of {} with their index entries",
        M::SCHEMA.name
    ))
    .about("delete", M::SCHEMA.namespace)
}
