//! `Hash<K, V>`: a Redis hash of a row.

use super::{
    AnyStructure, Core, HomeOf, ScanPage, Structure, bool_of, conflicts, count_of, num, pairs_of,
    reads, required, scan_of, value_of,
};
use crate::error::Result;
use crate::plan::Plan;
use crate::storage::structures::StructureKind;
use crate::value::Value;
use std::marker::PhantomData;

/// A hash field of a model: a Redis hash (fields `K` to values `V`) under the
/// row's hash tag.
///
/// Reads go to Redis (one round trip each; [`Hash::scan`] pages through a
/// large hash); writes are recorded and applied when the row is saved, in
/// the order they were made, atomically with its columns. Reads do not see
/// writes not yet saved.
///
/// ```
/// use rom_dsl::structure::Hash;
/// let mut prefs: Hash<String, String> = Hash::default();
/// prefs.insert("theme", "dark");
/// assert_eq!(prefs.pending(), 1);
/// ```
pub struct Hash<K, V> {
    pub(crate) core: Core,
    _t: PhantomData<fn() -> (K, V)>,
}

impl<K: Value, V: Value> Hash<K, V> {
    /// An empty hash (what a new row's hash starts as).
    ///
    /// ```
    /// use rom_dsl::structure::Hash;
    /// assert_eq!(Hash::<String, u64>::new().pending(), 0);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of writes recorded and not yet saved.
    ///
    /// ```
    /// use rom_dsl::structure::Hash;
    /// let mut h: Hash<String, u64> = Hash::new();
    /// h.insert("a", 1u64);
    /// assert_eq!(h.pending(), 1);
    /// ```
    pub fn pending(&self) -> usize {
        self.core.pending.len()
    }

    conflicts!("Hash<String, i64>");

    /// Sets field `k` to `v` (`HSET`, at save).
    ///
    /// ```
    /// use rom_dsl::structure::Hash;
    /// let mut h: Hash<String, String> = Hash::new();
    /// h.insert("lang", "en");
    /// ```
    pub fn insert(&mut self, k: impl Into<K>, v: impl Into<V>) {
        self.core
            .push("hs", vec![k.into().encode(), v.into().encode()]);
    }

    /// Removes field `k` (`HDEL`, at save).
    ///
    /// ```
    /// use rom_dsl::structure::Hash;
    /// let mut h: Hash<String, String> = Hash::new();
    /// h.remove(&"lang".to_string());
    /// ```
    pub fn remove(&mut self, k: &K) {
        self.core.push("hd", vec![k.encode()]);
    }

    /// Removes every field (`DEL`, at save).
    ///
    /// ```
    /// use rom_dsl::structure::Hash;
    /// let mut h: Hash<String, String> = Hash::new();
    /// h.clear();
    /// ```
    pub fn clear(&mut self) {
        self.core.push("cl", Vec::new());
    }

    /// The plan of [`Hash::len`].
    ///
    /// ```
    /// # use rom_dsl::{structure::Hash, Result};
    /// fn show(h: &Hash<String, String>) -> Result<String> {
    ///     Ok(h.len_plan()?.explain())
    /// }
    /// ```
    pub fn len_plan(&self) -> Result<Plan<u64>> {
        self.core.read("HLEN", Vec::new(), count_of)
    }

    /// The plan of [`Hash::get`].
    ///
    /// ```
    /// # use rom_dsl::{structure::Hash, Result};
    /// fn show(h: &Hash<String, String>) -> Result<String> {
    ///     Ok(h.get_plan(&"lang".into())?.explain())
    /// }
    /// ```
    pub fn get_plan(&self, k: &K) -> Result<Plan<Option<V>>> {
        self.core.read("HGET", vec![k.encode()], value_of::<V>)
    }

    /// The plan of [`Hash::contains_key`].
    ///
    /// ```
    /// # use rom_dsl::{structure::Hash, Result};
    /// fn show(h: &Hash<String, String>) -> Result<String> {
    ///     Ok(h.contains_key_plan(&"lang".into())?.explain())
    /// }
    /// ```
    pub fn contains_key_plan(&self, k: &K) -> Result<Plan<bool>> {
        self.core.read("HEXISTS", vec![k.encode()], bool_of)
    }

    /// The plan of [`Hash::scan`].
    ///
    /// ```
    /// # use rom_dsl::{structure::Hash, Result};
    /// fn show(h: &Hash<String, String>) -> Result<String> {
    ///     Ok(h.scan_plan(0, 100)?.explain())
    /// }
    /// ```
    pub fn scan_plan(&self, cursor: u64, count: u64) -> Result<Plan<ScanPage<(K, V)>>> {
        self.core.read(
            "HSCAN",
            vec![num(cursor), b"COUNT".to_vec(), num(count.max(1))],
            |key, v| {
                let (cursor, items) = scan_of(key, v)?;
                let items = pairs_of(key, items, required::<K>, required::<V>)?;
                Ok(ScanPage { items, cursor })
            },
        )
    }

    reads! {
        /// The number of fields stored (`HLEN`).
        ///
        /// ```
        /// # use rom_dsl::{structure::Hash, Result};
        /// fn size(h: &Hash<String, String>, conn: &mut redis::Connection) -> Result<u64> {
        ///     h.len(conn)
        /// }
        /// ```
        fn len, len_async, len_plan() -> u64;
        /// The value of field `k` (`HGET`), or `None`.
        ///
        /// ```
        /// # use rom_dsl::{structure::Hash, Result};
        /// fn lang(h: &Hash<String, String>, conn: &mut redis::Connection) -> Result<Option<String>> {
        ///     h.get(&"lang".into(), conn)
        /// }
        /// ```
        fn get, get_async, get_plan(k: &K) -> Option<V>;
        /// Whether field `k` is stored (`HEXISTS`).
        ///
        /// ```
        /// # use rom_dsl::{structure::Hash, Result};
        /// fn has_lang(h: &Hash<String, String>, conn: &mut redis::Connection) -> Result<bool> {
        ///     h.contains_key(&"lang".into(), conn)
        /// }
        /// ```
        fn contains_key, contains_key_async, contains_key_plan(k: &K) -> bool;
        /// One page of the fields and values (`HSCAN`): start at cursor 0,
        /// pass each page's cursor to the next call, stop at the page whose
        /// cursor is 0. A field present throughout is returned at least once.
        ///
        /// ```
        /// # use rom_dsl::{structure::Hash, Result};
        /// fn first(h: &Hash<String, String>, conn: &mut redis::Connection) -> Result<Vec<(String, String)>> {
        ///     Ok(h.scan(0, 100, conn)?.items)
        /// }
        /// ```
        fn scan, scan_async, scan_plan(cursor: u64, count: u64) -> ScanPage<(K, V)>;
    }
}

impl<K, V> Default for Hash<K, V> {
    fn default() -> Self {
        Hash {
            core: Core::default(),
            _t: PhantomData,
        }
    }
}

impl<K, V> Clone for Hash<K, V> {
    fn clone(&self) -> Self {
        Hash {
            core: self.core.clone(),
            _t: PhantomData,
        }
    }
}

impl<K, V> PartialEq for Hash<K, V> {
    /// Two handles are equal when they name the same stored structure and
    /// hold the same unsaved writes (the stored contents are not compared).
    fn eq(&self, other: &Self) -> bool {
        self.core == other.core
    }
}

impl<K, V> std::fmt::Debug for Hash<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Hash({}, {} pending)",
            self.core.key_text(),
            self.core.pending.len()
        )
    }
}

impl<K, V> crate::__private::Sealed for Hash<K, V> {}

impl<K, V> AnyStructure for Hash<K, V> {
    fn core(&self) -> &Core {
        &self.core
    }
    fn core_mut(&mut self) -> &mut Core {
        &mut self.core
    }
}

impl<K: Value, V: Value> Structure for Hash<K, V> {
    const KIND: StructureKind = StructureKind::Hash;
    type Elem = K;
    fn attached(home: HomeOf) -> Self {
        Hash {
            core: Core::attached(home),
            _t: PhantomData,
        }
    }
}
