//! Tracing of rom's operations (feature `tracing`).
//!
//! With the feature on, every plan that runs ([`Plan::run`](crate::Plan::run),
//! [`Plan::run_async`](crate::Plan::run_async), [`run_all`](crate::plan::run_all),
//! `run_all_async`, so every insert, save, get, delete and query) opens one
//! INFO span named `rom` with the target `rom`. Its fields follow
//! OpenTelemetry's database conventions where one fits:
//!
//! | field | value |
//! |---|---|
//! | `db.system.name` | `redis` |
//! | `db.operation.name` | the server function (`save`, `query`, `get`, `delete`...) or the command (`HGETALL`, `EXISTS`, `ZCARD`...); a pipeline of mixed plans: `PIPELINE` |
//! | `db.collection.name` | the model's namespace (its keys' hash tag) |
//! | `db.query.summary` | what the plan does and to which model: `insert users`, `query rows users`, `BATCH 3 insert users` |
//! | `db.operation.batch.size` | the number of plans of a pipeline (`run_all`) |
//! | `rom.keys`, `rom.request_bytes` | the keys the call declares, the bytes of its keys and arguments |
//! | `rom.retries` | the calls sent again after the server lost rom's library or script cache |
//! | `rom.outcome`, `error.type` | `ok` or `error`; the error's kind: the server's code (`NOPERM`, `OOM`...), `unique_violation`, `conflict`, `validation`, `decode`, `not_found`, `timeout`, `io` |
//! | `rom.errors` | the plans of a pipeline that failed |
//! | `rom.duration_us` | the time from sending to decoding, in microseconds |
//! | `otel.name`, `otel.kind` | the summary and `client`, for `tracing-opentelemetry` |
//!
//! An operation that takes at least the [slow threshold](slow_threshold)
//! (default 100 ms, or `ROM_SLOW_MS` in the environment) also emits a WARN
//! event, `slow rom operation`, inside its span.
//!
//! Without a subscriber the fields are not even computed; without the
//! feature there is no tracing code at all (the book's performance chapter
//! has the measurements).
//!
//! ```
//! use std::time::Duration;
//! rom_dsl::tracing_config::set_slow_threshold(Duration::from_millis(250));
//! assert_eq!(rom_dsl::tracing_config::slow_threshold(), Duration::from_millis(250));
//! ```

use std::time::Duration;

/// Sets the duration from which an operation emits the WARN event `slow rom
/// operation` (for the whole process; it replaces `ROM_SLOW_MS`).
/// `Duration::ZERO` reports every operation; `Duration::MAX` none.
///
/// ```
/// use std::time::Duration;
/// rom_dsl::tracing_config::set_slow_threshold(Duration::from_secs(1));
/// # assert_eq!(rom_dsl::tracing_config::slow_threshold(), Duration::from_secs(1));
/// ```
pub fn set_slow_threshold(threshold: Duration) {
    crate::exec::trace::set_slow_threshold(threshold);
}

/// The slow-operation threshold: the one set by [`set_slow_threshold`], else
/// `ROM_SLOW_MS` (whole milliseconds) read from the environment at the first
/// operation, else 100 ms.
///
/// ```
/// let t = rom_dsl::tracing_config::slow_threshold();
/// assert!(t > std::time::Duration::ZERO || std::env::var("ROM_SLOW_MS").is_ok());
/// ```
pub fn slow_threshold() -> Duration {
    crate::exec::trace::slow_threshold()
}
