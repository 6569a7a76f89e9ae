//! The plans of a query in steps: each call's plan, and the plan of the
//! call that continues it when the budget ran out (`Next::Again`), with the
//! cursor of the last entry examined and the offset and limit that are left.
//! What each step returns is added to what the calls before it returned.

use crate::dsl::query::Cursor;
use crate::error::{Error, Result};
use crate::plan::Plan;
use crate::plans::plan::Next;
use crate::storage::model::Model;
use crate::wire::query::{QueryArgs, QueryReply, Resume};
use std::sync::Arc;

/// How a query returning rows continues: the decoder of one call's rows,
/// and the reply items per row.
pub(crate) struct PageStep<X> {
    pub(crate) decode: Arc<dyn Fn(redis::Value) -> Result<Vec<X>> + Send + Sync>,
    pub(crate) width: usize,
    pub(crate) summary: &'static str,
    pub(crate) collection: &'static str,
}

impl<X: Send + 'static> PageStep<X> {
    /// The plan of the call with `args`, after the rows `acc` of the calls
    /// before it.
    pub(crate) fn plan(self, args: QueryArgs, mut acc: Vec<X>) -> Plan<(Vec<X>, Cursor)> {
        let (summary, collection) = (self.summary, self.collection);
        Plan::call_steps(&args.clone(), move |v| {
            let (cursor, more, n) = QueryReply::page_state(&v, self.width)?;
            acc.extend((self.decode)(v)?);
            match more {
                None => Ok(Next::Done((acc, cursor))),
                Some(r) => {
                    let next = continued(args, r, n);
                    Ok(Next::Again(self.plan(next, acc)))
                }
            }
        })
        .about(summary, collection)
    }
}

/// The arguments of the call after one that stopped at `r`, having returned
/// `n` rows toward the limit.
fn continued(mut args: QueryArgs, r: Resume, n: u64) -> QueryArgs {
    args.cursor = r.cursor;
    args.offset = args.offset.saturating_sub(r.skipped);
    args.limit = args.limit.map(|l| l.saturating_sub(n));
    args
}

/// The plan of a count's call with `args`, after `acc` matches counted by
/// the calls before it; `page` is the query's offset and limit.
pub(crate) fn count_steps(
    args: QueryArgs,
    acc: u64,
    page: (u64, Option<u64>),
    summary: &'static str,
    collection: &'static str,
) -> Plan<u64> {
    let (offset, limit) = page;
    let window = move |n: u64| {
        let n = n.saturating_sub(offset);
        limit.map_or(n, |l| n.min(l))
    };
    Plan::call_steps(&args.clone(), move |v| match QueryReply::count(v)? {
        // one call: the server applied the offset and limit
        QueryReply::Count(n) => Ok(Next::Done(n)),
        QueryReply::Counted { n, more, .. } => {
            let total = acc + n;
            match more {
                // enough for the limit: the rest cannot change the answer
                Some(r) if limit.is_none_or(|l| total < offset.saturating_add(l)) => {
                    let mut next = args;
                    next.cursor = r.cursor;
                    Ok(Next::Again(count_steps(
                        next, total, page, summary, collection,
                    )))
                }
                _ => Ok(Next::Done(window(total))),
            }
        }
        _ => Err(Error::decode(b"(count)", None, "not a count")),
    })
    .about(summary, collection)
}

/// The plan of an exists' call with `args`.
pub(crate) fn exists_steps(
    args: QueryArgs,
    summary: &'static str,
    collection: &'static str,
) -> Plan<bool> {
    Plan::call_steps(&args.clone(), move |v| match QueryReply::count(v)? {
        QueryReply::Count(n) => Ok(Next::Done(n > 0)),
        QueryReply::Counted { n, more, .. } => match more {
            Some(r) if n == 0 => Ok(Next::Again(exists_steps(
                continued(args, r, 0),
                summary,
                collection,
            ))),
            _ => Ok(Next::Done(n > 0)),
        },
        _ => Err(Error::decode(b"(exists)", None, "not a count")),
    })
    .about(summary, collection)
}

/// The plan of a delete's call with `args`, after `acc` (deleted, found) by
/// the calls before it.
pub(crate) fn delete_steps<M: Model>(
    args: QueryArgs,
    acc: (u64, u64),
    summary: &'static str,
) -> Plan<(u64, u64)> {
    Plan::call_steps(&args.clone(), move |v| match QueryReply::deleted(v)? {
        QueryReply::Deleted {
            deleted,
            found,
            more,
            ..
        } => {
            let acc = (acc.0 + deleted, acc.1 + found);
            match more {
                Some(r) => Ok(Next::Again(delete_steps::<M>(
                    continued(args, r, found),
                    acc,
                    summary,
                ))),
                None => Ok(Next::Done(acc)),
            }
        }
        QueryReply::Failed(status) => Err(crate::plans::write::status_error::<M>(status)),
        _ => Err(Error::decode(b"(delete reply)", None, "not a count")),
    })
    .about(summary, M::SCHEMA.namespace)
}
