//! Running a unit of work again when another writer got there first.

use crate::error::Result;
use std::time::Duration;

/// The pause before attempt `n + 1` (after `n` conflicts): doubling from 1 ms,
/// at most 64 ms, with a random part so that writers racing for the same
/// rows do not retry in step.
pub(crate) fn backoff(n: u32) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    let base_us = 1_000u64 << n.saturating_sub(1).min(6);
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    Duration::from_micros(base_us / 2 + random % (base_us / 2 + 1))
}

/// Runs `work` until it succeeds, fails with something other than a conflict
/// ([`Error::is_conflict`](crate::Error::is_conflict)), or has been tried
/// `attempts` times (then the last conflict is returned). Between tries it
/// sleeps a little longer each time (from 0.5–1 ms, doubling, at most 64 ms).
/// `work` must redo its reads: a [`Transaction`](super::transaction::Transaction)
/// made inside it, not outside.
///
/// ```
/// use rom_dsl::Error;
/// use rom_dsl::transaction::retry;
///
/// let mut tries = 0;
/// let n = retry(5, || {
///     tries += 1;
///     if tries < 3 {
///         // what a commit reports when another writer got there first
///         return Err(Error::TransactionConflict { conflicts: vec![] });
///     }
///     Ok(tries)
/// })?;
/// assert_eq!(n, 3);
/// # Ok::<(), Error>(())
/// ```
pub fn retry<T>(attempts: u32, mut work: impl FnMut() -> Result<T>) -> Result<T> {
    let mut n = 0;
    loop {
        n += 1;
        match work() {
            Err(e) if e.is_conflict() && n < attempts => std::thread::sleep(backoff(n)),
            other => return other,
        }
    }
}

/// [`retry`] for async work: `work` makes a new future per attempt, tried
/// until one succeeds, fails otherwise than by a conflict, or `attempts` have
/// been made; the pauses are `tokio` sleeps.
///
/// Each attempt's future owns what it uses: async connections are cheap
/// handles, so clone one into each (a future that borrows the caller's
/// connection could not be retried from a plain closure, and one from an
/// `async` closure is not `Send`, which `tokio::spawn` and axum need).
///
/// ```
/// use rom_dsl::Error;
/// use rom_dsl::transaction::retry_async;
///
/// # rom_testing::__private::block_on(async {
/// let mut tries = 0;
/// let n = retry_async(5, || {
///     tries += 1;
///     let this = tries;
///     // in real code: clone the connection, run a transaction
///     async move {
///         if this < 2 {
///             return Err(Error::TransactionConflict { conflicts: vec![] });
///         }
///         Ok(this)
///     }
/// })
/// .await?;
/// assert_eq!(n, 2);
/// # Ok::<(), Error>(())
/// # }).unwrap();
/// ```
#[cfg(feature = "tokio")]
pub async fn retry_async<T, F, Fut>(attempts: u32, mut work: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let mut n = 0;
    loop {
        n += 1;
        match work().await {
            Err(e) if e.is_conflict() && n < attempts => tokio::time::sleep(backoff(n)).await,
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::backoff;
    use std::time::Duration;

    #[test]
    fn backoff_doubles_up_to_its_cap_with_a_random_part() {
        for n in 1..20 {
            let b = backoff(n);
            let base = Duration::from_micros(1_000 << (n - 1).min(6));
            assert!(b >= base / 2 && b <= base, "attempt {n}: {b:?}");
        }
    }
}
