//! Pages with resumable tokens over every partition:
//! [`Across::load_page`] and [`Across::after`], for callers that cannot
//! keep an [`AcrossPages`](crate::placement::AcrossPages) between requests
//! (a web service).
//!
//! The merged order is one total order over (order value, key), so a
//! position in it is a single cursor, the last row's, after which every
//! bucket resumes: a token across partitions is an ordinary
//! [`PageToken`] (same format; its shape names the query across
//! partitions, so a token of the one-bucket query does not fit it). Each
//! page is one call per bucket, each asking for at most a page of rows
//! after the position.

use crate::dsl::across::{Across, not_partitioned};
use crate::dsl::page::{Page, PageToken};
use crate::dsl::query::Query;
use crate::error::Result;
#[cfg(feature = "tokio")]
use crate::exec::connection::AsyncConnection;
use crate::exec::connection::Connection;
use crate::placement::Partitioned;
use crate::plans::fan::Fan;
use crate::plans::merge::{By, Place, merge_placed};
use crate::record::Record;
use crate::storage::model::{Key, Model};

type PageFan<M> = Fan<Vec<(Place, Record<M>)>, Page<M>>;

impl<M: Partitioned> Across<M> {
    /// Resumes [`Across::load_page`] where the page that gave `token`
    /// stopped. Only `load_page` reads a token: every other terminal refuses
    /// a query that has one ([`Error::Validation`](crate::Error::Validation)).
    ///
    /// ```
    /// # use rom_dsl::placement::{Across, Partitioned};
    /// # use rom_dsl::query::PageToken;
    /// fn next<M: Partitioned>(a: Across<M>, t: &PageToken, conn: &mut redis::Connection) -> rom_dsl::Result<usize> {
    ///     Ok(a.after(t).load_page(20, conn)?.rows.len())
    /// }
    /// ```
    pub fn after(mut self, token: &PageToken) -> Self {
        self.query.after = Some(token.clone());
        self
    }

    /// One page of at most `page_size` rows in the query's order over every
    /// partition, from the start (the query's offset skipped) or from the
    /// token given to [`Across::after`], with the token of the next page
    /// when this one is full: one call per bucket (one pipeline on a single
    /// server). The token is a position (the last row's order value and
    /// key), so it stays valid when rows change; rows written meanwhile
    /// before the position are not seen.
    ///
    /// ```
    /// # use rom_dsl::placement::{Across, Partitioned};
    /// fn count_all<M: Partitioned>(a: Across<M>, conn: &mut redis::Connection) -> rom_dsl::Result<usize> {
    ///     let mut page = a.clone().load_page(100, conn)?;
    ///     let mut n = page.rows.len();
    ///     while let Some(t) = page.next.take() {
    ///         page = a.clone().after(&t).load_page(100, conn)?;
    ///         n += page.rows.len();
    ///     }
    ///     Ok(n)
    /// }
    /// ```
    pub fn load_page<C: Connection + ?Sized>(
        self,
        page_size: u64,
        conn: &mut C,
    ) -> Result<Page<M>> {
        match self.page_fan(page_size)? {
            Some(fan) => fan.run(conn),
            None => Ok(empty()),
        }
    }

    /// [`Across::load_page`] on an async connection.
    ///
    /// ```
    /// # use rom_dsl::placement::{Across, Partitioned};
    /// async fn first<M: Partitioned>(a: Across<M>, conn: &mut redis::aio::MultiplexedConnection) -> rom_dsl::Result<usize> {
    ///     Ok(a.load_page_async(20, conn).await?.rows.len())
    /// }
    /// ```
    #[cfg(feature = "tokio")]
    pub async fn load_page_async<C: AsyncConnection + Clone>(
        self,
        page_size: u64,
        conn: &mut C,
    ) -> Result<Page<M>> {
        if self.page_fan(page_size)?.is_none() {
            return Ok(empty());
        }
        crate::plans::fan::run_async(
            || self.page_fan(page_size)?.ok_or_else(not_partitioned::<M>),
            conn,
        )
        .await
    }

    /// The calls of one page (`None`: the limit is used up, no call).
    fn page_fan(&self, size: u64) -> Result<Option<PageFan<M>>> {
        let mut q = self.query.clone();
        let token = q.after.take();
        let base = M::layout().tag.clone();
        let layouts = M::bucket_layouts();
        let Some(first) = layouts.first() else {
            return Err(not_partitioned::<M>());
        };
        let shape = shape(&q.in_layout(&base, first))?;
        let (cursor, remaining, offset) = match token {
            None => (None, q.limit, q.offset),
            Some(t) => {
                let p = t.open(&q, shape)?;
                (Some(p.cursor), p.remaining, 0)
            }
        };
        let take = remaining.map_or(size.max(1), |r| r.min(size.max(1)));
        if take == 0 {
            return Ok(None);
        }
        let by = By::of::<M>(&q.order);
        let parts = layouts
            .iter()
            .map(|l| {
                let mut bq: Query<M> = q.in_layout(&base, l);
                bq.offset = 0;
                bq.limit = Some(offset.saturating_add(take));
                Ok(bq.page_plan(cursor.as_ref())?.map(move |(rows, _)| {
                    rows.into_iter()
                        .map(|r| Ok((by.place(&*r, r.key().to_member(), l)?, r)))
                        .collect::<Result<Vec<_>>>()
                }))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(Fan {
            parts,
            merge: Box::new(move |parts| {
                let rows = merge_placed(&by, parts, offset, Some(take));
                let n = rows.len() as u64;
                let left = remaining.map(|r| r.saturating_sub(n));
                let next = match rows.last() {
                    Some((place, _)) if n == take && left != Some(0) => {
                        Some(PageToken::seal(shape, &place.cursor(&by), left))
                    }
                    _ => None,
                };
                Ok(Page {
                    rows: rows.into_iter().map(|(_, r)| r).collect(),
                    next,
                })
            }),
        }))
    }
}

/// The shape of a query across partitions: its first bucket's, marked.
fn shape<M: Model>(q: &Query<M>) -> Result<u64> {
    let one = q.shape()?;
    Ok(crate::dsl::page::digest(&[
        b"rom across partitions",
        &one.to_be_bytes(),
        &M::BUCKETS.to_be_bytes(),
    ]))
}

fn empty<M: Model>() -> Page<M> {
    Page {
        rows: Vec::new(),
        next: None,
    }
}
