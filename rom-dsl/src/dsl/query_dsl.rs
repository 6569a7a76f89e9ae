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
///
/// ```
/// # use rom_dsl::{QueryDsl, Result};
/// // `q` may be a table (`users::table`) or a query built from one
/// fn first_ten<Q: QueryDsl>(q: Q, conn: &mut redis::Connection) -> Result<usize> {
///     Ok(q.limit(10).load(conn)?.len())
/// }
/// ```
pub trait QueryDsl: Sized {
    /// The model queried.
    ///
    /// ```
    /// # use rom_dsl::{QueryDsl, Record, Result};
    /// fn rows<Q: QueryDsl>(q: Q, conn: &mut redis::Connection) -> Result<Vec<Record<Q::Model>>> {
    ///     q.load(conn)
    /// }
    /// ```
    type Model: Model;
    /// The query so far.
    ///
    /// ```
    /// # use rom_dsl::{Query, QueryDsl};
    /// fn newest_and_all<Q: QueryDsl>(q: Q) -> (Query<Q::Model>, Query<Q::Model>) {
    ///     let all = q.into_query(); // a table becomes the query of every row
    ///     (all.clone().limit(1), all)
    /// }
    /// ```
    fn into_query(self) -> Query<Self::Model>;

    /// Keeps the rows matching `f` (chained filters are ANDed).
    ///
    /// ```
    /// # use rom_dsl::{Filter, Model, Query, QueryDsl};
    /// fn both<M: Model>(q: Query<M>, a: Filter<M>, b: Filter<M>) -> Query<M> {
    ///     q.filter(a).filter(b) // the same rows as `q.filter(a & b)`
    /// }
    /// ```
    fn filter(self, f: impl IntoFilter<Self::Model>) -> Query<Self::Model> {
        let mut q = self.into_query();
        match q.pin(f.into_filter().node) {
            Node::And(kids) => q.filters.extend(kids),
            n => q.filters.push(n),
        }
        q
    }
    /// Orders the rows (replacing an earlier order).
    ///
    /// ```
    /// # use rom_dsl::{Query, QueryDsl, Sortable, Table};
    /// # use rom_dsl::query::ColumnMethods;
    /// fn newest_first<T: Table, C: Sortable<Model = T::Model>>(t: T, created: C) -> Query<T::Model> {
    ///     t.order_by(created.desc())
    /// }
    /// ```
    fn order_by(self, o: impl IntoOrder<Self::Model>) -> Query<Self::Model> {
        let mut q = self.into_query();
        let o = o.into_order();
        let key = q.pin_key(o.key);
        q.order = Some((key, o.desc, o.name, o.lex));
        q
    }
    /// Returns at most `n` rows.
    ///
    /// ```
    /// # use rom_dsl::{Model, Query, QueryDsl, Result};
    /// fn top_three<M: Model>(q: Query<M>, conn: &mut redis::Connection) -> Result<usize> {
    ///     Ok(q.limit(3).load(conn)?.len()) // 3 at most
    /// }
    /// ```
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
    /// Lets a replica answer the query: its server calls are sent as
    /// read-only (`FCALL_RO`), which a replica accepts: run it on a
    /// connection to a replica (with `READONLY` in a cluster), or on a
    /// cluster connection whose read routing sends reads to replicas
    /// (redis-rs' `read_routing_strategy`). A replica may lag behind its
    /// master: the rows read may not yet show the latest writes. Writes
    /// (`delete`) are not affected: they go to the master.
    ///
    /// ```
    /// # use rom_dsl::{Model, Query, QueryDsl};
    /// fn on_replicas<M: Model>(q: Query<M>) -> String {
    ///     q.read_from_replicas().explain() // FCALL_RO ...
    /// }
    /// ```
    fn read_from_replicas(self) -> Query<Self::Model> {
        let mut q = self.into_query();
        q.replicas = true;
        q
    }
    /// Skips the first `n` rows.
    ///
    /// ```
    /// # use rom_dsl::{Model, Query, QueryDsl};
    /// fn third_page<M: Model>(q: Query<M>) -> Query<M> {
    ///     q.offset(40).limit(20) // rows 41 to 60
    /// }
    /// ```
    fn offset(self, n: u64) -> Query<Self::Model> {
        let mut q = self.into_query();
        q.offset = n;
        q
    }
    /// Reads only some columns: `select((users::email, users::age))`.
    ///
    /// ```
    /// # use rom_dsl::{Model, Query, QueryDsl, Result};
    /// # use rom_dsl::query::BelongsTo;
    /// fn names_and_ages<M: Model, N: BelongsTo<M>, A: BelongsTo<M>>(
    ///     q: Query<M>,
    ///     (name, age): (N, A),
    ///     conn: &mut redis::Connection,
    /// ) -> Result<Vec<(N::Field, A::Field)>> {
    ///     q.select((name, age)).load(conn)
    /// }
    /// ```
    fn select<S: Selection<Self::Model>>(self, _columns: S) -> Select<Self::Model, S> {
        Select {
            query: self.into_query(),
            _s: PhantomData,
        }
    }
    /// Pages through the matches, `page_size` rows per round trip.
    ///
    /// ```
    /// # use rom_dsl::{Model, Query, QueryDsl, Result};
    /// fn visit_all<M: Model>(q: Query<M>, conn: &mut redis::Connection) -> Result<usize> {
    ///     let (mut pages, mut seen) = (q.pages(500), 0);
    ///     while let Some(rows) = pages.next_page(conn)? {
    ///         seen += rows.len();
    ///     }
    ///     Ok(seen)
    /// }
    /// ```
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
    ///
    /// ```
    /// # use rom_dsl::{Model, Query, QueryDsl, Result};
    /// async fn first_page<M: Model>(q: Query<M>, conn: &mut redis::aio::MultiplexedConnection) -> Result<Option<String>> {
    ///     let page = q.load_page_async(20, conn).await?;
    ///     Ok(page.next.map(|t| t.to_string()))
    /// }
    /// ```
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
    ///
    /// ```
    /// # use rom_dsl::{QueryDsl, Result};
    /// # use rom_dsl::relations::Reference;
    /// fn orphans<Q: QueryDsl, C: Reference<Model = Q::Model>>(
    ///     posts: Q,
    ///     author: C,
    ///     conn: &mut redis::Connection,
    /// ) -> Result<usize> {
    ///     let rows = posts.load_with(conn, author)?;
    ///     Ok(rows.iter().filter(|(_post, author)| author.is_none()).count())
    /// }
    /// ```
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
    ///
    /// ```
    /// # use rom_dsl::{QueryDsl, Result};
    /// # use rom_dsl::relations::Reference;
    /// async fn with_authors<Q: QueryDsl, C: Reference<Model = Q::Model>>(
    ///     posts: Q,
    ///     author: C,
    ///     conn: &mut redis::aio::MultiplexedConnection,
    /// ) -> Result<usize> {
    ///     Ok(posts.load_with_async(conn, author).await?.len())
    /// }
    /// ```
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
    ///
    /// ```
    /// # use rom_dsl::{QueryDsl, Result};
    /// # use rom_dsl::relations::Reference;
    /// fn plan_text<Q: QueryDsl, C: Reference<Model = Q::Model>>(posts: Q, author: C) -> Result<String> {
    ///     Ok(posts.load_with_plan(author)?.explain())
    /// }
    /// ```
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
    ///
    /// ```
    /// # use rom_dsl::{QueryDsl, Result};
    /// # use rom_dsl::relations::Reference;
    /// fn post_counts<Q: QueryDsl, C: Reference<Parent = Q::Model>>(
    ///     users: Q,
    ///     author: C,
    ///     conn: &mut redis::Connection,
    /// ) -> Result<Vec<usize>> {
    ///     let rows = users.load_children(conn, author)?;
    ///     Ok(rows.iter().map(|(_user, posts)| posts.len()).collect())
    /// }
    /// ```
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
    ///
    /// ```
    /// # use rom_dsl::{QueryDsl, Result};
    /// # use rom_dsl::relations::Reference;
    /// async fn post_counts<Q: QueryDsl, C: Reference<Parent = Q::Model>>(
    ///     users: Q,
    ///     author: C,
    ///     conn: &mut redis::aio::MultiplexedConnection,
    /// ) -> Result<Vec<usize>> {
    ///     let rows = users.load_children_async(conn, author).await?;
    ///     Ok(rows.iter().map(|(_user, posts)| posts.len()).collect())
    /// }
    /// ```
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
    ///
    /// ```
    /// # use rom_dsl::{QueryDsl, Result};
    /// # use rom_dsl::relations::Reference;
    /// fn plan_text<Q: QueryDsl, C: Reference<Parent = Q::Model>>(users: Q, author: C) -> Result<String> {
    ///     Ok(users.load_children_plan(author)?.explain())
    /// }
    /// ```
    fn load_children_plan<C>(self, column: C) -> Result<Plan<WithChildren<Self::Model, C>>>
    where
        C: Reference<Parent = Self::Model>,
    {
        Query::load_children_plan(&self.into_query(), column)
    }
    /// Every matching row with the row whose unique reference `column`
    /// names it (`has_one`): see [`Query::load_child`].
    ///
    /// ```
    /// # use rom_dsl::{QueryDsl, Result, Unique};
    /// # use rom_dsl::relations::Reference;
    /// fn without_profile<Q: QueryDsl, C: Reference<Parent = Q::Model> + Unique>(
    ///     users: Q,
    ///     profile_user: C,
    ///     conn: &mut redis::Connection,
    /// ) -> Result<usize> {
    ///     let rows = users.load_child(conn, profile_user)?;
    ///     Ok(rows.iter().filter(|(_user, profile)| profile.is_none()).count())
    /// }
    /// ```
    fn load_child<C, Conn>(self, conn: &mut Conn, column: C) -> Result<WithChild<Self::Model, C>>
    where
        C: Reference<Parent = Self::Model> + Unique,
        Conn: Connection + ?Sized,
    {
        Query::load_child(&self.into_query(), conn, column)
    }
    /// [`QueryDsl::load_child`] on an async connection.
    ///
    /// ```
    /// # use rom_dsl::{QueryDsl, Result, Unique};
    /// # use rom_dsl::relations::Reference;
    /// async fn with_profiles<Q: QueryDsl, C: Reference<Parent = Q::Model> + Unique>(
    ///     users: Q,
    ///     profile_user: C,
    ///     conn: &mut redis::aio::MultiplexedConnection,
    /// ) -> Result<usize> {
    ///     Ok(users.load_child_async(conn, profile_user).await?.len())
    /// }
    /// ```
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
    ///
    /// ```
    /// # use rom_dsl::{QueryDsl, Result, Unique};
    /// # use rom_dsl::relations::Reference;
    /// fn plan_text<Q, C>(users: Q, profile_user: C) -> Result<String>
    /// where
    ///     Q: QueryDsl,
    ///     C: Reference<Parent = Q::Model> + Unique,
    /// {
    ///     Ok(users.load_child_plan(profile_user)?.explain())
    /// }
    /// ```
    fn load_child_plan<C>(self, column: C) -> Result<Plan<WithChild<Self::Model, C>>>
    where
        C: Reference<Parent = Self::Model> + Unique,
    {
        Query::load_child_plan(&self.into_query(), column)
    }

    /// Every matching row with several relations at once: see
    /// [`Query::load_related`].
    ///
    /// ```
    /// # use rom_dsl::{QueryDsl, Result};
    /// # use rom_dsl::relations::{Reference, children, parent};
    /// fn comment_counts<Q, A, P>(posts: Q, author: A, post: P, conn: &mut redis::Connection) -> Result<Vec<usize>>
    /// where
    ///     Q: QueryDsl,
    ///     A: Reference<Model = Q::Model>,
    ///     P: Reference<Parent = Q::Model>,
    /// {
    ///     let rows = posts.load_related(conn, (parent(author), children(post)))?;
    ///     Ok(rows.iter().map(|(_post, (_author, comments))| comments.len()).collect())
    /// }
    /// ```
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
    ///
    /// ```
    /// # use rom_dsl::{QueryDsl, Result};
    /// # use rom_dsl::relations::{Reference, children};
    /// async fn comment_counts<Q: QueryDsl, P: Reference<Parent = Q::Model>>(
    ///     posts: Q,
    ///     post: P,
    ///     conn: &mut redis::aio::MultiplexedConnection,
    /// ) -> Result<Vec<usize>> {
    ///     let rows = posts.load_related_async(conn, (children(post),)).await?;
    ///     Ok(rows.iter().map(|(_post, (comments,))| comments.len()).collect())
    /// }
    /// ```
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
    ///
    /// ```
    /// # use rom_dsl::{QueryDsl, Result};
    /// # use rom_dsl::relations::{Reference, parent};
    /// fn plan_text<Q: QueryDsl, A: Reference<Model = Q::Model>>(posts: Q, author: A) -> Result<String> {
    ///     Ok(posts.load_related_plan((parent(author),))?.explain())
    /// }
    /// ```
    fn load_related_plan<S>(self, related: S) -> Result<Plan<WithRelated<Self::Model, S>>>
    where
        S: RelatedSet<Self::Model> + Send + 'static,
    {
        Query::load_related_plan(&self.into_query(), related)
    }

    /// Every matching row, in one round trip.
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
    /// Tag.insert(&mut conn)?;
    /// Tag.insert(&mut conn)?;
    /// let rows = Query::<Tag>::default().load(&mut conn)?;
    /// assert_eq!(rows.len(), 2);
    /// # Ok(()) }
    /// ```
    fn load<C: Connection + ?Sized>(self, conn: &mut C) -> Result<Vec<Record<Self::Model>>> {
        self.into_query().load_plan()?.run(conn)
    }
    /// [`QueryDsl::load`] on an async connection.
    ///
    /// ```
    /// # use rom_dsl::{Model, Query, QueryDsl, Record, Result};
    /// async fn newest<M: Model>(q: Query<M>, conn: &mut redis::aio::MultiplexedConnection) -> Result<Vec<Record<M>>> {
    ///     q.limit(10).load_async(conn).await
    /// }
    /// ```
    #[cfg(feature = "tokio")]
    fn load_async<C: AsyncConnection>(
        self,
        conn: &mut C,
    ) -> impl Future<Output = Result<Vec<Record<Self::Model>>>> + Send {
        let plan = self.into_query().load_plan();
        async move { plan?.run_async(conn).await }
    }
    /// The first matching row; [`Error::NotFound`] when none (see
    /// [`OptionalExtension::optional`](crate::query::OptionalExtension::optional)).
    ///
    /// ```
    /// # use rom_dsl::{Model, OptionalExtension, Query, QueryDsl, Record, Result};
    /// fn any<M: Model>(q: Query<M>, conn: &mut redis::Connection) -> Result<Option<Record<M>>> {
    ///     q.first(conn).optional() // `None` rather than `Error::NotFound`
    /// }
    /// ```
    fn first<C: Connection + ?Sized>(self, conn: &mut C) -> Result<Record<Self::Model>> {
        first_of(at_most_one(self.into_query()).load_plan()?.run(conn)?)
    }
    /// [`QueryDsl::first`] on an async connection.
    ///
    /// ```
    /// # use rom_dsl::{Model, OptionalExtension, Query, QueryDsl, Record, Result};
    /// async fn any<M: Model>(q: Query<M>, conn: &mut redis::aio::MultiplexedConnection) -> Result<Option<Record<M>>> {
    ///     q.first_async(conn).await.optional()
    /// }
    /// ```
    #[cfg(feature = "tokio")]
    fn first_async<C: AsyncConnection>(
        self,
        conn: &mut C,
    ) -> impl Future<Output = Result<Record<Self::Model>>> + Send {
        let plan = at_most_one(self.into_query()).load_plan();
        async move { first_of(plan?.run_async(conn).await?) }
    }
    /// The keys of the matching rows.
    ///
    /// ```
    /// # use rom_dsl::{Model, QueryDsl, Result};
    /// fn keys<Q: QueryDsl>(q: Q, conn: &mut redis::Connection) -> Result<Vec<<Q::Model as Model>::Key>> {
    ///     q.ids(conn) // no row is read
    /// }
    /// ```
    fn ids<C: Connection + ?Sized>(self, conn: &mut C) -> Result<Vec<<Self::Model as Model>::Key>> {
        self.into_query().ids_plan()?.run(conn)
    }
    /// [`QueryDsl::ids`] on an async connection.
    ///
    /// ```
    /// # use rom_dsl::{Model, QueryDsl, Result};
    /// async fn keys<Q: QueryDsl>(q: Q, conn: &mut redis::aio::MultiplexedConnection) -> Result<Vec<<Q::Model as Model>::Key>> {
    ///     q.ids_async(conn).await
    /// }
    /// ```
    #[cfg(feature = "tokio")]
    fn ids_async<C: AsyncConnection>(
        self,
        conn: &mut C,
    ) -> impl Future<Output = Result<Vec<<Self::Model as Model>::Key>>> + Send {
        let plan = self.into_query().ids_plan();
        async move { plan?.run_async(conn).await }
    }
    /// How many rows match (after the offset, at most the limit).
    ///
    /// ```
    /// # use rom_dsl::{QueryDsl, Result};
    /// fn pages_of_20<Q: QueryDsl>(q: Q, conn: &mut redis::Connection) -> Result<u64> {
    ///     Ok(q.count(conn)?.div_ceil(20))
    /// }
    /// ```
    fn count<C: Connection + ?Sized>(self, conn: &mut C) -> Result<u64> {
        self.into_query().count_plan()?.run(conn)
    }
    /// [`QueryDsl::count`] on an async connection.
    ///
    /// ```
    /// # use rom_dsl::{QueryDsl, Result};
    /// async fn total<Q: QueryDsl>(q: Q, conn: &mut redis::aio::MultiplexedConnection) -> Result<u64> {
    ///     q.count_async(conn).await
    /// }
    /// ```
    #[cfg(feature = "tokio")]
    fn count_async<C: AsyncConnection>(
        self,
        conn: &mut C,
    ) -> impl Future<Output = Result<u64>> + Send {
        let plan = self.into_query().count_plan();
        async move { plan?.run_async(conn).await }
    }
    /// Whether any row matches.
    ///
    /// ```
    /// # use rom_dsl::{Filter, Model, Query, QueryDsl, Result};
    /// fn taken<M: Model>(q: Query<M>, same_email: Filter<M>, conn: &mut redis::Connection) -> Result<bool> {
    ///     q.filter(same_email).exists(conn)
    /// }
    /// ```
    fn exists<C: Connection + ?Sized>(self, conn: &mut C) -> Result<bool> {
        self.into_query().exists_plan()?.run(conn)
    }
    /// [`QueryDsl::exists`] on an async connection.
    ///
    /// ```
    /// # use rom_dsl::{Filter, Model, Query, QueryDsl, Result};
    /// async fn taken<M: Model>(q: Query<M>, same_email: Filter<M>, conn: &mut redis::aio::MultiplexedConnection) -> Result<bool> {
    ///     q.filter(same_email).exists_async(conn).await
    /// }
    /// ```
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
    ///
    /// ```
    /// # use rom_dsl::{Filter, Model, Query, QueryDsl, Result};
    /// fn purge<M: Model>(q: Query<M>, stale: Filter<M>, conn: &mut redis::Connection) -> Result<u64> {
    ///     q.filter(stale).delete(conn) // how many rows were deleted
    /// }
    /// ```
    fn delete<C: Connection + ?Sized>(self, conn: &mut C) -> Result<u64> {
        Ok(self.into_query().delete_plan()?.run(conn)?.0)
    }
    /// [`QueryDsl::delete`] on an async connection.
    ///
    /// ```
    /// # use rom_dsl::{Filter, Model, Query, QueryDsl, Result};
    /// async fn purge<M: Model>(q: Query<M>, stale: Filter<M>, conn: &mut redis::aio::MultiplexedConnection) -> Result<u64> {
    ///     q.filter(stale).delete_async(conn).await
    /// }
    /// ```
    #[cfg(feature = "tokio")]
    fn delete_async<C: AsyncConnection>(
        self,
        conn: &mut C,
    ) -> impl Future<Output = Result<u64>> + Send {
        let plan = self.into_query().delete_plan();
        async move { Ok(plan?.run_async(conn).await?.0) }
    }
    /// The plan of [`QueryDsl::load`] as text.
    ///
    /// ```
    /// # use rom_dsl::QueryDsl;
    /// fn log_plan<Q: QueryDsl>(q: Q) {
    ///     eprintln!("{}", q.explain()); // the commands, keys and steps of `load`
    /// }
    /// ```
    fn explain(self) -> String {
        Query::explain(&self.into_query())
    }
}

/// The query of `first`: its first row, none under a limit of 0.
pub(crate) fn at_most_one<M>(mut q: Query<M>) -> Query<M> {
    q.limit = Some(q.limit.map_or(1, |l| l.min(1)));
    q
}

pub(crate) fn first_of<M: Model>(rows: Vec<Record<M>>) -> Result<Record<M>> {
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
