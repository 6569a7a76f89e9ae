//! How much of the server one call of a query may use: [`Budget`].
//! Public as `rom_dsl::query` (`src/query.rs`).

use std::sync::atomic::{AtomicU64, Ordering};

/// The work one call of a query may do before it stops and lets the client
/// call again from where it stopped, in units: reading an index entry is
/// one, testing it against each other part of the filter one more, reading
/// a row for the reply two more, deleting a row four more. A unit is about
/// 1 to 2 µs of server time on a current machine.
///
/// Redis runs one call at a time: while a query runs, every other client of
/// the server waits. A query whose one-call plan would need more than its
/// budget (a `like` with a leading wildcard over a whole index, a `not` or
/// an `or` over broad sets, a `count` or `load` of a combination, a delete
/// of many rows) runs in **steps**: each call walks an index in a stable
/// order, spends at most about its budget, and returns what it found with
/// the position of the last entry it examined; the terminal (`load`,
/// `count`, `delete`...) sends the next call until the query is done. A
/// query that fits its budget is one call, as always.
///
/// What a query in steps guarantees under concurrent writes is what keyset
/// paging guarantees: every row that matches for the whole query, and whose
/// position in the walked index (its order value, or its key) does not
/// change meanwhile, is returned (counted, deleted) exactly once, in order; a
/// row written meanwhile may or may not be. Each step is atomic on its own: a
/// delete in steps deletes each step's matches atomically, not all of them at
/// once.
///
/// The default is [`Budget::DEFAULT`] (changed for the whole process by
/// [`set_default_budget`]); a query takes its own with
/// [`QueryDsl::budget`](crate::query::QueryDsl::budget).
///
/// ```
/// use rom_dsl::query::Budget;
/// assert_eq!(Budget::units(500).get(), Some(500));
/// assert_eq!(Budget::UNBOUNDED.get(), None);
/// assert!(Budget::DEFAULT.get().is_some());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Budget(u64);

impl Budget {
    /// 2,000 units: about 2 to 5 ms of server time per call on a current
    /// machine (the performance chapter has the measurements).
    ///
    /// ```
    /// # use rom_dsl::query::Budget;
    /// assert_eq!(Budget::DEFAULT.get(), Some(2_000));
    /// ```
    pub const DEFAULT: Budget = Budget(2_000);

    /// No bound: every query is one call, however much it reads (the
    /// behaviour before budgets; for a server no other client is waiting
    /// on, such as a batch job's own).
    ///
    /// ```
    /// # use rom_dsl::query::Budget;
    /// assert_eq!(Budget::UNBOUNDED.get(), None); // no limit per call
    /// ```
    pub const UNBOUNDED: Budget = Budget(0);

    /// A budget of `n` units per call (at least 1).
    ///
    /// ```
    /// use rom_dsl::query::Budget;
    /// assert_eq!(Budget::units(0).get(), Some(1));
    /// ```
    pub const fn units(n: u64) -> Budget {
        Budget(if n == 0 { 1 } else { n })
    }

    /// The units per call, or `None` for [`Budget::UNBOUNDED`].
    ///
    /// ```
    /// # use rom_dsl::query::Budget;
    /// assert_eq!(Budget::units(500).get(), Some(500));
    /// assert_eq!(Budget::UNBOUNDED.get(), None);
    /// ```
    pub const fn get(self) -> Option<u64> {
        if self.0 == 0 { None } else { Some(self.0) }
    }

    /// As the wire contract carries it (0: no bound).
    pub(crate) fn wire(self) -> u64 {
        self.0
    }
}

impl Default for Budget {
    /// The process's default: [`default_budget`].
    fn default() -> Self {
        default_budget()
    }
}

static DEFAULT: AtomicU64 = AtomicU64::new(Budget::DEFAULT.0);

/// Sets the budget of every query that does not set its own, for the whole
/// process (before the connections that should use it are used: a query
/// reads it when its plan is made).
///
/// ```
/// use rom_dsl::query::{Budget, default_budget, set_default_budget};
/// set_default_budget(Budget::units(5_000));
/// assert_eq!(default_budget(), Budget::units(5_000));
/// set_default_budget(Budget::DEFAULT);
/// ```
pub fn set_default_budget(b: Budget) {
    DEFAULT.store(b.0, Ordering::Relaxed);
}

/// The budget of a query that does not set its own ([`Budget::DEFAULT`]
/// unless [`set_default_budget`] changed it).
///
/// ```
/// use rom_dsl::query::{Budget, default_budget};
/// assert!(default_budget().get().is_some() || default_budget() == Budget::UNBOUNDED);
/// ```
pub fn default_budget() -> Budget {
    Budget(DEFAULT.load(Ordering::Relaxed))
}
