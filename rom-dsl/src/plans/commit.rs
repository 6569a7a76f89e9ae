//! The plan of a transaction's commit: each row the transaction holds
//! becomes one operation of `commit` (a save, a delete or a check), and the
//! reply becomes the typed outcome of each row.

use crate::dsl::hooks;
use crate::dsl::increment::increment_op;
use crate::error::{Error, Result, RowChange, RowConflict, show};
use crate::plan::Plan;
use crate::plans::write::{numeric_keys_in, save_parts, status_error};
use crate::record::Record;
use crate::storage::model::{Key, Model};
use crate::wire::Check;
use crate::wire::commit::{CommitArgs, CommitReply, TxAdd, TxCheck, TxDelete, TxOp, Unexpected};
use crate::wire::save::SaveMode;
use crate::wire::status::Status;

/// What a transaction knows of a row it read.
#[derive(Debug, Clone)]
pub(crate) enum Read {
    /// It did not read the row (an insert, a delete by key).
    Not,
    /// It read the row as absent.
    Absent,
    /// It read the row with these stored bytes per column.
    Present(Vec<Option<Vec<u8>>>),
}

/// The transaction's view of a row.
#[derive(Debug, Clone)]
pub(crate) enum State<M: Model> {
    /// No row (read as absent, or deleted by the transaction).
    Absent,
    /// The row as the transaction holds it (read, or to insert).
    Row(Record<M>),
    /// A new row whose auto-increment key the commit allocates.
    NewAuto(M),
    /// Adds to integer columns of a row not read (`columns`: the schema
    /// position of each add), and after the commit their new values
    /// (`v1,v2,...`).
    Add {
        adds: Vec<TxAdd>,
        columns: Vec<usize>,
        result: Option<Vec<u8>>,
    },
}

/// One row of a transaction, typed.
#[derive(Debug, Clone)]
pub(crate) struct TxRow<M: Model> {
    pub(crate) read: Read,
    pub(crate) state: State<M>,
    /// The key as `Debug` shows it (`(new)` for an auto-increment insert).
    pub(crate) shown: String,
    /// The member, when known.
    pub(crate) member: Option<Vec<u8>>,
}

/// The graph of `M`'s on_delete rules, empty when none applies.
fn rules_graph<M: Model>(
    l: &crate::storage::model::Layout,
) -> Vec<crate::wire::cascade::GraphNode> {
    if crate::plans::cascade::has_rules::<M>() {
        crate::plans::cascade::graph_in::<M>(l)
    } else {
        Vec::new()
    }
}

/// A column-by-column check that a row still holds what was read.
fn full_checks<M: Model>(snap: &[Option<Vec<u8>>]) -> Vec<Check> {
    M::SCHEMA
        .columns
        .iter()
        .zip(snap)
        .map(|(c, v)| Check {
            field: c.name.as_bytes().to_vec(),
            value: v.clone(),
        })
        .collect()
}

/// A row of any model, as the commit sees it.
pub(crate) trait Entry: Send + Sync + 'static {
    fn as_any_mut(&mut self) -> &mut dyn std::any::Any;
    fn as_any(&self) -> &dyn std::any::Any;
    /// The operation to send; `None` when there is nothing to send (an
    /// insert cancelled by a delete).
    fn op(&self) -> Result<Option<(TxOp, String)>>;
    /// The model's name and the row's key as `Debug` shows it.
    fn who(&self) -> (&'static str, String);
    /// A failure of this row's operation, typed.
    fn failure(&self, status: Status) -> Error;
    /// A row not as expected: a conflict, or (an insert of a key that exists
    /// without having read it) the error to report.
    fn unexpected(&self, u: Unexpected) -> std::result::Result<RowConflict, Error>;
    /// Applies the commit's reply for this row (its allocated key).
    fn finish(&mut self, reply: &[u8]) -> Result<()>;
    /// Which hooks the commit runs for this row.
    fn event(&self) -> Result<Event> {
        Ok(Event::None)
    }
    /// A new row of a partitioned model takes its key before the commit
    /// (from the process's block, see `plans/ids.rs`): `true` once it has
    /// one (or needs none), `false` when the block must be filled first
    /// ([`Entry::key_fill`]).
    fn take_key(&mut self) -> Result<bool> {
        Ok(true)
    }
    /// The plan that fills the block of keys this row takes from.
    fn key_fill(&self) -> Option<Plan<()>> {
        None
    }
    /// The row's before-hook.
    fn before(&mut self, event: Event) -> Result<()> {
        let _ = event;
        Ok(())
    }
    /// The row's before-hook, for an async commit.
    #[cfg(feature = "tokio")]
    fn before_async(&mut self, event: Event) -> BoxFuture<'_, Result<()>> {
        let _ = event;
        Box::pin(async { Ok(()) })
    }
    /// The row's after-hook, once the commit succeeded.
    fn after(&self, event: Event) {
        let _ = event;
    }
}

/// A boxed `Send` future.
#[cfg(feature = "tokio")]
pub(crate) type BoxFuture<'a, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// The lifecycle event a commit is for a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Event {
    None,
    Insert,
    Update,
    Delete,
}

impl<M: Model> Entry for TxRow<M> {
    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn take_key(&mut self) -> Result<bool> {
        let State::NewAuto(value) = &mut self.state else {
            return Ok(true);
        };
        if M::BUCKETS == 0 || value.key().is_some() {
            return Ok(true);
        }
        let bucket = crate::storage::partition::value_bucket::<M>(&value.cells()?);
        let Some(id) = crate::plans::ids::take::<M>(bucket) else {
            return Ok(false);
        };
        value.set_key(crate::plans::ids::key_of::<M>(id)?);
        Ok(true)
    }

    fn key_fill(&self) -> Option<Plan<()>> {
        let State::NewAuto(value) = &self.state else {
            return None;
        };
        let bucket = crate::storage::partition::value_bucket::<M>(&value.cells().ok()?);
        crate::plans::ids::fill_plan::<M>(vec![bucket])
    }

    fn op(&self) -> Result<Option<(TxOp, String)>> {
        let name = M::SCHEMA.name;
        let member = || self.member.clone().unwrap_or_default();
        // a partitioned model's row: its bucket's keys
        let l = crate::storage::partition::layout_for::<M>(&member());
        Ok(Some(match (&self.read, &self.state) {
            (Read::Present(snap), State::Row(rec)) => {
                rec.check_key()?;
                if rec.is_unchanged()? {
                    let checks = full_checks::<M>(snap);
                    let step = format!("check {name} {}: {} column(s)", self.shown, checks.len());
                    (
                        TxOp::Check(TxCheck {
                            row_prefix: l.row_prefix.clone(),
                            member: member(),
                            present: Some(checks),
                            expiry: crate::storage::model::expiry_key::<M>(),
                        }),
                        step,
                    )
                } else {
                    let mut parts = save_parts(&**rec, Some(snap), SaveMode::Update, false)?;
                    parts.args.checks = full_checks::<M>(snap);
                    (TxOp::Save(parts.args), parts.step)
                }
            }
            (Read::Present(snap), State::Absent) => (
                TxOp::Delete(TxDelete {
                    numeric_ids: M::Key::NUMERIC,
                    ids: l.ids.clone(),
                    row_prefix: l.row_prefix.clone(),
                    tag: l.tag.clone(),
                    numeric: numeric_keys_in::<M>(l),
                    checks: full_checks::<M>(snap),
                    must_exist: true,
                    member: member(),
                    graph: rules_graph::<M>(l),
                    expiry: crate::storage::model::expiry_key::<M>(),
                }),
                format!("delete {name} {} as read", self.shown),
            ),
            (Read::Absent, State::Absent) => (
                TxOp::Check(TxCheck {
                    row_prefix: l.row_prefix.clone(),
                    member: member(),
                    present: None,
                    expiry: crate::storage::model::expiry_key::<M>(),
                }),
                format!("check {name} {} is still absent", self.shown),
            ),
            (Read::Not, State::Absent) => (
                TxOp::Delete(TxDelete {
                    numeric_ids: M::Key::NUMERIC,
                    ids: l.ids.clone(),
                    row_prefix: l.row_prefix.clone(),
                    tag: l.tag.clone(),
                    numeric: numeric_keys_in::<M>(l),
                    checks: Vec::new(),
                    must_exist: false,
                    member: member(),
                    graph: rules_graph::<M>(l),
                    expiry: crate::storage::model::expiry_key::<M>(),
                }),
                format!("delete {name} {} if present", self.shown),
            ),
            (_, State::Add { adds, .. }) => (
                increment_op::<M>(member(), adds.clone()),
                format!(
                    "add to {} column(s) of {name} {} without reading it",
                    adds.len(),
                    self.shown
                ),
            ),
            (_, State::Row(rec)) => {
                rec.check_key()?;
                let parts = save_parts(&**rec, None, SaveMode::Insert, false)?;
                (TxOp::Save(parts.args), parts.step)
            }
            (_, State::NewAuto(value)) => {
                let parts = save_parts(value, None, SaveMode::Insert, false)?;
                (TxOp::Save(parts.args), parts.step)
            }
        }))
    }

    fn who(&self) -> (&'static str, String) {
        (M::SCHEMA.name, self.shown.clone())
    }

    fn failure(&self, status: Status) -> Error {
        match status_error::<M>(status) {
            Error::UniqueViolation {
                model,
                column,
                value,
            } if value.is_empty() => Error::UniqueViolation {
                model,
                column,
                value: self.shown.clone(),
            },
            e => e,
        }
    }

    fn unexpected(&self, u: Unexpected) -> std::result::Result<RowConflict, Error> {
        let change = match u {
            Unexpected::Changed(c) => RowChange::Column(show(&c)),
            Unexpected::Gone if matches!(self.state, State::Add { .. }) => {
                return Err(Error::NotFound {
                    model: M::SCHEMA.name,
                    key: self.shown.clone(),
                });
            }
            Unexpected::Gone => RowChange::Deleted,
            Unexpected::Appeared => RowChange::Created,
            Unexpected::Lease => {
                return Err(Error::decode(
                    b"(commit reply)",
                    None,
                    "a row reported as a fence",
                ));
            }
            // an insert that finds its row: a conflict when the transaction
            // read the row as absent, else a taken primary key
            Unexpected::Exists => match self.read {
                Read::Absent => RowChange::Created,
                _ => return Err(self.failure(Status::Exists)),
            },
        };
        Ok(RowConflict {
            model: M::SCHEMA.name,
            key: self.shown.clone(),
            change,
        })
    }

    fn event(&self) -> Result<Event> {
        Ok(match (&self.read, &self.state) {
            (Read::Present(_), State::Row(rec)) => {
                if rec.is_unchanged()? {
                    Event::None
                } else {
                    Event::Update
                }
            }
            (Read::Absent, State::Absent) | (_, State::Add { .. }) => Event::None,
            (_, State::Absent) => Event::Delete,
            (_, State::Row(_) | State::NewAuto(_)) => Event::Insert,
        })
    }

    fn before(&mut self, event: Event) -> Result<()> {
        match (event, &mut self.state) {
            (Event::Insert, State::NewAuto(v)) => hooks::before_insert(v),
            (Event::Insert, State::Row(r)) => hooks::before_insert(&mut **r),
            (Event::Update, State::Row(r)) => hooks::before_update(&mut **r),
            (Event::Delete, _) => hooks::before_delete::<M>(&self.key()?),
            _ => Ok(()),
        }
    }

    #[cfg(feature = "tokio")]
    fn before_async(&mut self, event: Event) -> BoxFuture<'_, Result<()>> {
        let key = match event {
            Event::Delete => Some(self.key()),
            _ => None,
        };
        Box::pin(async move {
            match (event, &mut self.state) {
                (Event::Insert, State::NewAuto(v)) => hooks::before_insert_async(v).await,
                (Event::Insert, State::Row(r)) => hooks::before_insert_async(&mut **r).await,
                (Event::Update, State::Row(r)) => hooks::before_update_async(&mut **r).await,
                (Event::Delete, _) => match key {
                    Some(Ok(k)) => hooks::before_delete_async::<M>(&k).await,
                    Some(Err(e)) => Err(e),
                    None => Ok(()),
                },
                _ => Ok(()),
            }
        })
    }

    fn after(&self, event: Event) {
        match (event, &self.state) {
            (Event::Insert, State::Row(r)) => hooks::after_insert(&**r),
            (Event::Update, State::Row(r)) => hooks::after_update(&**r),
            (Event::Delete, _) => {
                if let Ok(k) = self.key() {
                    hooks::after_delete::<M>(&k);
                }
            }
            _ => {}
        }
    }

    fn finish(&mut self, reply: &[u8]) -> Result<()> {
        // every written row is now read as written
        let state = std::mem::replace(&mut self.state, State::Absent);
        self.state = match state {
            State::NewAuto(mut value) => {
                let key = M::Key::from_member(reply)
                    .map_err(|e| Error::decode(reply, None, format!("bad key from commit: {e}")))?;
                value.set_key(key.clone());
                crate::dsl::structures::saved(&mut value, &key);
                self.shown = format!("{key:?}");
                self.member = Some(reply.to_vec());
                let snap = stored(&value)?;
                State::Row(Record::from_parts(value, key, snap))
            }
            State::Row(rec) => {
                let key = rec.key().clone();
                let mut value = rec.into_inner();
                crate::dsl::structures::saved(&mut value, &key);
                let snap = stored(&value)?;
                State::Row(Record::from_parts(value, key, snap))
            }
            State::Absent => State::Absent,
            State::Add { adds, columns, .. } => State::Add {
                adds,
                columns,
                result: Some(reply.to_vec()),
            },
        };
        Ok(())
    }
}

/// A fence of a transaction: the lock of a row of `M` must still hold the
/// lease's token at commit.
#[derive(Debug, Clone)]
pub(crate) struct Fence<M: Model> {
    pub(crate) lock: Vec<u8>,
    pub(crate) token: u64,
    pub(crate) shown: String,
    pub(crate) model: std::marker::PhantomData<fn() -> M>,
}

impl<M: Model> Entry for Fence<M> {
    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn op(&self) -> Result<Option<(TxOp, String)>> {
        Ok(Some((
            TxOp::Fence {
                lock: self.lock.clone(),
                token: self.token.to_string().into_bytes(),
            },
            format!(
                "fence: the lock of {} {} still holds token {}",
                M::SCHEMA.name,
                self.shown,
                self.token
            ),
        )))
    }
    fn who(&self) -> (&'static str, String) {
        (M::SCHEMA.name, format!("{} (lock)", self.shown))
    }
    fn failure(&self, status: Status) -> Error {
        status_error::<M>(status)
    }
    fn unexpected(&self, _: Unexpected) -> std::result::Result<RowConflict, Error> {
        Err(Error::LeaseLost {
            model: M::SCHEMA.name,
            key: self.shown.clone(),
        })
    }
    fn finish(&mut self, _: &[u8]) -> Result<()> {
        Ok(())
    }
}

impl<M: Model> TxRow<M> {
    /// The row's key, from its member.
    fn key(&self) -> Result<M::Key> {
        let m = self.member.as_deref().unwrap_or_default();
        M::Key::from_member(m).map_err(|e| Error::decode(m, None, format!("bad key: {e}")))
    }
}

/// The stored bytes of each column of a value.
fn stored<M: Model>(value: &M) -> Result<Vec<Option<Vec<u8>>>> {
    Ok(value.cells()?.into_iter().map(|c| c.stored).collect())
}

/// A commit's plan, and the operation number of each row (`None`: nothing
/// sent for it).
pub(crate) type CommitPlan = (Plan<CommitReply>, Vec<Option<usize>>);

/// The commit of `rows`: `None` when nothing is to be sent.
pub(crate) fn commit_plan(rows: &[Box<dyn Entry>]) -> Result<Option<CommitPlan>> {
    let mut ops = Vec::new();
    let mut steps = Vec::new();
    // the operation number of each row (None: nothing sent for it)
    let mut op_of = Vec::with_capacity(rows.len());
    for r in rows {
        match r.op()? {
            Some((op, step)) => {
                op_of.push(Some(ops.len()));
                ops.push(op);
                steps.push(step);
            }
            None => op_of.push(None),
        }
    }
    if ops.is_empty() {
        return Ok(None);
    }
    let n = ops.len();
    let args = CommitArgs { ops };
    let plan = Plan::call(&args, CommitReply::decode);
    // one call writes one slot: a partitioned group's rows of one bucket
    let mut tags: Vec<&[u8]> = plan
        .keys()
        .iter()
        .map(|k| crate::plans::fan::hash_tag(k))
        .collect();
    tags.sort_unstable();
    tags.dedup();
    if tags.len() > 1 {
        return Err(Error::Validation {
            model: "(transaction)",
            column: String::new(),
            reason: format!(
                "a transaction writes rows of one partition; these rows are in {} partitions (rows whose partition values differ, e.g. two customers, cannot be committed together)",
                tags.len()
            ),
        });
    }
    let plan = plan
        .step(format!(
            "commit {n} row(s) atomically: {}",
            steps.join("; ")
        ))
        .about("commit", "transaction");
    Ok(Some((plan, op_of)))
}

/// Applies the reply of a commit to its rows: `Ok` when every row was
/// written (each row then reads as written), else the typed error.
pub(crate) fn apply_reply(
    rows: &mut [Box<dyn Entry>],
    op_of: &[Option<usize>],
    reply: CommitReply,
) -> Result<()> {
    // the row of each operation number
    let row_of = |op: usize| op_of.iter().position(|o| *o == Some(op));
    match reply {
        CommitReply::Ok(results) => {
            for (i, r) in rows.iter_mut().enumerate() {
                if let Some(op) = op_of[i] {
                    let reply = results.get(op).ok_or_else(|| {
                        Error::decode(b"(commit reply)", None, "a result is missing")
                    })?;
                    r.finish(reply)?;
                }
            }
            Ok(())
        }
        CommitReply::Expect(list) => {
            let mut conflicts = Vec::new();
            let mut other = None;
            for (op, u) in list {
                let row = row_of(op).ok_or_else(|| {
                    Error::decode(b"(commit reply)", None, "bad operation number")
                })?;
                match rows[row].unexpected(u) {
                    Ok(c) => conflicts.push(c),
                    Err(e) => {
                        other.get_or_insert(e);
                    }
                }
            }
            if !conflicts.is_empty() {
                return Err(Error::TransactionConflict { conflicts });
            }
            Err(other.unwrap_or_else(|| {
                Error::decode(b"(commit reply)", None, "an empty list of failures")
            }))
        }
        CommitReply::Failed(op, status) => {
            let row = row_of(op)
                .ok_or_else(|| Error::decode(b"(commit reply)", None, "bad operation number"))?;
            Err(rows[row].failure(Status::from_parts(status)?))
        }
    }
}
