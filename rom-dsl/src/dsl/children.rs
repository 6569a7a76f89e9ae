//! Loading rows with the rows that reference them (the `has_many` and
//! `has_one` side of a relation): `Query::load_children` and
//! `Query::load_child`. One round trip when the child model is co-located,
//! two otherwise. No N+1.

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
use crate::storage::model::{Key, Model};
use crate::storage::relations::Reference;
use crate::wire::query::{Include, QueryReply};
use crate::wire::reply_items;

/// Rows of `M`, each with the rows of `C::Model` whose reference `C` names
/// it, in key order.
///
/// ```
/// # use rom_dsl::query::WithChildren;
/// # use rom_dsl::relations::Reference;
/// fn most_posts<C: Reference>(rows: &WithChildren<C::Parent, C>) -> usize {
///     rows.iter().map(|(_user, posts)| posts.len()).max().unwrap_or(0)
/// }
/// ```
pub type WithChildren<M, C> = Vec<(Record<M>, Vec<Record<<C as Column>::Model>>)>;

/// Rows of `M`, each with the row of `C::Model` whose unique reference `C`
/// names it (`None`: no such row).
///
/// ```
/// # use rom_dsl::query::WithChild;
/// # use rom_dsl::relations::Reference;
/// fn without_profile<C: Reference>(rows: &WithChild<C::Parent, C>) -> usize {
///     rows.iter().filter(|(_user, profile)| profile.is_none()).count()
/// }
/// ```
pub type WithChild<M, C> = Vec<(Record<M>, Option<Record<<C as Column>::Model>>)>;

/// Key order of members: numerically for numeric keys, else byte-wise (the
/// order of a query without `order_by`).
fn key_order<K: Key>(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    if K::NUMERIC {
        (a.len(), a).cmp(&(b.len(), b))
    } else {
        a.cmp(b)
    }
}

/// The refusal of a plan whose related model lives under another hash tag.
fn not_colocated<M: Model, C: Column>() -> Error {
    crate::storage::model::invalid::<M>(
        C::NAME,
        "the referencing model is not co-located: its rows are read in a second round trip".into(),
    )
}

/// Decodes one row's children: member, `HGETALL`, ... in key order.
pub(super) fn decode_children<C: Reference>(v: redis::Value) -> Result<Vec<Record<C::Model>>> {
    let items = reply_items(v, "(children)")?;
    let mut pairs = Vec::with_capacity(items.len() / 2);
    let mut it = items.into_iter();
    while let (Some(m), Some(row)) = (it.next(), it.next()) {
        pairs.push((crate::wire::reply_bytes(m)?, row));
    }
    pairs.sort_by(|a, b| key_order::<<C::Model as Model>::Key>(&a.0, &b.0));
    let mut out = Vec::with_capacity(pairs.len());
    for (m, row) in pairs {
        if let Some(rec) = decode_row::<C::Model>(&m, row)? {
            out.push(rec);
        }
    }
    Ok(out)
}

/// At most one child: more is a row that breaks the column's uniqueness.
pub(super) fn only<M: Model, C: Reference>(
    parent: &Record<M>,
    mut kids: Vec<Record<C::Model>>,
) -> Result<Option<Record<C::Model>>> {
    if kids.len() > 1 {
        return Err(Error::decode(
            &M::layout().row_key(&parent.key().to_member()),
            Some(C::NAME),
            format!(
                "{} rows reference this row through a unique column",
                kids.len()
            ),
        ));
    }
    Ok(kids.pop())
}

impl<M: Model> Query<M> {
    /// The plan of [`Query::load_children`] for a co-located child model:
    /// the rows and their children in one call. [`Error::Validation`] when
    /// the child model lives under another hash tag (`load_children` then
    /// takes two round trips, which no single plan describes).
    ///
    /// ```
    /// # use rom_dsl::{Query, Result};
    /// # use rom_dsl::relations::Reference;
    /// fn plan_text<C: Reference>(users: &Query<C::Parent>, author: C) -> Result<String> {
    ///     Ok(users.load_children_plan(author)?.explain()) // an error if the models live apart
    /// }
    /// ```
    pub fn load_children_plan<C>(&self, column: C) -> Result<Plan<WithChildren<M, C>>>
    where
        C: Reference<Parent = M>,
    {
        let _ = column;
        if !super::preload::colocated::<C>() {
            return Err(not_colocated::<M, C>());
        }
        let child = <C::Model as Model>::layout();
        let Node::Set(eq_prefix) = crate::dsl::filter::reference_node::<C>(b"") else {
            return Err(not_colocated::<M, C>());
        };
        let include = [Include::Children {
            eq_prefix,
            row_prefix: child.row_prefix.clone(),
            expiry: crate::storage::model::expiry_key::<C::Model>(),
        }];
        self.rows_plan(Mode::With(&include), |v| {
            let (reply, extras) = QueryReply::page_with(v, true, 1)?;
            let QueryReply::Page { rows, .. } = reply else {
                return Err(Error::decode(b"(query reply)", None, "not a page"));
            };
            let mut out = Vec::with_capacity(rows.len());
            for ((m, r), extra) in rows.into_iter().zip(extras) {
                let Some(rec) = decode_row::<M>(&m, r.unwrap_or(redis::Value::Nil))? else {
                    continue;
                };
                let kids = match extra.into_iter().next() {
                    Some(v) => decode_children::<C>(v)?,
                    None => Vec::new(),
                };
                out.push((rec, kids));
            }
            Ok(out)
        })
    }

    /// Loads the matching rows, each with the rows whose reference `column`
    /// names it, in key order: one round trip when the child model is
    /// co-located (one placement), two otherwise (the rows, then every
    /// child of all of them at once). No N+1. Every child is read: a row
    /// with very many children makes a long call (see the relations
    /// chapter's costs).
    ///
    /// ```
    /// # use rom_dsl::{Query, Result};
    /// # use rom_dsl::relations::Reference;
    /// fn report<C: Reference>(users: &Query<C::Parent>, author: C, conn: &mut redis::Connection) -> Result<()> {
    ///     for (user, posts) in users.load_children(conn, author)? {
    ///         println!("{:?} wrote {} posts", user.key(), posts.len());
    ///     }
    ///     Ok(())
    /// }
    /// ```
    pub fn load_children<C, Conn>(&self, conn: &mut Conn, column: C) -> Result<WithChildren<M, C>>
    where
        C: Reference<Parent = M>,
        Conn: Connection + ?Sized,
    {
        if super::preload::colocated::<C>() {
            return self.load_children_plan(column)?.run(conn);
        }
        let rows = self.load_plan()?.run(conn)?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let kids = children_query::<M, C>(&rows).load_plan()?.run(conn)?;
        group::<M, C>(rows, kids)
    }

    /// [`Query::load_children`] on an async connection.
    ///
    /// ```
    /// # use rom_dsl::{Query, Result};
    /// # use rom_dsl::relations::Reference;
    /// async fn post_counts<C: Reference>(users: &Query<C::Parent>, author: C, conn: &mut redis::aio::MultiplexedConnection) -> Result<Vec<usize>> {
    ///     let rows = users.load_children_async(conn, author).await?;
    ///     Ok(rows.iter().map(|(_user, posts)| posts.len()).collect())
    /// }
    /// ```
    #[cfg(feature = "tokio")]
    pub async fn load_children_async<C, Conn>(
        &self,
        conn: &mut Conn,
        column: C,
    ) -> Result<WithChildren<M, C>>
    where
        C: Reference<Parent = M>,
        Conn: AsyncConnection,
    {
        if super::preload::colocated::<C>() {
            return self.load_children_plan(column)?.run_async(conn).await;
        }
        let rows = self.load_plan()?.run_async(conn).await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let kids = children_query::<M, C>(&rows)
            .load_plan()?
            .run_async(conn)
            .await?;
        group::<M, C>(rows, kids)
    }

    /// The plan of [`Query::load_child`] (co-located models only, as
    /// [`Query::load_children_plan`]).
    ///
    /// ```
    /// # use rom_dsl::{Query, Result, Unique};
    /// # use rom_dsl::relations::Reference;
    /// fn plan_text<C: Reference + Unique>(users: &Query<C::Parent>, profile_user: C) -> Result<String> {
    ///     Ok(users.load_child_plan(profile_user)?.explain())
    /// }
    /// ```
    pub fn load_child_plan<C>(&self, column: C) -> Result<Plan<WithChild<M, C>>>
    where
        C: Reference<Parent = M> + Unique,
    {
        Ok(self.load_children_plan(column)?.map(|rows| {
            rows.into_iter()
                .map(|(p, kids)| {
                    let kid = only::<M, C>(&p, kids)?;
                    Ok((p, kid))
                })
                .collect()
        }))
    }

    /// The `has_one` side of a one-to-one relation: loads the matching rows,
    /// each with the row whose unique reference `column` names it (`None`
    /// when there is none). Round trips as [`Query::load_children`]. The
    /// column must be `unique` (else use `load_children`).
    ///
    /// ```
    /// # use rom_dsl::{Query, Result, Unique};
    /// # use rom_dsl::relations::Reference;
    /// fn report<C>(users: &Query<C::Parent>, profile_user: C, conn: &mut redis::Connection) -> Result<()>
    /// where
    ///     C: Reference + Unique,
    /// {
    ///     for (user, profile) in users.load_child(conn, profile_user)? {
    ///         println!("{:?}: {}", user.key(), if profile.is_some() { "profile" } else { "none" });
    ///     }
    ///     Ok(())
    /// }
    /// ```
    pub fn load_child<C, Conn>(&self, conn: &mut Conn, column: C) -> Result<WithChild<M, C>>
    where
        C: Reference<Parent = M> + Unique,
        Conn: Connection + ?Sized,
    {
        self.load_children(conn, column)?
            .into_iter()
            .map(|(p, kids)| {
                let kid = only::<M, C>(&p, kids)?;
                Ok((p, kid))
            })
            .collect()
    }

    /// [`Query::load_child`] on an async connection.
    ///
    /// ```
    /// # use rom_dsl::{Query, Result, Unique};
    /// # use rom_dsl::relations::Reference;
    /// async fn with_profile<C: Reference + Unique>(users: &Query<C::Parent>, profile_user: C, conn: &mut redis::aio::MultiplexedConnection) -> Result<usize> {
    ///     let rows = users.load_child_async(conn, profile_user).await?;
    ///     Ok(rows.iter().filter(|(_user, profile)| profile.is_some()).count())
    /// }
    /// ```
    #[cfg(feature = "tokio")]
    pub async fn load_child_async<C, Conn>(
        &self,
        conn: &mut Conn,
        column: C,
    ) -> Result<WithChild<M, C>>
    where
        C: Reference<Parent = M> + Unique,
        Conn: AsyncConnection,
    {
        self.load_children_async(conn, column)
            .await?
            .into_iter()
            .map(|(p, kids)| {
                let kid = only::<M, C>(&p, kids)?;
                Ok((p, kid))
            })
            .collect()
    }
}

/// The query of every child of `rows` (the second round trip when the
/// child model lives apart).
fn children_query<M: Model, C: Reference<Parent = M>>(rows: &[Record<M>]) -> Query<C::Model> {
    let mut q = Query::<C::Model>::unscoped();
    let kids = rows
        .iter()
        .map(|r| crate::dsl::filter::reference_node::<C>(&r.key().to_member()))
        .collect();
    q.filters.push(Node::Or(kids));
    q
}

/// Each row with its children, from the children read apart (already in
/// key order).
fn group<M: Model, C: Reference<Parent = M>>(
    rows: Vec<Record<M>>,
    kids: Vec<Record<C::Model>>,
) -> Result<WithChildren<M, C>> {
    let mut by_parent: std::collections::HashMap<Vec<u8>, Vec<Record<C::Model>>> =
        std::collections::HashMap::new();
    for k in kids {
        if let Some(p) = super::preload::parent_member::<C::Model, C>(&k)? {
            by_parent.entry(p).or_default().push(k);
        }
    }
    Ok(rows
        .into_iter()
        .map(|r| {
            let kids = by_parent.remove(&r.key().to_member()).unwrap_or_default();
            (r, kids)
        })
        .collect())
}
