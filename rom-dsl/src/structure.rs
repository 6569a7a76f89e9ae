//! Native structures on models: `List<T>`, `Set<T>`, `Hash<K, V>` and
//! `SortedSet<T>` fields, each a Redis list, set, hash or sorted set of its
//! row. The book's "Native structures" chapter is the guide.
//!
//! ```text
//! use rom::structure::{List, Set, SortedSet};
//!
//! #[derive(Model, Clone, Debug)]
//! struct Inbox {
//!     #[rom(primary_key)] id: Option<u64>,
//!     owner: String,
//!     messages: List<String>,
//!     #[rom(index)] labels: Set<String>,  // inboxes::labels.contains("work")
//!     scores: SortedSet<String>,
//! }
//! ```
//!
//! The rules:
//!
//! - **Where they live.** A structure of the row with key `k` is the key
//!   `{tag}:st:<field>:<k>`, under the row's hash tag (its model's, or its
//!   group's), so a save writes the row and its structures in one atomic
//!   call, on a cluster too.
//! - **Reads go to Redis directly**, one round trip each, and never copy a
//!   structure out whole unless asked: lengths, ranges, membership, scores,
//!   ranks, lookups, and pages (`SSCAN`/`HSCAN` cursors, list and rank
//!   ranges). Each read has three forms: `len(conn)`, `len_async(conn).await`
//!   and `len_plan()` (a [`Plan`](crate::Plan), for `explain()` or
//!   `run_all`). A row not yet inserted has nothing stored: its reads fail
//!   with [`Error::NotSaved`](crate::Error::NotSaved).
//! - **Writes are held until save.** `push_back`, `insert`, `remove`,
//!   `add`, `clear`... record the write in the field; the next save of the
//!   row (insert, upsert, `Record::save`, a transaction's commit) applies the
//!   recorded writes in the order they were made, in the same atomic call as
//!   its columns, then forgets them. A failed save applies none of them and
//!   keeps them. A new row's structures start empty (an insert over an
//!   expired row does not inherit its structures); an upsert over a live
//!   row keeps them and applies its writes to them. **Reads do not see writes not yet saved** (`pending()`
//!   counts them). A record whose only change is to its structures is saved
//!   all the same.
//! - **Deleting the row deletes its structures** (by key, by query, by
//!   `on_delete` cascade, or when it expires): the row's `#i` record names
//!   them. A row of an expiring model whose deadline passed reads as empty
//!   structures, as it reads as absent.
//! - **An indexed set** (`#[rom(index)]` on a `Set<T>`) keeps a set of rows
//!   per member, exact on the stored bytes, changed in the same call as the
//!   members: `table::field.contains(v)` is a filter like any other.
//!   Deleting the row reads its members to remove them from the index, so
//!   keep indexed sets small (tags, labels), not millions of members.
//! - **Cloning** a handle copies its recorded writes: saving both copies
//!   applies them twice. Equality compares the stored structure's key and the
//!   recorded writes, never the contents. `Record::refresh` replaces the
//!   whole value: recorded writes not yet saved are dropped.
//! - **Conflicts** are not checked by default (appends commute);
//!   `detect_conflicts()` on a handle makes each save that writes it check
//!   that no other save wrote it since the row was read. Each save that
//!   writes a structure adds one to its version, the row hash field
//!   `#v:<field>`.
//! - **serde**: a handle is not data to serialize; mark structure fields
//!   `#[serde(skip)]` on a model that derives serde (a deserialized value's
//!   structures are empty handles, detached until the row is saved).

pub use crate::dsl::structures::{ContainsMethods, Hash, List, ScanPage, Set, SortedSet};
pub use crate::storage::structures::StructureKind;
