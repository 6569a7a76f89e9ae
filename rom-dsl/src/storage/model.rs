//! Models: the schema a `#[derive(Model)]` declares, the key layout derived from
//! it, and the [`Model`] trait that connects a Rust struct to its rows in Redis.

use crate::error::{Error, Result};
use crate::value::Value;
use std::collections::HashMap;
use std::fmt::Debug;

/// Which value-keyed index a column (or a group of columns) has.
///
/// ```
/// use rom_dsl::text::Fold;
/// assert_ne!(Fold::Exact, Fold::CaseInsensitive);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fold {
    /// Values match byte for byte (text after canonical normalisation, see
    /// [`crate::text::exact`]).
    Exact,
    /// Text values match after full Unicode case folding
    /// ([`crate::text::fold`]).
    CaseInsensitive,
}

/// One column as declared.
///
/// ```
/// use rom_dsl::__private::{ColumnDef, Fold};
/// let c = ColumnDef { numeric: true, ..ColumnDef::new("age", "i32") };
/// assert!(c.numeric);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ColumnDef {
    /// The field name, also the hash field in Redis.
    pub name: &'static str,
    /// The Rust type, for messages.
    pub type_name: &'static str,
    /// `Option<T>`: a null is an absent hash field.
    pub nullable: bool,
    /// A numeric (sorted-set) index.
    pub numeric: bool,
    /// An equality (set-per-value) index.
    pub eq: Option<Fold>,
    /// A unique constraint on this column alone.
    pub unique: Option<Fold>,
    /// A full-text index: a set per (case-folded) word.
    pub text: bool,
    /// A prefix index (lexicographic sorted set) of the value, or of each word
    /// on a full-text column.
    pub prefix: Option<Fold>,
    /// A suffix index (the same over reversed text).
    pub suffix: Option<Fold>,
    /// A sort index: the whole value in UTF-8 byte order.
    pub sort: bool,
}

impl ColumnDef {
    /// A column with no index.
    pub const fn new(name: &'static str, type_name: &'static str) -> Self {
        ColumnDef {
            name,
            type_name,
            nullable: false,
            numeric: false,
            eq: None,
            unique: None,
            text: false,
            prefix: None,
            suffix: None,
            sort: false,
        }
    }
}

/// A model's declaration, produced by `#[derive(Model)]`.
///
/// ```
/// use rom_dsl::__private::Schema;
/// let s = Schema { name: "Tag", namespace: "tags", key_name: "id", auto_key: true, columns: &[], unique_together: &[] };
/// assert_eq!(s.namespace, "tags");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Schema {
    /// The struct's name.
    pub name: &'static str,
    /// The key namespace: every key of the model starts with `{namespace}`.
    pub namespace: &'static str,
    /// The primary key field's name.
    pub key_name: &'static str,
    /// The key is an auto-increment `u64` allocated at the first save.
    pub auto_key: bool,
    /// The columns other than the primary key, in declaration order.
    pub columns: &'static [ColumnDef],
    /// Composite unique constraints: column positions and fold.
    pub unique_together: &'static [(&'static [usize], Fold)],
}

/// How a value-keyed index stores its entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotKind {
    /// A hash from value to the owning row's key (a unique constraint).
    Unique,
    /// A set of row keys per value (an equality or full-text index).
    Set,
    /// One lexicographic sorted set of `value \0\0 key` members (prefix,
    /// suffix and sort indexes).
    Lex,
}

/// Which values of a row a slot holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The equality key of the value (or of several columns).
    Value,
    /// The case-folded words of the text.
    Words,
    /// The whole text (lex-escaped), for prefix and sort indexes.
    Whole,
    /// Each word of the text (lex-escaped).
    EachWord,
    /// The whole text reversed (lex-escaped), for suffix indexes.
    WholeReversed,
    /// Each word reversed.
    EachWordReversed,
}

/// A value-keyed index of a model: a unique hash or a family of equality sets.
/// Rows record the values they hold in each slot, so an index entry can always be
/// removed, even when the stored column was changed by another program.
#[derive(Debug, Clone)]
pub struct Slot {
    /// Unique hash or equality sets.
    pub kind: SlotKind,
    /// The columns whose values make the entry (one, or several for a composite
    /// unique constraint).
    pub columns: Vec<usize>,
    /// Exact or case-insensitive.
    pub fold: Fold,
    /// Which values of the row the slot holds.
    pub source: Source,
    /// For [`SlotKind::Unique`] the hash's key; for [`SlotKind::Set`] the prefix
    /// that the value is appended to.
    pub key: Vec<u8>,
    /// The slot's stable id: its key after the tag and `:` (`uniq:email`,
    /// `eq:name:`). Rows record their entries by this id, so adding or removing
    /// another index never changes what a recorded entry means.
    pub id: String,
    /// A name for messages: the column names joined by `+`.
    pub label: String,
}

/// Every Redis key name of a model, derived once from its [`Schema`].
///
/// ```
/// use rom_dsl::__private::{Layout, Schema};
/// let s = Schema { name: "Tag", namespace: "tags", key_name: "id", auto_key: true, columns: &[], unique_together: &[] };
/// let l = Layout::new(&s);
/// assert_eq!(l.row_key(b"7"), b"{tags}:row:7");
/// assert_eq!(l.ids, b"{tags}:ids");
/// ```
#[derive(Debug, Clone)]
pub struct Layout {
    /// The prefix of every key of the model: `{ns}`, or `{group}/ns` for a
    /// model of a placement group; its hash tag keeps every key in one
    /// cluster slot.
    pub tag: Vec<u8>,
    /// `{ns}:row:` + key: a HASH per row.
    pub row_prefix: Vec<u8>,
    /// `{ns}:ids`: a ZSET of every row key (score = the key for numeric keys).
    pub ids: Vec<u8>,
    /// `{ns}:seq`: the auto-increment counter.
    pub seq: Vec<u8>,
    /// `{ns}:lock:` + key: a row's advisory lock (a string holding its
    /// holder's token, expiring with the lease).
    pub lock_prefix: Vec<u8>,
    /// `{ns}:lockseq`: the counter of lock tokens.
    pub lock_seq: Vec<u8>,
    /// `{ns}:exp`: a ZSET of the rows that expire (score = the deadline,
    /// Unix milliseconds of server time); used by models declared
    /// `#[rom(expires)]` only.
    pub expiry: Vec<u8>,
    /// `{ns}:num:<column>` per column with a numeric index (`None` otherwise).
    pub numeric: Vec<Option<Vec<u8>>>,
    /// The value-keyed indexes, in a fixed order (their positions are stored in
    /// rows, so this order is part of the data format).
    pub slots: Vec<Slot>,
    /// The structure fields (`List`, `Set`, `Hash`, `SortedSet`), in
    /// declaration order: see [`crate::structure`].
    pub structures: Vec<crate::storage::structures::StructureLayout>,
}

impl Layout {
    /// Derives the key names of a schema.
    pub fn new(s: &Schema) -> Self {
        Self::with_prefix(s, format!("{{{}}}", s.namespace))
    }

    /// The key names of a model in the placement group `group`: every key
    /// starts with `{group}/namespace:` (see [`crate::placement`]).
    ///
    /// ```
    /// use rom_dsl::__private::{Layout, Schema};
    /// let s = Schema { name: "Tag", namespace: "tags", key_name: "id", auto_key: true, columns: &[], unique_together: &[] };
    /// let l = Layout::in_group(&s, "shop");
    /// assert_eq!(l.row_key(b"7"), b"{shop}/tags:row:7");
    /// ```
    pub fn in_group(s: &Schema, group: &str) -> Self {
        Self::with_prefix(s, format!("{{{group}}}/{}", s.namespace))
    }

    pub(crate) fn with_prefix(s: &Schema, tag: String) -> Self {
        let k = |rest: &str| format!("{tag}:{rest}").into_bytes();
        let mut slots = Vec::new();
        for (i, c) in s.columns.iter().enumerate() {
            if let Some(fold) = c.unique {
                slots.push(Slot {
                    kind: SlotKind::Unique,
                    columns: vec![i],
                    fold,
                    source: Source::Value,
                    key: k(&format!("uniq:{}", c.name)),
                    id: format!("uniq:{}", c.name),
                    label: c.name.to_owned(),
                });
            }
            if let Some(fold) = c.eq {
                slots.push(Slot {
                    kind: SlotKind::Set,
                    columns: vec![i],
                    fold,
                    source: Source::Value,
                    key: k(&format!("eq:{}:", c.name)),
                    id: format!("eq:{}:", c.name),
                    label: c.name.to_owned(),
                });
            }
            let mut lex = |kind: SlotKind, source: Source, fold: Fold, part: &str| {
                let id = format!(
                    "{part}:{}{}",
                    c.name,
                    if kind == SlotKind::Set { ":" } else { "" }
                );
                slots.push(Slot {
                    kind,
                    columns: vec![i],
                    fold,
                    source,
                    key: k(&id),
                    id,
                    label: c.name.to_owned(),
                });
            };
            if c.text {
                lex(SlotKind::Set, Source::Words, Fold::CaseInsensitive, "text");
            }
            if let Some(fold) = c.prefix {
                let src = if c.text {
                    Source::EachWord
                } else {
                    Source::Whole
                };
                lex(SlotKind::Lex, src, fold, "pre");
            }
            if let Some(fold) = c.suffix {
                let src = if c.text {
                    Source::EachWordReversed
                } else {
                    Source::WholeReversed
                };
                lex(SlotKind::Lex, src, fold, "suf");
            }
            if c.sort {
                lex(SlotKind::Lex, Source::Whole, Fold::Exact, "sort");
            }
        }
        for (cols, fold) in s.unique_together {
            let label = cols
                .iter()
                .map(|&i| s.columns[i].name)
                .collect::<Vec<_>>()
                .join("+");
            slots.push(Slot {
                kind: SlotKind::Unique,
                columns: cols.to_vec(),
                fold: *fold,
                source: Source::Value,
                key: k(&format!("uniq:{label}")),
                id: format!("uniq:{label}"),
                label,
            });
        }
        Layout {
            row_prefix: k("row:"),
            ids: k("ids"),
            seq: k("seq"),
            lock_prefix: k("lock:"),
            lock_seq: k("lockseq"),
            expiry: k("exp"),
            numeric: s
                .columns
                .iter()
                .map(|c| c.numeric.then(|| k(&format!("num:{}", c.name))))
                .collect(),
            slots,
            structures: Vec::new(),
            tag: tag.into_bytes(),
        }
    }

    /// The layout with the model's structure fields (generated code:
    /// `Layout::new(schema).with_structures(Self::STRUCTURES)`).
    pub fn with_structures(mut self, defs: &[crate::storage::structures::StructureDef]) -> Self {
        self.structures = defs
            .iter()
            .map(|d| crate::storage::structures::StructureLayout::new(&self.tag, *d))
            .collect();
        self
    }

    /// The key of the row whose member (encoded primary key) is `member`.
    pub fn row_key(&self, member: &[u8]) -> Vec<u8> {
        [&self.row_prefix[..], member].concat()
    }

    /// The slot holding column `col`'s single-column index of `kind`.
    pub fn slot_of(&self, col: usize, kind: SlotKind) -> Option<usize> {
        self.slots
            .iter()
            .position(|s| s.kind == kind && s.columns == [col] && s.source == Source::Value)
    }

    /// The slot holding column `col`'s index with values from `source`.
    pub fn slot_from(&self, col: usize, sources: &[Source]) -> Option<usize> {
        self.slots
            .iter()
            .position(|s| s.columns == [col] && sources.contains(&s.source))
    }
}

/// A primary key type: `u64` (auto-increment or given), `String`, `Uuid`.
///
/// ```
/// use rom_dsl::Key;
/// assert_eq!(42u64.to_member(), b"42");
/// assert_eq!(u64::from_member(b"42").unwrap(), 42);
/// ```
pub trait Key: Clone + Debug + PartialEq + Send + Sync + 'static {
    /// Keys order numerically (ids are ordered by number, not as text).
    const NUMERIC: bool;
    /// The bytes that name the row in every index.
    fn to_member(&self) -> Vec<u8>;
    /// Parses a member back.
    fn from_member(bytes: &[u8]) -> std::result::Result<Self, String>;
}

impl Key for u64 {
    const NUMERIC: bool = true;
    fn to_member(&self) -> Vec<u8> {
        self.encode()
    }
    fn from_member(bytes: &[u8]) -> std::result::Result<Self, String> {
        u64::decode(bytes)
    }
}

impl Key for String {
    const NUMERIC: bool = false;
    fn to_member(&self) -> Vec<u8> {
        self.encode()
    }
    fn from_member(bytes: &[u8]) -> std::result::Result<Self, String> {
        String::decode(bytes)
    }
}

#[cfg(feature = "uuid")]
impl Key for uuid::Uuid {
    const NUMERIC: bool = false;
    fn to_member(&self) -> Vec<u8> {
        self.encode()
    }
    fn from_member(bytes: &[u8]) -> std::result::Result<Self, String> {
        uuid::Uuid::decode(bytes)
    }
}

/// What `get` and `exists` accept as a key: the key type itself (or a
/// reference), `&str` for a `String` key, and any integer for a `u64` key, so
/// that `User::get(&mut conn, 1)` compiles. A value no key can have (a
/// negative id) finds no row.
///
/// ```
/// use rom_dsl::IntoKey;
/// assert_eq!(IntoKey::<u64>::into_key(7), Some(7));
/// assert_eq!(IntoKey::<u64>::into_key(-1i64), None);
/// assert_eq!(IntoKey::<String>::into_key("FR"), Some("FR".to_string()));
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a key of type `{K}`",
    label = "not a `{K}` key",
    note = "pass the model's key type `{K}` (a `String` key also takes a `&str`, a `u64` key any integer)"
)]
pub trait IntoKey<K> {
    /// The key, or `None` when no row can have it.
    fn into_key(self) -> Option<K>;
}
#[diagnostic::do_not_recommend]
impl<K: Key> IntoKey<K> for K {
    fn into_key(self) -> Option<K> {
        Some(self)
    }
}
#[diagnostic::do_not_recommend]
impl<K: Key> IntoKey<K> for &K {
    fn into_key(self) -> Option<K> {
        Some(self.clone())
    }
}
#[diagnostic::do_not_recommend]
impl IntoKey<String> for &str {
    fn into_key(self) -> Option<String> {
        Some(self.to_owned())
    }
}
macro_rules! int_keys {
    ($($t:ty),*) => {$(
        #[diagnostic::do_not_recommend]
        impl IntoKey<u64> for $t {
            fn into_key(self) -> Option<u64> {
                u64::try_from(self).ok()
            }
        }
    )*};
}
int_keys!(i32, i64, u32, usize);

/// One column of one row, as it will be written: stored bytes and the index
/// entries derived from the typed value. Built by the generated
/// [`Model::cells`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cell {
    /// The bytes in the row hash; `None` for a null.
    pub stored: Option<Vec<u8>>,
    /// The score in the numeric index.
    pub score: Option<f64>,
    /// The exact equality key.
    pub exact: Option<Vec<u8>>,
    /// The case-insensitive equality key.
    pub folded: Option<Vec<u8>>,
    /// The text, for full-text, prefix, suffix and sort indexes.
    pub text: Option<String>,
}

/// The hash fields of one stored row, as read from Redis.
#[derive(Debug, Default, Clone)]
pub struct RowData {
    /// The row's Redis key (for error messages).
    pub key: Vec<u8>,
    /// Field name to value.
    pub fields: HashMap<Vec<u8>, Vec<u8>>,
}

impl RowData {
    /// The raw bytes of a field.
    pub fn get(&self, field: &str) -> Option<&[u8]> {
        self.fields.get(field.as_bytes()).map(Vec::as_slice)
    }

    /// Decodes a field of the row into `F`, applying `default` when a required
    /// field is absent. Used by the generated [`Model::from_row`].
    pub fn column<F: crate::value::Field>(
        &self,
        name: &str,
        default: Option<fn() -> F>,
    ) -> Result<F> {
        match F::from_stored(self.get(name)) {
            Ok(Some(v)) => Ok(v),
            Ok(None) => match default {
                Some(d) => Ok(d()),
                None => Err(Error::decode(&self.key, Some(name), "missing field")),
            },
            Err(reason) => Err(Error::decode(&self.key, Some(name), reason)),
        }
    }
}

/// A Rust struct stored as rows in Redis. Implemented by `#[derive(Model)]`,
/// and only by it (the trait is sealed: what it promises the storage layer is
/// not a public API); see the crate documentation for the attributes.
pub trait Model: crate::__private::Sealed + Sized + Clone + Send + Sync + 'static {
    /// The primary key type.
    type Key: Key;
    /// The declaration.
    #[doc(hidden)]
    const SCHEMA: &'static Schema;
    /// The key names, derived once.
    #[doc(hidden)]
    fn layout() -> &'static Layout;
    /// The primary key; `None` for an auto-increment key not yet allocated.
    fn key(&self) -> Option<Self::Key>;
    /// Sets the primary key (after an auto-increment allocation).
    fn set_key(&mut self, key: Self::Key);
    /// Encodes every column (in schema order) with its index entries; fails
    /// when a value cannot be indexed as declared.
    #[doc(hidden)]
    fn cells(&self) -> Result<Vec<Cell>>;
    /// Builds a value from a stored row.
    #[doc(hidden)]
    fn from_row(key: Self::Key, row: &RowData) -> Result<Self>;
    /// Checks the model's validation rules (`#[rom(length(..))]`,
    /// `range(..)`, `pattern = ".."`, `validate = path`):
    /// [`Error::Validation`] naming the first column that breaks one, and the
    /// rule. Every write (insert, upsert, save, a transaction's commit)
    /// calls it before it sends anything; call it yourself to validate
    /// earlier, where a value is built (a request handler, say). Rows read
    /// from Redis are not validated: a rule added later does not make
    /// existing rows unreadable.
    ///
    /// ```text
    /// #[derive(Model)]
    /// struct User {
    ///     #[rom(primary_key)] id: Option<u64>,
    ///     #[rom(length(min = 1, max = 64))] name: String,
    /// }
    /// let err = User { id: None, name: String::new() }.validate().unwrap_err();
    /// // User.name: 0 characters is below the minimum 1 (rule `length(min = 1, max = 64)`)
    /// ```
    fn validate(&self) -> Result<()> {
        Ok(())
    }
    /// The parents this row names in its `belongs_to` columns (generated).
    #[doc(hidden)]
    fn parents(&self) -> Vec<crate::storage::relations::ParentRef> {
        Vec::new()
    }
    /// The columns of other models that reference this one (generated
    /// from `has_many`).
    #[doc(hidden)]
    fn children() -> Vec<crate::storage::relations::ChildRel> {
        Vec::new()
    }
    /// The model's lifecycle hooks (generated for `#[rom(hooks)]`).
    #[doc(hidden)]
    fn hooks() -> crate::dsl::hooks::HookTable<Self> {
        crate::dsl::hooks::HookTable::none()
    }
    /// Rows may expire (`#[rom(expires)]`): `Some(default time to live in
    /// milliseconds)`, `Some(0)` for no default, `None` when rows never
    /// expire.
    #[doc(hidden)]
    const EXPIRES: Option<u64> = None;
    /// The structure fields, in declaration order (generated).
    #[doc(hidden)]
    const STRUCTURES: &'static [crate::storage::structures::StructureDef] = &[];
    /// The structure fields' handles, in the order of `STRUCTURES`.
    #[doc(hidden)]
    fn structures(&self) -> Vec<&dyn crate::dsl::structures::AnyStructure> {
        Vec::new()
    }
    /// The structure fields' handles, to update after a save.
    #[doc(hidden)]
    fn structures_mut(&mut self) -> Vec<&mut dyn crate::dsl::structures::AnyStructure> {
        Vec::new()
    }
    /// A partitioned model's number of buckets; 0 for a model in one slot.
    #[doc(hidden)]
    const BUCKETS: u16 = 0;
    /// The column whose value picks a row's bucket (`None`: the key).
    #[doc(hidden)]
    const PARTITION_BY: Option<usize> = None;
    /// A partitioned model's layout per bucket (generated); empty otherwise.
    #[doc(hidden)]
    fn bucket_layouts() -> &'static [Layout] {
        &[]
    }
}

/// The expiry set of model `M` (`layout().expiry`), or empty when its rows
/// never expire: what every server function is sent.
pub(crate) fn expiry_key<M: Model>() -> Vec<u8> {
    if M::EXPIRES.is_some() {
        M::layout().expiry.clone()
    } else {
        Vec::new()
    }
}

/// A validation error for column `col` of model `M` (used by generated code).
pub fn invalid<M: Model>(col: &str, reason: String) -> Error {
    Error::Validation {
        model: M::SCHEMA.name,
        column: col.to_owned(),
        reason,
    }
}
