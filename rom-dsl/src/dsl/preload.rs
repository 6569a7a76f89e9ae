//! Loading rows with related rows: the rows their references name
//! (`Query::load_with`), and the rows that reference them
//! (`Query::load_children`, `Query::load_child`): one round trip when the
//! related model is co-located, two otherwise.

#[cfg(feature = "tokio")]
use crate::connection::AsyncConnection;
use crate::connection::Connection;
use crate::dsl::query::Query;
use crate::error::{Error, Result};
use crate::index::Column;
use crate::plan::Plan;
use crate::plans::query::Mode;
use crate::plans::read::{decode_row, get_plan};
use crate::record::Record;
use crate::storage::model::{Key, Model};
use crate::storage::relations::Reference;
use crate::value::Value;
use crate::wire::query::{Include, QueryReply};

/// Rows of `M`, each with the row of `C::Parent` its reference names
/// (`None`: a null reference, or a row that is gone).
///
/// ```
/// # use rom_dsl::query::WithParents;
/// # use rom_dsl::relations::Reference;
/// fn orphans<C: Reference>(rows: &WithParents<C::Model, C>) -> usize {
///     rows.iter().filter(|(_post, author)| author.is_none()).count()
/// }
/// ```
pub type WithParents<M, C> = Vec<(Record<M>, Option<Record<<C as Reference>::Parent>>)>;

/// The member of the parent row a record's reference names.
pub(super) fn parent_member<M: Model, C: Reference + Column<Model = M>>(
    rec: &Record<M>,
) -> Result<Option<Vec<u8>>> {
    let cells = rec.cells()?;
    let Some(stored) = &cells[C::INDEX].stored else {
        return Ok(None);
    };
    let v = C::Value::decode(stored).map_err(|e| {
        Error::decode(
            &M::layout().row_key(&rec.key().to_member()),
            Some(C::NAME),
            e,
        )
    })?;
    Ok(Some(C::parent_member(&v)))
}

/// Whether the parent model of `C` shares the child's hash tag.
pub(super) fn colocated<C: Reference>() -> bool {
    let tag = |t: &[u8]| -> Vec<u8> {
        let a = t.iter().position(|&b| b == b'{');
        let b = t.iter().position(|&b| b == b'}');
        match (a, b) {
            (Some(a), Some(b)) if a < b => t[a + 1..b].to_vec(),
            _ => t.to_vec(),
        }
    };
    tag(&<C::Parent as Model>::layout().tag) == tag(&<C::Model as Model>::layout().tag)
}

impl<M: Model> Query<M> {
    /// The plan of [`Query::load_with`] for a co-located parent: the rows and
    /// their parents in one call. [`Error::Validation`] when the parent model
    /// lives under another hash tag (`load_with` then takes two round
    /// trips, which no single plan describes).
    ///
    /// ```
    /// # use rom_dsl::{Query, Result};
    /// # use rom_dsl::relations::Reference;
    /// fn plan_text<C: Reference>(posts: &Query<C::Model>, author: C) -> Result<String> {
    ///     Ok(posts.load_with_plan(author)?.explain()) // an error if the models live apart
    /// }
    /// ```
    pub fn load_with_plan<C>(&self, column: C) -> Result<Plan<WithParents<M, C>>>
    where
        C: Reference + Column<Model = M>,
    {
        let _ = column;
        if !colocated::<C>() {
            return Err(crate::storage::model::invalid::<M>(
                C::NAME,
                "the referenced model is not co-located: load_with reads its rows in a second round trip".into(),
            ));
        }
        let include = [Include::Parent {
            field: C::NAME.as_bytes().to_vec(),
            row_prefix: <C::Parent as Model>::layout().row_prefix.clone(),
            expiry: crate::storage::model::expiry_key::<C::Parent>(),
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
                let parent = match (parent_member::<M, C>(&rec)?, extra.into_iter().next()) {
                    (Some(pm), Some(pv)) => decode_row::<C::Parent>(&pm, pv)?,
                    _ => None,
                };
                out.push((rec, parent));
            }
            Ok(out)
        })
    }

    /// Loads the matching rows, each with the row its reference `column`
    /// names (`None` for a null reference or a row that is gone): one round
    /// trip when the referenced model is co-located (one placement), two
    /// otherwise (the rows, then every referenced row at once). No N+1.
    ///
    /// ```
    /// # use rom_dsl::{Query, Result};
    /// # use rom_dsl::relations::Reference;
    /// fn report<C: Reference>(posts: &Query<C::Model>, author: C, conn: &mut redis::Connection) -> Result<()> {
    ///     for (post, author) in posts.load_with(conn, author)? {
    ///         println!("{:?} by {:?}", post.key(), author.map(|a| a.key().clone()));
    ///     }
    ///     Ok(())
    /// }
    /// ```
    pub fn load_with<C, Conn>(&self, conn: &mut Conn, column: C) -> Result<WithParents<M, C>>
    where
        C: Reference + Column<Model = M>,
        Conn: Connection + ?Sized,
    {
        if colocated::<C>() {
            return self.load_with_plan(column)?.run(conn);
        }
        let rows = self.load_plan()?.run(conn)?;
        let keys = parent_keys::<M, C>(&rows)?;
        let parents = get_plan::<C::Parent>(&keys).run(conn)?;
        pair::<M, C>(rows, parents)
    }

    /// [`Query::load_with`] on an async connection.
    ///
    /// ```
    /// # use rom_dsl::{Query, Result};
    /// # use rom_dsl::relations::Reference;
    /// async fn orphans<C: Reference>(posts: &Query<C::Model>, author: C, conn: &mut redis::aio::MultiplexedConnection) -> Result<usize> {
    ///     let rows = posts.load_with_async(conn, author).await?;
    ///     Ok(rows.iter().filter(|(_post, author)| author.is_none()).count())
    /// }
    /// ```
    #[cfg(feature = "tokio")]
    pub async fn load_with_async<C, Conn>(
        &self,
        conn: &mut Conn,
        column: C,
    ) -> Result<WithParents<M, C>>
    where
        C: Reference + Column<Model = M>,
        Conn: AsyncConnection,
    {
        if colocated::<C>() {
            return self.load_with_plan(column)?.run_async(conn).await;
        }
        let rows = self.load_plan()?.run_async(conn).await?;
        let keys = parent_keys::<M, C>(&rows)?;
        let parents = get_plan::<C::Parent>(&keys).run_async(conn).await?;
        pair::<M, C>(rows, parents)
    }
}

/// The distinct parent keys the rows name.
fn parent_keys<M: Model, C: Reference + Column<Model = M>>(
    rows: &[Record<M>],
) -> Result<Vec<<C::Parent as Model>::Key>> {
    let mut seen = std::collections::HashSet::new();
    let mut keys = Vec::new();
    for r in rows {
        if let Some(m) = parent_member::<M, C>(r)?
            && seen.insert(m.clone())
        {
            let k = <C::Parent as Model>::Key::from_member(&m)
                .map_err(|e| Error::decode(&m, Some(C::NAME), e))?;
            keys.push(k);
        }
    }
    Ok(keys)
}

/// Each row with its parent, from the parents read apart.
fn pair<M: Model, C: Reference + Column<Model = M>>(
    rows: Vec<Record<M>>,
    parents: Vec<Record<C::Parent>>,
) -> Result<WithParents<M, C>> {
    let by_member: std::collections::HashMap<Vec<u8>, Record<C::Parent>> = parents
        .into_iter()
        .map(|p| (p.key().to_member(), p))
        .collect();
    rows.into_iter()
        .map(|r| {
            let p = parent_member::<M, C>(&r)?.and_then(|m| by_member.get(&m).cloned());
            Ok((r, p))
        })
        .collect()
}

impl<M: Model> Record<M> {
    /// The rows whose reference `column` names this row: a query to filter,
    /// order, page or delete further (`column` must reference `M`).
    ///
    /// ```
    /// # use rom_dsl::{QueryDsl, Record, Result, Sortable};
    /// # use rom_dsl::query::ColumnMethods;
    /// # use rom_dsl::relations::Reference;
    /// fn top_posts<C, L>(user: &Record<C::Parent>, author: C, likes: L, conn: &mut redis::Connection) -> Result<usize>
    /// where
    ///     C: Reference,
    ///     L: Sortable<Model = C::Model>,
    /// {
    ///     let top = user.children(author).order_by(likes.desc()).limit(10).load(conn)?;
    ///     Ok(top.len())
    /// }
    /// ```
    pub fn children<C>(&self, column: C) -> Query<C::Model>
    where
        C: Reference<Parent = M>,
    {
        let _ = column;
        let mut q = Query::<C::Model>::unscoped();
        q.filters.push(crate::dsl::filter::reference_node::<C>(
            &self.key().to_member(),
        ));
        q
    }
}

/// The relation method of `belongs_to` columns: `posts::author.references(&ann)`
/// is the filter of the posts whose author is the record `ann`, typed by the
/// column's parent model (a record of another model does not compile). In
/// the prelude.
///
/// ```
/// # use rom_dsl::{QueryDsl, Record, Result, Table};
/// # use rom_dsl::relations::{Reference, ReferenceMethods};
/// fn written_by<T, C>(posts: T, author: C, ann: &Record<C::Parent>, conn: &mut redis::Connection) -> Result<u64>
/// where
///     T: Table,
///     C: Reference<Model = T::Model>,
/// {
///     posts.filter(author.references(ann)).count(conn)
/// }
/// ```
pub trait ReferenceMethods: Reference {
    /// Rows whose reference names `parent`.
    ///
    /// ```
    /// # use rom_dsl::{Filter, Record};
    /// # use rom_dsl::relations::{Reference, ReferenceMethods};
    /// fn by_either<C: Reference>(author: C, a: &Record<C::Parent>, b: &Record<C::Parent>) -> Filter<C::Model> {
    ///     author.references(a) | author.references(b)
    /// }
    /// ```
    fn references(self, parent: &Record<Self::Parent>) -> crate::query::Filter<Self::Model> {
        crate::query::Filter::new(crate::dsl::filter::reference_node::<Self>(
            &parent.key().to_member(),
        ))
    }
}

impl<C: Reference> ReferenceMethods for C {}
