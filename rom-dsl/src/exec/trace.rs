//! Spans of running plans (feature `tracing`): one span per operation, named
//! after OpenTelemetry's database conventions, and a WARN event for a slow
//! one. Public settings: `rom_dsl::tracing_config` (`src/tracing_config.rs`).

use crate::error::{Error, Result};
use crate::plan::{Call, Plan};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The target of rom's spans and events (`RUST_LOG=rom=info`).
pub(crate) const TARGET: &str = "rom";

/// What a plan does and to which model, for its span (set where plans are built).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct About {
    /// A few words: `insert`, `get`, `query rows`, `count`...
    pub(crate) what: &'static str,
    /// The model's namespace (its keys' hash tag).
    pub(crate) collection: &'static str,
}

/// The threshold in nanoseconds; `UNSET` until read from the environment or set.
static SLOW_NS: AtomicU64 = AtomicU64::new(UNSET);
const UNSET: u64 = u64::MAX;
const DEFAULT_SLOW: Duration = Duration::from_millis(100);

pub(crate) fn set_slow_threshold(d: Duration) {
    SLOW_NS.store(nanos(d), Ordering::Relaxed);
}

pub(crate) fn slow_threshold() -> Duration {
    match SLOW_NS.load(Ordering::Relaxed) {
        UNSET => {
            let d = std::env::var("ROM_SLOW_MS")
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map_or(DEFAULT_SLOW, Duration::from_millis);
            // a threshold set meanwhile wins over the environment
            let _ = SLOW_NS.compare_exchange(UNSET, nanos(d), Ordering::Relaxed, Ordering::Relaxed);
            Duration::from_nanos(SLOW_NS.load(Ordering::Relaxed))
        }
        n => Duration::from_nanos(n),
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(UNSET).min(UNSET - 1)
}

/// The server function or command a plan sends.
fn operation<T>(p: &Plan<T>) -> &'static str {
    match p.call {
        Call::Script(s) => s.name(),
        Call::Command(c) => c,
    }
}

/// `db.query.summary`: the operation and the collection, formatted only when
/// a subscriber records it.
struct Summary {
    what: &'static str,
    collection: &'static str,
    batch: usize,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.batch > 0 {
            write!(f, "BATCH {} ", self.batch)?;
        }
        match (self.what, self.collection) {
            (w, "") => f.write_str(w),
            (w, c) => write!(f, "{w} {c}"),
        }
    }
}

fn summary<T>(p: &Plan<T>, batch: usize) -> Summary {
    Summary {
        what: if p.about.what.is_empty() {
            operation(p)
        } else {
            p.about.what
        },
        collection: p.about.collection,
        batch,
    }
}

fn collection(c: &'static str) -> Option<&'static str> {
    (!c.is_empty()).then_some(c)
}

fn request_bytes<T>(p: &Plan<T>) -> usize {
    p.keys.iter().chain(&p.args).map(Vec::len).sum()
}

/// The `error.type` of an error: the server's error code (`NOPERM`, `OOM`...)
/// or a kind of rom's.
pub(crate) fn error_type(e: &Error) -> &str {
    match e {
        Error::NotFound { .. } => "not_found",
        Error::UniqueViolation { .. } => "unique_violation",
        Error::UniqueContended { .. } => "unique_contended",
        Error::Conflict { .. } => "conflict",
        Error::TransactionConflict { .. } => "transaction_conflict",
        Error::Locked { .. } => "locked",
        Error::Hook { .. } => "hook",
        Error::MissingParent { .. } => "missing_parent",
        Error::Restricted { .. } => "restricted",
        Error::LeaseLost { .. } => "lease_lost",
        Error::Validation { .. } => "validation",
        Error::Decode { .. } => "decode",
        Error::NotSaved => "not_saved",
        Error::Redis(r) => match r.code() {
            Some(code) => code,
            None if r.is_timeout() => "timeout",
            None if r.is_io_error() || r.is_connection_dropped() => "io",
            None => "redis",
        },
    }
}

/// One traced operation: its span, and when it started (only when someone
/// listens).
pub(crate) struct Op {
    pub(crate) span: tracing::Span,
    start: Option<Instant>,
}

macro_rules! op_span {
    ($op:expr, $collection:expr, $summary:expr, $keys:expr, $bytes:expr, $batch:expr) => {
        tracing::info_span!(
            target: TARGET,
            "rom",
            otel.name = %$summary,
            otel.kind = "client",
            db.system.name = "redis",
            db.operation.name = $op,
            db.collection.name = $collection,
            db.query.summary = %$summary,
            db.operation.batch.size = $batch,
            rom.keys = $keys,
            rom.request_bytes = $bytes,
            rom.retries = tracing::field::Empty,
            rom.outcome = tracing::field::Empty,
            error.type = tracing::field::Empty,
            rom.errors = tracing::field::Empty,
            rom.duration_us = tracing::field::Empty,
        )
    };
}

impl Op {
    /// The span of one plan (its fields are computed only when it is enabled).
    pub(crate) fn one<T>(p: &Plan<T>) -> Op {
        let span = op_span!(
            operation(p),
            collection(p.about.collection),
            summary(p, 0),
            p.keys.len(),
            request_bytes(p),
            None::<usize>
        );
        Op::timed(span)
    }

    /// The span of a pipeline of plans.
    pub(crate) fn batch<T>(plans: &[Plan<T>]) -> Op {
        let span = op_span!(
            batch_operation(plans),
            plans.first().and_then(|p| collection(p.about.collection)),
            plans.first().map_or(
                Summary {
                    what: "empty",
                    collection: "",
                    batch: 1
                },
                |p| summary(p, plans.len())
            ),
            plans.iter().map(|p| p.keys.len()).sum::<usize>(),
            plans.iter().map(request_bytes).sum::<usize>(),
            Some(plans.len())
        );
        Op::timed(span)
    }

    fn timed(span: tracing::Span) -> Op {
        let listens =
            !span.is_disabled() || tracing::event_enabled!(target: TARGET, tracing::Level::WARN);
        Op {
            span,
            start: listens.then(Instant::now),
        }
    }

    /// Records the outcome, the retries and the duration; a WARN event when
    /// the operation took at least the slow threshold.
    pub(crate) fn finish(
        self,
        retries: u32,
        outcome: std::result::Result<(), &Error>,
        errors: usize,
    ) {
        let Some(start) = self.start else { return };
        let took = start.elapsed();
        let s = &self.span;
        s.record("rom.retries", retries);
        s.record(
            "rom.duration_us",
            u64::try_from(took.as_micros()).unwrap_or(u64::MAX),
        );
        match outcome {
            Ok(()) => s.record("rom.outcome", "ok"),
            Err(e) => s
                .record("rom.outcome", "error")
                .record("error.type", error_type(e)),
        };
        if errors > 0 {
            s.record("rom.errors", errors);
        }
        if took >= slow_threshold() {
            tracing::event!(
                target: TARGET,
                parent: s,
                tracing::Level::WARN,
                rom.duration_us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX),
                rom.slow_threshold_us =
                    u64::try_from(slow_threshold().as_micros()).unwrap_or(u64::MAX),
                "slow rom operation"
            );
        }
    }

    /// [`Op::finish`] for a single plan's result.
    pub(crate) fn finish_one<T>(self, retries: u32, r: &Result<T>) {
        self.finish(retries, r.as_ref().map(|_| ()), 0);
    }

    /// [`Op::finish`] for a pipeline: an outer error, or each plan's.
    pub(crate) fn finish_batch<T>(self, retries: u32, r: &Result<Vec<Result<T>>>) {
        match r {
            Err(e) => self.finish(retries, Err(e), 0),
            Ok(all) => {
                let mut errs = all.iter().filter_map(|r| r.as_ref().err());
                let first = errs.next();
                let n = first.map_or(0, |_| 1 + errs.count());
                self.finish(retries, first.map_or(Ok(()), Err), n);
            }
        }
    }
}

/// The operation of a pipeline: its plans' when they all send the same one.
fn batch_operation<T>(plans: &[Plan<T>]) -> &'static str {
    match plans.split_first() {
        Some((p, rest)) if rest.iter().all(|q| operation(q) == operation(p)) => operation(p),
        _ => "PIPELINE",
    }
}
