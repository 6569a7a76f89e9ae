//! Conditions and orders: the filter tree (`Node`) that column methods build,
//! [`Filter`] and [`Order`] around it, and [`ColumnMethods`], whose
//! marker-trait bounds are the compile-time check of every predicate.

use crate::index::Column;
use crate::plans::query::describe;
use std::marker::PhantomData;

/// A node of a filter tree (public for generated code; build filters with the
/// column methods instead).
#[doc(hidden)]
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    /// Members of an equality set.
    Set(Vec<u8>),
    /// The owner of a unique value: hash key, field.
    Unique(Vec<u8>, Vec<u8>),
    /// A score range of a sorted set: key, low bound, high bound (Redis syntax).
    Range(Vec<u8>, String, String),
    /// A range of a lexicographic index: key, low and high bounds (BYLEX
    /// syntax), and a glob the values must match (empty: any).
    Lex(Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>),
    /// Every row.
    All,
    /// No row.
    Empty,
    /// A value that cannot be queried (NaN...): the query fails with this error.
    Invalid(String, String),
}

/// `key` with its prefix `from` (a model's base tag) replaced by `to` (a
/// bucket's tag); other keys unchanged.
pub(crate) fn retag(key: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    match key.strip_prefix(from) {
        Some(rest) => [to, rest].concat(),
        None => key.to_vec(),
    }
}

impl Node {
    /// The node with every index key retagged (see [`retag`]).
    pub(crate) fn retag(&self, from: &[u8], to: &[u8]) -> Node {
        let k = |key: &[u8]| retag(key, from, to);
        match self {
            Node::And(kids) => Node::And(kids.iter().map(|n| n.retag(from, to)).collect()),
            Node::Or(kids) => Node::Or(kids.iter().map(|n| n.retag(from, to)).collect()),
            Node::Not(n) => Node::Not(Box::new(n.retag(from, to))),
            Node::Set(key) => Node::Set(k(key)),
            Node::Unique(key, f) => Node::Unique(k(key), f.clone()),
            Node::Range(key, lo, hi) => Node::Range(k(key), lo.clone(), hi.clone()),
            Node::Lex(key, lo, hi, g) => Node::Lex(k(key), lo.clone(), hi.clone(), g.clone()),
            Node::All | Node::Empty | Node::Invalid(..) => self.clone(),
        }
    }
}

/// A condition on rows of model `M`: built from column methods (`eq`, `gt`...)
/// and combined with [`Filter::and`], [`Filter::or`], [`Filter::not`] (or the
/// `&`, `|`, `!` operators).
///
/// ```
/// # use rom_dsl::{Filter, RangeFilterable};
/// # use rom_dsl::query::ColumnMethods;
/// fn teens<C: RangeFilterable<Value = i32>>(age: C) -> Filter<C::Model> {
///     age.ge(13) & age.le(19)
/// }
/// ```
pub struct Filter<M> {
    pub(crate) node: Node,
    _m: PhantomData<fn() -> M>,
}

impl<M> Clone for Filter<M> {
    fn clone(&self) -> Self {
        Filter::new(self.node.clone())
    }
}

impl<M> std::fmt::Debug for Filter<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&describe(&self.node))
    }
}

impl<M> Filter<M> {
    pub(crate) fn new(node: Node) -> Self {
        Filter {
            node,
            _m: PhantomData,
        }
    }
    /// Rows matching both.
    ///
    /// ```
    /// # use rom_dsl::{EqFilterable, Filter, RangeFilterable};
    /// # use rom_dsl::query::ColumnMethods;
    /// fn adults_in<C, A>(city: C, age: A) -> Filter<C::Model>
    /// where
    ///     C: EqFilterable<Value = String>,
    ///     A: RangeFilterable<Model = C::Model, Value = i32>,
    /// {
    ///     city.eq("Lyon").and(age.ge(18))
    /// }
    /// ```
    pub fn and(self, other: Filter<M>) -> Filter<M> {
        Filter::new(match (self.node, other.node) {
            (Node::And(mut a), Node::And(b)) => {
                a.extend(b);
                Node::And(a)
            }
            (Node::And(mut a), b) => {
                a.push(b);
                Node::And(a)
            }
            (a, b) => Node::And(vec![a, b]),
        })
    }
    /// Rows matching either (on any indexed columns, not only one).
    ///
    /// ```
    /// # use rom_dsl::{EqFilterable, Filter};
    /// # use rom_dsl::query::ColumnMethods;
    /// fn open<C: EqFilterable<Value = String>>(status: C) -> Filter<C::Model> {
    ///     status.eq("new").or(status.eq("in progress"))
    /// }
    /// ```
    pub fn or(self, other: Filter<M>) -> Filter<M> {
        Filter::new(match (self.node, other.node) {
            (Node::Or(mut a), Node::Or(b)) => {
                a.extend(b);
                Node::Or(a)
            }
            (Node::Or(mut a), b) => {
                a.push(b);
                Node::Or(a)
            }
            (a, b) => Node::Or(vec![a, b]),
        })
    }
    /// Rows not matching (a set difference from every row).
    ///
    /// ```
    /// # use rom_dsl::{EqFilterable, Filter};
    /// # use rom_dsl::query::ColumnMethods;
    /// fn not_closed<C: EqFilterable<Value = String>>(status: C) -> Filter<C::Model> {
    ///     status.eq("closed").not()
    /// }
    /// ```
    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Filter<M> {
        Filter::new(match self.node {
            Node::Not(n) => *n,
            n => Node::Not(Box::new(n)),
        })
    }
    /// Rows matching this and not `other`.
    ///
    /// ```
    /// # use rom_dsl::{EqFilterable, Filter, RangeFilterable};
    /// # use rom_dsl::query::ColumnMethods;
    /// fn adults_but_admins<A, R>(age: A, role: R) -> Filter<A::Model>
    /// where
    ///     A: RangeFilterable<Value = i32>,
    ///     R: EqFilterable<Model = A::Model, Value = String>,
    /// {
    ///     age.ge(18).and_not(role.eq("admin"))
    /// }
    /// ```
    pub fn and_not(self, other: Filter<M>) -> Filter<M> {
        self.and(other.not())
    }
}

impl<M> std::ops::BitAnd for Filter<M> {
    type Output = Filter<M>;
    fn bitand(self, rhs: Self) -> Filter<M> {
        self.and(rhs)
    }
}
impl<M> std::ops::BitOr for Filter<M> {
    type Output = Filter<M>;
    fn bitor(self, rhs: Self) -> Filter<M> {
        self.or(rhs)
    }
}
impl<M> std::ops::Not for Filter<M> {
    type Output = Filter<M>;
    fn not(self) -> Filter<M> {
        Filter::not(self)
    }
}

/// A condition that can filter a query on model `M`.
///
/// ```
/// # use rom_dsl::{Model, Query, QueryDsl};
/// # use rom_dsl::query::IntoFilter;
/// fn narrowed<M: Model>(q: Query<M>, f: impl IntoFilter<M>) -> Query<M> {
///     q.filter(f)
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a condition on `{M}`",
    label = "expected a condition on `{M}`",
    note = "a query on `{M}` is filtered by a condition on one of `{M}`'s columns, such as `column.eq(value)` or `column.gt(value)`: not by a bare column, nor by a condition on another model"
)]
pub trait IntoFilter<M> {
    /// The filter.
    ///
    /// ```
    /// # use rom_dsl::Filter;
    /// # use rom_dsl::query::IntoFilter;
    /// fn either<M>(a: impl IntoFilter<M>, b: impl IntoFilter<M>) -> Filter<M> {
    ///     a.into_filter() | b.into_filter()
    /// }
    /// ```
    fn into_filter(self) -> Filter<M>;
}
#[diagnostic::do_not_recommend]
impl<M> IntoFilter<M> for Filter<M> {
    fn into_filter(self) -> Filter<M> {
        self
    }
}

/// An ordering of model `M`'s rows by a numeric or a sort-indexed column.
///
/// ```
/// # use rom_dsl::{Order, Sortable};
/// # use rom_dsl::query::ColumnMethods;
/// fn newest_first<C: Sortable>(created_at: C) -> Order<C::Model> {
///     created_at.desc()
/// }
/// ```
pub struct Order<M> {
    pub(crate) key: Vec<u8>,
    pub(crate) desc: bool,
    pub(crate) name: &'static str,
    /// For a sort index: the slot whose value a row records.
    pub(crate) lex: Option<usize>,
    pub(crate) _m: PhantomData<fn() -> M>,
}

impl<M> std::fmt::Debug for Order<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let dir = if self.desc { "desc" } else { "asc" };
        write!(f, "Order({} {dir})", self.name)
    }
}

/// An ordering that can order a query on model `M`.
///
/// ```
/// # use rom_dsl::{Model, Query, QueryDsl};
/// # use rom_dsl::query::IntoOrder;
/// fn top_ten<M: Model>(q: Query<M>, by: impl IntoOrder<M>) -> Query<M> {
///     q.order_by(by).limit(10)
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an ordering of `{M}`",
    label = "expected an ordering of `{M}`",
    note = "a query on `{M}` is ordered by one of `{M}`'s columns with `.asc()` or `.desc()`, as in `.order_by(column.desc())`: not by a bare column, nor by another model's column"
)]
pub trait IntoOrder<M> {
    /// The ordering.
    ///
    /// ```
    /// # use rom_dsl::query::IntoOrder;
    /// fn describe<M>(by: impl IntoOrder<M>) -> String {
    ///     format!("{:?}", by.into_order()) // such as "Order(age desc)"
    /// }
    /// ```
    fn into_order(self) -> Order<M>;
}
#[diagnostic::do_not_recommend]
impl<M> IntoOrder<M> for Order<M> {
    fn into_order(self) -> Order<M> {
        self
    }
}

/// The column is a column of `M`: for `select`.
///
/// ```
/// # use rom_dsl::{Model, Query, QueryDsl, Result};
/// # use rom_dsl::query::BelongsTo;
/// fn emails<M: Model, C: BelongsTo<M>>(
///     q: Query<M>,
///     email: C,
///     conn: &mut redis::Connection,
/// ) -> Result<Vec<(C::Field,)>> {
///     q.select((email,)).load(conn)
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "column `{Self}` is not a column of `{M}`",
    label = "a column of another model",
    note = "a query on `{M}` can select only `{M}`'s own columns"
)]
pub trait BelongsTo<M>: Column {}

pub use super::column_methods::ColumnMethods;
pub(crate) use super::column_methods::{fold_for, lex_slot, reference_node};
