//! Verify and repair of the claims of uniques across partitions
//! (`plans/xuniq.rs`): a partitioned model's unique without the partition
//! column is held by a row in the row's bucket (its local unique index,
//! which [`verify`](super::verify) checks against the rows) and claimed in
//! the value's bucket. This walk compares the two, in two passes per slot
//! and bucket, one `HSCAN` page (about 200 entries) at a time:
//!
//! 1. every value a row holds (the bucket's local unique hash) must be
//!    claimed for that row: otherwise it is **missing** (damage: another row
//!    could take the value). Repair claims it for the row when the claim is
//!    absent or names a row that does not hold the value; a claim that
//!    names another row holding the value too (two holders, which rom never
//!    writes) or a pending claim is left, and reported.
//! 2. every committed claim must name a row that holds the value: otherwise
//!    it is **stale** (left by a delete or an update that gave the value up,
//!    not damage: the next claimer takes it over). Repair removes it.
//!    Pending claims are counted: a write in flight, or one whose writer
//!    stopped (the next claimer takes it over after the claim lease).
//!
//! The whole walk is one plan of many calls (each a read or an atomic
//! compare-and-set), so it runs on every connection, sync or async. It is
//! exact on data at rest; while writes go on, a value being claimed at that
//! moment may be reported missing (its row's value was read before its
//! claim): run it again. Repair stays safe meanwhile: each fix is a
//! compare-and-set of the claim as read.

use crate::error::{Error, Result, show};
use crate::plan::{Call, Plan};
use crate::plans::plan::Next;
use crate::plans::xuniq::{claims_key, probe_args, remote_slots, token};
use crate::storage::model::{Model, Slot, SlotKind};
use crate::storage::slots::entry_key;
use crate::wire::xuniq::{CompareSet, Entry, XReply};
use std::collections::VecDeque;
use std::marker::PhantomData;

/// What [`verify_claims`](super::verify_claims) found, or
/// [`repair_claims`](super::repair_claims) found and fixed.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ClaimsReport {
    /// Values held by rows, checked.
    pub checked: u64,
    /// Values held by rows but not claimed for them: `(column, value, key)`.
    pub missing: Vec<(String, String, String)>,
    /// Committed claims naming a row that no longer holds the value.
    pub stale: u64,
    /// Pending claims (writes in flight, or stopped writers').
    pub pending: u64,
    /// Claims that are not in a form rom writes (left alone).
    pub foreign: u64,
    /// Fixes applied (repair only): missing claims made, stale ones removed.
    pub repaired: u64,
}

impl ClaimsReport {
    /// No value held by a row lacks its claim (stale and pending claims are
    /// not damage).
    ///
    /// ```
    /// assert!(rom_dsl::verify::ClaimsReport::default().is_clean());
    /// ```
    pub fn is_clean(&self) -> bool {
        self.missing.is_empty() && self.foreign == 0
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Pass {
    Rows,
    Claims,
}

struct Walk<M: Model> {
    repair: bool,
    slots: Vec<&'static Slot>,
    slot: usize,
    bucket: u16,
    pass: Pass,
    /// The next `HSCAN` cursor; `None` before the first page.
    cursor: Option<Vec<u8>>,
    items: VecDeque<(Vec<u8>, Vec<u8>)>,
    report: ClaimsReport,
    _m: PhantomData<M>,
}

type Step = Result<Next<ClaimsReport>>;

/// The walk's plan (`repair`: fix what it finds).
pub(crate) fn claims_plan<M: Model>(repair: bool) -> Option<Plan<ClaimsReport>> {
    let slots: Vec<&'static Slot> = remote_slots::<M>().collect();
    if slots.is_empty() {
        return None;
    }
    let w = Box::new(Walk::<M> {
        repair,
        slots,
        slot: 0,
        bucket: 0,
        pass: Pass::Rows,
        cursor: None,
        items: VecDeque::new(),
        report: ClaimsReport::default(),
        _m: PhantomData,
    });
    Some(scan(w))
}

/// The hash the current pass scans: the bucket's local unique hash, or its
/// claims hash.
fn scanned<M: Model>(w: &Walk<M>) -> Vec<u8> {
    let l = &M::bucket_layouts()[usize::from(w.bucket)];
    let s = w.slots[w.slot];
    match w.pass {
        Pass::Rows => entry_key(&l.tag, SlotKind::Unique, s.id.as_bytes(), b""),
        Pass::Claims => [&l.tag[..], b":x", s.id.as_bytes()].concat(),
    }
}

fn scan<M: Model>(mut w: Box<Walk<M>>) -> Plan<ClaimsReport> {
    let key = scanned(&w);
    let cursor = w.cursor.take().unwrap_or_else(|| b"0".to_vec());
    Plan::new(
        Call::Command("HSCAN"),
        vec![key.clone()],
        vec![cursor, b"COUNT".to_vec(), b"200".to_vec()],
        move |v| page(&key, v),
    )
    .then(move |r| {
        let Next::Done((next, pairs)) = r else {
            return Err(Error::decode(b"(claims)", None, "unexpected continuation"));
        };
        w.cursor = Some(next);
        w.items.extend(pairs);
        step(w)
    })
}

/// An `HSCAN` reply: the next cursor and the page's (field, value) pairs.
#[allow(clippy::type_complexity)]
fn page(key: &[u8], v: redis::Value) -> Result<(Vec<u8>, Vec<(Vec<u8>, Vec<u8>)>)> {
    let mut parts = crate::wire::reply_items(v, "HSCAN")?.into_iter();
    let (Some(c), Some(items)) = (parts.next(), parts.next()) else {
        return Err(Error::decode(
            key,
            None,
            "HSCAN: a cursor and a page expected",
        ));
    };
    let flat = crate::wire::reply_strings(items)?;
    let pairs = flat
        .chunks(2)
        .filter(|p| p.len() == 2)
        .map(|p| (p[0].clone(), p[1].clone()))
        .collect();
    Ok((crate::wire::reply_bytes(c)?, pairs))
}

/// The next call of the walk, or its report.
fn step<M: Model>(mut w: Box<Walk<M>>) -> Step {
    if let Some((field, value)) = w.items.pop_front() {
        return Ok(Next::Again(match w.pass {
            Pass::Rows => held(w, field, value),
            Pass::Claims => claim(w, field, value),
        }));
    }
    if w.cursor.as_deref() != Some(b"0") {
        return Ok(Next::Again(scan(w)));
    }
    // this hash is done: the next pass, bucket, slot
    w.cursor = None;
    if w.pass == Pass::Rows {
        w.pass = Pass::Claims;
    } else {
        w.pass = Pass::Rows;
        w.bucket += 1;
        if w.bucket >= M::BUCKETS {
            w.bucket = 0;
            w.slot += 1;
            if w.slot >= w.slots.len() {
                return Ok(Next::Done(w.report));
            }
        }
    }
    Ok(Next::Again(scan(w)))
}

/// Pass 1: row `member` holds `v`; its claim must name it.
fn held<M: Model>(w: Box<Walk<M>>, v: Vec<u8>, member: Vec<u8>) -> Plan<ClaimsReport> {
    let key = claims_key::<M>(w.slots[w.slot], &v);
    Plan::new(
        Call::Command("HGET"),
        vec![key],
        vec![v.clone()],
        crate::wire::reply_bytes,
    )
    .then(move |r| {
        let Next::Done(raw) = r else {
            return Err(Error::decode(b"(claims)", None, "unexpected continuation"));
        };
        let mut w = w;
        w.report.checked += 1;
        let entry = Entry::parse(&raw);
        if entry.as_ref().is_some_and(|e| e.member() == member) {
            return step(w);
        }
        let s = w.slots[w.slot];
        w.report
            .missing
            .push((s.label.clone(), show(&v), show(&member)));
        if !w.repair {
            return step(w);
        }
        match entry {
            // unclaimed: claim it for the row
            None if raw.is_empty() => Ok(Next::Again(settle(w, v, raw, claimed(&member)))),
            // another row's committed claim: taken over if that row does
            // not hold the value (a row that does too is left: two holders)
            Some(Entry::Committed { member: other, .. }) => {
                let probe = probe_args::<M>(s, &v, &other, b"");
                Ok(Next::Again(Plan::call(&probe, XReply::decode).then(
                    move |r| match r {
                        Next::Done(XReply::Holds(false)) => {
                            Ok(Next::Again(settle(w, v, raw, claimed(&member))))
                        }
                        _ => step(w),
                    },
                )))
            }
            // pending (a write in flight), or not rom's: left
            _ => step(w),
        }
    })
}

/// A committed claim for `member`, under a new token.
fn claimed(member: &[u8]) -> Vec<u8> {
    [&b"c:"[..], &token(), b":", member].concat()
}

/// Pass 2: the claim `raw` of `v` must name a row holding it.
fn claim<M: Model>(mut w: Box<Walk<M>>, v: Vec<u8>, raw: Vec<u8>) -> Plan<ClaimsReport> {
    let s = w.slots[w.slot];
    let owner = match Entry::parse(&raw) {
        Some(Entry::Committed { member, .. }) => member,
        other => {
            match other {
                Some(Entry::Pending { .. }) => w.report.pending += 1,
                _ => w.report.foreign += 1,
            }
            // nothing to send for this entry: the walk's next call
            return next_call(w);
        }
    };
    let probe = probe_args::<M>(s, &v, &owner, b"");
    Plan::call(&probe, XReply::decode).then(move |r| match r {
        Next::Done(XReply::Holds(false)) => {
            w.report.stale += 1;
            if w.repair {
                Ok(Next::Again(settle(w, v, raw, Vec::new())))
            } else {
                step(w)
            }
        }
        _ => step(w),
    })
}

/// The walk's next call when an item needs none.
fn next_call<M: Model>(w: Box<Walk<M>>) -> Plan<ClaimsReport> {
    match step(w) {
        Ok(Next::Again(p)) => p,
        // the walk ended on an item that needed no call: one harmless read
        // carries the report
        Ok(Next::Done(report)) => {
            Plan::new(Call::Command("PING"), Vec::new(), Vec::new(), move |_| {
                Ok(report)
            })
        }
        Err(e) => Plan::new(Call::Command("PING"), Vec::new(), Vec::new(), move |_| {
            Err(e)
        }),
    }
}

/// Compare-and-set of `v`'s claim from `expect` to `new` (empty: removed).
fn settle<M: Model>(
    w: Box<Walk<M>>,
    v: Vec<u8>,
    expect: Vec<u8>,
    new: Vec<u8>,
) -> Plan<ClaimsReport> {
    let args = CompareSet {
        claims: claims_key::<M>(w.slots[w.slot], &v),
        value: v,
        expect,
        new,
    };
    Plan::call(&args, XReply::decode).then(move |r| {
        let mut w = w;
        if matches!(r, Next::Done(XReply::Ok)) {
            w.report.repaired += 1;
        }
        step(w)
    })
}

/// Checks the claims of a partitioned model's uniques across partitions
/// against the values its rows hold (see the book's placement chapter,
/// "Unique columns across partitions"): a value held by a row but not
/// claimed for it is `missing`; a committed claim whose row no longer holds
/// the value is `stale`. Read only. A model without such uniques answers an
/// empty report without a call.
///
/// ```
/// # fn demo<M: rom_dsl::Model>(conn: &mut redis::Connection) -> rom_dsl::Result<()> {
/// let report = rom_dsl::verify::verify_claims::<M, _>(conn)?;
/// assert!(report.is_clean(), "values without their claim: {:?}", report.missing);
/// # Ok(()) }
/// ```
///
/// The book's placement chapter has a worked example (a deleted row's claim
/// found stale, then removed by [`repair_claims`]).
pub fn verify_claims<M: Model, C: crate::connection::Connection + ?Sized>(
    conn: &mut C,
) -> Result<ClaimsReport> {
    claims_plan::<M>(false).map_or(Ok(ClaimsReport::default()), |p| p.run(conn))
}

/// Fixes what [`verify_claims`] reports (with [`Repair::DryRun`](super::Repair)
/// only counts it): claims a missing value for its row when the value's
/// claim is absent or names a row that does not hold it, and removes stale
/// claims. Each fix is an atomic compare-and-set of the claim as read, so
/// writes may go on meanwhile. Pending claims and values held by two rows
/// are left (and reported).
///
/// ```
/// # fn demo<M: rom_dsl::Model>(conn: &mut redis::Connection) -> rom_dsl::Result<()> {
/// use rom_dsl::Repair;
/// let would = rom_dsl::verify::repair_claims::<M, _>(conn, Repair::DryRun)?;
/// let done = rom_dsl::verify::repair_claims::<M, _>(conn, Repair::Apply)?;
/// # let _ = (would, done);
/// # Ok(()) }
/// ```
pub fn repair_claims<M: Model, C: crate::connection::Connection + ?Sized>(
    conn: &mut C,
    mode: super::Repair,
) -> Result<ClaimsReport> {
    claims_plan::<M>(mode == super::Repair::Apply)
        .map_or(Ok(ClaimsReport::default()), |p| p.run(conn))
}

/// [`verify_claims`] on an async connection.
///
/// ```
/// # async fn demo<M: rom_dsl::Model>(conn: &mut redis::aio::MultiplexedConnection) -> rom_dsl::Result<()> {
/// let report = rom_dsl::verify::verify_claims_async::<M, _>(conn).await?;
/// # Ok(()) }
/// ```
#[cfg(feature = "tokio")]
pub async fn verify_claims_async<M: Model, C: crate::connection::AsyncConnection>(
    conn: &mut C,
) -> Result<ClaimsReport> {
    match claims_plan::<M>(false) {
        Some(p) => p.run_async(conn).await,
        None => Ok(ClaimsReport::default()),
    }
}

/// [`repair_claims`] on an async connection.
///
/// ```
/// # async fn demo<M: rom_dsl::Model>(conn: &mut redis::aio::MultiplexedConnection) -> rom_dsl::Result<()> {
/// let report = rom_dsl::verify::repair_claims_async::<M, _>(conn, rom_dsl::Repair::Apply).await?;
/// # Ok(()) }
/// ```
#[cfg(feature = "tokio")]
pub async fn repair_claims_async<M: Model, C: crate::connection::AsyncConnection>(
    conn: &mut C,
    mode: super::Repair,
) -> Result<ClaimsReport> {
    match claims_plan::<M>(mode == super::Repair::Apply) {
        Some(p) => p.run_async(conn).await,
        None => Ok(ClaimsReport::default()),
    }
}
