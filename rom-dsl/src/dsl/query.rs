//! The query builder and its terminals.
//! Public as `rom_dsl::query` (`src/query.rs`).

use super::filter::{BelongsTo, Node};
use super::page::PageToken;
#[cfg(feature = "tokio")]
use crate::connection::AsyncConnection;
use crate::connection::Connection;
use crate::error::{Error, Result};
use crate::plan::Plan;
use crate::plans::query::describe;
use crate::record::Record;
use crate::storage::model::Model;
use crate::value::Field;
use std::marker::PhantomData;

/// A query on model `M`: a conjunction of filters, an order, an offset and a
/// limit. One flat type, so `if c { q = q.filter(..) }` compiles.
///
/// ```
/// # use rom_dsl::{Filter, Model, Query, QueryDsl};
/// fn search<M: Model>(mut q: Query<M>, only: Option<Filter<M>>) -> Query<M> {
///     if let Some(f) = only {
///         q = q.filter(f);
///     }
///     q.limit(50)
/// }
/// ```
pub struct Query<M> {
    pub(crate) filters: Vec<Node>,
    pub(crate) order: Option<(Vec<u8>, bool, &'static str, Option<usize>)>,
    pub(crate) offset: u64,
    pub(crate) limit: Option<u64>,
    /// Set by [`QueryDsl::after`]: where [`QueryDsl::load_page`] resumes.
    pub(crate) after: Option<PageToken>,
    /// Set by [`QueryDsl::budget`]; the process's default otherwise.
    pub(crate) budget: Option<super::budget::Budget>,
    /// The bucket layout a partitioned model's query runs in (set only by
    /// [`Across`](crate::placement::Across), with the filters' keys retagged
    /// to it); `None`: the model's one layout.
    pub(crate) layout: Option<&'static crate::storage::model::Layout>,
    /// Set by [`QueryDsl::read_from_replicas`]: the calls are sent as read-only
    /// (`FCALL_RO`), which a replica may answer.
    pub(crate) replicas: bool,
    pub(crate) _m: PhantomData<fn() -> M>,
}

impl<M> Clone for Query<M> {
    fn clone(&self) -> Self {
        Query {
            filters: self.filters.clone(),
            order: self.order.clone(),
            offset: self.offset,
            limit: self.limit,
            after: self.after.clone(),
            budget: self.budget,
            layout: self.layout,
            replicas: self.replicas,
            _m: PhantomData,
        }
    }
}

impl<M> std::fmt::Debug for Query<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Query")
            .field("filter", &describe(&self.root()))
            .field("order", &self.order.as_ref().map(|o| (o.2, o.1)))
            .field("offset", &self.offset)
            .field("limit", &self.limit)
            .field("after", &self.after)
            .field("budget", &self.budget)
            .finish()
    }
}

/// The query of every row. (A partitioned model's table has no query
/// methods; a query of one built here is refused when planned:
/// [`Error::Validation`](crate::Error::Validation).)
impl<M: Model> Default for Query<M> {
    fn default() -> Self {
        Query::unscoped()
    }
}

impl<M> Query<M> {
    /// The query of every row of `M`'s one layout.
    pub(crate) fn unscoped() -> Self {
        Query {
            filters: Vec::new(),
            order: None,
            offset: 0,
            limit: None,
            after: None,
            budget: None,
            layout: None,
            replicas: false,
            _m: PhantomData,
        }
    }

    /// A filter node added to this query: its keys retagged to the query's
    /// bucket when the query is pinned to one (`in_partition`).
    pub(crate) fn pin(&self, n: Node) -> Node
    where
        M: crate::Model,
    {
        match self.layout {
            Some(l) => {
                use crate::storage::partition::braced;
                n.retag(&braced(&M::layout().tag), &braced(&l.tag))
            }
            None => n,
        }
    }

    /// An index key (an order's) added to this query, retagged likewise.
    pub(crate) fn pin_key(&self, key: Vec<u8>) -> Vec<u8>
    where
        M: crate::Model,
    {
        match self.layout {
            Some(l) => {
                use crate::storage::partition::braced;
                crate::dsl::filter::retag(&key, &braced(&M::layout().tag), &braced(&l.tag))
            }
            None => key,
        }
    }

    /// The query run in bucket layout `l` of a partitioned model whose one
    /// (base) layout has the tag `base`: every index key retagged (the hash
    /// tag part: a group's models share it).
    pub(crate) fn in_layout(&self, base: &[u8], l: &'static crate::storage::model::Layout) -> Self {
        use crate::storage::partition::braced;
        let (from, to) = (braced(base), braced(&l.tag));
        let mut q = self.clone();
        q.filters = q.filters.iter().map(|n| n.retag(&from, &to)).collect();
        if let Some(o) = &mut q.order {
            o.0 = crate::dsl::filter::retag(&o.0, &from, &to);
        }
        q.layout = Some(l);
        q
    }
}

/// A plan reading one page: its rows and where it stopped.
pub(crate) type PagePlan<M> = Plan<(Vec<Record<M>>, Cursor)>;

pub use crate::wire::query::Cursor;

impl<M> Query<M> {
    pub(crate) fn root(&self) -> Node {
        match self.filters.len() {
            0 => Node::All,
            1 => self.filters[0].clone(),
            _ => Node::And(self.filters.clone()),
        }
    }
}

/// A tuple of columns of `M` to read with [`QueryDsl::select`].
///
/// ```
/// # use rom_dsl::{Model, Query, QueryDsl, Result};
/// # use rom_dsl::query::Selection;
/// fn columns<M: Model, S: Selection<M>>(q: Query<M>, cols: S, conn: &mut redis::Connection) -> Result<Vec<S::Output>> {
///     q.select(cols).load(conn)
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a selection of columns of `{M}`",
    label = "expected a tuple of `{M}`'s columns",
    note = "select a tuple of one to six columns of `{M}`: `.select((column,))` for one, `.select((a, b))` for two"
)]
pub trait Selection<M>: Send + 'static {
    /// What each selected row becomes.
    ///
    /// ```
    /// # use rom_dsl::Model;
    /// # use rom_dsl::query::{BelongsTo, Selection};
    /// // two columns read as a pair of their field types
    /// fn pair<M: Model, A: BelongsTo<M>, B: BelongsTo<M>>(row: <(A, B) as Selection<M>>::Output) -> (A::Field, B::Field) {
    ///     row
    /// }
    /// ```
    type Output: Send + 'static;
    /// The hash fields read.
    ///
    /// ```
    /// # use rom_dsl::query::Selection;
    /// fn read_fields<M, S: Selection<M>>(_: &S) -> &'static [&'static str] {
    ///     S::FIELDS // the hash fields each row's HMGET names
    /// }
    /// ```
    const FIELDS: &'static [&'static str];
    /// Decodes the values of one row.
    ///
    /// ```
    /// # use rom_dsl::Result;
    /// # use rom_dsl::query::Selection;
    /// // what `load` does with the reply of each row
    /// fn one_row<M, S: Selection<M>>(key: &[u8], values: Vec<Option<Vec<u8>>>) -> Result<S::Output> {
    ///     S::decode(key, values)
    /// }
    /// ```
    fn decode(key: &[u8], vals: Vec<Option<Vec<u8>>>) -> Result<Self::Output>;
}

macro_rules! selection {
    ($($c:ident $i:tt),+) => {
        impl<M: Model, $($c: BelongsTo<M>),+> Selection<M> for ($($c,)+) {
            type Output = ($($c::Field,)+);
            const FIELDS: &'static [&'static str] = &[$($c::NAME),+];
            fn decode(key: &[u8], vals: Vec<Option<Vec<u8>>>) -> Result<Self::Output> {
                Ok(($(
                    match $c::Field::from_stored(vals.get($i).and_then(|v| v.as_deref())) {
                        Ok(Some(v)) => v,
                        Ok(None) => return Err(Error::decode(key, Some($c::NAME), "missing field")),
                        Err(e) => return Err(Error::decode(key, Some($c::NAME), e)),
                    },
                )+))
            }
        }
    };
}
selection!(A 0);
selection!(A 0, B 1);
selection!(A 0, B 1, C 2);
selection!(A 0, B 1, C 2, D 3);
selection!(A 0, B 1, C 2, D 3, E 4);
selection!(A 0, B 1, C 2, D 3, E 4, F 5);

/// A query restricted to some columns: `load` returns tuples.
///
/// ```
/// # use rom_dsl::{Model, Query, QueryDsl, Result};
/// # use rom_dsl::query::{BelongsTo, Select};
/// fn email_count<M: Model, E: BelongsTo<M>>(q: Query<M>, email: E, conn: &mut redis::Connection) -> Result<usize> {
///     let emails: Select<M, (E,)> = q.select((email,));
///     Ok(emails.load(conn)?.len())
/// }
/// ```
pub struct Select<M, S> {
    pub(super) query: Query<M>,
    pub(super) _s: PhantomData<fn() -> S>,
}

impl<M, S> std::fmt::Debug for Select<M, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Select")
            .field("query", &self.query)
            .finish()
    }
}

impl<M: Model, S: Selection<M>> Select<M, S> {
    /// The plan of [`Select::load`].
    ///
    /// ```
    /// # use rom_dsl::{Model, Query, QueryDsl, Result};
    /// # use rom_dsl::query::BelongsTo;
    /// fn plan_text<M: Model, E: BelongsTo<M>>(q: Query<M>, email: E) -> Result<String> {
    ///     Ok(q.select((email,)).load_plan()?.explain())
    /// }
    /// ```
    pub fn load_plan(&self) -> Result<Plan<Vec<S::Output>>> {
        self.query.select_plan::<S>()
    }
    /// Reads the selected columns of every match (HMGET per row, in the script).
    ///
    /// ```
    /// # use rom_dsl::{Model, Query, QueryDsl, Result};
    /// # use rom_dsl::query::BelongsTo;
    /// fn emails<M: Model, E: BelongsTo<M>>(q: Query<M>, email: E, conn: &mut redis::Connection) -> Result<Vec<E::Field>> {
    ///     let rows = q.select((email,)).load(conn)?;
    ///     Ok(rows.into_iter().map(|(e,)| e).collect())
    /// }
    /// ```
    pub fn load<C: Connection + ?Sized>(&self, conn: &mut C) -> Result<Vec<S::Output>> {
        self.load_plan()?.run(conn)
    }
    /// [`Select::load`] on an async connection.
    ///
    /// ```
    /// # use rom_dsl::{Model, Query, QueryDsl, Result};
    /// # use rom_dsl::query::BelongsTo;
    /// async fn emails<M: Model, E: BelongsTo<M>>(q: Query<M>, email: E, conn: &mut redis::aio::MultiplexedConnection) -> Result<Vec<(E::Field,)>> {
    ///     q.select((email,)).load_async(conn).await
    /// }
    /// ```
    #[cfg(feature = "tokio")]
    pub async fn load_async<C: AsyncConnection>(&self, conn: &mut C) -> Result<Vec<S::Output>> {
        self.load_plan()?.run_async(conn).await
    }
}

/// Pages through a query's matches in constant memory: each page is one
/// script call that resumes after the last row of the previous page.
///
/// Under concurrent writes, every row that exists for the whole iteration and
/// whose order column does not change is returned exactly once; rows inserted,
/// deleted or moved meanwhile may or may not be returned.
///
/// ```
/// # use rom_dsl::{Crud, Model, Query, QueryDsl};
/// # #[derive(Clone, Debug)] struct Tag;
/// # impl rom_dsl::__private::Sealed for Tag {}
/// # impl rom_dsl::placement::Unpartitioned for Tag {}
/// # impl Model for Tag {
/// #     type Key = u64;
/// #     const SCHEMA: &'static rom_dsl::__private::Schema = &rom_dsl::__private::Schema {
/// #         name: "Tag", namespace: "tags", key_name: "id", auto_key: true, columns: &[], unique_together: &[] };
/// #     fn layout() -> &'static rom_dsl::__private::Layout {
/// #         static L: std::sync::OnceLock<rom_dsl::__private::Layout> = std::sync::OnceLock::new();
/// #         L.get_or_init(|| rom_dsl::__private::Layout::new(Self::SCHEMA))
/// #     }
/// #     fn key(&self) -> Option<u64> { None }
/// #     fn set_key(&mut self, _: u64) {}
/// #     fn cells(&self) -> rom_dsl::Result<Vec<rom_dsl::__private::Cell>> { Ok(vec![]) }
/// #     fn from_row(_: u64, _: &rom_dsl::__private::RowData) -> rom_dsl::Result<Self> { Ok(Tag) }
/// # }
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let server = rom_testing::RedisServer::start()?;
/// # let mut conn = server.connection()?;
/// // (`Tag` is a model written by hand; yours come from `#[derive(Model)]`)
/// for _ in 0..3 {
///     Tag.insert(&mut conn)?;
/// }
/// let mut pages = Query::<Tag>::default().pages(2);
/// let mut sizes = Vec::new();
/// while let Some(rows) = pages.next_page(&mut conn)? {
///     sizes.push(rows.len());
/// }
/// assert_eq!(sizes, [2, 1]);
/// # Ok(()) }
/// ```
pub struct Pages<M> {
    pub(super) query: Query<M>,
    pub(super) page: u64,
    pub(super) remaining: Option<u64>,
    pub(super) cursor: Option<Cursor>,
    pub(super) done: bool,
}

impl<M> std::fmt::Debug for Pages<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pages")
            .field("query", &self.query)
            .field("page", &self.page)
            .field("remaining", &self.remaining)
            .field("cursor", &self.cursor)
            .field("done", &self.done)
            .finish()
    }
}

impl<M: Model> Pages<M> {
    fn next_plan(&mut self) -> Option<Result<PagePlan<M>>> {
        if self.done {
            return None;
        }
        let mut q = self.query.clone();
        let n = self.remaining.map_or(self.page, |r| r.min(self.page));
        if n == 0 {
            self.done = true;
            // a query that cannot run fails even when it would return nothing
            return self.query.check().err().map(Err);
        }
        q.limit = Some(n);
        if self.cursor.is_some() {
            q.offset = 0;
        }
        Some(q.page_plan(self.cursor.as_ref()))
    }

    fn advance(&mut self, rows: &[Record<M>], c: Cursor) {
        let n = rows.len() as u64;
        if let Some(r) = &mut self.remaining {
            *r -= n.min(*r);
        }
        if n < self.page || c.member.is_empty() {
            self.done = true;
        }
        self.cursor = Some(c);
    }

    /// The next page, or `None` after the last one.
    ///
    /// ```
    /// # use rom_dsl::{Model, Query, QueryDsl, Result};
    /// fn first_two_pages<M: Model>(q: Query<M>, conn: &mut redis::Connection) -> Result<usize> {
    ///     let mut pages = q.pages(50);
    ///     let a = pages.next_page(conn)?.map_or(0, |rows| rows.len());
    ///     let b = pages.next_page(conn)?.map_or(0, |rows| rows.len());
    ///     Ok(a + b)
    /// }
    /// ```
    pub fn next_page<C: Connection + ?Sized>(
        &mut self,
        conn: &mut C,
    ) -> Result<Option<Vec<Record<M>>>> {
        let Some(plan) = self.next_plan() else {
            return Ok(None);
        };
        let (rows, c) = plan?.run(conn)?;
        self.advance(&rows, c);
        Ok(if rows.is_empty() { None } else { Some(rows) })
    }

    /// [`Pages::next_page`] on an async connection.
    ///
    /// ```
    /// # use rom_dsl::{Model, Query, QueryDsl, Result};
    /// async fn visit_all<M: Model>(q: Query<M>, conn: &mut redis::aio::MultiplexedConnection) -> Result<usize> {
    ///     let (mut pages, mut seen) = (q.pages(500), 0);
    ///     while let Some(rows) = pages.next_page_async(conn).await? {
    ///         seen += rows.len();
    ///     }
    ///     Ok(seen)
    /// }
    /// ```
    #[cfg(feature = "tokio")]
    pub async fn next_page_async<C: AsyncConnection>(
        &mut self,
        conn: &mut C,
    ) -> Result<Option<Vec<Record<M>>>> {
        let Some(plan) = self.next_plan() else {
            return Ok(None);
        };
        let (rows, c) = plan?.run_async(conn).await?;
        self.advance(&rows, c);
        Ok(if rows.is_empty() { None } else { Some(rows) })
    }
}

/// Extension for `Result<T>` from [`QueryDsl::first`]: turns
/// [`Error::NotFound`] into `Ok(None)`.
///
/// ```
/// # use rom_dsl::{Model, OptionalExtension, Query, QueryDsl, Result};
/// fn any_match<M: Model>(q: Query<M>, conn: &mut redis::Connection) -> Result<bool> {
///     Ok(q.first(conn).optional()?.is_some())
/// }
/// ```
pub trait OptionalExtension<T> {
    /// `Ok(None)` instead of a not-found error.
    ///
    /// ```
    /// use rom_dsl::{Error, OptionalExtension, Result};
    /// let missing: Result<u32> = Err(Error::NotFound { model: "User", key: "7".into() });
    /// assert_eq!(missing.optional()?, None);
    /// assert_eq!(Ok::<u32, Error>(3).optional()?, Some(3));
    /// # Ok::<(), Error>(())
    /// ```
    fn optional(self) -> Result<Option<T>>;
}
impl<T> OptionalExtension<T> for Result<T> {
    fn optional(self) -> Result<Option<T>> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

pub use super::query_dsl::QueryDsl;
