//! Pages with resumable tokens: [`QueryDsl::load_page`] and
//! [`QueryDsl::after`], for callers that cannot keep a [`Pages`] iterator
//! between requests (a web service).
//! Public as `rom_dsl::query` (`src/query.rs`).
//!
//! A token is a versioned binary record, written in lower-case hex:
//!
//! ```text
//! version (1 byte, 1) | shape (8) | phase (1: 'v' or 'n') | remaining (1 flag + 8)
//! | score (4-byte length + bytes) | member (4-byte length + bytes) | check (8)
//! ```
//!
//! `shape` is a digest of what the query reads and in which order (model,
//! keys, filter, order; not the offset, limit or page size); `check` is a
//! digest of everything before it. Integers are big-endian.

#[allow(unused_imports)] // the links above
use super::query::{Pages, QueryDsl};
use crate::dsl::query::{Cursor, Query};
use crate::error::{Error, Result};
use crate::plan::Plan;
use crate::record::Record;
use crate::storage::model::{Key, Model};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// One page of a query's matches, read by [`QueryDsl::load_page`]: its rows
/// and, when the page is full, the token of the next one.
///
/// With `M: Serialize` it serializes as `{"rows": [...], "next": "..."}`
/// (`next` is `null` after the last page), ready to be a JSON response.
///
/// ```
/// use rom_dsl::query::Page;
/// fn describe<M: rom_dsl::Model>(page: &Page<M>) -> String {
///     format!("{} rows, more: {}", page.rows.len(), page.next.is_some())
/// }
/// ```
#[derive(Serialize)]
#[serde(bound(serialize = "M: Serialize"))]
pub struct Page<M: Model> {
    /// The rows of this page, in the query's order.
    pub rows: Vec<Record<M>>,
    /// Where the next page starts: `Some` when this page is full and the
    /// query's limit is not used up (the next page may then be empty), `None`
    /// when the query has nothing more.
    pub next: Option<PageToken>,
}

impl<M: Model + fmt::Debug> fmt::Debug for Page<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Page")
            .field("rows", &self.rows)
            .field("next", &self.next)
            .finish()
    }
}

/// Where the next page of a query starts, as an opaque URL-safe string (hex):
/// `token.to_string()` to hand it out, `s.parse::<PageToken>()` (or serde,
/// as a string) to read it back, [`QueryDsl::after`] to resume.
///
/// A token names a position (the order value and key of the last row read),
/// not a row, so it stays valid when that row is deleted, and across
/// processes and restarts. It is tied to the query's *shape*: its model, key
/// names, filter and order (with their values); the offset, limit and page
/// size are not part of it. Resuming a different query with it, or a token
/// that was damaged, cut or made up, fails with [`Error::Validation`] before
/// anything is sent.
///
/// A token is not encrypted or signed: the checksum catches damage and
/// mix-ups, not a deliberate forgery. A forged token can only move the same
/// query to another position (it never widens the filter), but its hex does
/// show the last row's key and order value: do not hand tokens to clients who
/// must not see those.
///
/// ```
/// use rom_dsl::query::PageToken;
/// assert!("not a token".parse::<PageToken>().is_err());
/// assert!("01abcdef".parse::<PageToken>().is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PageToken {
    /// The whole record, its checksum checked.
    bytes: Vec<u8>,
}

const VERSION: u8 = 1;
/// The longest token accepted, in characters (a position is a key and an
/// order value: a long sort value is the only reason for length).
const MAX_CHARS: usize = 1 << 17;

impl fmt::Display for PageToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in &self.bytes {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for PageToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PageToken({self})")
    }
}

fn bad(reason: impl Into<String>) -> Error {
    Error::Validation {
        model: "(page token)",
        column: "token".into(),
        reason: reason.into(),
    }
}

impl std::str::FromStr for PageToken {
    type Err = Error;
    /// Reads a token written by `to_string`: [`Error::Validation`] for anything
    /// that is not one (wrong length or characters, a damaged checksum, an
    /// unknown version). Whether it belongs to a query is checked when the
    /// query resumes from it.
    ///
    /// ```
    /// use rom_dsl::{Error, query::PageToken};
    /// assert!(matches!("0g".parse::<PageToken>(), Err(Error::Validation { .. })));
    /// ```
    fn from_str(s: &str) -> Result<Self> {
        if s.len() > MAX_CHARS || !s.len().is_multiple_of(2) {
            return Err(bad("not a page token (length)"));
        }
        let hex = |c: u8| match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        };
        let bytes = s
            .as_bytes()
            .chunks(2)
            .map(|p| Some(hex(p[0])? << 4 | hex(p[1])?))
            .collect::<Option<Vec<u8>>>()
            .ok_or_else(|| bad("not a page token (characters)"))?;
        let Some((body, check)) = bytes.split_last_chunk::<8>() else {
            return Err(bad("not a page token (too short)"));
        };
        if digest(&[body]).to_be_bytes() != *check {
            return Err(bad("a damaged page token (checksum)"));
        }
        if body.first() != Some(&VERSION) {
            return Err(bad("a page token of an unknown version"));
        }
        Ok(PageToken { bytes })
    }
}

impl Serialize for PageToken {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PageToken {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A position read back from a token.
pub(crate) struct Position {
    pub(crate) cursor: Cursor,
    pub(crate) remaining: Option<u64>,
}

impl PageToken {
    pub(crate) fn seal(shape: u64, c: &Cursor, remaining: Option<u64>) -> PageToken {
        let mut b = vec![VERSION];
        b.extend_from_slice(&shape.to_be_bytes());
        b.extend_from_slice(&c.phase);
        b.push(u8::from(remaining.is_some()));
        b.extend_from_slice(&remaining.unwrap_or(0).to_be_bytes());
        for part in [&c.score, &c.member] {
            b.extend_from_slice(&(part.len() as u32).to_be_bytes());
            b.extend_from_slice(part);
        }
        let check = digest(&[&b]);
        b.extend_from_slice(&check.to_be_bytes());
        PageToken { bytes: b }
    }

    /// The position this token names in query `q` (whose shape is `shape`).
    pub(crate) fn open<M: Model>(&self, q: &Query<M>, shape: u64) -> Result<Position> {
        let wrong = |reason: &str| Error::Validation {
            model: M::SCHEMA.name,
            column: "(page token)".into(),
            reason: reason.into(),
        };
        // the envelope was checked by `from_str` (or made by `seal`)
        let body = &self.bytes[1..self.bytes.len() - 8];
        let mut r = Reader(body);
        if r.u64() != Some(shape) {
            return Err(wrong(
                "this page token belongs to another query (model, filter or order differ)",
            ));
        }
        let damaged = || wrong("a damaged page token");
        let phase = r.take(1).ok_or_else(damaged)?.to_vec();
        let remaining = match (r.take(1), r.u64()) {
            (Some([0]), Some(_)) => None,
            (Some([1]), Some(n)) if n > 0 => Some(n),
            _ => return Err(damaged()),
        };
        let score = r.part().ok_or_else(damaged)?.to_vec();
        let member = r.part().ok_or_else(damaged)?.to_vec();
        if !r.0.is_empty() {
            return Err(damaged());
        }
        // what the script will read: a made-up token must not reach it with
        // a value it cannot parse
        let ordered = q.order.is_some();
        let lex = q.order.as_ref().is_some_and(|o| o.3.is_some());
        let numeric = |s: &[u8]| {
            std::str::from_utf8(s)
                .ok()
                .and_then(|s| s.parse::<f64>().ok())
                .is_some_and(|f| !f.is_nan())
        };
        let ok_phase = match phase.as_slice() {
            b"v" => lex || numeric(&score),
            b"n" => ordered && numeric(&score),
            _ => false,
        };
        let ok_member = M::Key::from_member(&member).is_ok_and(|k| k.to_member() == member);
        if !ok_phase || !ok_member {
            return Err(damaged());
        }
        Ok(Position {
            cursor: Cursor {
                phase,
                score,
                member,
            },
            remaining,
        })
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (a, b) = self.0.split_at_checked(n)?;
        self.0 = b;
        Some(a)
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_be_bytes(self.take(8)?.try_into().ok()?))
    }
    fn part(&mut self) -> Option<&'a [u8]> {
        let n = u32::from_be_bytes(self.take(4)?.try_into().ok()?);
        self.take(usize::try_from(n).ok()?)
    }
}

/// A 64-bit digest of byte strings (FNV-1a over each part and its length,
/// then a final mix): stable across Rust versions and platforms, which
/// `std`'s hasher does not promise. A checksum, not a signature.
pub(crate) fn digest(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |b: u8| {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    };
    for p in parts {
        (p.len() as u64)
            .to_be_bytes()
            .into_iter()
            .for_each(&mut eat);
        p.iter().copied().for_each(&mut eat);
    }
    // splitmix64's finaliser: every input bit moves every output bit
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// What [`Query::page_plan_of`] plans: a call, or an empty last page known
/// without one (a limit used up).
pub(crate) enum PageCall<M: Model> {
    Call(Plan<Page<M>>),
    Done,
}

impl<M: Model> PageCall<M> {
    pub(crate) fn run<C: crate::connection::Connection + ?Sized>(
        self,
        conn: &mut C,
    ) -> Result<Page<M>> {
        match self {
            PageCall::Call(p) => p.run(conn),
            PageCall::Done => Ok(Page {
                rows: Vec::new(),
                next: None,
            }),
        }
    }
    #[cfg(feature = "tokio")]
    pub(crate) async fn run_async<C: crate::connection::AsyncConnection>(
        self,
        conn: &mut C,
    ) -> Result<Page<M>> {
        match self {
            PageCall::Call(p) => p.run_async(conn).await,
            PageCall::Done => Ok(Page {
                rows: Vec::new(),
                next: None,
            }),
        }
    }
}

impl<M: Model> Query<M> {
    /// The call of [`QueryDsl::load_page`]: the query from the start (its
    /// offset skipped) or from its token (`after`), at most `size` rows and
    /// no more than the limit has left.
    pub(crate) fn page_plan_of(&self, size: u64) -> Result<PageCall<M>> {
        let mut q = self.clone();
        let token = q.after.take();
        q.check()?;
        let shape = q.shape()?;
        let (cursor, remaining) = match token {
            None => (None, q.limit),
            Some(t) => {
                let p = t.open(&q, shape)?;
                q.offset = 0;
                (Some(p.cursor), p.remaining)
            }
        };
        let take = remaining.map_or(size.max(1), |r| r.min(size.max(1)));
        if take == 0 {
            return Ok(PageCall::Done);
        }
        q.limit = Some(take);
        let plan = q.page_plan(cursor.as_ref())?;
        Ok(PageCall::Call(plan.map(move |(rows, c)| {
            let n = rows.len() as u64;
            let left = remaining.map(|r| r.saturating_sub(n));
            let more = n == take && !c.member.is_empty() && left != Some(0);
            Ok(Page {
                rows,
                next: more.then(|| PageToken::seal(shape, &c, left)),
            })
        })))
    }
}
