//! A query that a unique index answers alone: its whole filter is one unique
//! column's equality, read in key order from the start, for rows or keys.
//! It runs as `unique_get` (`unique.lua`: the owner's `HGET`, then its row),
//! not through the query interpreter, with the same reply, so the query's
//! decoders and cursor apply unchanged. Every other query (an offset, an
//! order, a cursor, another filter beside it, a count) runs as before.

use crate::dsl::filter::Node;
use crate::dsl::query::{Cursor, Query};
use crate::error::{Result, show};
use crate::plan::Plan;
use crate::storage::model::{Key, Model, expiry_key};
use crate::wire::query::QueryReply;
use crate::wire::unique::UniqueGetArgs;

/// The arguments of `q` as a unique lookup, or `None` when it is not one.
/// `rows`: rows (each with its fields) rather than keys.
pub(crate) fn unique_args<M: Model>(
    q: &Query<M>,
    rows: bool,
    cursor: Option<&Cursor>,
) -> Option<UniqueGetArgs> {
    let (key, value) = match q.filters.as_slice() {
        [Node::Unique(key, value)] => (key.clone(), value.clone()),
        _ => return None,
    };
    if cursor.is_some() || q.order.is_some() || q.offset != 0 || q.limit == Some(0) {
        return None;
    }
    // a query pinned to a partition reads that bucket's rows
    let l = q.layout.unwrap_or_else(M::layout);
    Some(UniqueGetArgs {
        key,
        row_prefix: l.row_prefix.clone(),
        numeric_ids: M::Key::NUMERIC,
        expiry: expiry_key::<M>(),
        rows,
        value,
    })
}

/// The plan of a unique lookup: `decode` reads the rows of the reply,
/// `width` items each.
pub(crate) fn unique_plan<M: Model, X: Send + 'static>(
    args: UniqueGetArgs,
    width: usize,
    summary: &'static str,
    decode: impl FnOnce(redis::Value) -> Result<Vec<X>> + Send + 'static,
) -> Plan<(Vec<X>, Cursor)> {
    let rows = args.rows;
    let steps = vec![
        format!(
            "filter: HGET {} {:?} (a unique index answers it alone)",
            show(&args.key),
            show(&args.value)
        ),
        format!(
            "load the {} it names: {}",
            if rows { "row" } else { "key of the row" },
            if rows { "HGETALL" } else { "EXISTS" }
        ),
    ];
    Plan::call(&args, move |v| {
        let (cursor, _, _) = QueryReply::page_state(&v, width)?;
        Ok((decode(v)?, cursor))
    })
    .about(summary, M::SCHEMA.namespace)
    .steps_with(move || steps.clone())
}
