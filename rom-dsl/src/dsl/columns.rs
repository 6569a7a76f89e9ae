//! Columns and their marker traits.
//! Public as `rom_dsl::index` (`src/index.rs`).

use crate::storage::model::Model;
use crate::value::Value;

/// A column of a model, as a type: `users::email`. Implemented by
/// `#[derive(Model)]` for each field, and only by it (the trait is sealed).
///
/// ```
/// # use rom_dsl::Column;
/// fn field_name<C: Column>(_: C) -> &'static str {
///     C::NAME // "email" for `users::email`
/// }
/// ```
pub trait Column: crate::__private::Sealed + Copy + Send + Sync + 'static {
    /// The model the column belongs to.
    type Model: Model;
    /// The column's value type (`T` for a field of type `T` or `Option<T>`).
    type Value: Value;
    /// Position in the model's schema.
    const INDEX: usize;
    /// The field name.
    const NAME: &'static str;
    /// The declared field type (`T` or `Option<T>`).
    type Field: crate::value::Field<Inner = Self::Value>;
    /// The bytes an equality or unique index is keyed by (generated for a
    /// column in a value-keyed index; empty otherwise).
    #[doc(hidden)]
    fn eq_key(v: &Self::Value, fold: crate::storage::model::Fold) -> Vec<u8> {
        let _ = (v, fold);
        Vec::new()
    }
    /// What an increment must respect of the column's validation rules
    /// (generated for a column with rules).
    #[doc(hidden)]
    fn counter_rules() -> crate::storage::rules::CounterRules {
        crate::storage::rules::CounterRules::default()
    }
    /// The score of a value in the numeric index (generated for a column
    /// with a numeric index).
    #[doc(hidden)]
    fn score(v: &Self::Value) -> Result<f64, String> {
        let _ = v;
        Err("no numeric index".to_owned())
    }
    /// Where a query value lies among the scores of the numeric index
    /// (generated for a `Decimal` column with a declared scale; otherwise
    /// its score, or beyond every score).
    #[doc(hidden)]
    fn bound(v: &Self::Value) -> Result<crate::value::ScoreBound, String> {
        crate::value::score_bound(v, Self::score(v))
    }
    /// The text of a value, for text, prefix, suffix and sort indexes
    /// (generated for a column with one of them).
    #[doc(hidden)]
    fn text(v: &Self::Value) -> Option<&str> {
        let _ = v;
        None
    }
    /// The cell of a field's value in a row: what is stored and what each of
    /// the column's indexes holds. `cells` of a generated `Model` calls it
    /// once per column, saying which index values the row needs.
    #[doc(hidden)]
    fn cell(
        f: &Self::Field,
        needs: CellNeeds,
    ) -> crate::error::Result<crate::storage::model::Cell> {
        use crate::storage::model::Fold;
        use crate::value::Field;
        let v = f.inner();
        let score = match v {
            Some(v) if needs.score => Some(
                Self::score(v)
                    .map_err(|e| crate::storage::model::invalid::<Self::Model>(Self::NAME, e))?,
            ),
            _ => None,
        };
        let key = |want: bool, fold: Fold| v.filter(|_| want).map(|v| Self::eq_key(v, fold));
        Ok(crate::storage::model::Cell {
            stored: f.to_stored(),
            score,
            exact: key(needs.exact, Fold::Exact),
            folded: key(needs.folded, Fold::CaseInsensitive),
            text: v
                .filter(|_| needs.text)
                .and_then(Self::text)
                .map(ToOwned::to_owned),
        })
    }
}

/// Which index values a column's cell holds (see [`Column::cell`]).
///
/// ```
/// use rom_dsl::index::CellNeeds;
/// let n = CellNeeds { score: true, ..CellNeeds::NONE };
/// assert!(n.score && !n.text);
/// ```
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CellNeeds {
    /// The score in the numeric index.
    pub score: bool,
    /// The exact equality key (a unique, equality or composite unique index).
    pub exact: bool,
    /// The case-folded equality key.
    pub folded: bool,
    /// The text (full-text, prefix, suffix or sort index).
    pub text: bool,
}

impl CellNeeds {
    /// A column with no index.
    pub const NONE: CellNeeds = CellNeeds {
        score: false,
        exact: false,
        folded: false,
        text: false,
    };
}

/// The column can be filtered with `eq` and `eq_any`: it has an equality index,
/// a numeric index or a unique constraint.
///
/// ```
/// # use rom_dsl::{EqFilterable, QueryDsl, Result, Table};
/// # use rom_dsl::query::ColumnMethods;
/// fn in_city<T, C>(people: T, city: C, conn: &mut redis::Connection) -> Result<u64>
/// where
///     T: Table,
///     C: EqFilterable<Model = T::Model, Value = String>,
/// {
///     people.filter(city.eq("Lyon")).count(conn)
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "column `{Self}` has no index that can answer an equality filter",
    label = "`{Self}` is not indexed for `eq`",
    note = "add `#[rom(index(eq))]` to the field `{Self}` of the model; `#[rom(unique)]`, and `#[rom(index(numeric))]` on a number, answer `eq` too"
)]
pub trait EqFilterable: Column {}

/// The column holds a unique value (`#[rom(unique)]`): at most one row has
/// each value. A `belongs_to` column that is unique is a one-to-one relation,
/// whose other side is `has_one` ([`Query::load_child`](crate::query::Query::load_child)).
///
/// ```
/// # use rom_dsl::{QueryDsl, Result, Unique};
/// # use rom_dsl::query::WithChild;
/// # use rom_dsl::relations::Reference;
/// fn with_profiles<Q, C>(
///     users: Q,
///     profile_user: C,
///     conn: &mut redis::Connection,
/// ) -> Result<WithChild<Q::Model, C>>
/// where
///     Q: QueryDsl,
///     C: Reference<Parent = Q::Model> + Unique,
/// {
///     users.load_child(conn, profile_user)
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "column `{Self}` is not unique, so a row may be referenced by several rows through it",
    label = "`{Self}` is not declared `unique`",
    note = "add `#[rom(unique)]` to the field `{Self}` for a one-to-one relation, or use `has_many` / `load_children` for one-to-many"
)]
pub trait Unique: Column {}

/// The column can be filtered by ranges (`gt`, `ge`, `lt`, `le`, `between`): it
/// has a numeric index.
///
/// ```
/// # use rom_dsl::{QueryDsl, RangeFilterable, Result, Table};
/// # use rom_dsl::query::ColumnMethods;
/// fn adults<T, A>(people: T, age: A, conn: &mut redis::Connection) -> Result<u64>
/// where
///     T: Table,
///     A: RangeFilterable<Model = T::Model, Value = i32>,
/// {
///     people.filter(age.ge(18)).count(conn)
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "column `{Self}` has no numeric index, so it cannot be filtered by a range",
    label = "`{Self}` is not indexed for ranges",
    note = "add `#[rom(index(numeric))]` to the field `{Self}` of the model: equality and unique indexes answer only `eq`; ranges exist for numbers, `bool` and dates (text has `starts_with`, with `index(prefix)`)"
)]
pub trait RangeFilterable: Column {}

/// The column can order a query: it has a numeric index.
///
/// ```
/// # use rom_dsl::{Model, QueryDsl, Result, Sortable, Table};
/// # use rom_dsl::query::ColumnMethods;
/// fn newest<T, C>(
///     posts: T,
///     created_at: C,
///     conn: &mut redis::Connection,
/// ) -> Result<Vec<<T::Model as Model>::Key>>
/// where
///     T: Table,
///     C: Sortable<Model = T::Model>,
/// {
///     posts.order_by(created_at.desc()).limit(10).ids(conn)
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "column `{Self}` has no numeric or sort index, so a query cannot be ordered by it",
    label = "`{Self}` cannot order a query",
    note = "add `#[rom(index(numeric))]` (numbers, `bool`, dates) or `#[rom(index(sort))]` (text) to the field `{Self}` of the model; equality and unique indexes do not order"
)]
pub trait Sortable: Column {}

/// The column can be searched by words (`has_word`, `has_all_words`,
/// `has_any_word`): it has a full-text index.
///
/// ```
/// # use rom_dsl::{QueryDsl, Result, Table, TextFilterable};
/// # use rom_dsl::query::ColumnMethods;
/// fn search<T, C>(posts: T, body: C, words: &str, conn: &mut redis::Connection) -> Result<u64>
/// where
///     T: Table,
///     C: TextFilterable<Model = T::Model>,
/// {
///     posts.filter(body.has_word(words)).count(conn)
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "column `{Self}` has no full-text index, so it cannot be searched by words",
    label = "`{Self}` is not indexed for words",
    note = "add `#[rom(index(text))]` to the field `{Self}` of the model"
)]
pub trait TextFilterable: Column {}

/// The column can be filtered with `starts_with` and `like`: it has a prefix
/// (or sort) index.
///
/// ```
/// # use rom_dsl::{PrefixFilterable, QueryDsl, Result, Table};
/// # use rom_dsl::query::ColumnMethods;
/// fn suggest<T, C>(users: T, name: C, typed: &str, conn: &mut redis::Connection) -> Result<usize>
/// where
///     T: Table,
///     C: PrefixFilterable<Model = T::Model>,
/// {
///     Ok(users.filter(name.starts_with(typed)).limit(5).load(conn)?.len())
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "column `{Self}` has no prefix index, so it cannot answer `starts_with` or `like`",
    label = "`{Self}` is not indexed for prefixes",
    note = "add `#[rom(index(prefix))]` (or `index(prefix, case_insensitive)`) to the field `{Self}` of the model"
)]
pub trait PrefixFilterable: Column {}

/// The column can be filtered with `ends_with`: it has a suffix index.
///
/// ```
/// # use rom_dsl::{QueryDsl, Result, SuffixFilterable, Table};
/// # use rom_dsl::query::ColumnMethods;
/// fn staff<T, C>(users: T, email: C, conn: &mut redis::Connection) -> Result<u64>
/// where
///     T: Table,
///     C: SuffixFilterable<Model = T::Model>,
/// {
///     users.filter(email.ends_with("@example.com")).count(conn)
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "column `{Self}` has no suffix index, so it cannot answer `ends_with`",
    label = "`{Self}` is not indexed for suffixes",
    note = "add `#[rom(index(suffix))]` to the field `{Self}` of the model"
)]
pub trait SuffixFilterable: Column {}

/// The column can be filtered with `like`: it has a prefix, suffix or sort
/// index.
///
/// ```
/// # use rom_dsl::{LikeFilterable, QueryDsl, Result, Table};
/// # use rom_dsl::query::ColumnMethods;
/// fn pdfs<T, C>(files: T, name: C, conn: &mut redis::Connection) -> Result<u64>
/// where
///     T: Table,
///     C: LikeFilterable<Model = T::Model>,
/// {
///     files.filter(name.like("*.pdf")).count(conn)
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "column `{Self}` has no prefix or suffix index, so it cannot answer `like`",
    label = "`{Self}` is not indexed for patterns",
    note = "add `#[rom(index(prefix))]` (patterns with a literal start) and/or `#[rom(index(suffix))]` (patterns with a literal end) to the field `{Self}` of the model"
)]
pub trait LikeFilterable: Column {}

/// A table marker: `users::table`, the starting point of every query.
///
/// ```
/// # use rom_dsl::{QueryDsl, Result, Table};
/// fn how_many<T: Table>(table: T, conn: &mut redis::Connection) -> Result<u64> {
///     table.count(conn)
/// }
/// ```
pub trait Table: Copy + Send + Sync + 'static {
    /// The model the table holds (in one slot: a partitioned model's table
    /// is a [`PartitionedTable`](crate::placement::PartitionedTable)).
    type Model: crate::placement::Unpartitioned;
}

/// A value a query can compare with column `C`, whose values are `T`: any
/// [`IntoValue<T>`](crate::value::IntoValue). The query methods of a column
/// (`eq`, `gt`, `between`...) take it, so that a value of the wrong type is
/// an error naming the column.
///
/// ```
/// use rom_dsl::index::{Column, ValueFor};
/// fn takes<C: Column, V: ValueFor<C, C::Value>>(_: C, _: V) {}
/// ```
#[diagnostic::on_unimplemented(
    message = "column `{C}` holds `{T}` values, not `{Self}`",
    label = "expected a value of type `{T}` for column `{C}`",
    note = "compare column `{C}` with a value of type `{T}` or a reference to one (a `String` column also takes a `&str`); if you meant another column, name that column"
)]
pub trait ValueFor<C, T>: crate::value::IntoValue<T> {}

#[diagnostic::do_not_recommend]
impl<C: Column<Value = T>, T: Value, V: crate::value::IntoValue<T>> ValueFor<C, T> for V {}
