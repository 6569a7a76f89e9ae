//! Batches of new rows (`insert_all`, `upsert_all`): every row planned
//! (hooks and validation first), then sent as one pipeline per slot, each
//! row with its own result. A partitioned model's rows without keys get
//! theirs from one block reserved for the batch.

use super::crud::inserted;
use super::record::with_key;
use crate::dsl::hooks;
use crate::error::{Error, Result};
#[cfg(feature = "tokio")]
use crate::exec::connection::AsyncConnection;
use crate::exec::connection::Connection;
use crate::plan::Plan;
use crate::record::{Record, Saved};
use crate::storage::model::Model;

pub(crate) type PlanOf<M> = fn(&M) -> Result<Plan<Saved<<M as Model>::Key>>>;

pub(crate) fn batch<M: Model, C: Connection + ?Sized>(
    conn: &mut C,
    mut rows: Vec<M>,
    plan: PlanOf<M>,
) -> Result<Vec<Result<Record<M>>>> {
    let hooked: Vec<Result<()>> = rows.iter_mut().map(hooks::before_insert).collect();
    // a partitioned model's rows without keys: one block of keys for all
    let keyless = keyless(&rows, &hooked);
    if let Some(fill) = crate::plans::ids::fill_plan::<M>(needs(&keyless)) {
        fill.run(conn)?;
    }
    give_keys(&mut rows, &keyless)?;
    let (ok, plans, slots) = batch_plans(&rows, hooked, plan);
    let results = crate::plans::fan::run_rows::<M, _, _>(plans, conn)?;
    let mut out = batch_finish(rows, ok, results, slots);
    // a key of the block that was taken (a row inserted with an explicit
    // key): that row again, with a key of its own
    for (i, row) in keyless {
        if key_taken(&out[i]) {
            out[i] = plan(&row)
                .and_then(|p| p.run(conn))
                .map(|s| inserted(row, s));
        }
    }
    Ok(out)
}

/// The rows (position, value as given) of a partitioned model that need a
/// key and passed their hooks.
fn keyless<M: Model>(rows: &[M], hooked: &[Result<()>]) -> Vec<(usize, M)> {
    if M::BUCKETS == 0 {
        return Vec::new();
    }
    rows.iter()
        .zip(hooked)
        .enumerate()
        .filter(|(_, (r, h))| h.is_ok() && r.key().is_none())
        .map(|(i, (r, _))| (i, r.clone()))
        .collect()
}

/// The keys the keyless rows need: any, or one of their value's bucket.
fn needs<M: Model>(keyless: &[(usize, M)]) -> Vec<Option<u16>> {
    keyless
        .iter()
        .map(|(_, r)| {
            r.cells()
                .ok()
                .and_then(|c| crate::storage::partition::value_bucket::<M>(&c))
        })
        .collect()
}

/// Gives the keyless rows keys from the pool (a row left without one, when
/// another thread took them meanwhile, takes its own when planned).
fn give_keys<M: Model>(rows: &mut [M], keyless: &[(usize, M)]) -> Result<()> {
    for ((i, _), b) in keyless.iter().zip(needs(keyless)) {
        if let Some(id) = crate::plans::ids::take::<M>(b) {
            rows[*i].set_key(crate::plans::ids::key_of::<M>(id)?);
        }
    }
    Ok(())
}

/// A row refused because its (given) key was taken.
fn key_taken<M: Model>(r: &Result<Record<M>>) -> bool {
    matches!(r, Err(Error::UniqueViolation { column, .. }) if column == M::SCHEMA.key_name)
}

#[cfg(feature = "tokio")]
pub(crate) async fn batch_async<M: Model, C: AsyncConnection>(
    conn: &mut C,
    mut rows: Vec<M>,
    plan: PlanOf<M>,
) -> Result<Vec<Result<Record<M>>>> {
    let mut hooked = Vec::with_capacity(rows.len());
    for r in &mut rows {
        hooked.push(hooks::before_insert_async(r).await);
    }
    let keyless = keyless(&rows, &hooked);
    if let Some(fill) = crate::plans::ids::fill_plan::<M>(needs(&keyless)) {
        fill.run_async(conn).await?;
    }
    give_keys(&mut rows, &keyless)?;
    let (ok, plans, slots) = batch_plans(&rows, hooked, plan);
    let results = crate::plans::fan::run_rows_async::<M, _, _>(plans, conn).await?;
    let mut out = batch_finish(rows, ok, results, slots);
    for (i, row) in keyless {
        if key_taken(&out[i]) {
            out[i] = match plan(&row) {
                Ok(p) => p.run_async(conn).await.map(|s| inserted(row, s)),
                Err(e) => Err(e),
            };
        }
    }
    Ok(out)
}

/// Plans every row; a row that a before-hook stopped (`hooked`) or that
/// fails validation keeps its error and sends nothing.
#[allow(clippy::type_complexity)]
fn batch_plans<M: Model>(
    rows: &[M],
    hooked: Vec<Result<()>>,
    plan: PlanOf<M>,
) -> (Vec<Option<Error>>, Vec<Plan<Saved<M::Key>>>, Vec<usize>) {
    let mut errs = Vec::with_capacity(rows.len());
    let mut plans = Vec::new();
    let mut slots = Vec::new();
    for (i, (r, h)) in rows.iter().zip(hooked).enumerate() {
        match h.and_then(|()| plan(r)) {
            Ok(p) => {
                plans.push(p);
                slots.push(i);
                errs.push(None);
            }
            Err(e) => errs.push(Some(e)),
        }
    }
    (errs, plans, slots)
}

fn batch_finish<M: Model>(
    rows: Vec<M>,
    errs: Vec<Option<Error>>,
    results: Vec<Result<Saved<M::Key>>>,
    slots: Vec<usize>,
) -> Vec<Result<Record<M>>> {
    let mut by_row: Vec<Option<Result<Saved<M::Key>>>> = (0..rows.len()).map(|_| None).collect();
    for (i, r) in slots.into_iter().zip(results) {
        by_row[i] = Some(r);
    }
    rows.into_iter()
        .zip(errs.into_iter().zip(by_row))
        .map(|(row, (err, res))| match (err, res) {
            (Some(e), _) => Err(e),
            (None, Some(r)) => {
                let key = row.key();
                with_key(r, &key).map(|s| inserted(row, s))
            }
            (None, None) => Err(Error::decode(b"(batch)", None, "no reply for this row")),
        })
        .collect()
}
