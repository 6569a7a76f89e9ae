//! Consistency checking and repair: [`verify`] compares every index of a model
//! with its rows and reports each difference; [`repair`] fixes them.
//!
//! Both walk the data in pages of about 200 entries (cursors over `{ns}:ids`,
//! over the model's keys and over each index), on any connection rom accepts:
//! a plain connection, a `ConnectionManager` or multiplexed connection
//! ([`verify_async`], [`repair_async`]), a cluster connection (every call names
//! a key with the model's hash tag, so it reaches the node that holds the
//! model). The memory used is bounded by the page size (a page of entries and
//! the rows they name), plus the report, whatever the size of the indexes.
//! Neither is atomic as a whole: each read is a consistent page and each fix is
//! atomic for its row or entry.

#[cfg(feature = "tokio")]
use crate::connection::AsyncConnection;
use crate::connection::Connection;
use crate::error::Result;
use crate::storage::model::{Key, Layout, Model};
use rows::Checked;

pub use claims::{ClaimsReport, repair_claims, verify_claims};
#[cfg(feature = "tokio")]
pub use claims::{repair_claims_async, verify_claims_async};

mod claims;
mod dangling;
mod rows;
mod structures;
mod walk;

/// One inconsistency found by [`verify`] (or seen by [`repair`]).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Problem {
    /// A row of a partitioned model stored under another bucket's hash tag
    /// than its key's (written by another program, or with another number
    /// of buckets): no operation finds it there. Repair leaves it.
    Misplaced {
        /// Row key.
        key: String,
        /// Where its key puts it.
        expected: String,
    },
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
    /// A row's record of its index entries differs from its values (or does
    /// not name each of its structures once, with its index: a structure
    /// that exists and is not recorded would outlive the row's delete).
    Record {
        /// Row key.
        key: String,
    },
    /// A structure's key holds another Redis type than its field's (written
    /// by another program): `{ns}:st:labels:1` a string where `labels:
    /// Set<String>` keeps a set. Its reads fail; `repair` leaves it (its
    /// contents are the user's), counted as skipped.
    StructureType {
        /// The structure's key.
        key: String,
        /// The field's Redis type (`set`).
        expected: String,
        /// The key's type (`string`).
        found: String,
    },
    /// A structure's key whose row does not exist: `{ns}:st:labels:9` and no
    /// `{ns}:row:9` (the row deleted from outside). `repair` deletes it, and
    /// for an indexed set removes the row from the index of each member.
    StructureWithoutRow {
        /// The structure's key.
        key: String,
    },
    /// A row's `belongs_to` column names a row that does not exist (left by
    /// `on_delete = no_action`, or a parent removed from outside). `repair`
    /// applies the column's rule (`cascade`, `set_null`, `set_default`) as the
    /// parent's delete would have, and leaves `no_action` and `restrict`
    /// references. Checked for references within the model's placement.
    Dangling {
        /// The referencing row's key.
        key: String,
        /// The `belongs_to` column.
        column: String,
        /// The key of the row it names.
        parent: String,
    },
}

/// What [`verify`] found.
///
/// ```
/// let r = rom_dsl::verify::Report::default();
/// assert!(r.is_clean() && r.rows == 0);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// Rows checked.
    pub rows: u64,
    /// Rows whose deadline has passed and that await a sweep (a model
    /// declared `expires`): not damage, and not checked further.
    pub expired: u64,
    /// Every inconsistency.
    pub problems: Vec<Problem>,
}

impl Report {
    /// True when nothing is wrong.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

/// How [`repair`] runs: [`Repair::DryRun`] (the default) only reports what it
/// would fix; [`Repair::Apply`] fixes it.
///
/// ```
/// assert_eq!(rom_dsl::Repair::default(), rom_dsl::Repair::DryRun);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Repair {
    /// Read only: count what would be fixed.
    #[default]
    DryRun,
    /// Write the fixes.
    Apply,
}

/// How many keys a [`RepairReport`] names.
///
/// ```
/// assert_eq!(rom_dsl::verify::MAX_KEYS, 100);
/// ```
pub const MAX_KEYS: usize = 100;

/// What [`repair`] found and fixed (or, in a dry run, would fix).
///
/// A dry run counts what it finds; applying may fix less, when one fix
/// covers two problems (unlisting a member also removes its scores, which a
/// dry run counts as orphans too).
///
/// ```
/// let r = rom_dsl::RepairReport::default();
/// assert_eq!(r.fixes(), 0);
/// assert!(r.found.is_clean());
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct RepairReport {
    /// Dry run or applied.
    pub mode: Repair,
    /// What the walk saw, as [`verify`] reports it.
    pub found: Report,
    /// Rows whose index entries, scores and `#i` record were rewritten from
    /// their values (missing, wrong-score or stale entries, a stale record).
    pub reindexed: u64,
    /// Of those, rows that existed but were not listed in `{ns}:ids`.
    pub listed: u64,
    /// Members of `{ns}:ids` without a row, removed with their scores.
    pub unlisted: u64,
    /// Index entries that no row calls for, removed (stale unique values
    /// included), and structures whose row does not exist, deleted.
    pub orphans_removed: u64,
    /// Entries of an indexed set's index that the row's set calls for,
    /// added (the row itself unchanged).
    pub entries_added: u64,
    /// References to rows that do not exist, to which their column's
    /// `on_delete` rule was applied (`cascade`: the row deleted; `set_null`,
    /// `set_default`: the column changed). `no_action` and `restrict`
    /// references are left (and counted as skipped).
    pub references_resolved: u64,
    /// Problems left alone: rows that do not decode, a unique value held by
    /// another row that records it, rows the application kept changing, entries
    /// a row still records.
    pub skipped: u64,
    /// The keys fixed (rows, or `index member`), the first [`MAX_KEYS`].
    pub keys: Vec<String>,
}

impl RepairReport {
    /// An empty report of a verify (`None`) or a repair.
    fn of(repair: Option<Repair>) -> Self {
        RepairReport {
            mode: repair.unwrap_or_default(),
            ..RepairReport::default()
        }
    }

    /// Adds the report of another walk (a partitioned model's next bucket).
    fn add(&mut self, o: RepairReport) {
        self.found.rows += o.found.rows;
        self.found.expired += o.found.expired;
        self.found.problems.extend(o.found.problems);
        self.reindexed += o.reindexed;
        self.listed += o.listed;
        self.unlisted += o.unlisted;
        self.orphans_removed += o.orphans_removed;
        self.entries_added += o.entries_added;
        self.references_resolved += o.references_resolved;
        self.skipped += o.skipped;
        self.keys.extend(o.keys);
    }

    /// The number of fixes (made, or to make in a dry run).
    pub fn fixes(&self) -> u64 {
        self.reindexed
            + self.unlisted
            + self.orphans_removed
            + self.entries_added
            + self.references_resolved
    }

    fn key(&mut self, k: String) {
        if self.keys.len() < MAX_KEYS {
            self.keys.push(k);
        }
    }

    /// Counts a fix as done.
    pub(crate) fn count(&mut self, l: &Layout, f: &Fix) {
        let show = crate::error::show;
        match f {
            Fix::Reindex(c) => {
                self.reindexed += 1;
                if !c.listed {
                    self.listed += 1;
                }
                self.key(show(&l.row_key(&c.member)));
            }
            Fix::Unlist(m) => {
                self.unlisted += 1;
                self.key(format!("{} {}", show(&l.ids), show(m)));
            }
            Fix::Unindex {
                target: crate::wire::repair::Target::Structure(_),
                key,
                ..
            } => {
                self.orphans_removed += 1;
                self.key(show(key));
            }
            Fix::Unindex {
                key, value, member, ..
            } => {
                self.orphans_removed += 1;
                let what = if member.is_empty() { value } else { member };
                self.key(format!("{} {}", show(key), show(what)));
            }
            Fix::StEntry(e) => {
                if e.add {
                    self.entries_added += 1;
                } else {
                    self.orphans_removed += 1;
                }
                let st = &l.structures[e.structure];
                self.key(format!(
                    "{} {}",
                    show(&st.index_key(&e.value)),
                    show(&e.member)
                ));
            }
            Fix::Dangling(d) => {
                self.references_resolved += 1;
                self.key(format!(
                    "{} {}",
                    show(&l.row_key(&d.member)),
                    d.parent.column
                ));
            }
            Fix::Skip => self.skipped += 1,
        }
    }
}

/// A reference to a row that does not exist, and what its rule makes of it.
#[derive(Debug)]
pub(crate) struct DanglingFix {
    /// The referencing row.
    pub(crate) member: Vec<u8>,
    pub(crate) parent: crate::storage::relations::ParentRef,
    /// The column's stored bytes (checked unchanged when fixing).
    pub(crate) stored: Vec<u8>,
}

/// One fix, sent as one atomic script call.
#[derive(Debug)]
pub(crate) enum Fix {
    /// Rewrite a row's entries, scores, record and listing, if it is unchanged.
    Reindex(Box<Checked>),
    /// Remove a member of `{ns}:ids` whose row does not exist.
    Unlist(Vec<u8>),
    /// Remove an index entry unless its row claims it.
    Unindex {
        /// Which kind of entry.
        target: crate::wire::repair::Target,
        key: Vec<u8>,
        value: Vec<u8>,
        member: Vec<u8>,
    },
    /// Make an entry of an indexed set's index agree with the row's set
    /// (added while the set holds the value, removed otherwise).
    StEntry(structures::StEntryFix),
    /// Apply a dangling reference's rule, if the parent is still missing
    /// and the column unchanged (one `commit` call).
    Dangling(Box<DanglingFix>),
    /// A problem repair leaves alone.
    Skip,
}

impl Fix {
    pub(crate) fn plan<M: Model>(&self, l: &Layout) -> crate::plan::Plan<redis::Value> {
        use crate::plan::{Call, Plan};
        use crate::wire::repair::{UnindexArgs, UnlistArgs};
        match self {
            Fix::Reindex(c) => rows::reindex_plan::<M>(l, c),
            Fix::Unlist(m) => Plan::call(
                &UnlistArgs {
                    ids: l.ids.clone(),
                    row: l.row_key(m),
                    numeric: crate::plans::write::numeric_keys::<M>(),
                    member: m.clone(),
                },
                Ok,
            ),
            Fix::Unindex {
                target,
                key,
                value,
                member,
            } => Plan::call(
                &UnindexArgs {
                    row: l.row_key(member),
                    index: key.clone(),
                    tag: l.tag.clone(),
                    numeric_ids: M::Key::NUMERIC,
                    target: target.clone(),
                    value: value.clone(),
                    member: member.clone(),
                },
                Ok,
            ),
            Fix::StEntry(e) => structures::entry_fix_plan::<M>(e),
            // never sent: counted when found
            Fix::Dangling(d) => dangling::dangling_plan::<M>(d),
            Fix::Skip => Plan::new(Call::Command("PING"), vec![], vec![], Ok),
        }
    }
}

/// The layouts a walk covers: the model's, or each bucket's of a
/// partitioned model (walked one after another, their reports added up).
fn walked<M: Model>() -> Vec<&'static Layout> {
    match M::bucket_layouts() {
        [] => vec![M::layout()],
        ls => ls.iter().collect(),
    }
}

fn drive<M: Model, C: Connection + ?Sized>(
    conn: &mut C,
    repair: Option<Repair>,
) -> Result<RepairReport> {
    let mut out = RepairReport::of(repair);
    for l in walked::<M>() {
        let mut w = walk::Walk::<M>::new(repair, l);
        while let Some(p) = w.next_plan() {
            let v = p.run(conn)?;
            w.feed(v)?;
        }
        out.add(w.out);
    }
    Ok(out)
}

#[cfg(feature = "tokio")]
async fn drive_async<M: Model, C: AsyncConnection>(
    conn: &mut C,
    repair: Option<Repair>,
) -> Result<RepairReport> {
    let mut out = RepairReport::of(repair);
    for l in walked::<M>() {
        let mut w = walk::Walk::<M>::new(repair, l);
        while let Some(p) = w.next_plan() {
            let v = p.run_async(conn).await?;
            w.feed(v)?;
        }
        out.add(w.out);
    }
    Ok(out)
}

/// Walks every row and index of `M` and reports each orphan, missing or wrong
/// index entry, unique-hash mismatch, stale `#i` record, row missing from
/// `{ns}:ids`, listed member without a row, and undecodable row; and of the
/// native structures, each key of the wrong type or without its row, and
/// each missing or orphan entry of an indexed set's index.
///
/// It only reads, page by page (see the [module](self) for the memory bound),
/// on a plain or a cluster connection. It is not atomic: run it when writes
/// are quiet, or check again what it reports.
///
/// ```
/// # use rom_dsl::{Model, Crud};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let server = rom_testing::RedisServer::start()?;
/// # let mut conn = server.connection()?;
/// # #[derive(Clone)] struct Tag;
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
/// // another program lists a tag that has no row
/// redis::cmd("ZADD").arg("{tags}:ids").arg(7).arg(7).exec(&mut conn)?;
/// let report = rom_dsl::verify::verify::<Tag, _>(&mut conn)?;
/// assert_eq!(report.problems, [rom_dsl::verify::Problem::ListedWithoutRow { member: "7".into() }]);
/// # Ok(()) }
/// ```
pub fn verify<M: Model, C: Connection + ?Sized>(conn: &mut C) -> Result<Report> {
    drive::<M, _>(conn, None).map(|r| r.found)
}

/// [`verify`] on an async connection (`MultiplexedConnection`,
/// `ConnectionManager`, an async cluster connection).
///
/// ```
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// # let server = rom_testing::RedisServer::start()?;
/// # #[derive(Clone)] struct Tag;
/// # impl rom_dsl::__private::Sealed for Tag {}
/// # impl rom_dsl::placement::Unpartitioned for Tag {}
/// # impl rom_dsl::Model for Tag {
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
/// let mut conn = server.multiplexed().await?;
/// let report = rom_dsl::verify_async::<Tag, _>(&mut conn).await?;
/// assert!(report.is_clean());
/// # Ok(()) }
/// ```
#[cfg(feature = "tokio")]
pub async fn verify_async<M: Model, C: AsyncConnection>(conn: &mut C) -> Result<Report> {
    drive_async::<M, _>(conn, None).await.map(|r| r.found)
}

/// Fixes everything [`verify`] reports, or with [`Repair::DryRun`] only counts
/// what it would fix: missing, wrong-score and orphan index entries, stale
/// unique values, stale `#i` records, members of `{ns}:ids` without a row
/// (unlisted, with their scores; their other entries are orphans), rows present
/// but not listed (listed and indexed), missing and orphan entries of indexed
/// sets' indexes, structures without a row (deleted). A structure of the
/// wrong type is left.
///
/// Each fix is one atomic script that re-checks what it relies on, so the
/// application may keep writing: a row is re-indexed only if it is still
/// exactly as read (otherwise it is read again, up to three times), an orphan
/// entry is removed only if the row it names still does not record it, a
/// member is unlisted only if its row still does not exist. Rows that do not
/// decode are left alone (counted in [`RepairReport::skipped`]).
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let server = rom_testing::RedisServer::start()?;
/// # let mut conn = server.connection()?;
/// # #[derive(Clone)] struct Tag;
/// # impl rom_dsl::__private::Sealed for Tag {}
/// # impl rom_dsl::placement::Unpartitioned for Tag {}
/// # impl rom_dsl::Model for Tag {
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
/// use rom_dsl::{Repair, repair};
/// redis::cmd("ZADD").arg("{tags}:ids").arg(7).arg(7).exec(&mut conn)?;
/// assert_eq!(repair::<Tag, _>(&mut conn, Repair::DryRun)?.unlisted, 1);
/// assert_eq!(repair::<Tag, _>(&mut conn, Repair::Apply)?.unlisted, 1);
/// assert!(rom_dsl::verify::verify::<Tag, _>(&mut conn)?.is_clean());
/// # Ok(()) }
/// ```
pub fn repair<M: Model, C: Connection + ?Sized>(
    conn: &mut C,
    mode: Repair,
) -> Result<RepairReport> {
    drive::<M, _>(conn, Some(mode))
}

/// [`repair`] on an async connection.
///
/// ```
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// # let server = rom_testing::RedisServer::start()?;
/// # #[derive(Clone)] struct Tag;
/// # impl rom_dsl::__private::Sealed for Tag {}
/// # impl rom_dsl::placement::Unpartitioned for Tag {}
/// # impl rom_dsl::Model for Tag {
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
/// let mut conn = server.multiplexed().await?;
/// let report = rom_dsl::repair_async::<Tag, _>(&mut conn, rom_dsl::Repair::Apply).await?;
/// assert_eq!(report.fixes(), 0);
/// # Ok(()) }
/// ```
#[cfg(feature = "tokio")]
pub async fn repair_async<M: Model, C: AsyncConnection>(
    conn: &mut C,
    mode: Repair,
) -> Result<RepairReport> {
    drive_async::<M, _>(conn, Some(mode)).await
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
