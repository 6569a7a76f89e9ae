//! Consistency checking: compares every index of a model with its rows and
//! reports each difference. Safe to run in production: it only reads.

use crate::error::{Result, show};
use crate::model::{Key, Model, SlotKind};
use crate::record::Crud;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// One inconsistency found by [`verify`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Problem {
    /// A row could not be read as the model says (its [`crate::Error`] as text).
    Undecodable {
        /// Row key.
        key: String,
        /// What was wrong.
        error: String,
    },
    /// A row hash exists but its key is not in the ids set.
    RowNotListed {
        /// Row key.
        key: String,
    },
    /// The ids set names a row that does not exist.
    ListedWithoutRow {
        /// The member.
        member: String,
    },
    /// An index lacks an entry the row's values call for.
    Missing {
        /// Index key (and value for unique hashes).
        index: String,
        /// The row's member.
        member: String,
    },
    /// An index holds an entry no row calls for (or a wrong one: a wrong score,
    /// a unique value owned by another row).
    Orphan {
        /// Index key (and value for unique hashes).
        index: String,
        /// The member found.
        member: String,
    },
    /// A row's record of its index entries differs from its values.
    Record {
        /// Row key.
        key: String,
    },
}

/// What [`verify`] found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// Rows checked.
    pub rows: u64,
    /// Every inconsistency.
    pub problems: Vec<Problem>,
}

impl Report {
    /// True when nothing is wrong.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

fn scan(conn: &mut impl redis::ConnectionLike, pattern: &[u8]) -> Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let mut cursor: u64 = 0;
    loop {
        let (next, keys): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(1000)
            .query(conn)?;
        out.extend(keys);
        if next == 0 {
            return Ok(out);
        }
        cursor = next;
    }
}

fn glob_escape(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    for &c in b {
        if matches!(c, b'*' | b'?' | b'[' | b']' | b'\\') {
            out.push(b'\\');
        }
        out.push(c);
    }
    out
}

/// Walks every row and index of `M` and reports each orphan, missing or wrong
/// index entry, unique-hash mismatch and undecodable row. It reads in batches
/// (many round trips) and is not atomic: run it when writes are quiet, or
/// re-check what it reports.
pub fn verify<M: Model, C: redis::ConnectionLike>(conn: &mut C) -> Result<Report> {
    let l = M::layout();
    let mut report = Report::default();
    let members: Vec<Vec<u8>> = redis::cmd("ZRANGE")
        .arg(&l.ids)
        .arg(0)
        .arg(-1)
        .query(conn)?;
    let listed: BTreeSet<Vec<u8>> = members.iter().cloned().collect();
    let mut want_num: Vec<BTreeMap<Vec<u8>, f64>> = vec![BTreeMap::new(); l.numeric.len()];
    let mut want_slot: Vec<BTreeMap<Vec<u8>, BTreeSet<Vec<u8>>>> =
        vec![BTreeMap::new(); l.slots.len()];
    for chunk in members.chunks(500) {
        let keys: Vec<M::Key> = chunk
            .iter()
            .filter_map(|m| M::Key::from_member(m).ok())
            .collect();
        for (m, k) in chunk.iter().zip(&keys) {
            let one = std::slice::from_ref(k);
            let row = match M::get_plan(one).run(conn) {
                Ok(mut v) => v.pop(),
                Err(e) => {
                    report.problems.push(Problem::Undecodable {
                        key: show(&l.row_key(m)),
                        error: e.to_string(),
                    });
                    continue;
                }
            };
            let Some(row) = row else {
                report
                    .problems
                    .push(Problem::ListedWithoutRow { member: show(m) });
                continue;
            };
            report.rows += 1;
            let cells = match row.cells() {
                Ok(c) => c,
                Err(e) => {
                    report.problems.push(Problem::Undecodable {
                        key: show(&l.row_key(m)),
                        error: e.to_string(),
                    });
                    continue;
                }
            };
            for (i, z) in l.numeric.iter().enumerate() {
                if let (Some(_), Some(s)) = (z, cells[i].score) {
                    want_num[i].insert(m.clone(), s);
                }
            }
            let mut rec = Vec::new();
            for (s, slot) in l.slots.iter().enumerate() {
                for v in crate::record::slot_values(&cells, slot) {
                    want_slot[s].entry(v.clone()).or_default().insert(m.clone());
                    let mut e = slot.id.clone().into_bytes();
                    e.push(0);
                    e.extend_from_slice(format!("{}:", v.len()).as_bytes());
                    e.extend(v);
                    rec.push(e);
                }
            }
            let stored: Option<Vec<u8>> =
                redis::cmd("HGET").arg(l.row_key(m)).arg("#i").query(conn)?;
            let mut want_rec: Vec<Vec<u8>> = rec;
            want_rec.sort();
            let mut have_rec = parse_record(stored.as_deref().unwrap_or_default());
            have_rec.sort();
            if want_rec != have_rec {
                report.problems.push(Problem::Record {
                    key: show(&l.row_key(m)),
                });
            }
        }
    }
    // rows not listed in ids
    let row_pattern = [glob_escape(&l.row_prefix), b"*".to_vec()].concat();
    for key in scan(conn, &row_pattern)? {
        let m = &key[l.row_prefix.len()..];
        if !listed.contains(m) {
            report
                .problems
                .push(Problem::RowNotListed { key: show(&key) });
        }
    }
    // numeric indexes
    for (i, z) in l.numeric.iter().enumerate() {
        let Some(z) = z else { continue };
        let have: Vec<(Vec<u8>, f64)> = redis::cmd("ZRANGE")
            .arg(z)
            .arg(0)
            .arg(-1)
            .arg("WITHSCORES")
            .query(conn)?;
        let have: HashMap<Vec<u8>, f64> = have.into_iter().collect();
        for (m, s) in &want_num[i] {
            if have.get(m) != Some(s) {
                report.problems.push(Problem::Missing {
                    index: show(z),
                    member: show(m),
                });
            }
        }
        for (m, s) in &have {
            if want_num[i].get(m) != Some(s) {
                report.problems.push(Problem::Orphan {
                    index: show(z),
                    member: show(m),
                });
            }
        }
    }
    // value-keyed indexes
    for (s, slot) in l.slots.iter().enumerate() {
        let mut have: BTreeMap<Vec<u8>, BTreeSet<Vec<u8>>> = BTreeMap::new();
        match slot.kind {
            SlotKind::Unique => {
                let h: Vec<(Vec<u8>, Vec<u8>)> =
                    redis::cmd("HGETALL").arg(&slot.key).query(conn)?;
                for (v, m) in h {
                    have.entry(v).or_default().insert(m);
                }
            }
            SlotKind::Set => {
                let pattern = [glob_escape(&slot.key), b"*".to_vec()].concat();
                for key in scan(conn, &pattern)? {
                    let ms: Vec<Vec<u8>> = redis::cmd("SMEMBERS").arg(&key).query(conn)?;
                    have.insert(key[slot.key.len()..].to_vec(), ms.into_iter().collect());
                }
            }
            SlotKind::Lex => {
                let ms: Vec<Vec<u8>> = redis::cmd("ZRANGE")
                    .arg(&slot.key)
                    .arg(0)
                    .arg(-1)
                    .query(conn)?;
                for entry in ms {
                    match split_lex::<M>(&entry) {
                        Some((v, m)) => {
                            have.entry(v).or_default().insert(m);
                        }
                        None => report.problems.push(Problem::Orphan {
                            index: show(&slot.key),
                            member: show(&entry),
                        }),
                    }
                }
            }
        }
        let name = |v: &[u8]| match slot.kind {
            SlotKind::Unique | SlotKind::Lex => format!("{} {}", show(&slot.key), show(v)),
            SlotKind::Set => show(&[&slot.key[..], v].concat()),
        };
        for (v, ms) in &want_slot[s] {
            for m in ms {
                if !have.get(v).is_some_and(|h| h.contains(m)) {
                    report.problems.push(Problem::Missing {
                        index: name(v),
                        member: show(m),
                    });
                }
            }
        }
        for (v, ms) in &have {
            for m in ms {
                if !want_slot[s].get(v).is_some_and(|w| w.contains(m)) {
                    report.problems.push(Problem::Orphan {
                        index: name(v),
                        member: show(m),
                    });
                }
            }
        }
    }
    Ok(report)
}

/// Splits a lexicographic index member `value \0\0 key` (numeric keys are
/// written with a length byte first, so that they order by number).
pub(crate) fn split_lex<M: Model>(entry: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let cut = entry.windows(2).position(|w| w == [0, 0])?;
    let (v, rest) = (&entry[..cut], &entry[cut + 2..]);
    let m = if M::Key::NUMERIC {
        let (&len, digits) = rest.split_first()?;
        if usize::from(len) != digits.len() {
            return None;
        }
        digits
    } else {
        rest
    };
    Some((v.to_vec(), m.to_vec()))
}

/// Splits a row's record into its entries, each `id \0 len : value`.
fn parse_record(s: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < s.len() {
        let Some(z) = s[pos..].iter().position(|&b| b == 0) else {
            break;
        };
        let from = pos + z + 1;
        let Some(c) = s[from..].iter().position(|&b| b == b':') else {
            break;
        };
        let Some(len) = std::str::from_utf8(&s[from..from + c])
            .ok()
            .and_then(|x| x.parse::<usize>().ok())
        else {
            break;
        };
        let end = (from + c + 1 + len).min(s.len());
        out.push(s[pos..end].to_vec());
        pos = end;
    }
    out
}
