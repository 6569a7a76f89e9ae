//! Writes confirmed by replicas: [`Durable`], a connection that follows
//! each write call with `WAIT`.

use crate::exec::script::{self, Script};
use redis::{Cmd, ErrorKind, RedisError, RedisResult, Value};
use std::time::Duration;

/// A connection whose writes wait for replicas: after each call that may
/// write (rom's functions called with `FCALL`, or its scripts with
/// `EVALSHA`/`EVAL`; never a read, sent read-only), and after each
/// pipeline holding one, it sends `WAIT replicas timeout` and fails the
/// call when fewer replicas acknowledged the write in time.
///
/// Redis replicates asynchronously: a write acknowledged by a master alone
/// is lost if the master fails before a replica has it (a replica promoted
/// by a failover lacks it). With `Durable`, a write that returned `Ok` is
/// on the master and on `replicas` of its replicas, so a failover that
/// promotes one of them keeps it (`tests/partitions_failover.rs` kills a
/// master and checks every such write). A failed `WAIT` does not undo the
/// write: the error says it may or may not survive a failover, as a
/// timeout does. On a cluster connection `WAIT` goes to every master and
/// the smallest count is kept; `WAITAOF` (Redis 7.2) is not used, so pair
/// it with `appendfsync always` where the master's own disk matters.
///
/// Sync and async alike: `Durable<redis::Connection>` is a sync
/// connection, `Durable<MultiplexedConnection>` an async one.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let server = rom_testing::RedisServer::start()?;
/// use rom_dsl::connect::Durable;
/// use std::time::Duration;
/// // a server without replicas: a write is applied, and reported as not
/// // confirmed
/// let mut conn = Durable::new(server.connection()?, 1, Duration::from_millis(20));
/// let r = redis::cmd("EVAL")
///     .arg("return redis.call('SET', KEYS[1], 'v')")
///     .arg(1)
///     .arg("k")
///     .query::<()>(&mut conn);
/// assert!(r.unwrap_err().to_string().contains("not confirmed by enough replicas"));
/// let v: String = redis::cmd("GET").arg("k").query(conn.get_mut())?;
/// assert_eq!(v, "v");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Durable<C> {
    inner: C,
    replicas: u32,
    timeout: Duration,
}

impl<C> Durable<C> {
    /// Wraps `inner`: each write waits until `replicas` replicas have it,
    /// at most `timeout`.
    ///
    /// ```
    /// # fn f(conn: redis::Connection) {
    /// let durable = rom_dsl::connect::Durable::new(conn, 1, std::time::Duration::from_secs(1));
    /// # }
    /// ```
    pub fn new(inner: C, replicas: u32, timeout: Duration) -> Self {
        Durable {
            inner,
            replicas,
            timeout,
        }
    }

    /// The wrapped connection.
    ///
    /// ```
    /// # fn f(d: &mut rom_dsl::connect::Durable<redis::Connection>) {
    /// let plain: &mut redis::Connection = d.get_mut();
    /// # }
    /// ```
    pub fn get_mut(&mut self) -> &mut C {
        &mut self.inner
    }

    /// The wrapped connection, unwrapped.
    ///
    /// ```
    /// # fn f(d: rom_dsl::connect::Durable<redis::Connection>) {
    /// let plain: redis::Connection = d.into_inner();
    /// # }
    /// ```
    pub fn into_inner(self) -> C {
        self.inner
    }

    fn wait_cmd(&self) -> Cmd {
        let mut c = redis::cmd("WAIT");
        c.arg(self.replicas).arg(
            u64::try_from(self.timeout.as_millis())
                .unwrap_or(u64::MAX)
                .max(1),
        );
        c
    }

    fn check(&self, v: &Value) -> RedisResult<()> {
        let n = match v {
            Value::Int(n) => *n,
            other => {
                return Err(RedisError::from((
                    ErrorKind::UnexpectedReturnType,
                    "rom: WAIT answered",
                    format!("{other:?}"),
                )));
            }
        };
        if n < i64::from(self.replicas) {
            return Err(RedisError::from((
                ErrorKind::Client,
                "rom: the write is on the master but not confirmed by enough replicas; it may be lost in a failover",
                format!(
                    "{n} of {} replica(s) acknowledged it within {:?}",
                    self.replicas, self.timeout
                ),
            )));
        }
        Ok(())
    }
}

/// Whether a command (its name and first argument) may write: a function
/// called with `FCALL`, a script with `EVALSHA`/`EVAL` (their `_RO` forms
/// only read), except rom's own functions and scripts that only read
/// (`query`, `get`...: declared `no-writes`, see `exec/script.rs`).
fn writes(name: &[u8], first: Option<&[u8]>) -> bool {
    let read = |f: fn(&Script) -> &str| {
        first.is_some_and(|a| {
            script::ALL
                .iter()
                .any(|s| s.is_read_only() && f(s).as_bytes() == a)
        })
    };
    if name.eq_ignore_ascii_case(b"FCALL") {
        return !read(Script::function_name);
    }
    if name.eq_ignore_ascii_case(b"EVALSHA") {
        return !read(Script::sha);
    }
    name.eq_ignore_ascii_case(b"EVAL")
}

fn cmd_writes(cmd: &Cmd) -> bool {
    let mut args = cmd.args_iter().filter_map(|a| match a {
        redis::Arg::Simple(b) => Some(b),
        _ => None,
    });
    match args.next() {
        Some(name) => writes(name, args.next()),
        None => false,
    }
}

/// An error reply (a call that was refused, e.g. a function not loaded
/// yet, which the runner answers by loading it and calling again): it wrote
/// nothing to wait for.
fn failed(v: &Value) -> bool {
    matches!(v, Value::ServerError(_))
}

/// Whether a packed command or pipeline holds a command that may write.
fn packed_writes(b: &[u8]) -> bool {
    packed_names(b).iter().any(|(n, a)| writes(n, *a))
}

/// The command names of a packed pipeline (`*n`, then `$len` arguments),
/// each with its first argument.
fn packed_names(mut b: &[u8]) -> Vec<(&[u8], Option<&[u8]>)> {
    fn line(b: &[u8]) -> Option<(&[u8], &[u8])> {
        let end = b.windows(2).position(|w| w == b"\r\n")?;
        Some((&b[..end], &b[end + 2..]))
    }
    let mut out = Vec::new();
    while let Some((head, rest)) = line(b) {
        let Some(n) = head
            .strip_prefix(b"*")
            .and_then(|n| std::str::from_utf8(n).ok()?.parse::<usize>().ok())
        else {
            break;
        };
        b = rest;
        for i in 0..n {
            let Some((len, rest)) = line(b) else {
                return out;
            };
            let Some(len) = len
                .strip_prefix(b"$")
                .and_then(|l| std::str::from_utf8(l).ok()?.parse::<usize>().ok())
            else {
                return out;
            };
            let Some(arg) = rest.get(..len) else {
                return out;
            };
            if i == 0 {
                out.push((arg, None));
            } else if i == 1
                && let Some(last) = out.last_mut()
            {
                last.1 = Some(arg);
            }
            b = rest.get(len + 2..).unwrap_or_default();
        }
    }
    out
}

impl<C: redis::ConnectionLike> redis::ConnectionLike for Durable<C> {
    fn req_packed_command(&mut self, cmd: &[u8]) -> RedisResult<Value> {
        let v = self.inner.req_packed_command(cmd)?;
        if !failed(&v) && packed_writes(cmd) {
            let w = self.inner.req_command(&self.wait_cmd())?;
            self.check(&w)?;
        }
        Ok(v)
    }

    fn req_command(&mut self, cmd: &Cmd) -> RedisResult<Value> {
        let v = self.inner.req_command(cmd)?;
        if !failed(&v) && cmd_writes(cmd) {
            let w = self.inner.req_command(&self.wait_cmd())?;
            self.check(&w)?;
        }
        Ok(v)
    }

    fn req_packed_commands(
        &mut self,
        cmd: &[u8],
        offset: usize,
        count: usize,
    ) -> RedisResult<Vec<Value>> {
        let v = self.inner.req_packed_commands(cmd, offset, count)?;
        if !v.iter().all(failed) && packed_writes(cmd) {
            let w = self.inner.req_command(&self.wait_cmd())?;
            self.check(&w)?;
        }
        Ok(v)
    }

    fn get_db(&self) -> i64 {
        self.inner.get_db()
    }

    fn supports_pipelining(&self) -> bool {
        self.inner.supports_pipelining()
    }

    fn check_connection(&mut self) -> bool {
        self.inner.check_connection()
    }

    fn is_open(&self) -> bool {
        self.inner.is_open()
    }
}

#[cfg(feature = "tokio")]
impl<C: redis::aio::ConnectionLike + Send> redis::aio::ConnectionLike for Durable<C> {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> redis::RedisFuture<'a, Value> {
        Box::pin(async move {
            let v = self.inner.req_packed_command(cmd).await?;
            if !failed(&v) && cmd_writes(cmd) {
                let wait = self.wait_cmd();
                let w = self.inner.req_packed_command(&wait).await?;
                self.check(&w)?;
            }
            Ok(v)
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> redis::RedisFuture<'a, Vec<Value>> {
        Box::pin(async move {
            let v = self
                .inner
                .req_packed_commands(pipeline, offset, count)
                .await?;
            if pipeline.cmd_iter().any(cmd_writes) {
                let wait = self.wait_cmd();
                let w = self.inner.req_packed_command(&wait).await?;
                self.check(&w)?;
            }
            Ok(v)
        })
    }

    fn get_db(&self) -> i64 {
        self.inner.get_db()
    }
}

#[cfg(test)]
mod tests {
    use super::{packed_names, writes};
    use crate::exec::script::{QUERY, SAVE};

    #[test]
    fn pipelines_name_their_commands() {
        let mut p = redis::pipe();
        p.cmd("FCALL").arg("x").arg(0).cmd("GET").arg("k\r\n$3");
        let packed = p.get_packed_pipeline();
        let names = packed_names(&packed);
        assert_eq!(
            names,
            [(&b"FCALL"[..], Some(&b"x"[..])), (b"GET", Some(b"k\r\n$3"))]
        );
        assert!(writes(b"FCALL", Some(b"x")) && !writes(b"GET", None));
        assert!(!writes(b"FCALL_RO", Some(b"x")));
        // rom's reads are no writes, whichever way they are sent
        let q = QUERY.function_name().as_bytes();
        assert!(!writes(b"FCALL", Some(q)) && !writes(b"EVALSHA", Some(QUERY.sha().as_bytes())));
        assert!(writes(b"FCALL", Some(SAVE.function_name().as_bytes())));
    }
}
