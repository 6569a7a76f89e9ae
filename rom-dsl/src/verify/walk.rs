//! The walk shared by `verify` and `repair`: a state machine that hands out one
//! [`Plan`] at a time and consumes its reply, so that a thin sync driver and a
//! thin async driver run the same algorithm.
//!
//! Tasks sit on a stack; a page of results pushes its continuation (the next
//! cursor) first and the checks of the page on top, so a page is finished
//! before the next is read. At any time the stack holds at most a few pages:
//! the memory is bounded by the page size, plus the report.
//!
//! 1. `{ns}:ids` is walked with `ZSCAN`: each page of members is read (`ROWS`)
//!    and the entries each row calls for are looked up (`PROBE`): missing
//!    entries, wrong scores, a wrong `#i` record, listed members without a row.
//! 2. The keyspace of the model is walked with `SCAN` (inside a script keyed by
//!    `{ns}:ids`, so it runs on the node owning the tag): row keys not listed
//!    are checked like listed ones; each set of an equality or word index found
//!    is walked (step 3).
//! 3. Every index is walked (`ZSCAN`, `HSCAN`, `SSCAN`) and each entry is
//!    checked against the row it names: entries no row calls for are orphans.
//!
//! Native structures are checked along (`structures.rs`): from each row (step
//! 1), and from the keyspace (step 2: structure keys and indexed sets' index
//! sets).

use super::rows::{self, Checked, Origin, RowState};
use super::{Fix, Problem, Repair, RepairReport};
use crate::error::{Result, show};
use crate::plan::{Call, Plan};
use crate::storage::model::{Layout, Model, SlotKind};
use crate::wire::repair::{ReindexReply, Removed, Target};
use crate::wire::verify::{RowsReply, ScanArgs, ScanReply};
use std::collections::HashMap;

/// The `COUNT` given to every scan, and so the size of a page (also
/// `verify.lua`'s `m` probe's).
pub(crate) const PAGE: usize = 200;

/// Which index an entry belongs to.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Index {
    /// The numeric index of column i.
    Num(usize),
    /// Value-keyed slot s.
    Slot(usize),
}

/// One entry read from an index.
#[derive(Debug)]
pub(crate) struct Entry {
    index: Index,
    /// The Redis key holding the entry.
    key: Vec<u8>,
    /// The value (empty for a numeric index).
    value: Vec<u8>,
    member: Vec<u8>,
    score: Option<f64>,
    /// A lexicographic member that does not parse.
    malformed: Option<Vec<u8>>,
}

pub(crate) enum Task {
    Ids(Vec<u8>),
    Keys(Vec<u8>),
    Rows {
        members: Vec<Vec<u8>>,
        origin: Origin,
    },
    Probe(Vec<Checked>),
    Write(Fix),
    Scan {
        index: Index,
        key: Vec<u8>,
        cursor: Vec<u8>,
    },
    Entries(Vec<Entry>),
    /// About native structures.
    St(super::structures::StTask),
}

/// The walk: what is left to do, and what was found.
pub(crate) struct Walk<M> {
    stack: Vec<Task>,
    current: Option<Task>,
    /// `None` for verify.
    pub(crate) repair: Option<Repair>,
    pub(crate) out: RepairReport,
    /// The layout walked: the model's, or one bucket's of a partitioned
    /// model.
    pub(crate) l: &'static Layout,
    _m: std::marker::PhantomData<fn() -> M>,
}

fn raw(v: redis::Value) -> Result<redis::Value> {
    Ok(v)
}

pub(crate) fn bytes(v: &redis::Value) -> Option<Vec<u8>> {
    match v {
        redis::Value::BulkString(b) => Some(b.clone()),
        redis::Value::SimpleString(s) => Some(s.clone().into_bytes()),
        redis::Value::Int(n) => Some(n.to_string().into_bytes()),
        redis::Value::Okay => Some(b"OK".to_vec()),
        redis::Value::Double(d) => Some(d.to_string().into_bytes()),
        _ => None,
    }
}

pub(crate) fn score(v: &redis::Value) -> Option<f64> {
    if let redis::Value::Double(d) = v {
        return Some(*d);
    }
    let b = bytes(v)?;
    let s = std::str::from_utf8(&b).ok()?;
    match s {
        "inf" | "+inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        _ => s.parse().ok(),
    }
}

/// `{cursor, items}` of a scan reply (`verify_scan`, or a `*SCAN` command).
fn page(v: redis::Value) -> Result<(Vec<u8>, Vec<redis::Value>)> {
    let r = ScanReply::decode(v)?;
    Ok((r.next, r.items))
}

/// Escapes a key name for a `MATCH` pattern.
fn glob_escape(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    for &c in b {
        if matches!(c, b'*' | b'?' | b'[' | b']' | b'\\') {
            out.push(b'\\');
        }
        out.push(c);
    }
    out
}

/// The name of an index entry in a problem.
pub(crate) fn index_name(l: &Layout, index: Index, value: &[u8]) -> String {
    match index {
        Index::Num(i) => l.numeric[i].as_deref().map(show).unwrap_or_default(),
        Index::Slot(s) => {
            let slot = &l.slots[s];
            match slot.kind {
                SlotKind::Unique | SlotKind::Lex => format!("{} {}", show(&slot.key), show(value)),
                SlotKind::Set => show(&[&slot.key[..], value].concat()),
            }
        }
    }
}

impl<M: Model> Walk<M> {
    /// The walk of layout `l` (the model's, or one of its buckets').
    pub(crate) fn new(repair: Option<Repair>, l: &'static Layout) -> Self {
        let mut stack = Vec::new();
        // last pushed runs first: ids, then the keyspace, then each index
        for (s, slot) in l.slots.iter().enumerate().rev() {
            if slot.kind != SlotKind::Set {
                stack.push(Task::Scan {
                    index: Index::Slot(s),
                    key: slot.key.clone(),
                    cursor: b"0".to_vec(),
                });
            }
        }
        for (i, z) in l.numeric.iter().enumerate().rev() {
            if let Some(z) = z {
                stack.push(Task::Scan {
                    index: Index::Num(i),
                    key: z.clone(),
                    cursor: b"0".to_vec(),
                });
            }
        }
        stack.push(Task::Keys(b"0".to_vec()));
        stack.push(Task::Ids(b"0".to_vec()));
        Walk {
            stack,
            current: None,
            repair,
            out: RepairReport {
                mode: repair.unwrap_or_default(),
                ..RepairReport::default()
            },
            l,
            _m: std::marker::PhantomData,
        }
    }

    pub(crate) fn push(&mut self, t: Task) {
        self.stack.push(t);
    }

    pub(crate) fn problem(&mut self, p: Problem) {
        self.out.found.problems.push(p);
    }

    /// Records a fix: sent (Apply), or counted as done (DryRun). Verify ignores it.
    pub(crate) fn fix(&mut self, f: Fix) {
        match (self.repair, f) {
            (None, _) => {}
            (Some(_), Fix::Skip) => self.out.skipped += 1,
            (Some(Repair::Apply), f) => self.stack.push(Task::Write(f)),
            (Some(Repair::DryRun), f) => self.out.count(self.l, &f),
        }
    }

    /// The next call to make, or `None` when the walk is over.
    pub(crate) fn next_plan(&mut self) -> Option<Plan<redis::Value>> {
        let task = self.stack.pop()?;
        let l = self.l;
        let count = PAGE.to_string().into_bytes();
        let plan = match &task {
            Task::Ids(cursor) => Plan::new(
                Call::Command("ZSCAN"),
                vec![l.ids.clone()],
                vec![cursor.clone(), b"COUNT".to_vec(), count],
                raw,
            ),
            Task::Keys(cursor) => {
                let pattern = [glob_escape(&l.tag), b":*".to_vec()].concat();
                let args = ScanArgs {
                    ids: l.ids.clone(),
                    cursor: cursor.clone(),
                    pattern,
                    count: PAGE as u64,
                };
                Plan::call(&args, raw)
            }
            Task::Rows { members, .. } => rows::rows_plan::<M>(l, members.iter()),
            Task::Probe(checked) => rows::probe_plan::<M>(l, checked),
            Task::Write(f) => f.plan::<M>(l),
            Task::Scan { index, key, cursor } => {
                let cmd = match index {
                    Index::Num(_) => "ZSCAN",
                    Index::Slot(s) => match l.slots[*s].kind {
                        SlotKind::Unique => "HSCAN",
                        SlotKind::Set => "SSCAN",
                        SlotKind::Lex => "ZSCAN",
                    },
                };
                Plan::new(
                    Call::Command(cmd),
                    vec![key.clone()],
                    vec![cursor.clone(), b"COUNT".to_vec(), count],
                    raw,
                )
            }
            Task::Entries(entries) => {
                let mut seen = std::collections::HashSet::new();
                let members = entries
                    .iter()
                    .map(|e| &e.member)
                    .filter(|m| seen.insert(m.as_slice()));
                rows::rows_plan::<M>(l, members)
            }
            Task::St(t) => super::structures::plan::<M>(t),
        };
        let what = if matches!(task, Task::Write(_)) {
            "repair"
        } else {
            "verify"
        };
        self.current = Some(task);
        Some(plan.about(what, M::SCHEMA.namespace))
    }

    /// Consumes the reply of the plan [`Walk::next_plan`] gave last.
    pub(crate) fn feed(&mut self, reply: redis::Value) -> Result<()> {
        let Some(task) = self.current.take() else {
            return Ok(());
        };
        match task {
            Task::Ids(_) => {
                let (next, list) = page(reply)?;
                let members: Vec<Vec<u8>> = list.iter().step_by(2).filter_map(bytes).collect();
                self.more(next, Task::Ids);
                if !members.is_empty() {
                    self.stack.push(Task::Rows {
                        members,
                        origin: Origin::Ids,
                    });
                }
            }
            Task::Keys(_) => self.keys_page(reply)?,
            Task::Rows { members, origin } => {
                let checked = rows::read_rows(self, &members, origin, reply)?;
                if !checked.is_empty() {
                    self.stack.push(Task::Probe(checked));
                }
            }
            Task::Probe(checked) => rows::probed(self, checked, reply)?,
            Task::Write(f) => self.written(f, reply)?,
            Task::Scan { index, key, .. } => self.index_page(index, key, reply)?,
            Task::Entries(entries) => self.entries(entries, reply)?,
            Task::St(t) => super::structures::feed(self, t, reply)?,
        }
        Ok(())
    }

    fn more(&mut self, next: Vec<u8>, task: impl FnOnce(Vec<u8>) -> Task) {
        if next != b"0" {
            self.stack.push(task(next));
        }
    }

    fn keys_page(&mut self, reply: redis::Value) -> Result<()> {
        let l = self.l;
        let (next, list) = page(reply)?;
        self.more(next, Task::Keys);
        let mut members = Vec::new();
        let mut structures = Vec::new();
        for key in list.iter().filter_map(bytes) {
            if let Some(m) = key.strip_prefix(&l.row_prefix[..]) {
                members.push(m.to_vec());
                continue;
            }
            // the set of an equality or word index (the longest matching
            // prefix, a structure's index included)
            let slot = l
                .slots
                .iter()
                .enumerate()
                .filter(|(_, s)| s.kind == SlotKind::Set && key.starts_with(&s.key))
                .max_by_key(|(_, s)| s.key.len());
            let column = slot.map_or(0, |(_, s)| s.key.len());
            if super::structures::key_found(self, &key, column, &mut structures) {
                continue;
            }
            if let Some((s, _)) = slot {
                self.stack.push(Task::Scan {
                    index: Index::Slot(s),
                    key,
                    cursor: b"0".to_vec(),
                });
            }
        }
        if !structures.is_empty() {
            self.stack
                .push(Task::St(super::structures::StTask::Keys(structures)));
        }
        if !members.is_empty() {
            self.stack.push(Task::Rows {
                members,
                origin: Origin::Scan,
            });
        }
        Ok(())
    }

    fn index_page(&mut self, index: Index, key: Vec<u8>, reply: redis::Value) -> Result<()> {
        let l = self.l;
        let (next, list) = page(reply)?;
        {
            let (index, key) = (index, key.clone());
            self.more(next, move |cursor| Task::Scan { index, key, cursor });
        }
        let entry = |value: Vec<u8>, member: Vec<u8>, score: Option<f64>| Entry {
            index,
            key: key.clone(),
            value,
            member,
            score,
            malformed: None,
        };
        let mut entries = Vec::new();
        match index {
            Index::Num(_) => {
                for pair in list.chunks(2) {
                    if let (Some(m), Some(s)) = (bytes(&pair[0]), pair.get(1).and_then(score)) {
                        entries.push(entry(Vec::new(), m, Some(s)));
                    }
                }
            }
            Index::Slot(s) => match l.slots[s].kind {
                SlotKind::Unique => {
                    for pair in list.chunks(2) {
                        if let (Some(v), Some(m)) = (bytes(&pair[0]), pair.get(1).and_then(bytes)) {
                            entries.push(entry(v, m, None));
                        }
                    }
                }
                SlotKind::Set => {
                    let v = key[l.slots[s].key.len()..].to_vec();
                    for m in list.iter().filter_map(bytes) {
                        entries.push(entry(v.clone(), m, None));
                    }
                }
                SlotKind::Lex => {
                    for raw in list.iter().step_by(2).filter_map(bytes) {
                        match super::split_lex::<M>(&raw) {
                            Some((v, m)) => entries.push(entry(v, m, None)),
                            None => {
                                let mut e = entry(Vec::new(), Vec::new(), None);
                                e.malformed = Some(raw);
                                self.orphan(e, None);
                            }
                        }
                    }
                }
            },
        }
        if !entries.is_empty() {
            self.stack.push(Task::Entries(entries));
        }
        Ok(())
    }

    /// Checks each entry against the row it names.
    fn entries(&mut self, entries: Vec<Entry>, reply: redis::Value) -> Result<()> {
        let l = self.l;
        // the reply holds one row per distinct member, in the order sent
        let mut seen = std::collections::HashSet::new();
        let members: Vec<Vec<u8>> = entries
            .iter()
            .filter(|e| seen.insert(e.member.as_slice()))
            .map(|e| e.member.clone())
            .collect();
        let mut rows: HashMap<Vec<u8>, RowState> = HashMap::new();
        for (m, item) in members.into_iter().zip(RowsReply::decode(reply)?.0) {
            let read = rows::decode_one::<M>(&m, item);
            rows.insert(m, read.state);
        }
        for e in entries {
            let state = rows.get(&e.member).cloned().unwrap_or(RowState::Absent);
            let claimed = match (&state, e.index) {
                (RowState::Row(c, _), Index::Num(i)) => {
                    c[i].score.is_some() && c[i].score == e.score
                }
                (RowState::Row(c, _), Index::Slot(s)) => {
                    crate::storage::slots::slot_values(c, &l.slots[s]).contains(&e.value)
                }
                _ => false,
            };
            if !claimed {
                self.orphan(e, Some(state));
            }
        }
        Ok(())
    }

    fn orphan(&mut self, e: Entry, state: Option<rows::RowState>) {
        let member = match &e.malformed {
            Some(raw) => show(raw),
            None => show(&e.member),
        };
        self.problem(Problem::Orphan {
            index: match e.malformed {
                Some(_) => show(&e.key),
                None => index_name(self.l, e.index, &e.value),
            },
            member,
        });
        if let Some(raw) = e.malformed {
            return self.fix(Fix::Unindex {
                target: Target::Malformed,
                key: e.key,
                value: raw,
                member: Vec::new(),
            });
        }
        match (e.index, state) {
            // a row that does not decode: its entries stay
            (_, Some(RowState::Bad(_))) => self.fix(Fix::Skip),
            // a numeric entry of an existing row: the row's check (step 1 or
            // 2) found the wrong score and counted or fixed the row; seen
            // again here only when the application wrote meanwhile, so read
            // the row again
            (Index::Num(_), Some(RowState::Row(..))) => {
                if self.repair == Some(Repair::Apply) {
                    self.stack.push(Task::Rows {
                        members: vec![e.member],
                        origin: Origin::Retry(0),
                    });
                }
            }
            (Index::Num(_), Some(RowState::Absent)) => self.fix(Fix::Unindex {
                target: Target::Numeric,
                key: e.key,
                value: Vec::new(),
                member: e.member,
            }),
            (Index::Slot(s), _) => self.fix(Fix::Unindex {
                target: Target::Slot(
                    self.l.slots[s].id.clone().into_bytes(),
                    self.l.slots[s].kind,
                ),
                key: e.key,
                value: e.value,
                member: e.member,
            }),
            _ => self.fix(Fix::Skip),
        }
    }

    fn written(&mut self, f: Fix, reply: redis::Value) -> Result<()> {
        let ok = match &f {
            Fix::Reindex(c) => match ReindexReply::decode(reply)? {
                ReindexReply::Ok => true,
                ReindexReply::Changed => {
                    let attempt = c.origin.map_or(0, Origin::attempt);
                    if attempt >= 3 {
                        self.out.skipped += 1;
                    } else {
                        self.stack.push(Task::Rows {
                            members: vec![c.member.clone()],
                            origin: Origin::Retry(attempt + 1),
                        });
                    }
                    return Ok(());
                }
                ReindexReply::Refused => false,
            },
            // the parent came back or the column changed meanwhile: left
            Fix::Dangling(_) => matches!(
                crate::wire::commit::CommitReply::decode(reply)?,
                crate::wire::commit::CommitReply::Ok(_)
            ),
            // 0: the entry is claimed again, or the row exists again (the
            // application wrote meanwhile): nothing left to fix
            _ => {
                if Removed::decode(&reply).0 {
                    self.out.count(self.l, &f);
                }
                return Ok(());
            }
        };
        if ok {
            self.out.count(self.l, &f);
        } else {
            self.out.skipped += 1;
        }
        Ok(())
    }
}
