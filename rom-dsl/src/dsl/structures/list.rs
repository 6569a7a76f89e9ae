//! `List<T>`: a Redis list of a row.

use super::{AnyStructure, Core, HomeOf, Structure, conflicts, num, reads, value_of, values_of};
use crate::error::Result;
use crate::plan::Plan;
use crate::storage::structures::StructureKind;
use crate::value::Value;
use std::marker::PhantomData;

/// A list field of a model: a Redis list under the row's hash tag.
///
/// Reads go to Redis (one round trip each, never the whole list unless
/// asked); writes are recorded and applied when the row is saved, in the
/// order they were made, in the same atomic call as its columns. Reads do
/// not see writes not yet saved ([`List::pending`] counts them). Indexes are
/// Redis' own: 0 is the first element, -1 the last.
///
/// ```
/// use rom_dsl::structure::List;
/// let mut log: List<String> = List::default();
/// log.push_back("started");
/// log.push_back("stopped");
/// assert_eq!(log.pending(), 2); // written when the row is saved
/// ```
pub struct List<T> {
    pub(crate) core: Core,
    _t: PhantomData<fn() -> T>,
}

impl<T: Value> List<T> {
    /// An empty list (what a new row's list starts as).
    ///
    /// ```
    /// use rom_dsl::structure::List;
    /// assert_eq!(List::<u64>::new().pending(), 0);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of writes recorded and not yet saved.
    ///
    /// ```
    /// use rom_dsl::structure::List;
    /// let mut l: List<u64> = List::new();
    /// l.push_front(1u64);
    /// assert_eq!(l.pending(), 1);
    /// ```
    pub fn pending(&self) -> usize {
        self.core.pending.len()
    }

    conflicts!("List<String>");

    /// Appends `v` at the end (`RPUSH`, at save).
    ///
    /// ```
    /// use rom_dsl::structure::List;
    /// let mut l: List<String> = List::new();
    /// l.push_back("last");
    /// ```
    pub fn push_back(&mut self, v: impl Into<T>) {
        self.core.push("rp", vec![v.into().encode()]);
    }

    /// Inserts `v` at the front (`LPUSH`, at save).
    ///
    /// ```
    /// use rom_dsl::structure::List;
    /// let mut l: List<String> = List::new();
    /// l.push_front("first");
    /// ```
    pub fn push_front(&mut self, v: impl Into<T>) {
        self.core.push("lp", vec![v.into().encode()]);
    }

    /// Removes elements equal to `v` (`LREM`, at save): the first `count`
    /// from the front when `count > 0`, the last `-count` when `count < 0`,
    /// every one when `count == 0`.
    ///
    /// ```
    /// use rom_dsl::structure::List;
    /// let mut l: List<String> = List::new();
    /// l.remove(&"spam".to_string(), 0); // every "spam"
    /// ```
    pub fn remove(&mut self, v: &T, count: i64) {
        self.core.push("lr", vec![num(count), v.encode()]);
    }

    /// Keeps only the elements from `start` to `stop`, both included
    /// (`LTRIM`, at save; negative indexes count from the end).
    ///
    /// ```
    /// use rom_dsl::structure::List;
    /// let mut l: List<String> = List::new();
    /// l.push_front("newest");
    /// l.trim(0, 99); // keep the 100 newest
    /// ```
    pub fn trim(&mut self, start: i64, stop: i64) {
        self.core.push("lt", vec![num(start), num(stop)]);
    }

    /// Removes every element (`DEL`, at save).
    ///
    /// ```
    /// use rom_dsl::structure::List;
    /// let mut l: List<u64> = List::new();
    /// l.clear();
    /// ```
    pub fn clear(&mut self) {
        self.core.push("cl", Vec::new());
    }

    /// The plan of [`List::len`].
    ///
    /// ```
    /// # use rom_dsl::{structure::List, Result};
    /// fn show(l: &List<String>) -> Result<String> {
    ///     Ok(l.len_plan()?.explain()) // LLEN {ns}:st:<field>:<key>
    /// }
    /// ```
    pub fn len_plan(&self) -> Result<Plan<u64>> {
        self.core.read("LLEN", Vec::new(), super::count_of)
    }

    /// The plan of [`List::get`].
    ///
    /// ```
    /// # use rom_dsl::{structure::List, Result};
    /// fn show(l: &List<String>) -> Result<String> {
    ///     Ok(l.get_plan(-1)?.explain())
    /// }
    /// ```
    pub fn get_plan(&self, index: i64) -> Result<Plan<Option<T>>> {
        self.core.read("LINDEX", vec![num(index)], value_of::<T>)
    }

    /// The plan of [`List::range`].
    ///
    /// ```
    /// # use rom_dsl::{structure::List, Result};
    /// fn show(l: &List<String>) -> Result<String> {
    ///     Ok(l.range_plan(0, 9)?.explain())
    /// }
    /// ```
    pub fn range_plan(&self, start: i64, stop: i64) -> Result<Plan<Vec<T>>> {
        self.core
            .read("LRANGE", vec![num(start), num(stop)], values_of::<T>)
    }

    reads! {
        /// The number of elements stored (`LLEN`; 0 for a row without any).
        /// Fails with [`Error::NotSaved`](crate::Error::NotSaved) before the
        /// row is inserted.
        ///
        /// ```
        /// # use rom_dsl::{structure::List, Result};
        /// fn size(l: &List<String>, conn: &mut redis::Connection) -> Result<u64> {
        ///     l.len(conn)
        /// }
        /// ```
        fn len, len_async, len_plan() -> u64;
        /// The element at `index` (`LINDEX`; -1 is the last), or `None`.
        ///
        /// ```
        /// # use rom_dsl::{structure::List, Result};
        /// fn last(l: &List<String>, conn: &mut redis::Connection) -> Result<Option<String>> {
        ///     l.get(-1, conn)
        /// }
        /// ```
        fn get, get_async, get_plan(index: i64) -> Option<T>;
        /// The elements from `start` to `stop`, both included (`LRANGE`;
        /// negative indexes count from the end). Read a long list in pages:
        /// `range(0, 99)`, `range(100, 199)`...
        ///
        /// ```
        /// # use rom_dsl::{structure::List, Result};
        /// fn first_page(l: &List<String>, conn: &mut redis::Connection) -> Result<Vec<String>> {
        ///     l.range(0, 49, conn)
        /// }
        /// ```
        fn range, range_async, range_plan(start: i64, stop: i64) -> Vec<T>;
    }
}

impl<T> Default for List<T> {
    fn default() -> Self {
        List {
            core: Core::default(),
            _t: PhantomData,
        }
    }
}

impl<T> Clone for List<T> {
    fn clone(&self) -> Self {
        List {
            core: self.core.clone(),
            _t: PhantomData,
        }
    }
}

impl<T> PartialEq for List<T> {
    /// Two handles are equal when they name the same stored list and hold the
    /// same unsaved writes (the stored elements are not compared).
    fn eq(&self, other: &Self) -> bool {
        self.core == other.core
    }
}

impl<T> std::fmt::Debug for List<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "List({}, {} pending)",
            self.core.key_text(),
            self.core.pending.len()
        )
    }
}

impl<T> crate::__private::Sealed for List<T> {}

impl<T> AnyStructure for List<T> {
    fn core(&self) -> &Core {
        &self.core
    }
    fn core_mut(&mut self) -> &mut Core {
        &mut self.core
    }
}

impl<T: Value> Structure for List<T> {
    const KIND: StructureKind = StructureKind::List;
    type Elem = T;
    fn attached(home: HomeOf) -> Self {
        List {
            core: Core::attached(home),
            _t: PhantomData,
        }
    }
}
