//! Native structure fields (`List<T>`, `Set<T>`, `Hash<K, V>`,
//! `SortedSet<T>`): handles that read their Redis key directly and record
//! writes until the row is saved. Public as `rom_dsl::structure`
//! (`src/structure.rs`, which documents the rules).
//!
//! Each handle is a [`Core`] (where the structure lives, once the row is
//! stored, and the writes not yet saved) plus the typed methods of its kind
//! (one file each). A read is a [`Plan`]: a plain command on the structure's
//! key, or, for a model whose rows expire, the read-only function
//! `structure_read`, which answers as for an absent key once the row has
//! expired.

mod hash;
mod list;
mod set;
mod sorted_set;

pub use hash::Hash;
pub use list::List;
pub use set::Set;
pub use sorted_set::SortedSet;

use crate::error::{Error, Result};
use crate::plan::{Call, Plan};
use crate::storage::model::{Key, Model};
use crate::storage::structures::StructureKind;
use crate::value::Value;
use crate::wire::structure::StructureReadArgs;
use std::sync::Arc;

/// Where a stored structure lives: its key, and what a read of an expiring
/// row needs (the model's expiry set, the row's member, a key never written).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Home {
    pub(crate) key: Vec<u8>,
    /// The model's expiry set; empty when its rows never expire.
    pub(crate) expiry: Vec<u8>,
    pub(crate) member: Vec<u8>,
    /// A key of the same hash tag that is never written (the structure's key
    /// prefix: no row has an empty member), read in place of an expired
    /// row's structure.
    pub(crate) absent: Vec<u8>,
}

/// One recorded write: its letter (`structures.lua` documents them) and its
/// arguments, already encoded.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Op {
    pub(crate) letter: &'static str,
    pub(crate) args: Vec<Vec<u8>>,
}

/// What every handle holds (opaque outside rom).
#[doc(hidden)]
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Core {
    pub(crate) home: Option<Arc<Home>>,
    pub(crate) pending: Vec<Op>,
    /// The structure's version as this handle knows it: read with the row,
    /// plus one for each save of this handle that applied writes.
    pub(crate) version: u64,
    /// `detect_conflicts()`: a save that applies writes first checks that
    /// the version is still `version`.
    pub(crate) detect: bool,
    /// The first write that cannot be saved (a NaN score): the save fails
    /// with it, before anything is sent.
    pub(crate) invalid: Option<String>,
}

impl Core {
    fn attached(h: HomeOf) -> Self {
        Core {
            home: Some(h.home),
            version: h.version,
            ..Core::default()
        }
    }

    pub(crate) fn push(&mut self, letter: &'static str, args: Vec<Vec<u8>>) {
        self.pending.push(Op { letter, args });
    }

    pub(crate) fn refuse(&mut self, reason: String) {
        if self.invalid.is_none() {
            self.invalid = Some(reason);
        }
    }

    fn home(&self) -> Result<&Home> {
        self.home.as_deref().ok_or(Error::NotSaved)
    }

    /// The key, for messages (`(unsaved)` when detached).
    pub(crate) fn key_text(&self) -> String {
        self.home
            .as_ref()
            .map(|h| crate::error::show(&h.key))
            .unwrap_or_else(|| "(unsaved)".into())
    }

    /// A read: `cmd` on the structure's key with `args`, decoded by `decode`
    /// (which gets the key, for its errors).
    pub(crate) fn read<T: 'static>(
        &self,
        cmd: &'static str,
        args: Vec<Vec<u8>>,
        decode: impl FnOnce(&[u8], redis::Value) -> Result<T> + Send + 'static,
    ) -> Result<Plan<T>> {
        let h = self.home()?;
        let key = h.key.clone();
        let step = format!("{cmd} {}", crate::error::show(&h.key));
        let dkey = key.clone();
        let plan = if h.expiry.is_empty() {
            Plan::new(Call::Command(cmd), vec![key], args, move |v| {
                decode(&dkey, v)
            })
        } else {
            let a = StructureReadArgs {
                key,
                expiry: h.expiry.clone(),
                absent: h.absent.clone(),
                member: h.member.clone(),
                command: cmd.to_owned(),
                args,
            };
            Plan::call(&a, move |v| decode(&dkey, v))
        };
        Ok(plan.read_only().step(step))
    }
}

/// A structure field type: what the derive needs of `List<T>`, `Set<T>`,
/// `Hash<K, V>` and `SortedSet<T>`. Sealed: only rom's four types are
/// structures.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a rom structure",
    label = "a field named like a structure type must be one of rom's",
    note = "structure fields are `rom::structure::{{List, Set, Hash, SortedSet}}`; a column of another type needs a different name for its type"
)]
pub trait Structure: AnyStructure + Default + crate::__private::Sealed {
    /// The Redis type that holds it.
    const KIND: StructureKind;
    /// The type of a member (a set's, a sorted set's) or element (a list's),
    /// or a hash's field.
    type Elem;
    /// A handle on the stored structure of a row (generated `from_row`).
    #[doc(hidden)]
    fn attached(home: HomeOf) -> Self;
}

/// The opaque home of a structure, and its version as read with the row
/// (built by the generated code through [`home`]).
#[doc(hidden)]
#[derive(Debug, Clone)]
pub struct HomeOf {
    home: Arc<Home>,
    version: u64,
}

/// The home of structure field number `i` of the row of `M` with key `key`,
/// read from `row` (its version field; absent: 0, unreadable: `u64::MAX`,
/// which no save matches).
#[doc(hidden)]
pub fn home<M: Model>(key: &M::Key, i: usize, row: &crate::storage::model::RowData) -> HomeOf {
    let s = &M::layout().structures[i];
    let version = match row.fields.get(&s.version_field) {
        None => 0,
        Some(v) => std::str::from_utf8(v)
            .ok()
            .and_then(|t| t.parse().ok())
            .unwrap_or(u64::MAX),
    };
    HomeOf {
        home: Arc::new(home_of::<M>(&key.to_member(), i)),
        version,
    }
}

pub(crate) fn home_of<M: Model>(member: &[u8], i: usize) -> Home {
    let s = &M::layout().structures[i];
    Home {
        key: s.key(member),
        expiry: crate::storage::model::expiry_key::<M>(),
        member: member.to_vec(),
        absent: s.key_prefix.clone(),
    }
}

/// What the save path needs of any structure handle (object safe, so that
/// the generated `structures()` lists a model's fields of every kind).
#[doc(hidden)]
pub trait AnyStructure {
    /// The handle's state.
    #[doc(hidden)]
    fn core(&self) -> &Core;
    /// The handle's state, to update after a save.
    #[doc(hidden)]
    fn core_mut(&mut self) -> &mut Core;
}

/// After a save of `value` (key `key`) succeeded: every structure is
/// attached to the row, and its writes, now stored, are dropped.
pub(crate) fn saved<M: Model>(value: &mut M, key: &M::Key) {
    let member = key.to_member();
    for (i, s) in value.structures_mut().into_iter().enumerate() {
        let c = s.core_mut();
        if !c.pending.is_empty() {
            c.version = c.version.wrapping_add(1);
        }
        c.pending.clear();
        c.invalid = None;
        if c.home.as_ref().is_none_or(|h| h.member != member) {
            c.home = Some(Arc::new(home_of::<M>(&member, i)));
        }
    }
}

/// Whether any structure of `value` has writes not yet saved.
pub(crate) fn has_pending<M: Model>(value: &M) -> bool {
    value
        .structures()
        .iter()
        .any(|s| !s.core().pending.is_empty() || s.core().invalid.is_some())
}

/// A page of a scan (`Set::scan`, `Hash::scan`): the items, and the cursor
/// to pass for the next page (`0`: the scan is complete).
///
/// Redis' scan guarantees apply: an element present for the whole scan is
/// returned at least once (possibly more than once), an element added or
/// removed during the scan may or may not be.
///
/// ```
/// use rom_dsl::structure::ScanPage;
/// let p: ScanPage<String> = ScanPage { items: vec!["rust".into()], cursor: 0 };
/// assert!(p.is_last());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ScanPage<T> {
    /// The items of this page (a page may be empty while the scan goes on).
    pub items: Vec<T>,
    /// The cursor of the next page; `0` when the scan is complete.
    pub cursor: u64,
}

impl<T> ScanPage<T> {
    /// Whether this is the last page.
    ///
    /// ```
    /// use rom_dsl::structure::ScanPage;
    /// let p: ScanPage<u64> = ScanPage { items: vec![], cursor: 17 };
    /// assert!(!p.is_last());
    /// ```
    pub fn is_last(&self) -> bool {
        self.cursor == 0
    }
}

// ---- decoding replies ----

pub(crate) fn bytes_of(key: &[u8], v: redis::Value) -> Result<Option<Vec<u8>>> {
    match v {
        redis::Value::Nil => Ok(None),
        redis::Value::BulkString(b) => Ok(Some(b)),
        redis::Value::SimpleString(s) => Ok(Some(s.into_bytes())),
        redis::Value::Int(n) => Ok(Some(n.to_string().into_bytes())),
        redis::Value::Double(d) => Ok(Some(crate::value::float_repr(d).into_bytes())),
        other => Err(Error::decode(
            key,
            None,
            format!("unexpected reply {other:?}"),
        )),
    }
}

pub(crate) fn int_of(key: &[u8], v: redis::Value) -> Result<i64> {
    match v {
        redis::Value::Int(n) => Ok(n),
        // a structure_read of a missing key: Lua's false
        redis::Value::Nil => Ok(0),
        other => Err(Error::decode(
            key,
            None,
            format!("unexpected reply {other:?}"),
        )),
    }
}

pub(crate) fn count_of(key: &[u8], v: redis::Value) -> Result<u64> {
    let n = int_of(key, v)?;
    u64::try_from(n).map_err(|_| Error::decode(key, None, format!("negative count {n}")))
}

pub(crate) fn bool_of(key: &[u8], v: redis::Value) -> Result<bool> {
    match v {
        redis::Value::Boolean(b) => Ok(b),
        other => Ok(int_of(key, other)? == 1),
    }
}

pub(crate) fn array_of(key: &[u8], v: redis::Value) -> Result<Vec<redis::Value>> {
    match v {
        redis::Value::Array(a) | redis::Value::Set(a) => Ok(a),
        redis::Value::Nil => Ok(Vec::new()),
        other => Err(Error::decode(
            key,
            None,
            format!("unexpected reply {other:?}"),
        )),
    }
}

pub(crate) fn value_of<T: Value>(key: &[u8], v: redis::Value) -> Result<Option<T>> {
    match bytes_of(key, v)? {
        None => Ok(None),
        Some(b) => T::decode(&b)
            .map(Some)
            .map_err(|e| Error::decode(key, None, format!("a stored {}: {e}", T::TYPE_NAME))),
    }
}

pub(crate) fn values_of<T: Value>(key: &[u8], v: redis::Value) -> Result<Vec<T>> {
    array_of(key, v)?
        .into_iter()
        .map(|x| {
            value_of(key, x)?
                .ok_or_else(|| Error::decode(key, None, "a nil element in an array reply"))
        })
        .collect()
}

pub(crate) fn score_of(key: &[u8], v: redis::Value) -> Result<Option<f64>> {
    match v {
        redis::Value::Double(d) => Ok(Some(d)),
        other => match bytes_of(key, other)? {
            None => Ok(None),
            Some(b) => std::str::from_utf8(&b)
                .ok()
                .and_then(|t| t.parse::<f64>().ok())
                .filter(|x| !x.is_nan())
                .map(Some)
                .ok_or_else(|| Error::decode(key, None, "a score that is not a number")),
        },
    }
}

/// A scan reply, `[cursor, [items]]`, with the items as a flat list.
pub(crate) fn scan_of(key: &[u8], v: redis::Value) -> Result<(u64, Vec<redis::Value>)> {
    let mut parts = array_of(key, v)?.into_iter();
    let (Some(c), Some(items), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(Error::decode(
            key,
            None,
            "a scan reply that is not [cursor, items]",
        ));
    };
    let cursor = bytes_of(key, c)?
        .and_then(|b| std::str::from_utf8(&b).ok()?.parse().ok())
        .ok_or_else(|| Error::decode(key, None, "a scan cursor that is not a number"))?;
    Ok((cursor, flat(key, array_of(key, items)?)?))
}

/// Pairs of a reply, flat (`[a, 1, b, 2]`, RESP2 and scripts) or nested
/// (`[[a, 1], [b, 2]]`, RESP3): as a flat list.
pub(crate) fn flat(key: &[u8], items: Vec<redis::Value>) -> Result<Vec<redis::Value>> {
    let mut out = Vec::with_capacity(items.len());
    for x in items {
        match x {
            redis::Value::Array(a) => out.extend(a),
            redis::Value::Map(m) => {
                for (k, v) in m {
                    out.push(k);
                    out.push(v);
                }
            }
            other => out.push(other),
        }
    }
    let _ = key;
    Ok(out)
}

/// A reply of pairs as typed pairs.
pub(crate) fn pairs_of<A, B>(
    key: &[u8],
    items: Vec<redis::Value>,
    a: impl Fn(&[u8], redis::Value) -> Result<A>,
    b: impl Fn(&[u8], redis::Value) -> Result<B>,
) -> Result<Vec<(A, B)>> {
    let items = flat(key, items)?;
    if items.len() % 2 != 0 {
        return Err(Error::decode(
            key,
            None,
            "an odd number of items in a reply of pairs",
        ));
    }
    let mut out = Vec::with_capacity(items.len() / 2);
    let mut it = items.into_iter();
    while let (Some(x), Some(y)) = (it.next(), it.next()) {
        out.push((a(key, x)?, b(key, y)?));
    }
    Ok(out)
}

pub(crate) fn required<T: Value>(key: &[u8], v: redis::Value) -> Result<T> {
    value_of(key, v)?.ok_or_else(|| Error::decode(key, None, "a nil element in a reply"))
}

pub(crate) fn required_score(key: &[u8], v: redis::Value) -> Result<f64> {
    score_of(key, v)?.ok_or_else(|| Error::decode(key, None, "a nil score in a reply"))
}

/// Encodes an integer argument.
pub(crate) fn num(n: impl ToString) -> Vec<u8> {
    n.to_string().into_bytes()
}

/// The sync and async forms of a structure's reads, from the plan form
/// (`<name>_plan`): `name(args, conn)` runs the plan, `name_async(args,
/// conn).await` runs it on an async connection.
macro_rules! reads {
    ($( $(#[$doc:meta])* fn $name:ident, $name_async:ident, $plan:ident ($($arg:ident : $ty:ty),*) -> $out:ty; )*) => {$(
        $(#[$doc])*
        pub fn $name<C: crate::connection::Connection + ?Sized>(
            &self,
            $($arg: $ty,)*
            conn: &mut C,
        ) -> crate::error::Result<$out> {
            self.$plan($($arg),*)?.run(conn)
        }
        #[doc = concat!("[`Self::", stringify!($name), "`] on an async connection: one round trip, one `.await`.")]
        #[cfg(feature = "tokio")]
        pub async fn $name_async<C: crate::connection::AsyncConnection>(
            &self,
            $($arg: $ty,)*
            conn: &mut C,
        ) -> crate::error::Result<$out> {
            self.$plan($($arg),*)?.run_async(conn).await
        }
    )*};
}
pub(crate) use reads;

// ---- the filter of an indexed set ----

/// A structure field of a model's table (`items::tags`), generated by
/// `#[derive(Model)]`.
#[doc(hidden)]
pub trait StructureColumn: Copy + crate::__private::Sealed {
    /// The model.
    type Model: Model;
    /// The member type.
    type Elem: Value;
    /// The field's position among the model's structures.
    const INDEX: usize;
}

/// Implemented for the table item of a set declared `#[rom(index(eq))]`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no index: `contains` filters on a `Set` field declared `#[rom(index(eq))]`",
    label = "not an indexed set",
    note = "declare the field `#[rom(index(eq))] {Self}: Set<T>` to find rows by a member"
)]
pub trait IndexedStructure {}

/// The filter of an indexed set field: `items::tags.contains("rust")`.
///
/// ```
/// # use rom_dsl::Filter;
/// # use rom_dsl::structure::ContainsMethods;
/// fn tagged<C: ContainsMethods<Elem = String>>(tags: C) -> Filter<C::Model>
/// where
///     C: rom_dsl::__private::IndexedStructure,
/// {
///     tags.contains("rust")
/// }
/// ```
pub trait ContainsMethods: StructureColumn {
    /// Rows whose set holds `v` (compared as stored bytes, as Redis compares
    /// set members). Combines with every other filter.
    ///
    /// ```
    /// # use rom_dsl::Filter;
    /// # use rom_dsl::structure::ContainsMethods;
    /// fn either<C: ContainsMethods<Elem = String> + rom_dsl::__private::IndexedStructure>(tags: C) -> Filter<C::Model> {
    ///     tags.contains("rust") | tags.contains("go")
    /// }
    /// ```
    fn contains(self, v: impl Into<Self::Elem>) -> crate::query::Filter<Self::Model>
    where
        Self: IndexedStructure,
    {
        let s = &<Self::Model as Model>::layout().structures[Self::INDEX];
        crate::query::Filter::new(crate::dsl::filter::Node::Set(
            s.index_key(&v.into().encode()),
        ))
    }
}

impl<C: StructureColumn> ContainsMethods for C {}

/// The conflict detection every handle has (`$ty` the handle written with
/// its parameters, for the example).
macro_rules! conflicts {
    ($ty:literal) => {
        /// Detects conflicting writes, from now on: a save that applies
        /// writes to this structure first checks that no other save wrote it
        /// since its row was read (or since this handle's last save), and
        /// fails with [`Error::Conflict`](crate::Error::Conflict) naming the
        /// field otherwise (nothing is written; the writes stay recorded).
        /// Off by default: writes that commute (appends to a log, tags
        /// added) need no check. Each save that writes a structure adds one
        /// to its version, the row hash field `#v:<field>`.
        ///
        /// ```
        #[doc = concat!("let mut s: rom_dsl::structure::", $ty, " = Default::default();")]
        /// s.detect_conflicts();
        /// ```
        pub fn detect_conflicts(&mut self) {
            self.core.detect = true;
        }
    };
}
pub(crate) use conflicts;
