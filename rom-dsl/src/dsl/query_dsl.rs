//! The query methods ([`QueryDsl`]), on a table and on a query: each builds
//! a [`Query`] and runs one of its terminals. Public through `rom::query`.

use super::children::{WithChild, WithChildren};
use super::columns::Unique;
use super::filter::{IntoFilter, IntoOrder, Node};
use super::page::{Page, PageToken};
use super::query::{Pages, Query, Select, Selection};
use super::related::{RelatedSet, WithRelated};
#[cfg(feature = "tokio")]
use crate::connection::AsyncConnection;
use crate::connection::Connection;
use crate::error::{Error, Result};
use crate::index::Table;
use crate::plan::Plan;
use crate::record::Record;
use crate::storage::model::Model;
use crate::storage::relations::Reference;
use std::marker::PhantomData;

/// The query methods, on a table (`users::table.filter(..)`) and on a query.
pub trait QueryDsl: Sized {
    /// The model queried.
    type Model: Model;
    /// The query so far.
    fn into_query(self) -> Query<Self::Model>;

    /// Keeps the rows matching `f` (chained filters are ANDed).
    fn filter(self, f: impl IntoFilter<Self::Model>) -> Query<Self::Model> {
        let mut q = self.into_query();
        match f.into_filter().node {
            Node::And(kids) => q.filters.extend(kids),
            n => q.filters.push(n),
        }
        q
    }
    /// Orders the rows (replacing an earlier order).
    fn order_by(self, o: impl IntoOrder<Self::Model>) -> Query<Self::Model> {
        let mut q = self.into_query();
        let o = o.into_order();
        q.order = Some((o.key, o.desc, o.name, o.lex));
        q
    }
    /// Returns at most `n` rows.
    fn limit(self, n: u64) -> Query<Self::Model> {
        let mut q = self.into_query();
        q.limit = Some(n);
        q
    }
    /// Sets how much work one call of this query may do (see
    /// [`Budget`](crate::query::Budget)): a query that needs more runs in
    /// several calls, each resuming where the last stopped.
    ///
    /// ```
    /// # use rom_dsl::query::{Budget, QueryDsl};
    /// fn whole<Q: QueryDsl>(q: Q) -> rom_dsl::query::Query<Q::Model> {
    ///     q.budget(Budget::UNBOUNDED) // one call, however long
    /// }
    /// ```
    fn budget(self, b: super::budget::Budget) -> Query<Self::Model> {
        let mut q = self.into_query();
        q.budget = Some(b);
        q
    }
    /// Skips the first `n` rows.
    fn offset(self, n: u64) -> Query<Self::Model> {
        let mut q = self.into_query();
        q.offset = n;
        q
    }
    /// Reads only some columns: `select((users::email, users::age))`.
    fn select<S: Selection<Self::Model>>(self, _columns: S) -> Select<Self::Model, S> {
        Select {
            query: self.into_query(),
            _s: PhantomData,
        }
    }
    /// Pages through the matches, `page_size` rows per round trip.
    fn pages(self, page_size: u64) -> Pages<Self::Model> {
        let q = self.into_query();
        Pages {
            remaining: q.limit,
            query: q,
            page: page_size.max(1),
            cursor: None,
            done: false,
        }
    }

    /// One page of at most `page_size` rows (at least 1), in one round trip,
    /// with the token of the next page: from the start of the query (after
    /// its offset), or from where a token left off when the query was given
    /// one with [`QueryDsl::after`]. The query's limit caps the rows of all
    /// pages together (the token carries how many are left). For a web
    /// service, where the iterator of [`QueryDsl::pages`] cannot live between
    /// requests.
    ///
    /// The guarantee under concurrent writes is that of [`Pages`]: every row
    /// that exists for the whole paging and whose order column does not
    /// change is returned exactly once; rows inserted, deleted or moved
    /// meanwhile may or may not be returned. A token is a position (the last
    /// row's order value and key), so deleting that row does not break it.
    ///
    /// A token from another query (different model, filter or order), or a
    /// damaged one, is an [`Error::Validation`], with nothing sent.
    ///
    /// ```
    /// # use rom_dsl::{Model, QueryDsl, Result};
    /// # use rom_dsl::query::PageToken;
    /// // a handler: the token from the request, the next one in the response
    /// fn list<M: Model>(
    ///     q: rom_dsl::Query<M>,
    ///     token: Option<&str>,
    ///     conn: &mut redis::Connection,
    /// ) -> Result<(usize, Option<String>)> {
    ///     let q = match token {
    ///         Some(t) => q.after(&t.parse::<PageToken>()?),
    ///         None => q,
    ///     };
    ///     let page = q.load_page(20, conn)?;
    ///     Ok((page.rows.len(), page.next.map(|t| t.to_string())))
    /// }
    /// ```
    fn load_page<C: Connection + ?Sized>(
        self,
        page_size: u64,
        conn: &mut C,
    ) -> Result<Page<Self::Model>> {
        self.into_query().page_plan_of(page_size)?.run(conn)
    }
    /// [`QueryDsl::load_page`] on an async connection.
    #[cfg(feature = "tokio")]
    fn load_page_async<C: AsyncConnection>(
        self,
        page_size: u64,
        conn: &mut C,
    ) -> impl Future<Output = Result<Page<Self::Model>>> + Send {
        let call = self.into_query().page_plan_of(page_size);
        async move { call?.run_async(conn).await }
    }
    /// Resumes [`QueryDsl::load_page`] where the page that gave `token`
    /// stopped. Only `load_page` reads a token: every other terminal refuses
    /// a query that has one ([`Error::Validation`]).
    ///
    /// ```
    /// # use rom_dsl::{Model, Query, QueryDsl};
    /// # use rom_dsl::query::PageToken;
    /// fn resume<M: Model>(q: Query<M>, token: Option<&PageToken>) -> Query<M> {
    ///     match token {
    ///         Some(t) => q.after(t),
    ///         None => q,
    ///     }
    /// }
    /// ```
    fn after(self, token: &PageToken) -> Query<Self::Model> {
        let mut q = self.into_query();
        q.after = Some(token.clone());
        q
    }

    /// Every matching row with the row its reference `column` names: see
    /// [`Query::load_with`].
    fn load_with<C, Conn>(
        self,
        conn: &mut Conn,
        column: C,
    ) -> Result<crate::dsl::preload::WithParents<Self::Model, C>>
    where
        C: crate::storage::relations::Reference + crate::index::Column<Model = Self::Model>,
        Conn: Connection + ?Sized,
    {
        Query::load_with(&self.into_query(), conn, column)
    }
    /// [`QueryDsl::load_with`] on an async connection.
    #[cfg(feature = "tokio")]
    fn load_with_async<C, Conn>(
        self,
        conn: &mut Conn,
        column: C,
    ) -> impl Future<Output = Result<crate::dsl::preload::WithParents<Self::Model, C>>> + Send
    where
        C: crate::storage::relations::Reference + crate::index::Column<Model = Self::Model>,
        Conn: AsyncConnection,
    {
        let q = self.into_query();
        async move { Query::load_with_async(&q, conn, column).await }
    }
    /// The plan of [`QueryDsl::load_with`] (co-located parents only).
    fn load_with_plan<C>(
        self,
        column: C,
    ) -> Result<Plan<crate::dsl::preload::WithParents<Self::Model, C>>>
    where
        C: crate::storage::relations::Reference + crate::index::Column<Model = Self::Model>,
    {
        Query::load_with_plan(&self.into_query(), column)
    }

    /// Every matching row with the rows whose reference `column` names it:
    /// see [`Query::load_children`].
    fn load_children<C, Conn>(
        self,
        conn: &mut Conn,
        column: C,
    ) -> Result<WithChildren<Self::Model, C>>
    where
        C: Reference<Parent = Self::Model>,
        Conn: Connection + ?Sized,
    {
        Query::load_children(&self.into_query(), conn, column)
    }
    /// [`QueryDsl::load_children`] on an async connection.
    #[cfg(feature = "tokio")]
    fn load_children_async<C, Conn>(
        self,
        conn: &mut Conn,
        column: C,
    ) -> impl Future<Output = Result<WithChildren<Self::Model, C>>> + Send
    where
        C: Reference<Parent = Self::Model>,
        Conn: AsyncConnection,
    {
        let q = self.into_query();
        async move { Query::load_children_async(&q, conn, column).await }
    }
    /// The plan of [`QueryDsl::load_children`] (co-located children only).
    fn load_children_plan<C>(self, column: C) -> Result<Plan<WithChildren<Self::Model, C>>>
    where
        C: Reference<Parent = Self::Model>,
    {
        Query::load_children_plan(&self.into_query(), column)
    }
    /// Every matching row with the row whose unique reference `column`
    /// names it (`has_one`): see [`Query::load_child`].
    fn load_child<C, Conn>(self, conn: &mut Conn, column: C) -> Result<WithChild<Self::Model, C>>
    where
        C: Reference<Parent = Self::Model> + Unique,
        Conn: Connection + ?Sized,
    {
        Query::load_child(&self.into_query(), conn, column)
    }
    /// [`QueryDsl::load_child`] on an async connection.
    #[cfg(feature = "tokio")]
    fn load_child_async<C, Conn>(
        self,
        conn: &mut Conn,
        column: C,
    ) -> impl Future<Output = Result<WithChild<Self::Model, C>>> + Send
    where
        C: Reference<Parent = Self::Model> + Unique,
        Conn: AsyncConnection,
    {
        let q = self.into_query();
        async move { Query::load_child_async(&q, conn, column).await }
    }
    /// The plan of [`QueryDsl::load_child`] (co-located children only).
    fn load_child_plan<C>(self, column: C) -> Result<Plan<WithChild<Self::Model, C>>>
    where
        C: Reference<Parent = Self::Model> + Unique,
    {
        Query::load_child_plan(&self.into_query(), column)
    }

    /// Every matching row with several relations at once: see
    /// [`Query::load_related`].
    fn load_related<S, Conn>(
        self,
        conn: &mut Conn,
        related: S,
    ) -> Result<WithRelated<Self::Model, S>>
    where
        S: RelatedSet<Self::Model> + Send + 'static,
        Conn: Connection + ?Sized,
    {
        Query::load_related(&self.into_query(), conn, related)
    }
    /// [`QueryDsl::load_related`] on an async connection.
    #[cfg(feature = "tokio")]
    fn load_related_async<S, Conn>(
        self,
        conn: &mut Conn,
        related: S,
    ) -> impl Future<Output = Result<WithRelated<Self::Model, S>>> + Send
    where
        S: RelatedSet<Self::Model> + Send + 'static,
        Conn: AsyncConnection,
    {
        let plan = self.into_query().load_related_plan(related);
        async move { plan?.run_async(conn).await }
    }
    /// The plan of [`QueryDsl::load_related`].
    fn load_related_plan<S>(self, related: S) -> Result<Plan<WithRelated<Self::Model, S>>>
    where
        S: RelatedSet<Self::Model> + Send + 'static,
    {
        Query::load_related_plan(&self.into_query(), related)
    }

    /// Every matching row, in one round trip.
    fn load<C: Connection + ?Sized>(self, conn: &mut C) -> Result<Vec<Record<Self::Model>>> {
        self.into_query().load_plan()?.run(conn)
    }
    /// [`QueryDsl::load`] on an async connection.
    #[cfg(feature = "tokio")]
    fn load_async<C: AsyncConnection>(
        self,
        conn: &mut C,
    ) -> impl Future<Output = Result<Vec<Record<Self::Model>>>> + Send {
        let plan = self.into_query().load_plan();
        async move { plan?.run_async(conn).await }
    }
    /// The first matching row; [`Error::NotFound`] when none (see
    /// [`OptionalExtension::optional`]).
    fn first<C: Connection + ?Sized>(self, conn: &mut C) -> Result<Record<Self::Model>> {
        first_of(at_most_one(self.into_query()).load_plan()?.run(conn)?)
    }
    /// [`QueryDsl::first`] on an async connection.
    #[cfg(feature = "tokio")]
    fn first_async<C: AsyncConnection>(
        self,
        conn: &mut C,
    ) -> impl Future<Output = Result<Record<Self::Model>>> + Send {
        let plan = at_most_one(self.into_query()).load_plan();
        async move { first_of(plan?.run_async(conn).await?) }
    }
    /// The keys of the matching rows.
    fn ids<C: Connection + ?Sized>(self, conn: &mut C) -> Result<Vec<<Self::Model as Model>::Key>> {
        self.into_query().ids_plan()?.run(conn)
    }
    /// [`QueryDsl::ids`] on an async connection.
    #[cfg(feature = "tokio")]
    fn ids_async<C: AsyncConnection>(
        self,
        conn: &mut C,
    ) -> impl Future<Output = Result<Vec<<Self::Model as Model>::Key>>> + Send {
        let plan = self.into_query().ids_plan();
        async move { plan?.run_async(conn).await }
    }
    /// How many rows match (after the offset, at most the limit).
    fn count<C: Connection + ?Sized>(self, conn: &mut C) -> Result<u64> {
        self.into_query().count_plan()?.run(conn)
    }
    /// [`QueryDsl::count`] on an async connection.
    #[cfg(feature = "tokio")]
    fn count_async<C: AsyncConnection>(
        self,
        conn: &mut C,
    ) -> impl Future<Output = Result<u64>> + Send {
        let plan = self.into_query().count_plan();
        async move { plan?.run_async(conn).await }
    }
    /// Whether any row matches.
    fn exists<C: Connection + ?Sized>(self, conn: &mut C) -> Result<bool> {
        self.into_query().exists_plan()?.run(conn)
    }
    /// [`QueryDsl::exists`] on an async connection.
    #[cfg(feature = "tokio")]
    fn exists_async<C: AsyncConnection>(
        self,
        conn: &mut C,
    ) -> impl Future<Output = Result<bool>> + Send {
        let plan = self.into_query().exists_plan();
        async move { plan?.run_async(conn).await }
    }
    /// Deletes every match with its index entries (and what its on_delete
    /// rules reach); returns how many. One atomic call when the work fits
    /// the query's [`Budget`](crate::query::Budget); otherwise atomic steps,
    /// each deleting the matches it examined, until none is left.
    fn delete<C: Connection + ?Sized>(self, conn: &mut C) -> Result<u64> {
        Ok(self.into_query().delete_plan()?.run(conn)?.0)
    }
    /// [`QueryDsl::delete`] on an async connection.
    #[cfg(feature = "tokio")]
    fn delete_async<C: AsyncConnection>(
        self,
        conn: &mut C,
    ) -> impl Future<Output = Result<u64>> + Send {
        let plan = self.into_query().delete_plan();
        async move { Ok(plan?.run_async(conn).await?.0) }
    }
    /// The plan of [`QueryDsl::load`] as text.
    fn explain(self) -> String {
        Query::explain(&self.into_query())
    }
}

/// The query of `first`: its first row, none under a limit of 0.
fn at_most_one<M>(mut q: Query<M>) -> Query<M> {
    q.limit = Some(q.limit.map_or(1, |l| l.min(1)));
    q
}

fn first_of<M: Model>(rows: Vec<Record<M>>) -> Result<Record<M>> {
    rows.into_iter().next().ok_or(Error::NotFound {
        model: M::SCHEMA.name,
        key: "(query)".into(),
    })
}

impl<M: Model> QueryDsl for Query<M> {
    type Model = M;
    fn into_query(self) -> Query<M> {
        self
    }
}

impl<T: Table> QueryDsl for T {
    type Model = T::Model;
    fn into_query(self) -> Query<T::Model> {
        Query::default()
    }
}
