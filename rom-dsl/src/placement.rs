//! Placement: where a model's keys live. By default every key of a model
//! carries the hash tag `{namespace}`, so a model lives in one Redis Cluster
//! slot and each operation on it is one atomic call. A **group** puts several
//! models under one hash tag, so that one server call can read and write rows
//! of all of them atomically, on a single server and on a cluster alike.
//!
//! Declare a group with [`group!`](crate::group), and add the model to it with
//! `#[rom(group = Name)]` (the book's "Placement" chapter has a worked
//! example):
//!
//! ```text
//! rom::group!(pub Shop = "shop");
//!
//! #[derive(Model)]
//! #[rom(table = orders, group = Shop)]
//! struct Order { ... }      // keys: {shop}/orders:row:1, {shop}/orders:ids, ...
//! ```
//!
//! The keys of a grouped model are `{group}/namespace:...` (an ungrouped
//! model's are `{namespace}:...`, so the two never collide). Joining or leaving
//! a group changes every key name of the model: existing data is not moved.
//!
//! What a group decides: what can be atomic together. Operations that span
//! models (transactions, relations and cascades, which build on this) accept
//! only models of one group, checked at compile time through [`InGroup`];
//! what a group costs: all its models share one slot, so on a cluster they
//! live on one node together.

pub use crate::dsl::across::Across;
pub use crate::dsl::across_pages::AcrossPages;
pub use crate::dsl::partitioned::{PartitionedBy, PartitionedQueries, PartitionedTable};

/// Sets how long a pending claim of a unique value across partitions is
/// left to its writer before another writer may fence it and take the value
/// over (default 5 seconds; the book's placement chapter, "Unique columns
/// across partitions"). A writer that stalls longer than this between its
/// reservation and its save gets its save refused and starts over; a
/// shorter lease frees the values of crashed writers sooner. Set it once, at
/// start-up, to the same value in every process.
///
/// ```
/// rom_dsl::placement::set_claim_lease(std::time::Duration::from_secs(5));
/// assert_eq!(rom_dsl::placement::claim_lease(), std::time::Duration::from_secs(5));
/// ```
pub fn set_claim_lease(lease: std::time::Duration) {
    crate::plans::xuniq::set_lease(lease);
}

/// The lease set by [`set_claim_lease`].
///
/// ```
/// assert!(rom_dsl::placement::claim_lease() > std::time::Duration::ZERO);
/// ```
pub fn claim_lease() -> std::time::Duration {
    crate::plans::xuniq::lease()
}

/// A placement group: a name that becomes the hash tag `{name}` of every key
/// of its models. Declared with [`group!`](crate::group), which checks the
/// name at compile time (non-empty, no `{`, `}`, `/` or `#`).
///
/// ```
/// rom_dsl::group!(pub Billing = "billing");
/// use rom_dsl::placement::Group;
/// assert_eq!(<Billing as Group>::NAME, "billing");
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a rom group",
    label = "`#[rom(group = ...)]` names a group",
    note = "declare it with `rom::group!(pub {Self} = \"name\");`: the name becomes the hash tag `{{name}}` of the group's models"
)]
pub trait Group: Copy + Send + Sync + 'static {
    /// The group's name: its models' keys start with `{NAME}/`.
    const NAME: &'static str;
    /// A partitioned group's number of buckets (`partitions = N`), shared
    /// by its models; 0 for a group in one slot.
    const BUCKETS: u16 = 0;
}

/// Implemented by `#[derive(Model)]` for a model declared with
/// `#[rom(group = G)]`: the model's keys carry the group's hash tag. A bound
/// `A: InGroup<G>, B: InGroup<G>` is how an operation over several models
/// says they must be co-located (one atomic call can touch them all).
///
/// ```
/// use rom_dsl::placement::{Group, InGroup};
///
/// /// Writes rows of two models in one atomic call: they must share a group.
/// fn co_located<A: InGroup<G>, B: InGroup<G>, G: Group>() {}
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not in the group `{G}`",
    label = "this needs models of one group",
    note = "add `#[rom(group = {G})]` to `{Self}`'s declaration: models of one group share a hash tag, so one call can write them atomically"
)]
pub trait InGroup<G>: crate::Model {}

/// Implemented by `#[derive(Model)]`: the model's keys carry the hash tag of
/// the placement `P`, which is its group (`#[rom(group = G)]`: `PlacedIn<G>`)
/// or, for a model in no group, the model itself (`PlacedIn<Self>`). Rows of
/// models with one placement can be written in one atomic call: a
/// [`Transaction<P>`](crate::transaction::Transaction) accepts only them.
///
/// ```
/// use rom_dsl::placement::PlacedIn;
///
/// /// Models whose rows one call can write together.
/// fn co_located<A: PlacedIn<P>, B: PlacedIn<P>, P>() {}
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not placed with `{P}`: one transaction cannot write both",
    label = "this model's keys live under another hash tag",
    note = "a transaction writes the models of one group (or one model in no group) atomically: put the models in one group with `#[rom(group = ...)]` on each, or commit them in separate transactions"
)]
pub trait PlacedIn<P>: crate::Model {}

/// Implemented by `#[derive(Model)]` for every model that is not
/// partitioned: its rows live under one hash tag, so a query over them is
/// one call to one slot. Queries, transactions and relations need it.
///
/// ```
/// use rom_dsl::placement::Unpartitioned;
///
/// /// Code that queries a model in one call.
/// fn one_slot<M: Unpartitioned>() {}
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is partitioned: query all its partitions with `.across_partitions()`, or read its rows by key",
    label = "this needs a model in one slot",
    note = "a partitioned model (`#[rom(partition(..))]`) spreads its rows over many hash tags, so a query is one call per partition: `table.across_partitions().filter(..)` says so; `get`, `get_many`, `insert`, `delete` go to a row's partition"
)]
pub trait Unpartitioned: crate::Model {}

/// Implemented by `#[derive(Model)]` for a model declared
/// `#[rom(partition(by = key, buckets = N))]`: its rows are spread over `N`
/// hash tags (buckets) by their key, so on Redis Cluster they spread over
/// every node. See the book's "Placement" chapter.
///
/// ```
/// use rom_dsl::placement::Partitioned;
///
/// /// Code for partitioned models only.
/// fn spread<M: Partitioned>() {}
/// ```
pub trait Partitioned: crate::Model {}

/// Whether `name` can name a group (used by [`group!`](crate::group) at
/// compile time): non-empty, without `{`, `}`, `/` or `#` (partition
/// bucket tags are written `name#bucket`, so `#` is reserved).
///
/// ```
/// use rom_dsl::placement::valid_group_name;
/// assert!(valid_group_name("shop"));
/// assert!(!valid_group_name(""));
/// assert!(!valid_group_name("a{b"));
/// assert!(!valid_group_name("a/b"));
/// assert!(!valid_group_name("a#1"));
/// ```
pub const fn valid_group_name(name: &str) -> bool {
    let b = name.as_bytes();
    if b.is_empty() {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'{' || b[i] == b'}' || b[i] == b'/' || b[i] == b'#' {
            return false;
        }
        i += 1;
    }
    true
}

/// Declares a placement [`Group`]: a unit type named `Name` whose models'
/// keys share the hash tag `{name}`.
///
/// ```
/// rom_dsl::group! {
///     /// Everything about one tenant's billing.
///     pub Billing = "billing";
/// }
/// let _ = Billing;
/// ```
///
/// A name with `{`, `}`, `/` or `#`, or an empty one, does not compile.
///
/// A **partitioned group** (`partitions = N`, 2 to 1024) spreads its
/// models' rows over `N` buckets, each with its own hash tag shared by all
/// of them; each model says by which column (`#[rom(group = G,
/// partition(by = column))]`), so rows with the same partition value (a
/// customer's id, its orders' `customer`) share a bucket, and one
/// transaction can write them together.
///
/// ```
/// rom_dsl::group!(pub Shop = "shop", partitions = 64);
/// use rom_dsl::placement::Group;
/// assert_eq!(<Shop as Group>::BUCKETS, 64);
/// ```
#[macro_export]
macro_rules! group {
    ($(#[$meta:meta])* $vis:vis $name:ident = $tag:literal $(, partitions = $n:literal)? $(;)?) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        $vis struct $name;
        const _: () = ::core::assert!(
            $crate::placement::valid_group_name($tag),
            "a rom group name must be non-empty and contain no `{{`, `}}`, `/` or `#`"
        );
        $(const _: () = ::core::assert!(
            $n >= 2 && $n <= 1024,
            "a partitioned group has 2 to 1024 partitions (it can never change once rows are stored)"
        );)?
        impl $crate::placement::Group for $name {
            const NAME: &'static str = $tag;
            $(const BUCKETS: u16 = $n;)?
        }
    };
}
