//! Advisory row locks with a lease and a fencing token. Public as
//! `rom_dsl::lock` (`src/lock.rs`).

#[cfg(feature = "tokio")]
use crate::connection::AsyncConnection;
use crate::connection::Connection;
use crate::error::{Error, Result, show};
use crate::plan::Plan;
use crate::storage::model::{IntoKey, Key, Model};
use crate::storage::partition::layout_for;
use crate::wire::lock::{LockArgs, LockMode, LockReply, UnlockArgs};
use std::time::{Duration, Instant};

/// A held lock on one row of `M`: an advisory lock (it stops nothing by
/// itself; cooperating writers take it) with a **lease** that expires on the
/// server's clock, and a **fencing token**, larger than every token given
/// before for the model. A write fenced by the lease
/// ([`Transaction::fence`](crate::transaction::Transaction::fence)) checks, in
/// the same atomic call, that the lock still holds the token: a holder that
/// paused past its lease (a GC pause, a slow network) and lost the lock to
/// another writes nothing, and gets [`Error::LeaseLost`].
///
/// ```text
/// let lease = Lease::<Account>::acquire(&mut conn, 7u64, Duration::from_secs(10), Duration::from_secs(2))?;
/// let mut tx = Transaction::new();
/// tx.fence(&lease);
/// tx.get::<Account, _>(&mut conn, 7u64)?.unwrap().balance += 1;
/// tx.commit(&mut conn)?;                 // refused if the lease was lost
/// lease.release(&mut conn)?;
/// ```
///
/// The lock is a key of the model's placement (`{ns}:lock:<key>`), so a
/// lease can fence a transaction on a Redis Cluster. Dropping a lease does
/// not release it (that needs a round trip): it expires with its lease.
///
/// ```
/// use rom_dsl::lock::lease_millis;
/// use std::time::Duration;
/// assert_eq!(lease_millis(Duration::from_micros(1_500))?, 2); // rounded up
/// assert!(lease_millis(Duration::ZERO).is_err());
/// # Ok::<(), rom_dsl::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Lease<M: Model> {
    key: M::Key,
    token: u64,
}

/// A lease's length in whole milliseconds, rounded up; zero is refused with
/// [`Error::Validation`].
///
/// ```
/// use rom_dsl::lock::lease_millis;
/// use std::time::Duration;
/// assert_eq!(lease_millis(Duration::from_secs(2))?, 2_000);
/// # Ok::<(), rom_dsl::Error>(())
/// ```
pub fn lease_millis(d: Duration) -> Result<u64> {
    let ms = d.as_micros().div_ceil(1000);
    if ms == 0 || ms > i64::MAX as u128 {
        return Err(Error::Validation {
            model: "(lock)",
            column: "lease".into(),
            reason: format!("a lease must be at least 1 ms and fit in 64 bits, not {d:?}"),
        });
    }
    Ok(ms as u64)
}

fn lock_key<M: Model>(key: &M::Key) -> Vec<u8> {
    let member = key.to_member();
    [&layout_for::<M>(&member).lock_prefix[..], &member].concat()
}

fn lock_plan<M: Model>(
    key: &M::Key,
    mode: LockMode,
    token: Option<u64>,
    lease: Duration,
) -> Result<Plan<LockReply>> {
    let args = LockArgs {
        lock: lock_key::<M>(key),
        seq: layout_for::<M>(&key.to_member()).lock_seq.clone(),
        mode,
        token: token
            .map(|t| t.to_string().into_bytes())
            .unwrap_or_default(),
        lease_ms: lease_millis(lease)?,
    };
    Ok(Plan::call(&args, LockReply::decode)
        .step(format!(
            "{} the lock of {} {key:?} for {lease:?}",
            match mode {
                LockMode::Acquire => "acquire",
                LockMode::Refresh => "refresh",
            },
            M::SCHEMA.name
        ))
        .about("lock", M::SCHEMA.namespace))
}

fn unlock_plan<M: Model>(key: &M::Key, token: u64) -> Plan<bool> {
    let args = UnlockArgs {
        lock: lock_key::<M>(key),
        token: token.to_string().into_bytes(),
    };
    Plan::call(&args, |v| match v {
        redis::Value::Int(n) => Ok(n == 1),
        other => Err(Error::decode(
            b"(unlock reply)",
            None,
            format!("unexpected reply {other:?}"),
        )),
    })
    .step(format!("release the lock of {} {key:?}", M::SCHEMA.name))
    .about("unlock", M::SCHEMA.namespace)
}

fn no_key<M: Model>() -> Error {
    Error::Validation {
        model: M::SCHEMA.name,
        column: M::SCHEMA.key_name.to_owned(),
        reason: "no row can have this key, so it has no lock".into(),
    }
}

/// What one attempt to acquire gave: the lease, or how long the holder
/// still has.
fn acquired<M: Model>(
    key: &M::Key,
    reply: LockReply,
) -> Result<std::result::Result<Lease<M>, u64>> {
    match reply {
        LockReply::Ok(token) => Ok(Ok(Lease {
            key: key.clone(),
            token,
        })),
        LockReply::Held(ms) => Ok(Err(ms)),
        LockReply::Lost => Err(Error::decode(b"(lock reply)", None, "lost on acquire")),
        LockReply::WrongType(k) => {
            Err(Error::decode(&k, None, format!("not a lock: {}", show(&k))))
        }
    }
}

/// The pause before the next attempt: the holder's time left, at most a
/// growing backoff (from 0.5 ms to 64 ms), at most what is left of the wait.
fn pause(attempt: u32, held_ms: u64, left: Duration) -> Duration {
    crate::dsl::retry::backoff(attempt)
        .min(Duration::from_millis(held_ms.max(1)))
        .min(left)
}

impl<M: Model> Lease<M> {
    /// The locked row's key.
    ///
    /// ```
    /// # use rom_dsl::Model;
    /// # use rom_dsl::lock::Lease;
    /// fn locked_row<M: Model<Key = u64>>(lease: &Lease<M>) -> u64 {
    ///     *lease.key()
    /// }
    /// ```
    pub fn key(&self) -> &M::Key {
        &self.key
    }

    /// The fencing token: larger than the token of every earlier lease on a
    /// row of this model.
    ///
    /// ```
    /// # use rom_dsl::Model;
    /// # use rom_dsl::lock::Lease;
    /// fn later<M: Model>(first: &Lease<M>, second: &Lease<M>) -> bool {
    ///     second.token() > first.token()
    /// }
    /// ```
    pub fn token(&self) -> u64 {
        self.token
    }

    /// Takes the lock of the row with this key for `lease` (one round trip),
    /// or `None` when another holds it. The row need not exist.
    ///
    /// ```
    /// # use rom_dsl::{Model, Result};
    /// # use rom_dsl::lock::Lease;
    /// # use std::time::Duration;
    /// fn if_free<M: Model<Key = u64>>(conn: &mut redis::Connection) -> Result<bool> {
    ///     match Lease::<M>::try_acquire(conn, 7u64, Duration::from_secs(10))? {
    ///         Some(lease) => lease.release(conn),
    ///         None => Ok(false), // another holds it
    ///     }
    /// }
    /// ```
    pub fn try_acquire<C: Connection + ?Sized>(
        conn: &mut C,
        key: impl IntoKey<M::Key>,
        lease: Duration,
    ) -> Result<Option<Lease<M>>> {
        let key = key.into_key().ok_or_else(no_key::<M>)?;
        let reply = lock_plan::<M>(&key, LockMode::Acquire, None, lease)?.run(conn)?;
        Ok(acquired(&key, reply)?.ok())
    }

    /// Takes the lock, waiting up to `wait` for another holder to release it
    /// or for its lease to run out (polling, one round trip per attempt);
    /// [`Error::Locked`] when it is still held then.
    ///
    /// ```
    /// # use rom_dsl::{Model, Result};
    /// # use rom_dsl::lock::Lease;
    /// # use std::time::Duration;
    /// fn exclusive<M: Model<Key = u64>>(conn: &mut redis::Connection) -> Result<()> {
    ///     let (lease, wait) = (Duration::from_secs(10), Duration::from_secs(2));
    ///     let lease = Lease::<M>::acquire(conn, 7u64, lease, wait)?;
    ///     // ... work on row 7 ...
    ///     lease.release(conn)?;
    ///     Ok(())
    /// }
    /// ```
    pub fn acquire<C: Connection + ?Sized>(
        conn: &mut C,
        key: impl IntoKey<M::Key>,
        lease: Duration,
        wait: Duration,
    ) -> Result<Lease<M>> {
        let key = key.into_key().ok_or_else(no_key::<M>)?;
        let start = Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let reply = lock_plan::<M>(&key, LockMode::Acquire, None, lease)?.run(conn)?;
            match acquired(&key, reply)? {
                Ok(l) => return Ok(l),
                Err(held) => {
                    let left = wait.saturating_sub(start.elapsed());
                    if left.is_zero() {
                        return Err(Error::Locked {
                            model: M::SCHEMA.name,
                            key: format!("{key:?}"),
                        });
                    }
                    std::thread::sleep(pause(attempt, held, left));
                }
            }
        }
    }

    /// [`Lease::try_acquire`] on an async connection.
    ///
    /// ```
    /// # use rom_dsl::{Model, Result};
    /// # use rom_dsl::lock::Lease;
    /// # use std::time::Duration;
    /// async fn if_free<M: Model<Key = u64>>(
    ///     conn: &mut redis::aio::MultiplexedConnection,
    /// ) -> Result<bool> {
    ///     match Lease::<M>::try_acquire_async(conn, 7u64, Duration::from_secs(10)).await? {
    ///         Some(lease) => lease.release_async(conn).await,
    ///         None => Ok(false),
    ///     }
    /// }
    /// ```
    #[cfg(feature = "tokio")]
    pub async fn try_acquire_async<C: AsyncConnection>(
        conn: &mut C,
        key: impl IntoKey<M::Key>,
        lease: Duration,
    ) -> Result<Option<Lease<M>>> {
        let key = key.into_key().ok_or_else(no_key::<M>)?;
        let plan = lock_plan::<M>(&key, LockMode::Acquire, None, lease)?;
        Ok(acquired(&key, plan.run_async(conn).await?)?.ok())
    }

    /// [`Lease::acquire`] on an async connection (the pauses are `tokio`
    /// sleeps).
    ///
    /// ```
    /// # use rom_dsl::{Model, Result};
    /// # use rom_dsl::lock::Lease;
    /// # use std::time::Duration;
    /// async fn exclusive<M: Model<Key = u64>>(
    ///     conn: &mut redis::aio::MultiplexedConnection,
    /// ) -> Result<()> {
    ///     let (lease, wait) = (Duration::from_secs(10), Duration::from_secs(2));
    ///     let lease = Lease::<M>::acquire_async(conn, 7u64, lease, wait).await?;
    ///     lease.release_async(conn).await?;
    ///     Ok(())
    /// }
    /// ```
    #[cfg(feature = "tokio")]
    pub async fn acquire_async<C: AsyncConnection>(
        conn: &mut C,
        key: impl IntoKey<M::Key>,
        lease: Duration,
        wait: Duration,
    ) -> Result<Lease<M>> {
        let key = key.into_key().ok_or_else(no_key::<M>)?;
        let start = Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let plan = lock_plan::<M>(&key, LockMode::Acquire, None, lease)?;
            match acquired(&key, plan.run_async(conn).await?)? {
                Ok(l) => return Ok(l),
                Err(held) => {
                    let left = wait.saturating_sub(start.elapsed());
                    if left.is_zero() {
                        return Err(Error::Locked {
                            model: M::SCHEMA.name,
                            key: format!("{key:?}"),
                        });
                    }
                    tokio::time::sleep(pause(attempt, held, left)).await;
                }
            }
        }
    }

    fn refreshed(&self, reply: LockReply) -> Result<()> {
        match reply {
            LockReply::Ok(_) => Ok(()),
            LockReply::Lost | LockReply::Held(_) => Err(Error::LeaseLost {
                model: M::SCHEMA.name,
                key: format!("{:?}", self.key),
            }),
            LockReply::WrongType(k) => Err(Error::decode(&k, None, "not a lock")),
        }
    }

    /// Extends the lease to `lease` from now, if the lock is still this
    /// lease's; [`Error::LeaseLost`] otherwise.
    ///
    /// ```
    /// # use rom_dsl::{Model, Result};
    /// # use rom_dsl::lock::Lease;
    /// # use std::time::Duration;
    /// fn extend<M: Model>(lease: &Lease<M>, conn: &mut redis::Connection) -> Result<()> {
    ///     lease.refresh(conn, Duration::from_secs(10)) // LeaseLost if taken over
    /// }
    /// ```
    pub fn refresh<C: Connection + ?Sized>(&self, conn: &mut C, lease: Duration) -> Result<()> {
        let plan = lock_plan::<M>(&self.key, LockMode::Refresh, Some(self.token), lease)?;
        self.refreshed(plan.run(conn)?)
    }

    /// [`Lease::refresh`] on an async connection.
    ///
    /// ```
    /// # use rom_dsl::{Model, Result};
    /// # use rom_dsl::lock::Lease;
    /// # use std::time::Duration;
    /// async fn extend<M: Model>(
    ///     lease: &Lease<M>,
    ///     conn: &mut redis::aio::MultiplexedConnection,
    /// ) -> Result<()> {
    ///     lease.refresh_async(conn, Duration::from_secs(10)).await
    /// }
    /// ```
    #[cfg(feature = "tokio")]
    pub async fn refresh_async<C: AsyncConnection>(
        &self,
        conn: &mut C,
        lease: Duration,
    ) -> Result<()> {
        let plan = lock_plan::<M>(&self.key, LockMode::Refresh, Some(self.token), lease)?;
        self.refreshed(plan.run_async(conn).await?)
    }

    /// Releases the lock if it is still this lease's: `true`, or `false` when
    /// the lease had run out (and maybe another holds the lock: it is left
    /// alone).
    ///
    /// ```
    /// # use rom_dsl::{Model, Result};
    /// # use rom_dsl::lock::Lease;
    /// fn done<M: Model>(lease: Lease<M>, conn: &mut redis::Connection) -> Result<bool> {
    ///     lease.release(conn) // false: the lease had run out
    /// }
    /// ```
    pub fn release<C: Connection + ?Sized>(self, conn: &mut C) -> Result<bool> {
        unlock_plan::<M>(&self.key, self.token).run(conn)
    }

    /// [`Lease::release`] on an async connection.
    ///
    /// ```
    /// # use rom_dsl::{Model, Result};
    /// # use rom_dsl::lock::Lease;
    /// async fn done<M: Model>(
    ///     lease: Lease<M>,
    ///     conn: &mut redis::aio::MultiplexedConnection,
    /// ) -> Result<bool> {
    ///     lease.release_async(conn).await
    /// }
    /// ```
    #[cfg(feature = "tokio")]
    pub async fn release_async<C: AsyncConnection>(self, conn: &mut C) -> Result<bool> {
        unlock_plan::<M>(&self.key, self.token)
            .run_async(conn)
            .await
    }

    /// The lock key and the token, for a fence.
    pub(crate) fn fence_parts(&self) -> (Vec<u8>, u64) {
        (lock_key::<M>(&self.key), self.token)
    }
}
