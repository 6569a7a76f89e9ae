//! # rom: a typed Redis object mapper
//!
//! Declare a model with `#[derive(Model)]`; rom generates a table module with a
//! unit struct per column, and checks at compile time that every query can be
//! answered by an index. Every save, delete and query is one Lua script call:
//! one round trip, atomic, on plain Redis (hashes, sets, sorted sets).
//!
//! ```
//! use rom::prelude::*;
//!
//! #[derive(Model, Clone, Debug, PartialEq)]
//! #[rom(table = users)]
//! pub struct User {
//!     #[rom(primary_key)]
//!     pub id: Option<u64>,
//!     #[rom(unique(case_insensitive))]
//!     pub email: String,
//!     #[rom(index(eq))]
//!     pub name: Option<String>,
//!     #[rom(index(numeric))]
//!     pub age: i32,
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let server = rom::testing::RedisServer::start()?;
//! # let mut conn = server.connection()?;
//! let alice = User { id: None, email: "Alice@Example.com".into(), name: Some("Alice".into()), age: 31 }
//!     .insert(&mut conn)?;
//! assert_eq!(alice.id, Some(1));
//!
//! let found = users::table.filter(users::email.eq("alice@example.com")).first(&mut conn)?;
//! assert_eq!(found.name.as_deref(), Some("Alice"));
//!
//! let thirties = users::table.filter(users::age.between(30..40)).count(&mut conn)?;
//! assert_eq!(thirties, 1);
//! # Ok(()) }
//! ```
//!
//! ## Attributes
//!
//! On the struct: `table = name` (the generated module; default: the snake-case
//! plural of the struct name), `namespace = "..."` (the key prefix, default the
//! table name), `group = G` (a placement group declared with
//! [`group!`](crate::group): its models share one hash tag, see
//! [`placement`]), `unique_together(a, b)` (a composite
//! unique constraint, skipped when a member is null; add `case_insensitive` to
//! fold text).
//!
//! On a field: `primary_key` (`Option<u64>`: auto-increment, allocated at the
//! first save; `u64`, `String` or `Uuid`: a natural key), `unique`,
//! `unique(case_insensitive)`, `index(eq)`, `index(eq, case_insensitive)`,
//! `index(numeric)` (`index(numeric, checked_u53)` on `u64`,
//! `index(numeric, scale = N)` on `Decimal`), `index(text)`
//! (full-text words: `matches`, `has_prefix` on a word), `index(prefix)`
//! (`starts_with`), `index(suffix)` (`ends_with`), `index(sort)` (ordering and
//! `like` on text), `default = expr` (used when a stored row lacks the field).
//! The book's "Indexes" chapter says what each kind answers and costs.
//!
//! ## Feature flags
//!
//! - `tokio` (default): everything async: `AsyncConnection`, the `_async`
//!   twin of every method (`insert_async`, `load_async`...),
//!   `Plan::run_async`, `rom::connect::manager`, `verify_async` and
//!   `repair_async`, `check_server_async`, `sentinel_async`; it turns on
//!   redis-rs' `aio`, `tokio-comp`, `connection-manager` and `cluster-async`.
//!   Without it (`default-features = false`) rom is synchronous only and
//!   does not depend on Tokio.
//! - `cluster` (default): `rom::connect::cluster` and `cluster_client`
//!   (redis-rs' `cluster`), and `cluster_async` with `tokio`.
//! - `testing`: [`testing`], a throwaway `redis-server` for your own tests.
//! - `chrono`: `DateTime<Utc>`, `NaiveDate`, `NaiveTime` columns.
//! - `time`: `OffsetDateTime`, `Date`, `Time` columns (the `time` crate),
//!   stored, ordered and indexed as the chrono ones, byte for byte.
//! - `decimal`: `rust_decimal::Decimal` columns, stored exactly; a numeric
//!   index declares a scale (`index(numeric, scale = 2)`) and is exact.
//! - `uuid`: `Uuid` columns and keys.
//! - `tls-rustls`: `rediss://` URLs through redis-rs' rustls support (sync and
//!   Tokio), and `rom::connect::Options::*_from_client` for a private
//!   certificate authority or mutual TLS.
//! - `tls-native-tls`: the same through the platform's TLS library (OpenSSL
//!   on Linux: building needs `libssl-dev` and `pkg-config`); with both TLS
//!   features on, redis-rs uses rustls.
//! - `sentinel`: `rom::connect::sentinel` and `sentinel_async`, connections to a
//!   master found through Redis Sentinel.
//! - `tracing`: one span per operation and a WARN event for a slow one
//!   (`rom::tracing_config` lists the fields and the threshold).

#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use rom_dsl::*;
pub use rom_macros::Model;
/// Throwaway real Redis servers and clusters for tests (the `rom-testing`
/// crate, feature `testing`).
#[cfg(feature = "testing")]
pub use rom_testing as testing;

/// A test with its own throwaway `redis-server` (feature `testing`), started
/// before the test and killed after it, whatever its outcome.
///
/// The test function's arguments are made from that server: a synchronous
/// test takes any of `redis::Connection`, `redis::Client`,
/// `rom::testing::CountingConnection<redis::Connection>` and
/// `&rom::testing::RedisServer`; an `async fn` test runs on a current-thread
/// Tokio runtime and takes `redis::aio::MultiplexedConnection`,
/// `redis::aio::ConnectionManager`,
/// `rom::testing::CountingAsyncConnection<MultiplexedConnection>`,
/// `redis::Client` or `&RedisServer`. It may return `()` or a `Result`, and
/// keeps attributes such as `#[should_panic]` and `#[ignore]`. Each test has
/// its own server, so tests run in parallel without sharing data.
///
/// ```
/// use rom::prelude::*;
///
/// #[derive(Model, Clone, Debug, PartialEq)]
/// #[rom(table = users)]
/// pub struct User {
///     #[rom(primary_key)]
///     pub id: Option<u64>,
///     #[rom(unique(case_insensitive))]
///     pub email: String,
/// }
///
/// #[rom::test]
/// fn sign_up(mut conn: redis::Connection) -> rom::Result<()> {
///     User { id: None, email: "ann@example.com".into() }.insert(&mut conn)?;
///     let again = User { id: None, email: "ANN@example.com".into() }.insert(&mut conn);
///     assert!(matches!(again, Err(Error::UniqueViolation { .. })));
///     Ok(())
/// }
///
/// #[rom::test]
/// async fn sign_up_async(mut conn: redis::aio::MultiplexedConnection) {
///     let ann = User { id: None, email: "ann@example.com".into() };
///     let ann = ann.insert_async(&mut conn).await.unwrap();
///     assert_eq!(ann.id, Some(1)); // a fresh server: the first key
/// }
/// # fn main() {}
/// ```
#[cfg(feature = "testing")]
pub use rom_macros::test;

/// Everything an application needs in scope: `use rom::prelude::*;`.
pub mod prelude {
    pub use rom_dsl::prelude::*;
    pub use rom_macros::Model;
}

/// The chapters of the book (`book/src/*.md`): every Rust example in them is a
/// doctest of this crate, compiled and run by `cargo test --all-features --doc`
/// (`tests/book.rs` checks that no chapter is left out of this list).
#[cfg(doctest)]
mod book {
    macro_rules! chapters {
        ($($name:ident => $file:literal,)*) => {$(
            #[doc = include_str!(concat!("../book/src/", $file))]
            pub struct $name;
        )*};
    }
    chapters! {
        Introduction => "introduction.md",
        GettingStarted => "getting-started.md",
        Models => "models.md",
        Indexes => "indexes.md",
        Queries => "queries.md",
        Errors => "errors.md",
        Writes => "writes.md",
        UnitsOfWork => "units-of-work.md",
        Relations => "relations.md",
        Expiry => "expiry.md",
        Structures => "structures.md",
        Async => "async.md",
        Connecting => "connecting.md",
        Testing => "testing.md",
        WebService => "web-service.md",
        Placement => "placement.md",
        KeyLayout => "key-layout.md",
        Performance => "performance.md",
        Limits => "limits.md",
    }
}
