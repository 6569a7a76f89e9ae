//! Auto-increment keys of a partitioned model. Its rows are spread over
//! many slots, so the counter (`{ns}:seq`, in the model's base tag) cannot
//! be read in the call that writes a row. Keys come instead from **blocks**:
//! one `INCRBY {ns}:seq <size>` reserves `size` keys, which this process
//! hands out one per insert. A busy writer pays one extra round trip per
//! block, not per row. Keys are unique (the counter only grows, and every
//! insert checks that its key is free), not dense (a process that stops
//! loses the rest of its block), and not ordered across processes.
//!
//! The blocks are held per model for the whole process. When a key turns
//! out to be taken (a row inserted with an explicit key, or a block drawn
//! from another server or before a flush), the insert drops the block,
//! reserves a new one and tries again, up to [`TRIES`] times.

use crate::error::{Error, Result};
use crate::plan::{Call, Plan};
use crate::plans::plan::Next;
use crate::record::Saved;
use crate::storage::model::{Key, Model};
use crate::wire::save::SaveMode;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The most keys an insert tries before it gives up.
pub(crate) const TRIES: u32 = 8;
/// The first block's size, and the largest.
const MIN_BLOCK: u64 = 64;
const MAX_BLOCK: u64 = 4096;

/// The keys this process holds for one model.
#[derive(Debug, Default)]
struct Pool {
    /// The next key to hand out, and the end of the block (exclusive).
    next: u64,
    end: u64,
    /// The size of the next block: doubled while blocks run out within a
    /// second of each other, halved back after a quiet second.
    size: u64,
    last: Option<Instant>,
}

fn pools() -> &'static Mutex<HashMap<&'static str, Pool>> {
    static POOLS: std::sync::OnceLock<Mutex<HashMap<&'static str, Pool>>> =
        std::sync::OnceLock::new();
    POOLS.get_or_init(Default::default)
}

fn with_pool<M: Model, T>(f: impl FnOnce(&mut Pool) -> T) -> T {
    let mut all = pools()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    f(all.entry(M::SCHEMA.namespace).or_default())
}

/// A key from the block, if one is left.
fn take<M: Model>() -> Option<u64> {
    with_pool::<M, _>(|p| {
        (p.next < p.end).then(|| {
            p.next += 1;
            p.next - 1
        })
    })
}

/// The size of the next block.
fn block_size<M: Model>() -> u64 {
    with_pool::<M, _>(|p| {
        let now = Instant::now();
        p.size = match (p.size, p.last) {
            (0, _) | (_, None) => MIN_BLOCK,
            (s, Some(t)) if now.duration_since(t) < Duration::from_secs(1) => {
                (s * 2).min(MAX_BLOCK)
            }
            (s, Some(_)) => (s / 2).max(MIN_BLOCK),
        };
        p.last = Some(now);
        p.size
    })
}

/// Keeps the block `[last - size + 1, last]` that `INCRBY` answered.
fn refill<M: Model>(last: u64, size: u64) {
    with_pool::<M, _>(|p| {
        p.next = last.saturating_sub(size) + 1;
        p.end = last.saturating_add(1);
    });
}

/// Forgets the block (a key of it was taken).
fn drop_block<M: Model>() {
    with_pool::<M, _>(|p| p.end = p.next);
}

/// The plan that reserves `n` keys: `INCRBY {ns}:seq n`, decoded as the
/// first key of the block.
pub(crate) fn reserve_plan<M: Model>(n: u64) -> Plan<u64> {
    Plan::new(
        Call::Command("INCRBY"),
        vec![M::layout().seq.clone()],
        vec![n.to_string().into_bytes()],
        move |v| match v {
            redis::Value::Int(last) if last >= 0 && (last as u64) >= n => Ok(last as u64 - n + 1),
            other => Err(Error::decode(
                &M::layout().seq,
                None,
                format!("not a counter: {other:?}"),
            )),
        },
    )
    .step(format!(
        "reserve {n} key(s) of {} (partitioned: keys come in blocks)",
        M::SCHEMA.name
    ))
    .about("reserve keys", M::SCHEMA.namespace)
}

/// The key `id` as the model's key type (auto keys are `u64`).
pub(crate) fn key_of<M: Model>(id: u64) -> Result<M::Key> {
    M::Key::from_member(id.to_string().as_bytes())
        .map_err(|e| Error::decode(&M::layout().seq, None, format!("bad key {id}: {e}")))
}

/// The insert (or put) of a row of a partitioned model without a key: it
/// takes a key from the block (reserving a new block first when none is
/// left), then saves the row in that key's bucket; a key found taken is
/// dropped with its block and the next one tried.
pub(crate) fn auto_save_plan<M: Model>(
    value: &M,
    mode: SaveMode,
    tries: u32,
) -> Result<Plan<Saved<M::Key>>> {
    let Some(id) = take::<M>() else {
        let size = block_size::<M>();
        let value = value.clone();
        return Ok(reserve_plan::<M>(size).then_result(move |r| match r? {
            Next::Done(first) => {
                refill::<M>(first + size - 1, size);
                auto_save_plan(&value, mode, tries).map(Next::Again)
            }
            Next::Again(_) => Err(Error::decode(b"(reserve)", None, "unexpected continuation")),
        }));
    };
    let mut row = value.clone();
    row.set_key(key_of::<M>(id)?);
    let value = value.clone();
    let plan = crate::plans::write::save_plan(&row, None, mode, false)?;
    Ok(plan.then_result(move |r| match r {
        Err(Error::UniqueViolation { column, .. })
            if column == M::SCHEMA.key_name && tries + 1 < TRIES =>
        {
            drop_block::<M>();
            auto_save_plan(&value, mode, tries + 1).map(Next::Again)
        }
        other => other,
    }))
}
