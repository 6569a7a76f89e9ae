//! Plans over several slots (the buckets of a partitioned model): one plan
//! per slot, their results merged at the end. As one [`Plan`] ([`serial`])
//! the calls run one after another, each one round trip (with its own
//! continuations): routed correctly by every connection kind. A [`Fan`]
//! run by the terminals goes as one pipeline where the connection takes a
//! pipeline across slots (a single server), and falls back to one call
//! after another where it does not: a sync cluster connection says so
//! (`supports_pipelining`), an async one refuses the pipeline before
//! sending it.

use crate::error::Result;
use crate::plans::plan::{Next, Plan};
use std::collections::VecDeque;

/// The merge of a fan's part results.
pub(crate) type Merge<P, T> = Box<dyn FnOnce(Vec<P>) -> Result<T> + Send>;

/// Runs `first`, then each of `rest`, and merges their results (in that
/// order). Each part is one call to one slot; the plan's explanation is the
/// first part's, with a step naming the others' first keys.
pub(crate) fn serial<P: Send + 'static, T: 'static>(
    first: Plan<P>,
    rest: Vec<Plan<P>>,
    merge: impl FnOnce(Vec<P>) -> Result<T> + Send + 'static,
) -> Plan<T> {
    let n = rest.len();
    let others: Vec<String> = rest
        .iter()
        .filter_map(|p| p.keys.first().map(|k| crate::error::show(k)))
        .collect();
    let read_only = first.read_only;
    let plan = chain(first, rest.into(), Vec::new(), Box::new(merge), read_only);
    if n == 0 {
        plan
    } else {
        plan.step(format!(
            "then {n} more call(s), one per partition, one after another: {}",
            others.join(" ")
        ))
    }
}

fn chain<P: Send + 'static, T: 'static>(
    part: Plan<P>,
    mut rest: VecDeque<Plan<P>>,
    mut done: Vec<P>,
    merge: Merge<P, T>,
    read_only: bool,
) -> Plan<T> {
    part.then(move |next| match next {
        Next::Again(p) => Ok(Next::Again(chain(p, rest, done, merge, read_only))),
        Next::Done(p) => {
            done.push(p);
            match rest.pop_front() {
                None => merge(done).map(Next::Done),
                Some(next) => {
                    let next = if read_only { next.read_only() } else { next };
                    Ok(Next::Again(chain(next, rest, done, merge, read_only)))
                }
            }
        }
    })
}

/// `plans` grouped by the hash tag of their first key (the slot they run
/// in), each group with the positions of its plans, in first-seen order:
/// a batch runs one pipeline per group, since a pipeline must stay in one
/// slot on a cluster. One group for the plans of a model in one slot.
pub(crate) fn by_slot<T>(plans: Vec<Plan<T>>) -> Vec<(Vec<usize>, Vec<Plan<T>>)> {
    type Group<T> = (Vec<u8>, Vec<usize>, Vec<Plan<T>>);
    let mut groups: Vec<Group<T>> = Vec::new();
    for (i, p) in plans.into_iter().enumerate() {
        let tag = p
            .keys
            .first()
            .map(|k| hash_tag(k).to_vec())
            .unwrap_or_default();
        match groups.iter_mut().find(|g| g.0 == tag) {
            Some(g) => {
                g.1.push(i);
                g.2.push(p);
            }
            None => groups.push((tag, vec![i], vec![p])),
        }
    }
    groups.into_iter().map(|(_, i, p)| (i, p)).collect()
}

/// What Redis Cluster hashes of a key: the text between the first `{` and
/// the first `}` after it when that is not empty, else the whole key.
pub(crate) fn hash_tag(key: &[u8]) -> &[u8] {
    if let Some(open) = key.iter().position(|&b| b == b'{')
        && let Some(len) = key[open + 1..].iter().position(|&b| b == b'}')
        && len > 0
    {
        return &key[open + 1..open + 1 + len];
    }
    key
}

/// Runs `plans` one pipeline per slot ([`by_slot`]); the results in the
/// order of `plans`.
pub(crate) fn run_by_slot<T, C: crate::connection::Connection + ?Sized>(
    plans: Vec<Plan<T>>,
    conn: &mut C,
) -> Result<Vec<Result<T>>> {
    let n = plans.len();
    let mut out: Vec<Option<Result<T>>> = (0..n).map(|_| None).collect();
    // a sync cluster connection fails a whole pipeline on one error reply
    // (redis-rs), so a node that lacks rom's library would fail the batch:
    // the first call of each slot goes alone (loading the library when
    // needed), the rest as one pipeline
    let alone_first = !conn.supports_pipelining();
    for (idx, mut group) in by_slot(plans) {
        let mut idx = idx.into_iter();
        if alone_first && !group.is_empty() {
            let first = group.remove(0);
            if let Some(i) = idx.next() {
                out[i] = Some(first.run(conn));
            }
        }
        for (i, r) in idx.zip(crate::plan::run_all(group, conn)?) {
            out[i] = Some(r);
        }
    }
    Ok(out.into_iter().flatten().collect())
}

/// The plans of a batch's rows of model `M`: by slot ([`run_by_slot`]), or,
/// for a model with uniques claimed across partitions (each row's save is
/// several calls), one row after another, so that each row sees the claims
/// of the rows before it (a value claimed twice in one batch is then a
/// violation for the second row, as in one slot).
pub(crate) fn run_rows<M: crate::storage::model::Model, T, C>(
    plans: Vec<Plan<T>>,
    conn: &mut C,
) -> Result<Vec<Result<T>>>
where
    C: crate::connection::Connection + ?Sized,
{
    if crate::plans::xuniq::has_remote::<M>() {
        return Ok(plans.into_iter().map(|p| p.run(conn)).collect());
    }
    run_by_slot(plans, conn)
}

/// [`run_rows`] on an async connection.
#[cfg(feature = "tokio")]
pub(crate) async fn run_rows_async<M: crate::storage::model::Model, T, C>(
    plans: Vec<Plan<T>>,
    conn: &mut C,
) -> Result<Vec<Result<T>>>
where
    C: crate::connection::AsyncConnection,
{
    if crate::plans::xuniq::has_remote::<M>() {
        let mut out = Vec::with_capacity(plans.len());
        for p in plans {
            out.push(p.run_async(conn).await);
        }
        return Ok(out);
    }
    run_by_slot_async(plans, conn).await
}

/// [`run_by_slot`] on an async connection.
#[cfg(feature = "tokio")]
pub(crate) async fn run_by_slot_async<T, C: crate::connection::AsyncConnection>(
    plans: Vec<Plan<T>>,
    conn: &mut C,
) -> Result<Vec<Result<T>>> {
    let n = plans.len();
    let mut out: Vec<Option<Result<T>>> = (0..n).map(|_| None).collect();
    for (idx, group) in by_slot(plans) {
        for (i, r) in idx
            .into_iter()
            .zip(crate::plan::run_all_async(group, conn).await?)
        {
            out[i] = Some(r);
        }
    }
    Ok(out.into_iter().flatten().collect())
}

/// A plan per slot and the merge of their results: run as one pipeline on
/// a connection that pipelines across slots (a single server: one round
/// trip), or one call after another (a cluster), or as the serial chain of
/// [`serial`] when given as a [`Plan`].
pub(crate) struct Fan<P, T> {
    pub(crate) parts: Vec<Plan<P>>,
    pub(crate) merge: Merge<P, T>,
}

impl<P: Send + 'static, T: 'static> Fan<P, T> {
    /// The fan as one plan: its parts one after another.
    pub(crate) fn plan(self) -> Option<Plan<T>> {
        let mut parts = self.parts.into_iter();
        let first = parts.next()?;
        Some(serial(first, parts.collect(), self.merge))
    }

    /// Runs the fan: one pipeline when the connection takes one (every
    /// part's continuations follow on their own), else part by part.
    pub(crate) fn run<C: crate::connection::Connection + ?Sized>(self, conn: &mut C) -> Result<T> {
        let results = if conn.supports_pipelining() && self.parts.len() > 1 {
            crate::plan::run_all(self.parts, conn)?
                .into_iter()
                .collect::<Result<Vec<P>>>()?
        } else {
            let mut out = Vec::with_capacity(self.parts.len());
            for p in self.parts {
                out.push(p.run(conn)?);
            }
            out
        };
        (self.merge)(results)
    }

    /// [`Fan::run`] on an async connection, as one pipeline.
    #[cfg(feature = "tokio")]
    async fn run_pipelined_async<C: crate::connection::AsyncConnection>(
        self,
        conn: &mut C,
    ) -> Result<T> {
        let results = crate::plan::run_all_async(self.parts, conn)
            .await?
            .into_iter()
            .collect::<Result<Vec<P>>>()?;
        (self.merge)(results)
    }

    /// [`Fan::run`] on an async connection, part by part.
    #[cfg(feature = "tokio")]
    async fn run_serial_async<C: crate::connection::AsyncConnection>(
        self,
        conn: &mut C,
    ) -> Result<T> {
        let mut out = Vec::with_capacity(self.parts.len());
        for p in self.parts {
            out.push(p.run_async(conn).await?);
        }
        (self.merge)(out)
    }
}

/// Runs the fan `make` builds on an async connection: one pipeline, unless
/// the connection refuses a pipeline across slots before sending anything
/// (an async cluster connection does), then every part at once, each on a
/// clone of the connection (the cluster connection routes each to its
/// node; `make` builds the fan again: plans run once).
#[cfg(feature = "tokio")]
pub(crate) async fn run_async<P: Send + 'static, T: 'static, C>(
    make: impl Fn() -> Result<Fan<P, T>>,
    conn: &mut C,
) -> Result<T>
where
    C: crate::connection::AsyncConnection + Clone,
{
    let fan = make()?;
    if fan.parts.len() < 2 {
        return fan.run_serial_async(conn).await;
    }
    match fan.run_pipelined_async(conn).await {
        Err(crate::error::Error::Redis(e)) if refused_across_slots(&e) => {
            make()?.run_concurrent_async(conn).await
        }
        r => r,
    }
}

#[cfg(feature = "tokio")]
impl<P: Send + 'static, T: 'static> Fan<P, T> {
    /// Every part at once, each on its own clone of the connection.
    async fn run_concurrent_async<C>(self, conn: &C) -> Result<T>
    where
        C: crate::connection::AsyncConnection + Clone,
    {
        let calls = self.parts.into_iter().map(|p| {
            let mut c = conn.clone();
            async move { p.run_async(&mut c).await }
        });
        let out = futures_util::future::join_all(calls)
            .await
            .into_iter()
            .collect::<Result<Vec<P>>>()?;
        (self.merge)(out)
    }
}

/// Whether redis-rs refused a pipeline across slots before sending it.
#[cfg(feature = "tokio")]
fn refused_across_slots(e: &redis::RedisError) -> bool {
    e.to_string().contains("Received crossed slots in pipeline")
}

#[cfg(test)]
mod tests {
    use super::hash_tag;

    #[test]
    fn hash_tags_follow_redis_cluster_rules() {
        assert_eq!(hash_tag(b"{users#3.1}:row:7"), b"users#3.1");
        assert_eq!(hash_tag(b"{shop}/orders:ids"), b"shop");
        assert_eq!(hash_tag(b"{}:x"), b"{}:x");
        assert_eq!(hash_tag(b"plain"), b"plain");
        assert_eq!(hash_tag(b"a{b}{c}"), b"b");
    }
}
