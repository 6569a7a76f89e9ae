//! Pages over every partition: [`AcrossPages`], made by
//! [`Across::pages`](crate::placement::Across::pages). Each bucket is read
//! page by page from its own cursor into a buffer; a page is merged from the
//! buffers' heads with the one-slot order rules, refilling a bucket's
//! buffer (one call) whenever it runs dry before the bucket is done. At most
//! one page per bucket is held in memory.

use crate::dsl::query::{Cursor, PagePlan, Query};
use crate::error::Result;
#[cfg(feature = "tokio")]
use crate::exec::connection::AsyncConnection;
use crate::exec::connection::Connection;
use crate::plans::merge::{By, Place};
use crate::record::Record;
use crate::storage::model::{Key, Layout, Model};
use std::collections::VecDeque;

/// One bucket's reading.
struct Part<M: Model> {
    query: Query<M>,
    layout: &'static Layout,
    cursor: Option<Cursor>,
    buf: VecDeque<(Place, Record<M>)>,
    done: bool,
}

/// Pages through the matches of an [`Across`](crate::placement::Across)
/// query, in its order over every partition: each page one call per bucket
/// whose buffered rows ran out (at most one per bucket), each row exactly
/// once while nothing changes. The guarantee under concurrent writes is per
/// bucket that of [`Pages`](crate::query::Pages).
///
/// ```
/// use rom_dsl::placement::{Across, Partitioned};
/// fn count_all<M: Partitioned>(a: Across<M>, conn: &mut redis::Connection) -> rom_dsl::Result<usize> {
///     let (mut pages, mut n) = (a.pages(100), 0);
///     while let Some(rows) = pages.next_page(conn)? {
///         n += rows.len();
///     }
///     Ok(n)
/// }
/// ```
pub struct AcrossPages<M: Model> {
    by: By,
    page: u64,
    /// Rows of the merged order still to skip (the query's offset).
    skip: u64,
    /// Rows still allowed by the query's limit.
    remaining: Option<u64>,
    parts: Vec<Part<M>>,
}

impl<M: Model> std::fmt::Debug for AcrossPages<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcrossPages")
            .field("page", &self.page)
            .field("skip", &self.skip)
            .field("remaining", &self.remaining)
            .field("buckets", &self.parts.len())
            .finish()
    }
}

impl<M: Model> AcrossPages<M> {
    /// The pages of `parts` (each bucket's query, without offset or limit).
    pub(crate) fn new(
        by: By,
        page: u64,
        offset: u64,
        limit: Option<u64>,
        parts: Vec<(Query<M>, &'static Layout)>,
    ) -> Self {
        AcrossPages {
            by,
            page: page.max(1),
            skip: offset,
            remaining: limit,
            parts: parts
                .into_iter()
                .map(|(query, layout)| Part {
                    query,
                    layout,
                    cursor: None,
                    buf: VecDeque::new(),
                    done: false,
                })
                .collect(),
        }
    }

    /// The next bucket to read (its buffer ran dry before it was done),
    /// with the plan of its next page.
    fn next_fetch(&self) -> Option<Result<(usize, PagePlan<M>)>> {
        if self.remaining == Some(0) {
            return None;
        }
        let i = self
            .parts
            .iter()
            .position(|p| !p.done && p.buf.is_empty())?;
        let p = &self.parts[i];
        let mut q = p.query.clone();
        q.limit = Some(self.page);
        Some(q.page_plan(p.cursor.as_ref()).map(|plan| (i, plan)))
    }

    /// Keeps bucket `i`'s page.
    fn feed(&mut self, i: usize, rows: Vec<Record<M>>, c: Cursor) -> Result<()> {
        let (by, page) = (self.by, self.page);
        let p = &mut self.parts[i];
        if (rows.len() as u64) < page || c.member.is_empty() {
            p.done = true;
        }
        p.cursor = Some(c);
        for r in rows {
            let place = by.place(&*r, r.key().to_member(), p.layout)?;
            p.buf.push_back((place, r));
        }
        Ok(())
    }

    /// Moves rows in order into `out` until the page is full (`true`), or a
    /// bucket must be read first (`false`); `true` as well when every
    /// bucket is done and drained.
    fn take(&mut self, out: &mut Vec<Record<M>>) -> bool {
        let want = self.remaining.map_or(self.page, |r| r.min(self.page));
        while (out.len() as u64) < want {
            if self.parts.iter().any(|p| !p.done && p.buf.is_empty()) {
                return false;
            }
            let by = self.by;
            let next = self
                .parts
                .iter()
                .enumerate()
                .filter_map(|(i, p)| p.buf.front().map(|(pl, _)| (i, pl)))
                .min_by(|a, b| by.cmp(a.1, b.1))
                .map(|(i, _)| i);
            let Some(i) = next else {
                return true;
            };
            let Some((_, row)) = self.parts[i].buf.pop_front() else {
                return true;
            };
            if self.skip > 0 {
                self.skip -= 1;
            } else {
                out.push(row);
            }
        }
        true
    }

    fn finish(&mut self, out: Vec<Record<M>>) -> Option<Vec<Record<M>>> {
        if let Some(r) = &mut self.remaining {
            *r -= (out.len() as u64).min(*r);
        }
        (!out.is_empty()).then_some(out)
    }

    /// The next page, or `None` after the last one.
    ///
    /// ```
    /// use rom_dsl::placement::{Across, Partitioned};
    /// fn first_page<M: Partitioned>(a: Across<M>, conn: &mut redis::Connection) -> rom_dsl::Result<usize> {
    ///     Ok(a.pages(20).next_page(conn)?.map_or(0, |rows| rows.len()))
    /// }
    /// ```
    pub fn next_page<C: Connection + ?Sized>(
        &mut self,
        conn: &mut C,
    ) -> Result<Option<Vec<Record<M>>>> {
        let mut out = Vec::new();
        loop {
            while let Some(f) = self.next_fetch() {
                let (i, plan) = f?;
                let (rows, c) = plan.run(conn)?;
                self.feed(i, rows, c)?;
            }
            if self.remaining == Some(0) || self.take(&mut out) {
                return Ok(self.finish(out));
            }
        }
    }

    /// [`AcrossPages::next_page`] on an async connection.
    ///
    /// ```
    /// use rom_dsl::placement::{Across, Partitioned};
    /// async fn first_page<M: Partitioned>(a: Across<M>, conn: &mut redis::aio::MultiplexedConnection) -> rom_dsl::Result<usize> {
    ///     Ok(a.pages(20).next_page_async(conn).await?.map_or(0, |rows| rows.len()))
    /// }
    /// ```
    #[cfg(feature = "tokio")]
    pub async fn next_page_async<C: AsyncConnection>(
        &mut self,
        conn: &mut C,
    ) -> Result<Option<Vec<Record<M>>>> {
        let mut out = Vec::new();
        loop {
            while let Some(f) = self.next_fetch() {
                let (i, plan) = f?;
                let (rows, c) = plan.run_async(conn).await?;
                self.feed(i, rows, c)?;
            }
            if self.remaining == Some(0) || self.take(&mut out) {
                return Ok(self.finish(out));
            }
        }
    }
}
