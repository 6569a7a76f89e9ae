//! Auto-increment keys of a partitioned model. Its rows are spread over
//! many slots, so the counter (`{ns}:seq`, in the model's base tag) cannot
//! be read in the call that writes a row. Keys come instead from **blocks**:
//! one `INCRBY {ns}:seq <size>` reserves `size` keys, which this process
//! hands out one per insert. A busy writer pays one extra round trip per
//! block, not per row. Keys are unique (the counter only grows, and every
//! insert checks that its key is free), not dense (a process that stops
//! loses the rest of its block), and not ordered across processes.
//!
//! A model partitioned by a column needs more: a row's key must fall in the
//! bucket of its partition value (so that `get` by key finds it). Each block
//! is sorted into one queue per bucket (blocks are then at least 16 keys per
//! bucket), and an insert takes from its value's queue.
//!
//! The blocks are held per model for the whole process. When a key turns
//! out to be taken (a row inserted with an explicit key, or a block drawn
//! from another server or before a flush), the insert drops the block,
//! reserves a new one and tries again, up to [`TRIES`] times.

use crate::error::{Error, Result};
use crate::plan::Plan;
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
    /// A model partitioned by a column: the keys of each bucket.
    queues: HashMap<u16, std::collections::VecDeque<u64>>,
}

/// The pools, by namespace and number of buckets (a block is good for the
/// bucket count it was reserved under only).
type Pools = Mutex<HashMap<(&'static str, u16), Pool>>;

fn pools() -> &'static Pools {
    static POOLS: std::sync::OnceLock<Pools> = std::sync::OnceLock::new();
    POOLS.get_or_init(Default::default)
}

fn with_pool<M: Model, T>(f: impl FnOnce(&mut Pool) -> T) -> T {
    let mut all = pools()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    f(all.entry((M::SCHEMA.namespace, M::BUCKETS)).or_default())
}

/// A key from the block, if one is left: any key, or one of `bucket`.
pub(crate) fn take<M: Model>(bucket: Option<u16>) -> Option<u64> {
    with_pool::<M, _>(|p| match bucket {
        Some(b) => p.queues.get_mut(&b)?.pop_front(),
        None => (p.next < p.end).then(|| {
            p.next += 1;
            p.next - 1
        }),
    })
}

/// How many keys the pool holds: any, or of `bucket`.
fn held<M: Model>(bucket: Option<u16>) -> u64 {
    with_pool::<M, _>(|p| match bucket {
        Some(b) => p.queues.get(&b).map_or(0, |q| q.len() as u64),
        None => p.end - p.next,
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
        // a block sorted into buckets: about 16 keys for each
        p.size
            .max(16 * u64::from(M::BUCKETS) * u64::from(M::PARTITION_BY.is_some()))
    })
}

/// Keeps the block `[first, first + size)` that `INCRBY` answered (sorted
/// into its buckets' queues for a model partitioned by a column).
fn refill<M: Model>(first: u64, size: u64) {
    with_pool::<M, _>(|p| {
        if M::PARTITION_BY.is_some() {
            for id in first..first.saturating_add(size) {
                let b = crate::storage::partition::bucket(id.to_string().as_bytes(), M::BUCKETS);
                p.queues.entry(b).or_default().push_back(id);
            }
        } else {
            p.next = first;
            p.end = first.saturating_add(size);
        }
    });
}

/// Forgets the keys held for `bucket` (a key of them was taken).
fn drop_block<M: Model>(bucket: Option<u16>) {
    with_pool::<M, _>(|p| match bucket {
        Some(b) => {
            p.queues.remove(&b);
        }
        None => p.end = p.next,
    });
}

/// The plan that fills the pool until it holds a key for each of `needs`
/// (one entry per row: any key, or a key of that bucket), one `INCRBY` per
/// block; `None` when it holds them already. A batch runs it first, so its
/// rows take their keys without a round trip each.
pub(crate) fn fill_plan<M: Model>(needs: Vec<Option<u16>>) -> Option<Plan<()>> {
    let mut short: HashMap<Option<u16>, u64> = HashMap::new();
    for b in &needs {
        *short.entry(*b).or_default() += 1;
    }
    let missing: u64 = short
        .iter()
        .map(|(b, n)| n.saturating_sub(held::<M>(*b)))
        .max()
        .unwrap_or(0);
    if missing == 0 {
        return None;
    }
    // a bucket's share of a block is about 1 / buckets of it
    let per = if M::PARTITION_BY.is_some() {
        u64::from(M::BUCKETS)
    } else {
        1
    };
    let size = (missing * per).max(block_size::<M>()).min(1 << 20);
    Some(reserve_plan::<M>(size).then(move |r| match r {
        Next::Done(first) => {
            refill::<M>(first, size);
            Ok(match fill_plan::<M>(needs) {
                Some(p) => Next::Again(p),
                None => Next::Done(()),
            })
        }
        Next::Again(_) => Err(Error::decode(b"(reserve)", None, "unexpected continuation")),
    }))
}

/// The plan that reserves `n` keys: the function `id_block` (`INCRBY
/// {ns}:seq n`, after checking that the model's data was written with its
/// declared number of buckets: the marker `{ns}:partitions`), decoded as
/// the first key of the block.
pub(crate) fn reserve_plan<M: Model>(n: u64) -> Plan<u64> {
    let args = crate::wire::ids::IdBlockArgs {
        seq: M::layout().seq.clone(),
        marker: crate::storage::partition::marker::<M>(),
        size: n,
        buckets: M::BUCKETS,
    };
    Plan::call(&args, move |v| {
        let parts = crate::wire::reply_strings(v)?;
        let word = parts.first().map(Vec::as_slice);
        let arg = parts.get(1).map(|a| String::from_utf8_lossy(a).into_owned());
        match (word, arg) {
            (Some(b"ok"), Some(last)) => match last.parse::<u64>() {
                Ok(last) if last >= n => Ok(last - n + 1),
                _ => Err(Error::decode(&M::layout().seq, None, format!("not a counter: {last}"))),
            },
            (Some(b"partitions"), Some(stored)) => Err(Error::Validation {
                model: M::SCHEMA.name,
                column: "(partitions)".into(),
                reason: format!(
                    "its data was written with {stored} buckets and it now declares {}: every key's name depends on the number, so the rows written before are not where rom looks; declare `buckets = {stored}` again (changing the number of a model with data is not supported)",
                    M::BUCKETS
                ),
            }),
            (Some(b"wrongtype"), Some(key)) => Err(Error::decode(
                key.as_bytes(),
                None,
                "the key is not a string, as rom expects",
            )),
            _ => Err(Error::decode(b"(id_block)", None, "unexpected reply")),
        }
    })
    .step(format!(
        "reserve {n} key(s) of {} (partitioned: keys come in blocks; checks its {} buckets)",
        M::SCHEMA.name,
        M::BUCKETS
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
    let bucket = crate::storage::partition::value_bucket::<M>(&value.cells()?);
    let Some(id) = take::<M>(bucket) else {
        return match fill_plan::<M>(vec![bucket]) {
            Some(fill) => Ok(after_fill(fill, value.clone(), mode, tries)),
            // another thread filled the pool meanwhile
            None => auto_save_plan(value, mode, tries),
        };
    };
    let mut row = value.clone();
    row.set_key(key_of::<M>(id)?);
    let value = value.clone();
    let plan = crate::plans::write::save_plan(&row, None, mode, false)?;
    Ok(plan.then_result(move |r| match r {
        Err(Error::UniqueViolation { column, .. })
            if column == M::SCHEMA.key_name && tries + 1 < TRIES =>
        {
            drop_block::<M>(bucket);
            auto_save_plan(&value, mode, tries + 1).map(Next::Again)
        }
        other => other,
    }))
}

/// The pool's filling, then the insert of `value`.
fn after_fill<M: Model>(
    fill: Plan<()>,
    value: M,
    mode: SaveMode,
    tries: u32,
) -> Plan<Saved<M::Key>> {
    fill.then_result(move |r| match r? {
        Next::Done(()) => auto_save_plan(&value, mode, tries).map(Next::Again),
        Next::Again(p) => Ok(Next::Again(after_fill(p, value, mode, tries))),
    })
}
