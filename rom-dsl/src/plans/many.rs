//! A batch's saves of one slot as one call (`save_many`): the rows of
//! `insert_all`, `upsert_all` and `save_all` that fall in one slot are sent
//! as one `save_many` call instead of a pipeline of `save` calls. Each save
//! runs in it as it would alone, one after another, so each row's reply is
//! the one its own call would give; what the call shares (the entry, the
//! server time, each key's type check) is paid once. The reply of each row
//! goes to that row's decoder; a row whose save stopped with an error (raised
//! before its first write, so it wrote nothing) is sent again alone, so its
//! error, or its success when the error was passing (a slot migrating), is
//! the one a save alone gives.

use crate::error::Result;
use crate::exec::script::{SAVE, Script};
use crate::plan::{Call, Plan};
use crate::plans::plan::Next;
use crate::wire::save_many::SaveManyArgs;

/// Whether `plans` can go as one `save_many` call: two or more, each a
/// plain `save`.
fn combinable<T>(plans: &[Plan<T>]) -> bool {
    plans.len() > 1
        && plans.iter().all(|p| {
            matches!(p.call, Call::Script(s) if std::ptr::eq(s, &SAVE as &Script)) && !p.read_only
        })
}

/// What a row's item of the reply is: its save's reply, or a failure to
/// send it again alone.
enum Item {
    Reply(redis::Value),
    Again,
}

fn items(v: redis::Value, n: usize) -> Result<Vec<Item>> {
    let items = crate::wire::reply_items(v, "save_many")?;
    if items.len() != n {
        return Err(crate::error::Error::decode(
            b"(save_many)",
            None,
            format!("{} replies for {n} saves", items.len()),
        ));
    }
    Ok(items
        .into_iter()
        .map(|i| {
            let failed = matches!(&i, redis::Value::Array(parts)
                if matches!(parts.first(), Some(redis::Value::BulkString(w)) if w == b"error"));
            if failed { Item::Again } else { Item::Reply(i) }
        })
        .collect())
}

/// The most saves one call makes: a call's server time stays bounded (a
/// save takes tens of µs), and a batch's calls still go as one pipeline.
const PER_CALL: usize = 64;

/// The calls of `plans`: one per [`PER_CALL`] of them.
fn calls<T>(plans: &[Plan<T>]) -> Vec<Plan<redis::Value>> {
    plans
        .chunks(PER_CALL)
        .map(|part| {
            let args = SaveManyArgs {
                saves: part
                    .iter()
                    .map(|p| (p.keys.clone(), p.args.clone()))
                    .collect(),
            };
            Plan::call(&args, Ok).step(format!("{} saves in one call", part.len()))
        })
        .collect()
}

/// Each plan's item of the calls' replies.
fn split(replies: Vec<Result<redis::Value>>, n: usize) -> Result<Vec<Item>> {
    let mut out = Vec::with_capacity(n);
    for r in replies {
        let v = r?;
        let want = (n - out.len()).min(PER_CALL);
        out.extend(items(v, want)?);
    }
    Ok(out)
}

/// Runs a slot's plans: as `save_many` calls (one pipeline of them, the
/// first alone when `alone_first`: a sync cluster connection fails a whole
/// pipeline when the library is missing) when they are all saves, else
/// as `run` does (a pipeline); each plan's result, in order. Traced as one
/// batch of the plans, as a pipeline of them is.
pub(crate) fn run<T, C: crate::connection::Connection + ?Sized>(
    plans: Vec<Plan<T>>,
    conn: &mut C,
    alone_first: bool,
    run: impl FnOnce(Vec<Plan<T>>, &mut C) -> Result<Vec<Result<T>>>,
) -> Result<Vec<Result<T>>> {
    if !combinable(&plans) {
        return run(plans, conn);
    }
    let mut resent = 0;
    #[cfg(feature = "tracing")]
    {
        let op = crate::exec::trace::Op::batch(&plans);
        let r = op
            .span
            .in_scope(|| run_quiet(plans, conn, alone_first, &mut resent));
        op.finish_batch(resent, &r);
        r
    }
    #[cfg(not(feature = "tracing"))]
    run_quiet(plans, conn, alone_first, &mut resent)
}

/// [`run`]'s calls, without spans of their own.
fn run_quiet<T, C: crate::connection::Connection + ?Sized>(
    plans: Vec<Plan<T>>,
    conn: &mut C,
    alone_first: bool,
    resent: &mut u32,
) -> Result<Vec<Result<T>>> {
    let mut calls = calls(&plans);
    let mut replies = Vec::with_capacity(calls.len());
    if alone_first {
        replies.push(calls.remove(0).run_counted(conn, resent));
    }
    replies.extend(crate::exec::run::run_all_counted(calls, conn, resent)?);
    let items = split(replies, plans.len())?;
    Ok(plans
        .into_iter()
        .zip(items)
        .map(|(p, item)| match item {
            Item::Again => p.run_counted(conn, resent),
            Item::Reply(v) => match (p.decode)(v) {
                Ok(Next::Done(t)) => Ok(t),
                Ok(Next::Again(next)) => next.run_counted(conn, resent),
                Err(e) => Err(e),
            },
        })
        .collect())
}

/// [`run`] on an async connection.
#[cfg(feature = "tokio")]
pub(crate) async fn run_async<T, C: crate::connection::AsyncConnection>(
    plans: Vec<Plan<T>>,
    conn: &mut C,
) -> Result<Vec<Result<T>>> {
    if !combinable(&plans) {
        return crate::plan::run_all_async(plans, conn).await;
    }
    let mut resent = 0;
    #[cfg(feature = "tracing")]
    {
        use tracing::Instrument as _;
        let op = crate::exec::trace::Op::batch(&plans);
        let r = run_quiet_async(plans, conn, &mut resent)
            .instrument(op.span.clone())
            .await;
        op.finish_batch(resent, &r);
        r
    }
    #[cfg(not(feature = "tracing"))]
    run_quiet_async(plans, conn, &mut resent).await
}

/// [`run_async`]'s calls, without spans of their own.
#[cfg(feature = "tokio")]
async fn run_quiet_async<T, C: crate::connection::AsyncConnection>(
    plans: Vec<Plan<T>>,
    conn: &mut C,
    resent: &mut u32,
) -> Result<Vec<Result<T>>> {
    let replies = crate::exec::run::run_all_async_counted(calls(&plans), conn, resent).await?;
    let items = split(replies, plans.len())?;
    let mut out = Vec::with_capacity(plans.len());
    for (p, item) in plans.into_iter().zip(items) {
        out.push(match item {
            Item::Again => p.run_async_counted(conn, resent).await,
            Item::Reply(v) => match (p.decode)(v) {
                Ok(Next::Done(t)) => Ok(t),
                Ok(Next::Again(next)) => next.run_async_counted(conn, resent).await,
                Err(e) => Err(e),
            },
        });
    }
    Ok(out)
}
