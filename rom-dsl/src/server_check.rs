//! Checking that a server suits rom: its version, and whether its eviction
//! policy can remove rom's keys.
//!
//! rom keeps a row and its index entries in separate keys and updates them
//! together. A server that evicts keys on its own (`maxmemory-policy
//! allkeys-lru`, `allkeys-lfu`, `allkeys-random`) can remove one without the
//! others: a row without its index entries, or index entries pointing at a row
//! that is gone. [`check_server`] reads what the server says about itself and
//! lists such [`Problem`]s; call it once at start-up and log or refuse them.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let server = rom_testing::RedisServer::start_with_args(&["--maxmemory-policy", "allkeys-lru"])?;
//! let mut conn = server.connection()?;
//! let report = rom_dsl::check_server(&mut conn)?;
//! assert!(!report.is_ok());
//! for problem in report.problems() {
//!     eprintln!("warning: {problem}");
//! }
//! # Ok(()) }
//! ```

pub use crate::exec::server_check::*;
