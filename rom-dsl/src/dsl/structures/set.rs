//! `Set<T>`: a Redis set of a row, optionally indexed.

use super::{
    AnyStructure, Core, HomeOf, ScanPage, Structure, bool_of, conflicts, count_of, num, reads,
    required, scan_of,
};
use crate::error::Result;
use crate::plan::Plan;
use crate::storage::structures::StructureKind;
use crate::value::Value;
use std::marker::PhantomData;

/// A set field of a model: a Redis set under the row's hash tag. Members
/// are compared as stored bytes, as Redis compares them.
///
/// Reads go to Redis (one round trip each; [`Set::scan`] pages through a
/// large set); writes are recorded and applied when the row is saved, in the
/// order they were made, atomically with its columns. Reads do not see
/// writes not yet saved. With `#[rom(index)]` the set is indexed: the
/// filter `table::field.contains(v)` finds the rows whose set holds `v`.
///
/// ```
/// use rom_dsl::structure::Set;
/// let mut tags: Set<String> = Set::default();
/// tags.insert("rust");
/// tags.remove(&"go".to_string());
/// assert_eq!(tags.pending(), 2);
/// ```
pub struct Set<T> {
    pub(crate) core: Core,
    _t: PhantomData<fn() -> T>,
}

impl<T: Value> Set<T> {
    /// An empty set (what a new row's set starts as).
    ///
    /// ```
    /// use rom_dsl::structure::Set;
    /// assert_eq!(Set::<u64>::new().pending(), 0);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of writes recorded and not yet saved.
    ///
    /// ```
    /// use rom_dsl::structure::Set;
    /// let mut s: Set<u64> = Set::new();
    /// s.insert(7u64);
    /// assert_eq!(s.pending(), 1);
    /// ```
    pub fn pending(&self) -> usize {
        self.core.pending.len()
    }

    conflicts!("Set<String>");

    /// Adds `v` (`SADD`, at save; nothing when it is a member already).
    ///
    /// ```
    /// use rom_dsl::structure::Set;
    /// let mut s: Set<String> = Set::new();
    /// s.insert("rust");
    /// ```
    pub fn insert(&mut self, v: impl Into<T>) {
        self.core.push("sa", vec![v.into().encode()]);
    }

    /// Removes `v` (`SREM`, at save; nothing when it is not a member).
    ///
    /// ```
    /// use rom_dsl::structure::Set;
    /// let mut s: Set<String> = Set::new();
    /// s.remove(&"rust".to_string());
    /// ```
    pub fn remove(&mut self, v: &T) {
        self.core.push("sr", vec![v.encode()]);
    }

    /// Removes every member (`DEL`, at save).
    ///
    /// ```
    /// use rom_dsl::structure::Set;
    /// let mut s: Set<String> = Set::new();
    /// s.clear();
    /// ```
    pub fn clear(&mut self) {
        self.core.push("cl", Vec::new());
    }

    /// The plan of [`Set::len`].
    ///
    /// ```
    /// # use rom_dsl::{structure::Set, Result};
    /// fn show(s: &Set<String>) -> Result<String> {
    ///     Ok(s.len_plan()?.explain())
    /// }
    /// ```
    pub fn len_plan(&self) -> Result<Plan<u64>> {
        self.core.read("SCARD", Vec::new(), count_of)
    }

    /// The plan of [`Set::contains`].
    ///
    /// ```
    /// # use rom_dsl::{structure::Set, Result};
    /// fn show(s: &Set<String>) -> Result<String> {
    ///     Ok(s.contains_plan(&"rust".into())?.explain())
    /// }
    /// ```
    pub fn contains_plan(&self, v: &T) -> Result<Plan<bool>> {
        self.core.read("SISMEMBER", vec![v.encode()], bool_of)
    }

    /// The plan of [`Set::scan`].
    ///
    /// ```
    /// # use rom_dsl::{structure::Set, Result};
    /// fn show(s: &Set<String>) -> Result<String> {
    ///     Ok(s.scan_plan(0, 100)?.explain())
    /// }
    /// ```
    pub fn scan_plan(&self, cursor: u64, count: u64) -> Result<Plan<ScanPage<T>>> {
        self.core.read(
            "SSCAN",
            vec![num(cursor), b"COUNT".to_vec(), num(count.max(1))],
            |key, v| {
                let (cursor, items) = scan_of(key, v)?;
                let items = items
                    .into_iter()
                    .map(|x| required::<T>(key, x))
                    .collect::<Result<_>>()?;
                Ok(ScanPage { items, cursor })
            },
        )
    }

    reads! {
        /// The number of members stored (`SCARD`).
        ///
        /// ```
        /// # use rom_dsl::{structure::Set, Result};
        /// fn size(s: &Set<String>, conn: &mut redis::Connection) -> Result<u64> {
        ///     s.len(conn)
        /// }
        /// ```
        fn len, len_async, len_plan() -> u64;
        /// Whether `v` is a stored member (`SISMEMBER`).
        ///
        /// ```
        /// # use rom_dsl::{structure::Set, Result};
        /// fn tagged(s: &Set<String>, conn: &mut redis::Connection) -> Result<bool> {
        ///     s.contains(&"rust".into(), conn)
        /// }
        /// ```
        fn contains, contains_async, contains_plan(v: &T) -> bool;
        /// One page of the members (`SSCAN`): start at cursor 0, pass each
        /// page's [`ScanPage::cursor`] to the next call, stop at the page whose
        /// cursor is 0. `count` is a hint of the page size. A member present
        /// throughout is returned at least once.
        ///
        /// ```
        /// # use rom_dsl::{structure::Set, Result};
        /// fn all(s: &Set<String>, conn: &mut redis::Connection) -> Result<Vec<String>> {
        ///     let (mut out, mut cursor) = (Vec::new(), 0);
        ///     loop {
        ///         let page = s.scan(cursor, 500, conn)?;
        ///         out.extend(page.items);
        ///         if page.cursor == 0 { return Ok(out); }
        ///         cursor = page.cursor;
        ///     }
        /// }
        /// ```
        fn scan, scan_async, scan_plan(cursor: u64, count: u64) -> ScanPage<T>;
    }
}

impl<T> Default for Set<T> {
    fn default() -> Self {
        Set {
            core: Core::default(),
            _t: PhantomData,
        }
    }
}

impl<T> Clone for Set<T> {
    fn clone(&self) -> Self {
        Set {
            core: self.core.clone(),
            _t: PhantomData,
        }
    }
}

impl<T> PartialEq for Set<T> {
    /// Two handles are equal when they name the same stored structure and
    /// hold the same unsaved writes (the stored contents are not compared).
    fn eq(&self, other: &Self) -> bool {
        self.core == other.core
    }
}

impl<T> std::fmt::Debug for Set<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Set({}, {} pending)",
            self.core.key_text(),
            self.core.pending.len()
        )
    }
}

impl<T> crate::__private::Sealed for Set<T> {}

impl<T> AnyStructure for Set<T> {
    fn core(&self) -> &Core {
        &self.core
    }
    fn core_mut(&mut self) -> &mut Core {
        &mut self.core
    }
}

impl<T: Value> Structure for Set<T> {
    const KIND: StructureKind = StructureKind::Set;
    type Elem = T;
    fn attached(home: HomeOf) -> Self {
        Set {
            core: Core::attached(home),
            _t: PhantomData,
        }
    }
}
