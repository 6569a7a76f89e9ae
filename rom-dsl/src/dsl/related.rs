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
use crate::plans::write::decode_row;
use crate::record::Record;
use crate::storage::model::{Model, expiry_key};
use crate::storage::relations::Reference;
use crate::wire::query::{Include, QueryReply};

/// The row the reference `column` names (see [`parent`]).
#[derive(Debug, Clone, Copy)]
pub struct Parent<C>(C);
/// The rows whose reference `column` names the row (see [`children`]).
#[derive(Debug, Clone, Copy)]
pub struct Children<C>(C);
/// The row whose unique reference `column` names the row (see [`child`]).
#[derive(Debug, Clone, Copy)]
pub struct Child<C>(C);

/// Load each row with the row its reference `column` names (an `Option`:
/// `None` for a null reference or a row that is gone).
pub fn parent<C: Reference>(column: C) -> Parent<C> {
    Parent(column)
}
/// Load each row with the rows whose reference `column` names it, in key
/// order.
pub fn children<C: Reference>(column: C) -> Children<C> {
    Children(column)
}
/// Load each row with the row whose unique reference `column` names it (an
/// `Option`).
pub fn child<C: Reference + Unique>(column: C) -> Child<C> {
    Child(column)
}

/// What a relation reads with each row (internal).
#[doc(hidden)]
#[derive(Debug, Clone)]
pub struct IncludeSpec(pub(crate) Include);

/// A relation of rows of `M` that [`Query::load_related`] loads with them.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a relation of `{M}` to load with its rows",
    label = "expected `parent(column)`, `children(column)` or `child(column)` for `{M}`",
    note = "`parent` takes a `belongs_to` column of `{M}`; `children` and `child` take a column of another model that references `{M}`"
)]
pub trait Related<M: Model>: crate::__private::Sealed {
    /// What each row is loaded with.
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
pub type WithRelated<M, S> = Vec<(Record<M>, <S as RelatedSet<M>>::Out)>;

/// One or more relations, as a tuple: what [`Query::load_related`] takes.
pub trait RelatedSet<M: Model> {
    /// What each row is loaded with: a tuple of each relation's output.
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
    /// ```text
    /// use rom::relations::{children, parent};
    /// for (post, (author, comments)) in posts::table
    ///     .load_related(&mut conn, (parent(posts::author), children(comments::post)))?
    /// { ... }
    /// ```
    pub fn load_related<S, Conn>(&self, conn: &mut Conn, related: S) -> Result<WithRelated<M, S>>
    where
        S: RelatedSet<M> + Send + 'static,
        Conn: Connection + ?Sized,
    {
        self.load_related_plan(related)?.run(conn)
    }

    /// [`Query::load_related`] on an async connection.
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
