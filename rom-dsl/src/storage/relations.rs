//! Relations between models: a `belongs_to` column references a row of a
//! parent model; the parent lists such columns in `has_many`, and a delete of
//! a parent row applies each column's `on_delete` rule to the rows that
//! reference it, in the same atomic call. Public through
//! `rom_dsl::relations`.

use crate::index::Column;
use crate::storage::model::{Key, Layout, Model, SlotKind};

/// What happens to the rows referencing a row that is deleted.
///
/// ```
/// use rom_dsl::relations::OnDelete;
/// assert_eq!(OnDelete::Cascade.letter(), "c");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnDelete {
    /// Nothing: the referencing rows keep the key of a row that is gone
    /// (`verify` reports them).
    NoAction,
    /// The delete is refused, with nothing deleted, while a row references
    /// it.
    Restrict,
    /// The referencing rows are deleted too (and theirs, along the graph).
    Cascade,
    /// The referencing column becomes null.
    SetNull,
    /// The referencing column takes its declared default.
    SetDefault,
}

impl OnDelete {
    /// The letter the rule travels as (`a` no action, `r` restrict, `c`
    /// cascade, `n` set null, `s` set default).
    pub fn letter(self) -> &'static str {
        match self {
            OnDelete::NoAction => "a",
            OnDelete::Restrict => "r",
            OnDelete::Cascade => "c",
            OnDelete::SetNull => "n",
            OnDelete::SetDefault => "s",
        }
    }
}

/// Implemented by `#[derive(Model)]` for a column declared
/// `belongs_to(Parent, on_delete = ...)`.
#[diagnostic::on_unimplemented(
    message = "column `{Self}` does not reference another model",
    label = "`load_with`, `children` and `has_many` take a column declared `belongs_to(...)`",
    note = "declare the column with `#[rom(belongs_to(Parent, on_delete = ...))]`, or name the column that references the model"
)]
pub trait Reference: Column {
    /// The referenced model.
    type Parent: Model;
    /// The column's rule.
    const ON_DELETE: OnDelete;
    /// The referenced row's member (encoded key) for a value of the column.
    fn parent_member(v: &Self::Value) -> Vec<u8>;
    /// The stored bytes of the column's default (for `set_default`).
    fn default_stored() -> Option<Vec<u8>> {
        None
    }
}

/// `P: HasChild<C>`: the model `P` lists the column `C` in its `has_many`,
/// so a delete of a `P` row applies `C`'s rule.
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not list `{C}` in `has_many`, so deleting a `{Self}` row could not apply its rule",
    label = "this rule needs the parent to know the column",
    note = "add `#[rom(has_many(...))]` naming this column (`children_table::column`) to `{Self}`'s declaration"
)]
pub trait HasChild<C> {}

/// `C: ChildOf<P>`: the column `C` references the model `P` (checks a
/// `has_many` list).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a column that references `{P}`",
    label = "`has_many` lists the `belongs_to` columns of other models that reference this one",
    note = "declare the column with `#[rom(belongs_to({P}, on_delete = ...))]`, or remove it from `has_many`"
)]
pub trait ChildOf<P> {}

#[diagnostic::do_not_recommend]
impl<C: Reference> ChildOf<C::Parent> for C {}

/// `K: KeyOf<M>`: a `belongs_to(M)` column holds `M`'s key type.
#[diagnostic::on_unimplemented(
    message = "a column referencing `{M}` must hold its key type, not `{Self}`",
    label = "not `{M}`'s key type",
    note = "make the field `{M}`'s primary key type (or an `Option` of it)"
)]
pub trait KeyOf<M> {
    /// The referenced row's member.
    fn key_member(&self) -> Vec<u8>;
}

#[diagnostic::do_not_recommend]
impl<M: Model> KeyOf<M> for M::Key {
    fn key_member(&self) -> Vec<u8> {
        self.to_member()
    }
}

/// The member of the row of `M` a `belongs_to(M)` value names (the derive's
/// `Reference::parent_member`; its bound is the type check).
pub fn member_of<M, K: KeyOf<M>>(v: &K) -> Vec<u8> {
    v.key_member()
}

/// `M: RuleColocated<P>`: a rule other than `no_action` needs the parent
/// and the child in one placement.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not placed with `{P}`, so an `on_delete` rule between them cannot be atomic",
    label = "the parent model of this rule",
    note = "put both models in one group (`#[rom(group = ...)]` on each), or use `on_delete = no_action`"
)]
pub trait RuleColocated<P> {}

#[diagnostic::do_not_recommend]
impl<M: crate::placement::PlacedIn<P>, P> RuleColocated<P> for M {}

/// A compile-time check the derive calls (its bounds are the check).
pub fn check_colocated<M: RuleColocated<P>, P>() {}
/// A compile-time check the derive calls (its bounds are the check).
pub fn check_listed<P: HasChild<C>, C>() {}
/// A compile-time check the derive calls for `has_one(C)` (its bound is the
/// check: `C` is unique; that it references the model is `ChildRel::of`'s).
pub fn check_has_one<C: crate::index::Unique>() {}

/// Generated for every `belongs_to` column: the referenced model is not
/// partitioned (a reference to a partitioned model is not supported yet).
pub fn check_unpartitioned_parent<P: crate::placement::Unpartitioned>() {}

/// The hash tag of a layout (the text between `{` and `}`).
fn hash_tag(l: &Layout) -> &[u8] {
    let t = &l.tag[..];
    match (
        t.iter().position(|&b| b == b'{'),
        t.iter().position(|&b| b == b'}'),
    ) {
        (Some(a), Some(b)) if a < b => &t[a + 1..b],
        _ => t,
    }
}

/// A parent a row names, for the check on write that it exists (and for
/// `verify` and `repair` of a reference that names no row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParentRef {
    /// The referencing column's name.
    pub column: &'static str,
    /// The referencing column's position in the model.
    pub index: usize,
    /// The parent's row key.
    pub row: Vec<u8>,
    /// The parent's row prefix (the row key is it and the parent's member).
    pub prefix: Vec<u8>,
    /// The parent model's expiry set (empty when its rows never expire).
    pub expiry: Vec<u8>,
    /// Whether parent and child share a hash tag (then the check is part of
    /// the write's atomic call).
    pub colocated: bool,
    /// The column's rule.
    pub rule: OnDelete,
    /// The column's stored default (`set_default`).
    pub default: Option<Vec<u8>>,
}

impl ParentRef {
    /// The parent a value of column `C` names.
    pub fn of<C: Reference>(v: &C::Value) -> ParentRef {
        let member = C::parent_member(v);
        // co-located: one group (a partitioned group's base tags are equal,
        // and the parent's bucket is the row's: it is partitioned by this
        // reference)
        let colocated =
            hash_tag(<C::Parent as Model>::layout()) == hash_tag(<C::Model as Model>::layout());
        let pl = crate::storage::partition::layout_for::<C::Parent>(&member);
        ParentRef {
            column: C::NAME,
            index: C::INDEX,
            row: pl.row_key(&member),
            prefix: pl.row_prefix.clone(),
            expiry: crate::storage::model::expiry_key::<C::Parent>(),
            colocated,
            rule: C::ON_DELETE,
            default: C::default_stored(),
        }
    }
}

/// A model as a node of the delete graph.
#[derive(Debug, Clone)]
pub struct GraphModel {
    /// The model's name.
    pub name: &'static str,
    /// Its key names.
    pub layout: &'static Layout,
    /// Whether its keys are `u64`.
    pub numeric_ids: bool,
    /// Its numeric indexes (and its expiry set, when its rows expire).
    pub numeric: Vec<Vec<u8>>,
    /// Its expiry set (empty when its rows never expire).
    pub expiry: Vec<u8>,
    /// The columns of other models that reference it.
    pub children: fn() -> Vec<ChildRel>,
}

impl GraphModel {
    /// The node of model `M`.
    pub fn of<M: Model>() -> GraphModel {
        let l = M::layout();
        GraphModel {
            name: M::SCHEMA.name,
            layout: l,
            numeric_ids: M::Key::NUMERIC,
            numeric: crate::plans::write::numeric_keys::<M>(),
            expiry: crate::storage::model::expiry_key::<M>(),
            children: M::children,
        }
    }
}

/// A column that references a model: its rule, and what changing it means.
#[derive(Debug, Clone)]
pub struct ChildRel {
    /// The rule.
    pub rule: OnDelete,
    /// The referencing model.
    pub child: fn() -> GraphModel,
    /// The column's name (its hash field).
    pub column: &'static str,
    /// The key prefix of the column's equality sets (the children of a
    /// parent are the set of its member).
    pub eq_prefix: Vec<u8>,
    /// The column's numeric index.
    pub numeric: Option<Vec<u8>>,
    /// The column's value-keyed slots (id, kind).
    pub slots: Vec<(Vec<u8>, SlotKind)>,
    /// The stored default (`set_default`).
    pub default: Option<Vec<u8>>,
}

impl ChildRel {
    /// The relation of column `C` to its parent `P`.
    pub fn of<P: Model, C: Reference + ChildOf<P>>() -> ChildRel {
        let l = <C::Model as Model>::layout();
        let slots = l
            .slots
            .iter()
            .filter(|s| s.columns == [C::INDEX])
            .map(|s| (s.id.clone().into_bytes(), s.kind))
            .collect();
        let eq_prefix = l
            .slots
            .iter()
            .find(|s| s.columns == [C::INDEX] && s.kind == SlotKind::Set)
            .map(|s| s.key.clone())
            .unwrap_or_default();
        ChildRel {
            rule: C::ON_DELETE,
            child: GraphModel::of::<C::Model>,
            column: C::NAME,
            eq_prefix,
            numeric: l.numeric[C::INDEX].clone(),
            slots,
            default: C::default_stored(),
        }
    }
}
