//! `SortedSet<T>`: a Redis sorted set of a row.

use super::{
    AnyStructure, Core, HomeOf, Structure, array_of, conflicts, count_of, num, pairs_of, reads,
    required, required_score, score_of,
};
use crate::error::Result;
use crate::plan::Plan;
use crate::storage::structures::StructureKind;
use crate::value::{Value, float_repr};
use std::marker::PhantomData;

/// A sorted-set field of a model: a Redis sorted set (members `T`, each with
/// a score) under the row's hash tag. Members order by score, then by their
/// stored bytes (Redis' order).
///
/// Reads go to Redis (one round trip each; ranges read one page); writes are
/// recorded and applied when the row is saved, in the order they were made,
/// atomically with its columns. Reads do not see writes not yet saved.
/// Scores must be numbers: a NaN score (or an infinite increment) makes the
/// save fail with [`Error::Validation`](crate::Error::Validation) before
/// anything is sent.
///
/// ```
/// use rom_dsl::structure::SortedSet;
/// let mut scores: SortedSet<String> = SortedSet::default();
/// scores.insert("ada", 12.0);
/// scores.add("ada", 3.0);
/// assert_eq!(scores.pending(), 2);
/// ```
pub struct SortedSet<T> {
    pub(crate) core: Core,
    _t: PhantomData<fn() -> T>,
}

impl<T: Value> SortedSet<T> {
    /// An empty sorted set (what a new row's starts as).
    ///
    /// ```
    /// use rom_dsl::structure::SortedSet;
    /// assert_eq!(SortedSet::<String>::new().pending(), 0);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of writes recorded and not yet saved.
    ///
    /// ```
    /// use rom_dsl::structure::SortedSet;
    /// let mut z: SortedSet<String> = SortedSet::new();
    /// z.insert("a", 1.0);
    /// assert_eq!(z.pending(), 1);
    /// ```
    pub fn pending(&self) -> usize {
        self.core.pending.len()
    }

    conflicts!("SortedSet<String>");

    /// Adds `member` with `score`, or sets its score (`ZADD`, at save).
    ///
    /// ```
    /// use rom_dsl::structure::SortedSet;
    /// let mut z: SortedSet<String> = SortedSet::new();
    /// z.insert("ada", 12.5);
    /// ```
    pub fn insert(&mut self, member: impl Into<T>, score: f64) {
        if score.is_nan() {
            self.core.refuse("a sorted set score cannot be NaN".into());
        }
        self.core.push(
            "za",
            vec![float_repr(score).into_bytes(), member.into().encode()],
        );
    }

    /// Adds `delta` to the score of `member` (`ZINCRBY`, at save; a missing
    /// member starts at 0).
    ///
    /// ```
    /// use rom_dsl::structure::SortedSet;
    /// let mut z: SortedSet<String> = SortedSet::new();
    /// z.add("ada", 1.0);
    /// ```
    pub fn add(&mut self, member: impl Into<T>, delta: f64) {
        if !delta.is_finite() {
            self.core.refuse(format!(
                "a sorted set increment must be finite, not {delta}"
            ));
        }
        self.core.push(
            "zi",
            vec![float_repr(delta).into_bytes(), member.into().encode()],
        );
    }

    /// Removes `member` (`ZREM`, at save).
    ///
    /// ```
    /// use rom_dsl::structure::SortedSet;
    /// let mut z: SortedSet<String> = SortedSet::new();
    /// z.remove(&"ada".to_string());
    /// ```
    pub fn remove(&mut self, member: &T) {
        self.core.push("zr", vec![member.encode()]);
    }

    /// Removes every member (`DEL`, at save).
    ///
    /// ```
    /// use rom_dsl::structure::SortedSet;
    /// let mut z: SortedSet<String> = SortedSet::new();
    /// z.clear();
    /// ```
    pub fn clear(&mut self) {
        self.core.push("cl", Vec::new());
    }

    /// The plan of [`SortedSet::len`].
    ///
    /// ```
    /// # use rom_dsl::{structure::SortedSet, Result};
    /// fn show(z: &SortedSet<String>) -> Result<String> {
    ///     Ok(z.len_plan()?.explain())
    /// }
    /// ```
    pub fn len_plan(&self) -> Result<Plan<u64>> {
        self.core.read("ZCARD", Vec::new(), count_of)
    }

    /// The plan of [`SortedSet::score`].
    ///
    /// ```
    /// # use rom_dsl::{structure::SortedSet, Result};
    /// fn show(z: &SortedSet<String>) -> Result<String> {
    ///     Ok(z.score_plan(&"ada".into())?.explain())
    /// }
    /// ```
    pub fn score_plan(&self, member: &T) -> Result<Plan<Option<f64>>> {
        self.core.read("ZSCORE", vec![member.encode()], score_of)
    }

    /// The plan of [`SortedSet::rank`].
    ///
    /// ```
    /// # use rom_dsl::{structure::SortedSet, Result};
    /// fn show(z: &SortedSet<String>) -> Result<String> {
    ///     Ok(z.rank_plan(&"ada".into())?.explain())
    /// }
    /// ```
    pub fn rank_plan(&self, member: &T) -> Result<Plan<Option<u64>>> {
        self.core
            .read("ZRANK", vec![member.encode()], |key, v| match v {
                redis::Value::Nil => Ok(None),
                v => count_of(key, v).map(Some),
            })
    }

    /// The plan of [`SortedSet::range`].
    ///
    /// ```
    /// # use rom_dsl::{structure::SortedSet, Result};
    /// fn show(z: &SortedSet<String>) -> Result<String> {
    ///     Ok(z.range_plan(0, 9)?.explain())
    /// }
    /// ```
    pub fn range_plan(&self, start: i64, stop: i64) -> Result<Plan<Vec<(T, f64)>>> {
        self.core.read(
            "ZRANGE",
            vec![num(start), num(stop), b"WITHSCORES".to_vec()],
            with_scores::<T>,
        )
    }

    /// The plan of [`SortedSet::rev_range`].
    ///
    /// ```
    /// # use rom_dsl::{structure::SortedSet, Result};
    /// fn show(z: &SortedSet<String>) -> Result<String> {
    ///     Ok(z.rev_range_plan(0, 9)?.explain())
    /// }
    /// ```
    pub fn rev_range_plan(&self, start: i64, stop: i64) -> Result<Plan<Vec<(T, f64)>>> {
        self.core.read(
            "ZRANGE",
            vec![
                num(start),
                num(stop),
                b"REV".to_vec(),
                b"WITHSCORES".to_vec(),
            ],
            with_scores::<T>,
        )
    }

    /// The plan of [`SortedSet::range_by_score`].
    ///
    /// ```
    /// # use rom_dsl::{structure::SortedSet, Result};
    /// fn show(z: &SortedSet<String>) -> Result<String> {
    ///     Ok(z.range_by_score_plan(0.0, 100.0, 0, 10)?.explain())
    /// }
    /// ```
    pub fn range_by_score_plan(
        &self,
        min: f64,
        max: f64,
        offset: u64,
        count: u64,
    ) -> Result<Plan<Vec<(T, f64)>>> {
        if min.is_nan() || max.is_nan() {
            return self
                .core
                .read("ZRANGE", vec![num(1), num(0)], with_scores::<T>);
        }
        self.core.read(
            "ZRANGE",
            vec![
                float_repr(min).into_bytes(),
                float_repr(max).into_bytes(),
                b"BYSCORE".to_vec(),
                b"LIMIT".to_vec(),
                num(offset),
                num(count),
                b"WITHSCORES".to_vec(),
            ],
            with_scores::<T>,
        )
    }

    /// The plan of [`SortedSet::count_between`].
    ///
    /// ```
    /// # use rom_dsl::{structure::SortedSet, Result};
    /// fn show(z: &SortedSet<String>) -> Result<String> {
    ///     Ok(z.count_between_plan(0.0, f64::INFINITY)?.explain())
    /// }
    /// ```
    pub fn count_between_plan(&self, min: f64, max: f64) -> Result<Plan<u64>> {
        if min.is_nan() || max.is_nan() {
            return self.core.read("ZCOUNT", vec![num(1), num(0)], count_of);
        }
        self.core.read(
            "ZCOUNT",
            vec![float_repr(min).into_bytes(), float_repr(max).into_bytes()],
            count_of,
        )
    }

    reads! {
        /// The number of members stored (`ZCARD`).
        ///
        /// ```
        /// # use rom_dsl::{structure::SortedSet, Result};
        /// fn size(z: &SortedSet<String>, conn: &mut redis::Connection) -> Result<u64> {
        ///     z.len(conn)
        /// }
        /// ```
        fn len, len_async, len_plan() -> u64;
        /// The score of `member` (`ZSCORE`), or `None`.
        ///
        /// ```
        /// # use rom_dsl::{structure::SortedSet, Result};
        /// fn points(z: &SortedSet<String>, conn: &mut redis::Connection) -> Result<Option<f64>> {
        ///     z.score(&"ada".into(), conn)
        /// }
        /// ```
        fn score, score_async, score_plan(member: &T) -> Option<f64>;
        /// The rank of `member` (`ZRANK`: 0 for the lowest score), or `None`.
        ///
        /// ```
        /// # use rom_dsl::{structure::SortedSet, Result};
        /// fn place(z: &SortedSet<String>, conn: &mut redis::Connection) -> Result<Option<u64>> {
        ///     z.rank(&"ada".into(), conn)
        /// }
        /// ```
        fn rank, rank_async, rank_plan(member: &T) -> Option<u64>;
        /// The members ranked `start` to `stop` (both included, lowest score
        /// first; negative ranks count from the highest), with their scores
        /// (`ZRANGE ... WITHSCORES`).
        ///
        /// ```
        /// # use rom_dsl::{structure::SortedSet, Result};
        /// fn lowest(z: &SortedSet<String>, conn: &mut redis::Connection) -> Result<Vec<(String, f64)>> {
        ///     z.range(0, 9, conn)
        /// }
        /// ```
        fn range, range_async, range_plan(start: i64, stop: i64) -> Vec<(T, f64)>;
        /// As [`SortedSet::range`], highest score first (`ZRANGE ... REV`).
        ///
        /// ```
        /// # use rom_dsl::{structure::SortedSet, Result};
        /// fn top(z: &SortedSet<String>, conn: &mut redis::Connection) -> Result<Vec<(String, f64)>> {
        ///     z.rev_range(0, 9, conn)
        /// }
        /// ```
        fn rev_range, rev_range_async, rev_range_plan(start: i64, stop: i64) -> Vec<(T, f64)>;
        /// The members with `min <= score <= max`, lowest first, skipping
        /// `offset` and returning at most `count` (`ZRANGE ... BYSCORE
        /// LIMIT`). Infinite bounds are open ends; a NaN bound matches
        /// nothing.
        ///
        /// ```
        /// # use rom_dsl::{structure::SortedSet, Result};
        /// fn passed(z: &SortedSet<String>, conn: &mut redis::Connection) -> Result<Vec<(String, f64)>> {
        ///     z.range_by_score(50.0, f64::INFINITY, 0, 100, conn)
        /// }
        /// ```
        fn range_by_score, range_by_score_async, range_by_score_plan(min: f64, max: f64, offset: u64, count: u64) -> Vec<(T, f64)>;
        /// The number of members with `min <= score <= max` (`ZCOUNT`).
        ///
        /// ```
        /// # use rom_dsl::{structure::SortedSet, Result};
        /// fn passing(z: &SortedSet<String>, conn: &mut redis::Connection) -> Result<u64> {
        ///     z.count_between(50.0, f64::INFINITY, conn)
        /// }
        /// ```
        fn count_between, count_between_async, count_between_plan(min: f64, max: f64) -> u64;
    }
}

fn with_scores<T: Value>(key: &[u8], v: redis::Value) -> Result<Vec<(T, f64)>> {
    pairs_of(key, array_of(key, v)?, required::<T>, required_score)
}

impl<T> Default for SortedSet<T> {
    fn default() -> Self {
        SortedSet {
            core: Core::default(),
            _t: PhantomData,
        }
    }
}

impl<T> Clone for SortedSet<T> {
    fn clone(&self) -> Self {
        SortedSet {
            core: self.core.clone(),
            _t: PhantomData,
        }
    }
}

impl<T> PartialEq for SortedSet<T> {
    /// Two handles are equal when they name the same stored structure and
    /// hold the same unsaved writes (the stored contents are not compared).
    fn eq(&self, other: &Self) -> bool {
        self.core == other.core
    }
}

impl<T> std::fmt::Debug for SortedSet<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SortedSet({}, {} pending)",
            self.core.key_text(),
            self.core.pending.len()
        )
    }
}

impl<T> crate::__private::Sealed for SortedSet<T> {}

impl<T> AnyStructure for SortedSet<T> {
    fn core(&self) -> &Core {
        &self.core
    }
    fn core_mut(&mut self) -> &mut Core {
        &mut self.core
    }
}

impl<T: Value> Structure for SortedSet<T> {
    const KIND: StructureKind = StructureKind::SortedSet;
    type Elem = T;
    fn attached(home: HomeOf) -> Self {
        SortedSet {
            core: Core::attached(home),
            _t: PhantomData,
        }
    }
}
