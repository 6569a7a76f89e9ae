//! Atomic increments: adding to an integer column on the server, without
//! reading the row first, with bounds the new value must respect, and the
//! column's indexes kept in step. Public through `rom_dsl::record` and the
//! prelude (`CounterMethods`).

#[cfg(feature = "tokio")]
use crate::connection::AsyncConnection;
use crate::connection::Connection;
use crate::error::{Error, Result};
use crate::index::Column;
use crate::plan::Plan;
use crate::plans::write::status_error;
use crate::record::Record;
use crate::storage::model::{IntoKey, Key, Model, RowData};
use crate::value::{Counter, Value};
use crate::wire::commit::{CommitArgs, CommitReply, TxAdd, TxIncrement, TxOp, Unexpected};
use std::marker::PhantomData;
use std::ops::{Bound, RangeBounds};

/// An amount to add to an integer column, and the bounds the new value must
/// stay within: made by [`CounterMethods::add`] (`accounts::balance.add(-30)`),
/// run by [`Crud::increment`](crate::record::Crud::increment),
/// [`Record::increment`] or a transaction's
/// [`increment`](crate::transaction::Transaction::increment).
///
/// The new value must lie within the column type's range, within
/// ±(2^53 − 1) (where the server's arithmetic is exact), and within the
/// bounds given here; otherwise the call fails with [`Error::Validation`]
/// naming the column, and writes nothing. A null counts as 0.
///
/// ```
/// use rom_dsl::record::Add;
/// # fn check<C: rom_dsl::Column<Value = i64>>(balance: C) {
/// use rom_dsl::prelude::*;
/// let withdraw: Add<C> = balance.add(-30).at_least(0);
/// # }
/// ```
pub struct Add<C: Column> {
    pub(crate) by: i64,
    pub(crate) min: i64,
    pub(crate) max: i64,
    column: PhantomData<fn() -> C>,
}

impl<C: Column> Clone for Add<C> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<C: Column> Copy for Add<C> {}
impl<C: Column> std::fmt::Debug for Add<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Add({} {:+} within {}..={})",
            C::NAME,
            self.by,
            self.min,
            self.max
        )
    }
}

impl<C: Column> Add<C> {
    /// The new value must be at least `min`.
    ///
    /// ```
    /// # fn check<C: rom_dsl::Column<Value = i64>>(balance: C) {
    /// use rom_dsl::prelude::*;
    /// let never_negative = balance.add(-30).at_least(0);
    /// # }
    /// ```
    pub fn at_least(mut self, min: i64) -> Self {
        self.min = self.min.max(min);
        self
    }

    /// The new value must be at most `max`.
    ///
    /// ```
    /// # fn check<C: rom_dsl::Column<Value = i64>>(balance: C) {
    /// use rom_dsl::prelude::*;
    /// let capped = balance.add(100).at_most(10_000);
    /// # }
    /// ```
    pub fn at_most(mut self, max: i64) -> Self {
        self.max = self.max.min(max);
        self
    }

    /// The new value must lie in `range` (`0..`, `..=100`, `1..10`).
    ///
    /// ```
    /// # fn check<C: rom_dsl::Column<Value = i64>>(balance: C) {
    /// use rom_dsl::prelude::*;
    /// let in_range = balance.add(5).within(0..=100);
    /// # }
    /// ```
    pub fn within(mut self, range: impl RangeBounds<i64>) -> Self {
        match range.start_bound() {
            Bound::Included(&v) => self = self.at_least(v),
            Bound::Excluded(&v) => self = self.at_least(v.saturating_add(1)),
            Bound::Unbounded => {}
        }
        match range.end_bound() {
            Bound::Included(&v) => self = self.at_most(v),
            Bound::Excluded(&v) => self = self.at_most(v.saturating_sub(1)),
            Bound::Unbounded => {}
        }
        self
    }

    /// The wire form: the column's field, numeric index and keyed slots,
    /// for the row whose member is `member` (its bucket's keys when the
    /// model is partitioned).
    pub(crate) fn wire(&self, member: &[u8]) -> Result<TxAdd> {
        let model = <C::Model as Model>::SCHEMA.name;
        let invalid = |reason: String| Error::Validation {
            model,
            column: C::NAME.to_owned(),
            reason,
        };
        if self.by.unsigned_abs() > crate::storage::value::MAX_COUNTER as u64 {
            return Err(invalid(format!(
                "an increment of {} is beyond ±(2^53 − 1)",
                self.by
            )));
        }
        if let Some(rule) = C::counter_rules().unchecked {
            return Err(invalid(format!(
                "the column's rule `{rule}` cannot be checked by an increment: load the record, change it and save it"
            )));
        }
        // a unique claimed across partitions: a new value needs its claim
        // (several calls), which an increment's one call cannot make
        if crate::plans::xuniq::remote_slots::<C::Model>().any(|s| s.columns.contains(&C::INDEX)) {
            return Err(invalid(
                "the column is unique across partitions, so a new value is claimed in its own partition first, which an increment (one call) cannot do: load the record, change it and save it".into(),
            ));
        }
        let l = crate::storage::partition::layout_for::<C::Model>(member);
        let mut slots = Vec::new();
        for s in &l.slots {
            if !s.columns.contains(&C::INDEX) {
                continue;
            }
            if s.columns.len() > 1 {
                return Err(invalid(format!(
                    "the column is part of the unique constraint {}: load the record, change it and save it",
                    s.label
                )));
            }
            slots.push((s.id.clone().into_bytes(), s.kind));
        }
        Ok(TxAdd {
            field: C::NAME.as_bytes().to_vec(),
            by: self.by,
            min: self.min,
            max: self.max,
            numeric: l.numeric[C::INDEX].clone(),
            slots,
        })
    }
}

/// The increment method of integer columns: `accounts::balance.add(-30)`.
/// In the prelude.
///
/// ```
/// # fn check<C: rom_dsl::Column<Value = u32>>(visits: C) {
/// use rom_dsl::prelude::*;
/// let one_more = visits.add(1).at_most(1_000);
/// # }
/// ```
pub trait CounterMethods: Column {
    /// Adds `by` (negative to subtract) to the column, within the type's
    /// range and the column's `range` rule; narrow the bounds with [`Add::at_least`], [`Add::at_most`],
    /// [`Add::within`].
    ///
    /// ```
    /// # fn check<C: rom_dsl::Column<Value = u32>>(visits: C) {
    /// use rom_dsl::prelude::*;
    /// let one_more = visits.add(1);
    /// let one_less = visits.add(-1); // a u32 stays at least 0
    /// # }
    /// ```
    fn add(self, by: i64) -> Add<Self>
    where
        Self::Value: Counter,
    {
        let rules = Self::counter_rules();
        Add {
            by,
            min: rules.min.map_or(<Self::Value as Counter>::MIN, |m| {
                m.max(<Self::Value as Counter>::MIN)
            }),
            max: rules.max.map_or(<Self::Value as Counter>::MAX, |m| {
                m.min(<Self::Value as Counter>::MAX)
            }),
            column: PhantomData,
        }
    }
}

impl<C: Column> CounterMethods for C {}

/// The increment of one row: its operation of `commit`.
pub(crate) fn increment_op<M: Model>(member: Vec<u8>, adds: Vec<TxAdd>) -> TxOp {
    let l = crate::storage::partition::layout_for::<M>(&member);
    TxOp::Increment(TxIncrement {
        numeric_ids: M::Key::NUMERIC,
        ids: l.ids.clone(),
        row_prefix: l.row_prefix.clone(),
        tag: l.tag.clone(),
        member,
        expiry: crate::storage::model::expiry_key::<M>(),
        adds,
    })
}

/// The first new value of an increment's result (`v1,v2,...`), typed.
pub(crate) fn new_value<C: Column>(result: &[u8]) -> Result<C::Value> {
    let first = result.split(|&b| b == b',').next().unwrap_or_default();
    C::Value::decode(first).map_err(|e| Error::decode(result, Some(C::NAME), e))
}

/// The plan of an increment of the row with this key.
pub(crate) fn increment_plan<C: Column>(
    key: &<C::Model as Model>::Key,
    add: Add<C>,
) -> Result<Plan<C::Value>>
where
{
    let shown = format!("{key:?}");
    let member = key.to_member();
    let args = CommitArgs {
        ops: vec![increment_op::<C::Model>(
            member.clone(),
            vec![add.wire(&member)?],
        )],
    };
    let name = <C::Model as Model>::SCHEMA.name;
    Ok(Plan::call(&args, move |v| match CommitReply::decode(v)? {
        CommitReply::Ok(results) => new_value::<C>(results.first().map_or(&[][..], |r| r)),
        CommitReply::Expect(e) if matches!(e.first(), Some((_, Unexpected::Gone))) => {
            Err(Error::NotFound {
                model: name,
                key: shown,
            })
        }
        CommitReply::Failed(_, status) => Err(status_error::<C::Model>(
            crate::wire::status::Status::from_parts(status)?,
        )),
        CommitReply::Expect(_) => Err(Error::decode(b"(commit reply)", None, "unexpected reply")),
    })
    .step(format!(
        "add {:+} to {name}.{} of one row, the new value within {}..={}",
        add.by,
        C::NAME,
        add.min,
        add.max
    ))
    .about("increment", <C::Model as Model>::SCHEMA.namespace))
}

/// Runs an increment by key: `Crud::increment`'s body.
pub(crate) fn increment_by_key<C: Column, Conn: Connection + ?Sized>(
    conn: &mut Conn,
    key: impl IntoKey<<C::Model as Model>::Key>,
    add: Add<C>,
) -> Result<C::Value>
where
{
    let Some(key) = key.into_key() else {
        return Err(not_found::<C::Model>("(no key)"));
    };
    increment_plan(&key, add)?.run(conn)
}

/// `Crud::increment_async`'s body.
#[cfg(feature = "tokio")]
pub(crate) async fn increment_by_key_async<C: Column, Conn: AsyncConnection>(
    conn: &mut Conn,
    key: Option<<C::Model as Model>::Key>,
    add: Add<C>,
) -> Result<C::Value>
where
{
    let Some(key) = key else {
        return Err(not_found::<C::Model>("(no key)"));
    };
    increment_plan(&key, add)?.run_async(conn).await
}

fn not_found<M: Model>(key: &str) -> Error {
    Error::NotFound {
        model: M::SCHEMA.name,
        key: key.to_owned(),
    }
}

impl<M: Model> Record<M> {
    /// Adds to an integer column of this row on the server, atomically and
    /// without a conflict check (other writers' increments add up), then sets
    /// the field and what the record knows is stored to the new value, which
    /// it returns. The record's other columns, and unsaved changes to them,
    /// are left as they are. Fails with [`Error::NotFound`] when the row was
    /// deleted, [`Error::Validation`] when the new value would leave its
    /// bounds (nothing written).
    ///
    /// ```
    /// # use rom_dsl::{Column, Model, Record, Result};
    /// # use rom_dsl::record::CounterMethods;
    /// fn withdraw<M: Model, C: Column<Model = M, Value = i64>>(
    ///     account: &mut Record<M>,
    ///     balance: C,
    ///     conn: &mut redis::Connection,
    /// ) -> Result<i64> {
    ///     account.increment(conn, balance.add(-30).at_least(0))
    /// }
    /// ```
    pub fn increment<C, Conn>(&mut self, conn: &mut Conn, add: Add<C>) -> Result<C::Value>
    where
        C: Column<Model = M>,
        Conn: Connection + ?Sized,
    {
        let v = increment_plan(&self.key, add)?.run(conn)?;
        self.set_stored(C::INDEX, v.encode())?;
        Ok(v)
    }

    /// [`Record::increment`] on an async connection.
    ///
    /// ```
    /// # use rom_dsl::{Column, Model, Record, Result};
    /// # use rom_dsl::record::CounterMethods;
    /// async fn visit<M: Model, C: Column<Model = M, Value = i64>>(
    ///     page: &mut Record<M>,
    ///     visits: C,
    ///     conn: &mut redis::aio::MultiplexedConnection,
    /// ) -> Result<i64> {
    ///     page.increment_async(conn, visits.add(1)).await
    /// }
    /// ```
    #[cfg(feature = "tokio")]
    pub async fn increment_async<C, Conn>(
        &mut self,
        conn: &mut Conn,
        add: Add<C>,
    ) -> Result<C::Value>
    where
        C: Column<Model = M>,
        Conn: AsyncConnection,
    {
        let v = increment_plan(&self.key, add)?.run_async(conn).await?;
        self.set_stored(C::INDEX, v.encode())?;
        Ok(v)
    }

    /// Sets column `col` of the value and of the snapshot to `bytes`,
    /// keeping the other columns (and their unsaved changes).
    fn set_stored(&mut self, col: usize, bytes: Vec<u8>) -> Result<()> {
        let schema = M::SCHEMA;
        let mut row = RowData {
            key: {
                let member = self.key.to_member();
                crate::storage::partition::layout_for::<M>(&member).row_key(&member)
            },
            ..RowData::default()
        };
        for (def, cell) in schema.columns.iter().zip(self.value.cells()?) {
            if let Some(b) = cell.stored {
                row.fields.insert(def.name.as_bytes().to_vec(), b);
            }
        }
        row.fields
            .insert(schema.columns[col].name.as_bytes().to_vec(), bytes.clone());
        self.value = M::from_row(self.key.clone(), &row)?;
        if let Some(snap) = &mut self.snapshot {
            snap[col] = Some(bytes);
        }
        Ok(())
    }
}
