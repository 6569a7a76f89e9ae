//! Partitions (issue 10; the plan is `design/partitions.md`): which bucket a
//! partition value falls in, and the hash tag each bucket's keys carry.
//!
//! Both rules decide where rows are stored, so they can never change for a
//! model with data: the test vectors below pin them. Nothing declares a
//! partitioned model's keys in bucket `b` start with `{<namespace>#b.<salt>}`.
//!
//! - **Bucket of a value**: XXH64 (seed 0) of the value's bytes, modulo the
//!   number of buckets. The bytes are the ones rom stores for the value (an
//!   integer in decimal, a string as its exact-match index key), so a key
//!   column and a column of the same type referencing it land in the same
//!   bucket. XXH64 is specified to the bit; the `xxhash-rust` crate is
//!   checked here against the specification's own vectors.
//! - **Tag of a bucket**: Redis Cluster puts a key in slot CRC16(tag) mod
//!   16384. Tags chosen naively (`users:0`, `users:1`...) fall unevenly over
//!   the slots, so a cluster's nodes would hold uneven numbers of buckets.
//!   Bucket `b` of `n` instead gets the tag `<base>#<b>.<salt>` with the
//!   first salt (0, 1, 2...) whose slot lies in the b-th of n equal stripes
//!   of the slot space: any cluster that splits the slots into equal ranges
//!   then holds about n / masters buckets per node.

use crate::storage::model::{Layout, Model, Schema};
use xxhash_rust::xxh64::xxh64;

/// The number of Redis Cluster slots.
pub(crate) const SLOTS: u32 = 16384;

/// The bucket (0..buckets) of a partition value, from its stored bytes.
/// `buckets` is at least 1.
pub(crate) fn bucket(value: &[u8], buckets: u16) -> u16 {
    (xxh64(value, 0) % u64::from(buckets.max(1))) as u16
}

/// The Redis Cluster slot of a hash tag's content (what is between the
/// braces), as `CLUSTER KEYSLOT` computes it for `{tag}`.
pub(crate) fn tag_slot(tag: &[u8]) -> u16 {
    crc16::State::<crc16::XMODEM>::calculate(tag) % SLOTS as u16
}

/// The first slot of bucket b's stripe: stripe b of n covers
/// `[start(b), start(b + 1))`.
fn stripe_start(b: u32, n: u32) -> u32 {
    b * SLOTS / n
}

/// The hash tag content of bucket `b` of `buckets` for a model or group
/// whose unpartitioned tag is `base`: `<base>#<b>.<salt>`, its slot in the
/// bucket's stripe.
pub(crate) fn bucket_tag(base: &str, b: u16, buckets: u16) -> String {
    let n = u32::from(buckets.max(1));
    let b32 = u32::from(b) % n;
    let (lo, hi) = (stripe_start(b32, n), stripe_start(b32 + 1, n));
    // every stripe is at least 16 slots wide (n <= 1024), so a salt is found
    // after about n tries; the loop is bounded all the same
    let prefix = format!("{base}#{b32}.");
    let mut tag = String::with_capacity(prefix.len() + 6);
    for salt in 0u32..(1 << 22) {
        tag.clear();
        tag.push_str(&prefix);
        tag.push_str(&salt.to_string());
        let slot = u32::from(tag_slot(tag.as_bytes()));
        if (lo..hi).contains(&slot) {
            return tag;
        }
    }
    // unreachable for any n <= 1 << 14: CRC16 takes every value over the
    // salts long before 1 << 22 of them
    prefix
}

impl Layout {
    /// The layouts of a model partitioned into `buckets`, one per bucket:
    /// bucket b's keys start with `{namespace#b.salt}` (see the module).
    ///
    /// ```
    /// use rom_dsl::__private::{Layout, Schema};
    /// let s = Schema { name: "User", namespace: "users", key_name: "id", auto_key: false, columns: &[], unique_together: &[] };
    /// let l = Layout::partitioned(&s, 8);
    /// assert_eq!(l.len(), 8);
    /// assert_eq!(l[0].row_key(b"7"), b"{users#0.12}:row:7");
    /// ```
    pub fn partitioned(s: &Schema, buckets: u16) -> Vec<Layout> {
        Layout::partitioned_in(s, None, buckets)
    }

    /// [`Layout::partitioned`] for a model alone (`group` `None`) or in a
    /// partitioned group: bucket b's keys then start with
    /// `{group#b.salt}/namespace`, the group's bucket tags, shared by its
    /// models (so rows of one bucket of several models are in one slot).
    ///
    /// ```
    /// use rom_dsl::__private::{Layout, Schema};
    /// let s = Schema { name: "Order", namespace: "orders", key_name: "id", auto_key: true, columns: &[], unique_together: &[] };
    /// let l = Layout::partitioned_in(&s, Some("shop"), 8);
    /// assert_eq!(l[0].row_key(b"7"), b"{shop#0.2}/orders:row:7");
    /// ```
    pub fn partitioned_in(s: &Schema, group: Option<&str>, buckets: u16) -> Vec<Layout> {
        (0..buckets)
            .map(|b| {
                let prefix = match group {
                    Some(g) => format!("{{{}}}/{}", bucket_tag(g, b, buckets), s.namespace),
                    None => format!("{{{}}}", bucket_tag(s.namespace, b, buckets)),
                };
                Layout::with_prefix(s, prefix)
            })
            .collect()
    }
}

/// The bucket of the row whose member (encoded key) is `member`, for a
/// partitioned model (`None` for a model in one slot).
pub(crate) fn bucket_of<M: Model>(member: &[u8]) -> Option<u16> {
    (M::BUCKETS > 0).then(|| bucket(member, M::BUCKETS))
}

/// The layout holding the row whose member is `member`: its bucket's for a
/// partitioned model, the model's one layout otherwise.
pub(crate) fn layout_for<M: Model>(member: &[u8]) -> &'static Layout {
    match (bucket_of::<M>(member), M::bucket_layouts()) {
        (Some(b), ls) if !ls.is_empty() => &ls[usize::from(b) % ls.len()],
        _ => M::layout(),
    }
}

/// The bucket a new row of a model partitioned by a column falls in: its
/// value's (`None` for a model partitioned by its key, or not at all).
pub(crate) fn value_bucket<M: Model>(cells: &[crate::storage::model::Cell]) -> Option<u16> {
    let c = M::PARTITION_BY?;
    let v = cells.get(c)?.exact.as_deref().unwrap_or_default();
    Some(bucket(v, M::BUCKETS))
}

/// The layout a row is written to: its key's bucket; for a model
/// partitioned by a column, that must also be its value's bucket (keys are
/// chosen so), else the write is refused: a row cannot move between
/// partitions.
pub(crate) fn layout_for_row<M: Model>(
    member: &[u8],
    cells: &[crate::storage::model::Cell],
) -> crate::error::Result<&'static Layout> {
    let l = layout_for::<M>(member);
    match (value_bucket::<M>(cells), bucket_of::<M>(member)) {
        (Some(v), Some(k)) if v != k => {
            let col = M::PARTITION_BY
                .and_then(|c| M::SCHEMA.columns.get(c))
                .map_or("?", |c| c.name);
            Err(crate::error::Error::Validation {
                model: M::SCHEMA.name,
                column: col.to_owned(),
                reason: format!(
                    "its value falls in partition {v} and the key {} in partition {k}: a row cannot move between partitions (delete it and insert it again), and a new row's key is best left empty (rom picks one in its partition)",
                    String::from_utf8_lossy(member)
                ),
            })
        }
        _ => Ok(l),
    }
}

/// The partitions marker of a partitioned model (`{ns}:partitions`, under
/// its base tag): the number of buckets its keys were made for, set by its
/// first block of keys (`ids.lua`).
pub(crate) fn marker<M: Model>() -> Vec<u8> {
    [&M::layout().tag[..], b":partitions"].concat()
}

/// The `{...}` hash tag a key starts with (empty when it starts with none).
/// Retagging replaces it: a model's base tag (`{shop}`, shared by a
/// group's models) by a bucket's (`{shop#3.1}`).
pub(crate) fn braced(key: &[u8]) -> Vec<u8> {
    match key.iter().position(|&b| b == b'}') {
        Some(end) if key.first() == Some(&b'{') => key[..=end].to_vec(),
        _ => Vec::new(),
    }
}

/// Refuses `what` (a query, `verify`) for a partitioned model, whose rows
/// are in many slots: a typed error instead of an answer from one slot.
/// Its table has no query methods, so this is reached only through generic
/// code (`Query::<M>::default()`, `verify::<M, _>`).
pub(crate) fn one_slot<M: Model>(what: &str) -> crate::error::Result<()> {
    if M::BUCKETS == 0 {
        return Ok(());
    }
    Err(crate::error::Error::Validation {
        model: M::SCHEMA.name,
        column: M::SCHEMA.key_name.to_owned(),
        reason: format!(
            "`{}` is partitioned ({} buckets): {what} over all its partitions is not supported yet; read and write its rows by key",
            M::SCHEMA.name,
            M::BUCKETS
        ),
    })
}

/// Positions of `members` grouped by the layout holding their rows, in
/// bucket order (one group, in order, for a model in one slot).
pub(crate) fn group_by_layout<M: Model>(members: &[Vec<u8>]) -> Vec<(&'static Layout, Vec<usize>)> {
    if M::BUCKETS == 0 {
        return vec![(M::layout(), (0..members.len()).collect())];
    }
    let mut groups: std::collections::BTreeMap<u16, Vec<usize>> = Default::default();
    for (i, m) in members.iter().enumerate() {
        groups.entry(bucket(m, M::BUCKETS)).or_default().push(i);
    }
    groups
        .into_values()
        .map(|idx| (layout_for::<M>(&members[idx[0]]), idx))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The most buckets a model may declare (`rom-macros` checks it).
    const MAX_BUCKETS: u16 = 1024;

    fn hex(v: u64) -> String {
        format!("{v:016x}")
    }

    #[test]
    fn xxh64_is_the_specified_function() {
        // the XXH64 specification's vectors (seed 0)
        assert_eq!(hex(xxh64(b"", 0)), "ef46db3751d8e999");
        assert_eq!(hex(xxh64(b"a", 0)), "d24ec4f1a98c6e5b");
        assert_eq!(hex(xxh64(b"abc", 0)), "44bc2cf5ad770999");
    }

    #[test]
    fn buckets_of_values_never_move() {
        // computed independently of this code (a separate implementation of
        // XXH64), for keys, an email and a UUID as rom stores them
        assert_eq!(hex(xxh64(b"1", 0)), "b7b41276360564d4");
        assert_eq!((bucket(b"1", 64), bucket(b"1", 8)), (20, 4));
        assert_eq!((bucket(b"42", 64), bucket(b"42", 8)), (57, 1));
        assert_eq!(
            (
                bucket(b"ann@example.com", 64),
                bucket(b"ann@example.com", 8)
            ),
            (7, 7)
        );
        let uuid = b"67e55044-10b1-426f-9247-bb680e5fe0c8";
        assert_eq!((bucket(uuid, 64), bucket(uuid, 8)), (56, 0));
        assert_eq!(bucket(b"anything", 1), 0);
    }

    #[test]
    fn values_spread_evenly_over_buckets() {
        let mut counts = [0u32; 64];
        for k in 1..=100_000u32 {
            counts[usize::from(bucket(k.to_string().as_bytes(), 64))] += 1;
        }
        let (lo, hi) = (
            *counts.iter().min().unwrap_or(&0),
            *counts.iter().max().unwrap_or(&0),
        );
        // mean 1,562.5; every bucket within 10%
        assert!(lo > 1406 && hi < 1719, "{lo}..{hi}");
    }

    #[test]
    fn slots_are_redis_cluster_slots() {
        // `CLUSTER KEYSLOT` of these keys on any Redis Cluster
        assert_eq!(tag_slot(b"foo"), 12182);
        assert_eq!(tag_slot(b"bar"), 5061);
        assert_eq!(tag_slot(b"baz"), 4813);
        assert_eq!(tag_slot(b"users"), tag_slot(b"users"));
    }

    #[test]
    fn bucket_tags_never_move() {
        let users: Vec<(String, u16)> = (0..8)
            .map(|b| {
                let t = bucket_tag("users", b, 8);
                let s = tag_slot(t.as_bytes());
                (t, s)
            })
            .collect();
        let want = [
            ("users#0.12", 1643),
            ("users#1.1", 3783),
            ("users#2.1", 6039),
            ("users#3.12", 7607),
            ("users#4.1", 9527),
            ("users#5.13", 10767),
            ("users#6.13", 12755),
            ("users#7.1", 15463),
        ];
        for ((t, s), (wt, ws)) in users.iter().zip(want) {
            assert_eq!((t.as_str(), *s), (wt, ws));
        }
        assert_eq!(bucket_tag("shop", 0, 8), "shop#0.2");
        assert_eq!(bucket_tag("shop", 7, 8), "shop#7.11");
    }

    /// The buckets a cluster of `masters` equal slot ranges holds per node.
    fn per_node(buckets: u16, masters: u32) -> Vec<u32> {
        let mut out = vec![0u32; masters as usize];
        for b in 0..buckets {
            let slot = u32::from(tag_slot(bucket_tag("users", b, buckets).as_bytes()));
            // redis-cli --cluster create gives node i the slots from
            // i * 16384 / masters (rounded the same way)
            let node = (0..masters)
                .rev()
                .find(|&i| slot >= i * SLOTS / masters)
                .unwrap_or(0);
            out[node as usize] += 1;
        }
        out
    }

    #[test]
    fn bucket_tags_spread_evenly_over_any_cluster() {
        for buckets in [8u16, 16, 64, 256, MAX_BUCKETS] {
            for masters in 1..=6u32 {
                let counts = per_node(buckets, masters);
                let mean = f64::from(buckets) / f64::from(masters);
                for c in &counts {
                    assert!(
                        (f64::from(*c) - mean).abs() <= 2.0,
                        "{buckets} buckets over {masters} masters: {counts:?}"
                    );
                }
            }
        }
        // the test cluster's shape: 64 buckets, 3 masters
        assert_eq!(per_node(64, 3), vec![21, 22, 21]);
    }

    #[test]
    fn every_bucket_tag_lies_in_its_stripe() {
        for buckets in [1u16, 2, 3, 7, 100, MAX_BUCKETS] {
            let n = u32::from(buckets);
            for b in 0..buckets {
                let slot = u32::from(tag_slot(bucket_tag("g", b, buckets).as_bytes()));
                let b = u32::from(b);
                assert!(
                    (stripe_start(b, n)..stripe_start(b + 1, n)).contains(&slot),
                    "bucket {b} of {buckets}: slot {slot}"
                );
            }
        }
    }
}
