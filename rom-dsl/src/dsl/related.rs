//! Loading rows with several relations at once (`Query::load_related`): a
//! post with its author and its comments, in one round trip. Each relation
//! is named by its column: [`parent`] (the row a reference names),
//! [`children`] (the rows that reference the row) or [`child`] (the one row
//! whose unique reference names it).

#[cfg(feature = "tokio")]
use crate::connection::AsyncConnection;
use crate::connection::Connection;
use crate::dsl::columns::{Column, Unique};
use crate::dsl::filter::Node;
use crate::dsl::query::Query;
use crate::error::{Error, Result};
use crate::plan::Plan;
use crate::plans::query::Mode;
use crate::plans::read::decode_row;
use crate::record::Record;
use crate::storage::model::{Model, expiry_key};
use crate::storage::relations::Reference;
use crate::wire::query::{Include, QueryReply};

/// The row the reference `column` names (see [`parent`]).
///
/// ```
/// # use rom_dsl::relations::{Parent, Reference, parent};
/// // a relation is a small `Copy` value, made once and used by several queries
/// fn author_of<C: Reference>(author: C) -> Parent<C> {
///     parent(author)
/// }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Parent<C>(C);
/// The rows whose reference `column` names the row (see [`children`]).
///
/// ```
/// # use rom_dsl::relations::{Children, Reference, children};
/// fn comments_of<C: Reference>(post: C) -> Children<C> {
///     children(post)
/// }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Children<C>(C);
/// The row whose unique reference `column` names the row (see [`child`]).
///
/// ```
/// # use rom_dsl::Unique;
/// # use rom_dsl::relations::{Child, Reference, child};
/// fn profile_of<C: Reference + Unique>(user: C) -> Child<C> {
///     child(user)
/// }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Child<C>(C);

/// Load each row with the row its reference `column` names (an `Option`:
/// `None` for a null reference or a row that is gone).
///
/// ```
/// # use rom_dsl::{Query, Result};
/// # use rom_dsl::relations::{Reference, parent};
/// fn orphans<C: Reference>(posts: &Query<C::Model>, author: C, conn: &mut redis::Connection) -> Result<usize> {
///     let rows = posts.load_related(conn, (parent(author),))?;
///     Ok(rows.iter().filter(|(_post, (author,))| author.is_none()).count())
/// }
/// ```
pub fn parent<C: Reference>(column: C) -> Parent<C> {
    Parent(column)
}
/// Load each row with the rows whose reference `column` names it, in key
/// order.
///
/// ```
/// # use rom_dsl::{Query, Result};
/// # use rom_dsl::relations::{Reference, children};
/// fn comments<C: Reference>(posts: &Query<C::Parent>, post: C, conn: &mut redis::Connection) -> Result<usize> {
///     let rows = posts.load_related(conn, (children(post),))?;
///     Ok(rows.iter().map(|(_post, (comments,))| comments.len()).sum())
/// }
/// ```
pub fn children<C: Reference>(column: C) -> Children<C> {
    Children(column)
}
/// Load each row with the row whose unique reference `column` names it (an
/// `Option`).
///
/// ```
/// # use rom_dsl::{Query, Result, Unique};
/// # use rom_dsl::relations::{Reference, child};
/// fn with_profile<C>(users: &Query<C::Parent>, profile_user: C, conn: &mut redis::Connection) -> Result<usize>
/// where
///     C: Reference + Unique,
/// {
///     let rows = users.load_related(conn, (child(profile_user),))?;
///     Ok(rows.iter().filter(|(_user, (profile,))| profile.is_some()).count())
/// }
/// ```
pub fn child<C: Reference + Unique>(column: C) -> Child<C> {
    Child(column)
}

/// What a relation reads with each row (internal).
#[doc(hidden)]
#[derive(Debug, Clone)]
pub struct IncludeSpec(pub(crate) Include);

/// A relation of rows of `M` that [`Query::load_related`] loads with them.
///
/// ```
/// # use rom_dsl::{Model, Query, Record, Result};
/// # use rom_dsl::relations::Related;
/// fn with_one<M: Model, R>(q: &Query<M>, r: R, conn: &mut redis::Connection) -> Result<Vec<(Record<M>, R::Out)>>
/// where
///     R: Related<M> + Send + 'static,
/// {
///     let rows = q.load_related(conn, (r,))?;
///     Ok(rows.into_iter().map(|(row, (out,))| (row, out)).collect())
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a relation of `{M}` to load with its rows",
    label = "expected `parent(column)`, `children(column)` or `child(column)` for `{M}`",
    note = "`parent` takes a `belongs_to` column of `{M}`; `children` and `child` take a column of another model that references `{M}`"
)]
pub trait Related<M: Model>: crate::__private::Sealed {
    /// What each row is loaded with.
    ///
    /// ```
    /// # use rom_dsl::Record;
    /// # use rom_dsl::relations::{Parent, Reference, Related};
    /// // `parent(author)` loads each post with an `Option` of its author
    /// fn author<C: Reference>(out: <Parent<C> as Related<C::Model>>::Out) -> Option<Record<C::Parent>> {
    ///     out
    /// }
    /// ```
    type Out: Send + 'static;
    #[doc(hidden)]
    fn include(&self) -> IncludeSpec;
    #[doc(hidden)]
    fn colocated(&self) -> bool;
    #[doc(hidden)]
    fn decode(&self, row: &Record<M>, v: redis::Value) -> Result<Self::Out>;
}

impl<C> crate::__private::Sealed for Parent<C> {}
impl<C> crate::__private::Sealed for Children<C> {}
impl<C> crate::__private::Sealed for Child<C> {}

impl<M: Model, C: Reference + Column<Model = M>> Related<M> for Parent<C> {
    type Out = Option<Record<C::Parent>>;
    fn include(&self) -> IncludeSpec {
        IncludeSpec(Include::Parent {
            field: C::NAME.as_bytes().to_vec(),
            row_prefix: <C::Parent as Model>::layout().row_prefix.clone(),
            expiry: expiry_key::<C::Parent>(),
        })
    }
    fn colocated(&self) -> bool {
        super::preload::colocated::<C>()
    }
    fn decode(&self, row: &Record<M>, v: redis::Value) -> Result<Self::Out> {
        match super::preload::parent_member::<M, C>(row)? {
            Some(m) => decode_row::<C::Parent>(&m, v),
            None => Ok(None),
        }
    }
}

/// The include of the rows whose reference `C` names a row.
fn children_include<C: Reference>() -> Include {
    // a reference always has an equality index (the derive adds one)
    let eq_prefix = match crate::dsl::filter::reference_node::<C>(b"") {
        Node::Set(p) => p,
        _ => Vec::new(),
    };
    Include::Children {
        eq_prefix,
        row_prefix: <C::Model as Model>::layout().row_prefix.clone(),
        expiry: expiry_key::<C::Model>(),
    }
}

impl<M: Model, C: Reference<Parent = M>> Related<M> for Children<C> {
    type Out = Vec<Record<C::Model>>;
    fn include(&self) -> IncludeSpec {
        IncludeSpec(children_include::<C>())
    }
    fn colocated(&self) -> bool {
        super::preload::colocated::<C>()
    }
    fn decode(&self, _row: &Record<M>, v: redis::Value) -> Result<Self::Out> {
        super::children::decode_children::<C>(v)
    }
}

impl<M: Model, C: Reference<Parent = M> + Unique> Related<M> for Child<C> {
    type Out = Option<Record<C::Model>>;
    fn include(&self) -> IncludeSpec {
        IncludeSpec(children_include::<C>())
    }
    fn colocated(&self) -> bool {
        super::preload::colocated::<C>()
    }
    fn decode(&self, row: &Record<M>, v: redis::Value) -> Result<Self::Out> {
        super::children::only::<M, C>(row, super::children::decode_children::<C>(v)?)
    }
}

/// Rows of `M`, each with what the relations `S` load for it.
///
/// ```
/// # use rom_dsl::Model;
/// # use rom_dsl::query::WithRelated;
/// # use rom_dsl::relations::RelatedSet;
/// fn related_only<M: Model, S: RelatedSet<M>>(rows: WithRelated<M, S>) -> Vec<S::Out> {
///     rows.into_iter().map(|(_row, related)| related).collect()
/// }
/// ```
pub type WithRelated<M, S> = Vec<(Record<M>, <S as RelatedSet<M>>::Out)>;

/// One or more relations, as a tuple: what [`Query::load_related`] takes.
///
/// ```
/// # use rom_dsl::{Model, Query, Result};
/// # use rom_dsl::query::WithRelated;
/// # use rom_dsl::relations::RelatedSet;
/// fn with<M: Model, S>(q: &Query<M>, related: S, conn: &mut redis::Connection) -> Result<WithRelated<M, S>>
/// where
///     S: RelatedSet<M> + Send + 'static,
/// {
///     q.load_related(conn, related)
/// }
/// ```
pub trait RelatedSet<M: Model> {
    /// What each row is loaded with: a tuple of each relation's output.
    ///
    /// ```
    /// # use rom_dsl::Record;
    /// # use rom_dsl::relations::{Children, Parent, Reference, RelatedSet};
    /// // `(parent(author), children(post))` gives each post its author and comments
    /// fn split<A: Reference, P: Reference<Parent = A::Model>>(
    ///     out: <(Parent<A>, Children<P>) as RelatedSet<A::Model>>::Out,
    /// ) -> (Option<Record<A::Parent>>, Vec<Record<P::Model>>) {
    ///     out
    /// }
    /// ```
    type Out: Send + 'static;
    #[doc(hidden)]
    fn includes(&self) -> Vec<(IncludeSpec, bool)>;
    #[doc(hidden)]
    fn decode(&self, row: &Record<M>, extras: Vec<redis::Value>) -> Result<Self::Out>;
}

macro_rules! related_set {
    ($($t:ident $i:tt),+) => {
        impl<M: Model, $($t: Related<M>),+> RelatedSet<M> for ($($t,)+) {
            type Out = ($($t::Out,)+);
            fn includes(&self) -> Vec<(IncludeSpec, bool)> {
                vec![$((self.$i.include(), self.$i.colocated())),+]
            }
            fn decode(&self, row: &Record<M>, extras: Vec<redis::Value>) -> Result<Self::Out> {
                let mut it = extras.into_iter();
                Ok(($(self.$i.decode(row, it.next().unwrap_or(redis::Value::Nil))?,)+))
            }
        }
    };
}
related_set!(A 0);
related_set!(A 0, B 1);
related_set!(A 0, B 1, C 2);
related_set!(A 0, B 1, C 2, D 3);

impl<M: Model> Query<M> {
    /// The plan of [`Query::load_related`].
    ///
    /// ```
    /// # use rom_dsl::{Query, Result};
    /// # use rom_dsl::relations::{Reference, children, parent};
    /// fn plan_text<A, P>(posts: &Query<A::Model>, author: A, post: P) -> Result<String>
    /// where
    ///     A: Reference,
    ///     P: Reference<Parent = A::Model>,
    /// {
    ///     Ok(posts.load_related_plan((parent(author), children(post)))?.explain())
    /// }
    /// ```
    pub fn load_related_plan<S: RelatedSet<M> + Send + 'static>(
        &self,
        related: S,
    ) -> Result<Plan<WithRelated<M, S>>> {
        let includes = related.includes();
        if let Some(n) = includes.iter().position(|(_, co)| !co) {
            return Err(crate::storage::model::invalid::<M>(
                "(load_related)",
                format!(
                    "relation {} is with a model of another placement, which one call cannot read: load it with load_with or load_children (two round trips)",
                    n + 1
                ),
            ));
        }
        let includes: Vec<Include> = includes.into_iter().map(|(i, _)| i.0).collect();
        let n = includes.len();
        // the decoder may run for several calls (a query in steps)
        let related = std::sync::Mutex::new(related);
        self.rows_plan(Mode::With(&includes), move |v| {
            let (reply, extras) = QueryReply::page_with(v, true, n)?;
            let QueryReply::Page { rows, .. } = reply else {
                return Err(Error::decode(b"(query reply)", None, "not a page"));
            };
            let mut out = Vec::with_capacity(rows.len());
            for ((m, r), extra) in rows.into_iter().zip(extras) {
                let Some(rec) = decode_row::<M>(&m, r.unwrap_or(redis::Value::Nil))? else {
                    continue;
                };
                let with = related
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .decode(&rec, extra)?;
                out.push((rec, with));
            }
            Ok(out)
        })
    }

    /// Loads the matching rows, each with several relations at once, in one
    /// round trip: `(parent(posts::author), children(comments::post))`
    /// gives each post with its author and its comments. Up to four
    /// relations, each with a model co-located with `M` (one placement);
    /// [`Error::Validation`] otherwise (use [`Query::load_with`] or
    /// [`Query::load_children`], which take a second round trip).
    ///
    /// ```
    /// # use rom_dsl::{Query, Result};
    /// # use rom_dsl::relations::{Reference, children, parent};
    /// fn report<A, P>(posts: &Query<A::Model>, author: A, post: P, conn: &mut redis::Connection) -> Result<()>
    /// where
    ///     A: Reference,
    ///     P: Reference<Parent = A::Model>,
    /// {
    ///     for (post, (author, comments)) in posts.load_related(conn, (parent(author), children(post)))? {
    ///         let by = author.map(|a| a.key().clone());
    ///         println!("{:?} by {by:?}: {} comments", post.key(), comments.len());
    ///     }
    ///     Ok(())
    /// }
    /// ```
    pub fn load_related<S, Conn>(&self, conn: &mut Conn, related: S) -> Result<WithRelated<M, S>>
    where
        S: RelatedSet<M> + Send + 'static,
        Conn: Connection + ?Sized,
    {
        self.load_related_plan(related)?.run(conn)
    }

    /// [`Query::load_related`] on an async connection.
    ///
    /// ```
    /// # use rom_dsl::{Query, Result};
    /// # use rom_dsl::relations::{Reference, parent};
    /// async fn orphans<C: Reference>(posts: &Query<C::Model>, author: C, conn: &mut redis::aio::MultiplexedConnection) -> Result<usize> {
    ///     let rows = posts.load_related_async(conn, (parent(author),)).await?;
    ///     Ok(rows.iter().filter(|(_post, (author,))| author.is_none()).count())
    /// }
    /// ```
    #[cfg(feature = "tokio")]
    pub async fn load_related_async<S, Conn>(
        &self,
        conn: &mut Conn,
        related: S,
    ) -> Result<WithRelated<M, S>>
    where
        S: RelatedSet<M> + Send + 'static,
        Conn: AsyncConnection,
    {
        self.load_related_plan(related)?.run_async(conn).await
    }
}
