//! The one error type of rom.

/// Everything that can go wrong in a rom operation.
///
/// Each variant carries what a caller needs to act on it: the model, the column and
/// the value of a unique violation; the key and field of a row that could not be
/// decoded. Nothing that comes from Redis or from a user panics: it becomes one of
/// these.
///
/// ```
/// use rom_dsl::Error;
/// let e = Error::UniqueViolation { model: "User", column: "email".into(), value: "a@b.c".into() };
/// assert_eq!(e.to_string(), "User: another row already has email = \"a@b.c\"");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A row that had to exist does not.
    #[error("{model}: no row with key {key}")]
    NotFound {
        /// The model's name.
        model: &'static str,
        /// The key that was looked up.
        key: String,
    },
    /// A write would give two rows the same value of a unique column (or of the
    /// primary key, for an insert of a natural key that exists).
    #[error("{model}: another row already has {column} = {value:?}")]
    UniqueViolation {
        /// The model's name.
        model: &'static str,
        /// The unique column (or `a+b` for a composite constraint).
        column: String,
        /// The value as the constraint holds it (case-folded by a
        /// case-insensitive one), lossily shown as text.
        value: String,
    },
    /// A unique value of a partitioned model, claimed across partitions
    /// (see the book's placement chapter), is being claimed by another
    /// write that has not finished, or that stopped less than the claim
    /// lease ago: nothing was written. Try again after `retry_after_ms`;
    /// by then the other write has finished (and the value is its row's, a
    /// [`UniqueViolation`](Error::UniqueViolation)) or its claim can be
    /// taken over.
    #[error(
        "{model}: another write is claiming {column} = {value:?}; nothing was written, try again in {retry_after_ms} ms"
    )]
    UniqueContended {
        /// The model's name.
        model: &'static str,
        /// The unique column.
        column: String,
        /// The value as the constraint holds it, lossily shown as text.
        value: String,
        /// How long until the other write's claim may be taken over.
        retry_after_ms: u64,
    },
    /// The row changed (or was deleted) in Redis since it was loaded; nothing was
    /// written. Reload it with `refresh` and try again, or force the save.
    #[error("{model} {key}: {}", match column { Some(c) => format!("column {c} was changed by another writer since this row was loaded"), None => "the row was deleted by another writer since it was loaded".to_owned() })]
    Conflict {
        /// The model's name.
        model: &'static str,
        /// The row's key.
        key: String,
        /// The first column found changed; `None` when the row is gone.
        column: Option<String>,
    },
    /// A transaction's commit found rows that are not as the transaction read
    /// them: nothing was written. Each conflicting row is named, with the first
    /// changed column it found. Run the transaction again from its reads
    /// ([`retry`](crate::transaction::retry) does so).
    #[error("transaction conflict, nothing was written: {}", conflicts.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    TransactionConflict {
        /// Every row not as read, in the order the transaction first touched
        /// them.
        conflicts: Vec<RowConflict>,
    },
    /// A row lock is held by another holder: [`Lease::acquire`] waited as
    /// long as it was told to.
    ///
    /// [`Lease::acquire`]: crate::lock::Lease::acquire
    #[error("{model} {key}: locked by another holder")]
    Locked {
        /// The model's name.
        model: &'static str,
        /// The row's key.
        key: String,
    },
    /// A lease on a row lock ran out, or another holder took the lock since:
    /// the write it fenced (or the refresh) did nothing.
    #[error("{model} {key}: the lease on its lock ran out or was taken over; nothing was written")]
    LeaseLost {
        /// The model's name.
        model: &'static str,
        /// The row's key.
        key: String,
    },
    /// A before-hook of the model ([`Hooks`](crate::hooks::Hooks)) stopped
    /// the write; nothing was written. `error` is the hook's own error:
    /// `error.downcast_ref::<YourError>()` gets it back.
    #[error("{model}: the hook {hook} stopped the write: {error}")]
    Hook {
        /// The model's name.
        model: &'static str,
        /// Which hook: `before_insert`, `before_update` or `before_delete`.
        hook: &'static str,
        /// The hook's error.
        error: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A write names, in a `belongs_to` column, a row that does not exist;
    /// nothing was written.
    #[error("{model}.{column}: the row it references ({row}) does not exist; nothing was written")]
    MissingParent {
        /// The referencing model.
        model: &'static str,
        /// The `belongs_to` column.
        column: String,
        /// The referenced row's key in Redis.
        row: String,
    },
    /// A delete reached a row (the one named, or one its cascades reach) that
    /// another row references under `on_delete = restrict`; nothing was
    /// deleted.
    #[error(
        "{model}: the delete reaches a row referenced by {child} {key} (column {column}, on_delete = restrict); nothing was deleted"
    )]
    Restricted {
        /// The model of the rows the delete named.
        model: &'static str,
        /// The referencing model.
        child: String,
        /// The referencing column.
        column: String,
        /// The referencing row's key.
        key: String,
    },
    /// A value cannot be stored as declared (NaN in a numeric index, an integer
    /// beyond 2^53, a primary key changed in place...). Checked before any write.
    #[error("{model}.{column}: {reason}")]
    Validation {
        /// The model's name.
        model: &'static str,
        /// The column.
        column: String,
        /// What is wrong with the value.
        reason: String,
    },
    /// A structure field (`List`, `Set`, `Hash`, `SortedSet`) was read
    /// before its row was stored: its reads go to Redis, where a row not yet
    /// inserted has nothing. Insert the row first (its recorded writes are
    /// saved with it).
    #[error("this structure's row is not stored yet: insert the row, then read the structure")]
    NotSaved,
    /// Data in Redis could not be read as the model says it should be.
    #[error("cannot decode {key}{}: {reason}", field.as_ref().map(|f| format!(" field {f}")).unwrap_or_default())]
    Decode {
        /// The Redis key.
        key: String,
        /// The hash field, when one field is at fault.
        field: Option<String>,
        /// What was wrong.
        reason: String,
    },
    /// An error from Redis or the connection (dropped connection, timeout, a
    /// server-side error).
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
}

/// One row of a [`Error::TransactionConflict`]: what changed since the
/// transaction read it.
///
/// ```
/// use rom_dsl::error::{RowChange, RowConflict};
/// let c = RowConflict { model: "Account", key: "7".into(), change: RowChange::Column("balance".into()) };
/// assert_eq!(c.to_string(), "Account 7: column balance changed");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowConflict {
    /// The model's name.
    pub model: &'static str,
    /// The row's key, as `Debug` shows it.
    pub key: String,
    /// What changed.
    pub change: RowChange,
}

/// What happened to a row a transaction read (see [`RowConflict`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RowChange {
    /// Another writer changed this column.
    Column(String),
    /// The row was deleted.
    Deleted,
    /// The row was read as absent, and now exists.
    Created,
}

impl std::fmt::Display for RowConflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: ", self.model, self.key)?;
        match &self.change {
            RowChange::Column(c) => write!(f, "column {c} changed"),
            RowChange::Deleted => f.write_str("deleted"),
            RowChange::Created => f.write_str("created"),
        }
    }
}

/// A result with rom's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Shows bytes as text when they are UTF-8, escaped otherwise.
pub(crate) fn show(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => bytes.escape_ascii().to_string(),
    }
}

impl Error {
    /// Whether the server could not be reached or could not serve the call
    /// now, so that the same call may succeed later: a refused, dropped or
    /// timed-out connection, a server still loading its data, a cluster that
    /// is down, resharding (`TRYAGAIN`) or failing over (`MASTERDOWN`,
    /// `READONLY` from a demoted master), or a server busy with a long script
    /// (`BUSY`). A web service answers these with 503.
    ///
    /// A *write* that failed so may or may not have been applied (the call
    /// may have reached the server before the connection broke): reload the
    /// row before deciding to retry it. Everything else (a unique violation,
    /// a conflict, bad data, `NOPERM`, out of memory) is not unavailability,
    /// and retrying the same call gives the same error.
    ///
    /// ```
    /// use rom_dsl::Error;
    /// let down = Error::Redis(redis::RedisError::from(std::io::Error::from(
    ///     std::io::ErrorKind::ConnectionRefused,
    /// )));
    /// assert!(down.is_unavailable());
    /// let taken = Error::UniqueViolation { model: "User", column: "email".into(), value: "a@b.c".into() };
    /// assert!(!taken.is_unavailable());
    /// ```
    pub fn is_unavailable(&self) -> bool {
        use redis::{ErrorKind, ServerErrorKind};
        let Error::Redis(e) = self else {
            return false;
        };
        e.is_io_error()
            || e.is_timeout()
            || e.is_connection_dropped()
            || e.is_connection_refusal()
            || matches!(
                e.kind(),
                ErrorKind::Server(
                    ServerErrorKind::BusyLoading
                        | ServerErrorKind::TryAgain
                        | ServerErrorKind::ClusterDown
                        | ServerErrorKind::MasterDown
                        | ServerErrorKind::ReadOnly
                )
            )
            || e.code() == Some("BUSY")
    }

    /// Whether another writer got there first: [`Error::Conflict`] (a record
    /// changed since it was read) or [`Error::TransactionConflict`]. Nothing was
    /// written; reading again and redoing the change may succeed.
    ///
    /// ```
    /// use rom_dsl::Error;
    /// let e = Error::Conflict { model: "User", key: "1".into(), column: Some("name".into()) };
    /// assert!(e.is_conflict());
    /// let e = Error::TransactionConflict { conflicts: vec![] };
    /// assert!(e.is_conflict());
    /// ```
    pub fn is_conflict(&self) -> bool {
        matches!(
            self,
            Error::Conflict { .. } | Error::TransactionConflict { .. }
        )
    }

    /// Whether the server refused a write because it reached `maxmemory`
    /// (`OOM`): nothing was written (rom's writes that may grow memory are
    /// refused whole; deletes still run). Free memory or raise the limit.
    ///
    /// ```
    /// use rom_dsl::Error;
    /// let e = Error::Validation { model: "User", column: "age".into(), reason: "NaN".into() };
    /// assert!(!e.is_out_of_memory());
    /// ```
    pub fn is_out_of_memory(&self) -> bool {
        matches!(self, Error::Redis(e) if e.code() == Some("OOM"))
    }

    pub(crate) fn decode(key: &[u8], field: Option<&str>, reason: impl Into<String>) -> Self {
        Error::Decode {
            key: show(key),
            field: field.map(str::to_owned),
            reason: reason.into(),
        }
    }
}
