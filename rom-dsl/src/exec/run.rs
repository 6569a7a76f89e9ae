//! Running plans: `Plan::run` (sync) and `Plan::run_async` send the plan's
//! call (`FCALL`, or a command), load the library when the server lacks it,
//! fall back to `EVALSHA` / `EVAL` when it refuses functions; `run_all` sends
//! many plans in one pipeline and resends only the calls that need it.

#[cfg(feature = "tokio")]
use crate::connection::AsyncConnection;
use crate::connection::Connection;
use crate::error::Result;
use crate::exec::script;
use crate::plan::{Call, Plan};
use crate::plans::plan::Next;

impl<T> Plan<T> {
    /// The command sent first: `FCALL` of the library's function for a
    /// script (`EVALSHA` of its script packaging once functions are off).
    pub(crate) fn first_cmd(&self) -> redis::Cmd {
        match self.call {
            Call::Command(name) => {
                let mut c = redis::cmd(name);
                c.arg(&self.keys).arg(&self.args);
                c
            }
            Call::Script(s) => {
                let mut c = if script::eval_only() {
                    let mut c = redis::cmd(if self.read_only {
                        "EVALSHA_RO"
                    } else {
                        "EVALSHA"
                    });
                    c.arg(s.sha());
                    c
                } else {
                    let mut c = redis::cmd(if self.read_only { "FCALL_RO" } else { "FCALL" });
                    c.arg(s.function_name());
                    c
                };
                c.arg(self.keys.len()).arg(&self.keys).arg(&self.args);
                c
            }
        }
    }

    /// `EVAL` with the script packaging's source, for a server that lost its
    /// script cache (built only then: it carries the whole library).
    pub(crate) fn eval_cmd(&self) -> Option<redis::Cmd> {
        match self.call {
            Call::Command(_) => None,
            Call::Script(s) => {
                let mut c = redis::cmd(if self.read_only { "EVAL_RO" } else { "EVAL" });
                c.arg(s.source())
                    .arg(self.keys.len())
                    .arg(&self.keys)
                    .arg(&self.args);
                Some(c)
            }
        }
    }

    /// What to do after an error reply: load the library, or send the script
    /// itself; `None` when the error is the answer.
    fn recover(&self, e: &redis::RedisError) -> Option<Recover> {
        match self.call {
            Call::Command(_) => None,
            Call::Script(_) if script::is_missing_function(e) => Some(Recover::Load),
            Call::Script(_) if is_noscript(e) => Some(Recover::Eval),
            Call::Script(_) => None,
        }
    }

    fn check_reply(&self, v: redis::Value) -> redis::RedisResult<redis::Value> {
        if self.raw_errors && !retry_reply(&v) {
            Ok(v)
        } else {
            v.extract_error()
        }
    }

    /// The command to send again after `FUNCTION LOAD` answered: the
    /// function call, or this call as a script when the library could not be
    /// loaded.
    fn after_load(&self, loaded: script::Loaded) -> redis::Cmd {
        match loaded {
            script::Loaded::Yes | script::Loaded::Never => self.first_cmd(),
            script::Loaded::NotNow => self.eval_cmd().unwrap_or_else(|| self.first_cmd()),
        }
    }

    /// Runs the plan on a synchronous connection: one round trip (more only
    /// the first time a server lacks rom's library, or lost its script cache).
    pub fn run<C: Connection + ?Sized>(self, conn: &mut C) -> Result<T> {
        let mut tries = 0;
        #[cfg(feature = "tracing")]
        {
            let op = crate::exec::trace::Op::one(&self);
            let r = op.span.in_scope(|| self.run_counted(conn, &mut tries));
            op.finish_one(retries(tries, &r), &r);
            r
        }
        #[cfg(not(feature = "tracing"))]
        self.run_counted(conn, &mut tries)
    }

    /// [`Plan::run`], counting the error replies in `tries`.
    fn run_counted<C: Connection + ?Sized>(self, conn: &mut C, tries: &mut u32) -> Result<T> {
        let mut plan = self;
        let mut cmd = plan.first_cmd();
        loop {
            let reply = conn.req_command(&cmd).and_then(|v| plan.check_reply(v));
            let e = match reply {
                Ok(v) => {
                    let ro = plan.read_only;
                    match (plan.decode)(v)? {
                        Next::Done(t) => return Ok(t),
                        // a query in steps: its next call
                        Next::Again(p) => {
                            plan = p.follow(ro);
                            cmd = plan.first_cmd();
                            continue;
                        }
                    }
                }
                Err(e) => e,
            };
            *tries += 1;
            match plan.recover(&e) {
                Some(Recover::Load) if *tries < 4 => {
                    let load = conn.req_command(&script::load_command());
                    cmd = plan.after_load(script::loaded(load));
                }
                Some(Recover::Eval) if *tries < 4 => match plan.eval_cmd() {
                    Some(c) => cmd = c,
                    None => return Err(e.into()),
                },
                _ => return Err(e.into()),
            }
        }
    }

    /// Runs the plan on an asynchronous connection (`MultiplexedConnection`,
    /// `ConnectionManager`, a cluster connection...).
    #[cfg(feature = "tokio")]
    pub async fn run_async<C: AsyncConnection>(self, conn: &mut C) -> Result<T> {
        let mut tries = 0;
        #[cfg(feature = "tracing")]
        {
            use tracing::Instrument as _;
            let op = crate::exec::trace::Op::one(&self);
            let r = self
                .run_async_counted(conn, &mut tries)
                .instrument(op.span.clone())
                .await;
            op.finish_one(retries(tries, &r), &r);
            r
        }
        #[cfg(not(feature = "tracing"))]
        self.run_async_counted(conn, &mut tries).await
    }

    /// [`Plan::run_async`], counting the error replies in `tries`.
    #[cfg(feature = "tokio")]
    async fn run_async_counted<C: AsyncConnection>(
        self,
        conn: &mut C,
        tries: &mut u32,
    ) -> Result<T> {
        let mut plan = self;
        let mut cmd = plan.first_cmd();
        loop {
            let reply = conn.req_packed_command(&cmd).await;
            let e = match reply.and_then(|v| plan.check_reply(v)) {
                Ok(v) => {
                    let ro = plan.read_only;
                    match (plan.decode)(v)? {
                        Next::Done(t) => return Ok(t),
                        // a query in steps: its next call
                        Next::Again(p) => {
                            plan = p.follow(ro);
                            cmd = plan.first_cmd();
                            continue;
                        }
                    }
                }
                Err(e) => e,
            };
            *tries += 1;
            match plan.recover(&e) {
                Some(Recover::Load) if *tries < 4 => {
                    let load = conn.req_packed_command(&script::load_command()).await;
                    cmd = plan.after_load(script::loaded(load));
                }
                Some(Recover::Eval) if *tries < 4 => match plan.eval_cmd() {
                    Some(c) => cmd = c,
                    None => return Err(e.into()),
                },
                _ => return Err(e.into()),
            }
        }
    }
}

/// The calls sent again: every error reply but the last one when it is the
/// answer.
#[cfg(feature = "tracing")]
fn retries<T>(tries: u32, r: &Result<T>) -> u32 {
    tries.saturating_sub(u32::from(r.is_err()))
}

/// How a script call recovers from an error reply.
enum Recover {
    /// The library is missing: load it, call again.
    Load,
    /// The script cache lost the script: send its source.
    Eval,
}

/// Runs many plans in one pipeline: one round trip (two when the server lost
/// its script cache: the calls it refused with NOSCRIPT ran nothing and are sent
/// again with EVAL). Each plan is atomic on its own; the batch is not. The outer
/// error is a connection failure; each plan's own error is in its slot.
///
/// ```
/// # use rom_dsl::{Crud, Model};
/// # #[derive(Clone, Debug)] struct Tag;
/// # impl rom_dsl::__private::Sealed for Tag {}
/// # impl rom_dsl::placement::Unpartitioned for Tag {}
/// # impl Model for Tag {
/// #     type Key = u64;
/// #     const SCHEMA: &'static rom_dsl::__private::Schema = &rom_dsl::__private::Schema {
/// #         name: "Tag", namespace: "tags", key_name: "id", auto_key: true, columns: &[], unique_together: &[] };
/// #     fn layout() -> &'static rom_dsl::__private::Layout {
/// #         static L: std::sync::OnceLock<rom_dsl::__private::Layout> = std::sync::OnceLock::new();
/// #         L.get_or_init(|| rom_dsl::__private::Layout::new(Self::SCHEMA))
/// #     }
/// #     fn key(&self) -> Option<u64> { None }
/// #     fn set_key(&mut self, _: u64) {}
/// #     fn cells(&self) -> rom_dsl::Result<Vec<rom_dsl::__private::Cell>> { Ok(vec![]) }
/// #     fn from_row(_: u64, _: &rom_dsl::__private::RowData) -> rom_dsl::Result<Self> { Ok(Tag) }
/// # }
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let server = rom_testing::RedisServer::start()?;
/// # let mut conn = server.connection()?;
/// let plans = vec![Tag::get_plan(&[1]), Tag::get_plan(&[2, 3]), Tag::get_plan(&[])];
/// let out = rom_dsl::plan::run_all(plans, &mut conn)?;
/// assert_eq!(out.len(), 3);
/// assert!(out.iter().all(|rows| rows.as_ref().is_ok_and(|rows| rows.is_empty())));
/// # Ok(()) }
/// ```
pub fn run_all<T, C: Connection + ?Sized>(
    plans: Vec<Plan<T>>,
    conn: &mut C,
) -> Result<Vec<Result<T>>> {
    let mut resent = 0;
    #[cfg(feature = "tracing")]
    {
        let op = crate::exec::trace::Op::batch(&plans);
        let r = op
            .span
            .in_scope(|| run_all_counted(plans, conn, &mut resent));
        op.finish_batch(resent, &r);
        r
    }
    #[cfg(not(feature = "tracing"))]
    run_all_counted(plans, conn, &mut resent)
}

/// [`run_all`], counting the calls sent again in `resent`.
fn run_all_counted<T, C: Connection + ?Sized>(
    plans: Vec<Plan<T>>,
    conn: &mut C,
    resent: &mut u32,
) -> Result<Vec<Result<T>>> {
    if plans.is_empty() {
        return Ok(Vec::new());
    }
    let mut pipe = redis::pipe();
    for p in &plans {
        pipe.add_command(p.first_cmd());
    }
    let mut replies = conn.req_packed_commands(&pipe.get_packed_pipeline(), 0, plans.len())?;
    // the library was missing: load it once, send the refused calls again
    let missing = retry_list(&plans, &replies, script::is_missing_function_reply);
    if !missing.is_empty() {
        *resent += count(&missing);
        let loaded = script::loaded(conn.req_command(&script::load_command()));
        let again = resend(&plans, &missing, |p| p.after_load(loaded));
        let more = conn.req_packed_commands(&again.get_packed_pipeline(), 0, missing.len())?;
        for (i, v) in missing.iter().zip(more) {
            replies[*i] = v;
        }
    }
    // the script cache was flushed: send those scripts' sources
    let lost = retry_list(&plans, &replies, noscript_reply);
    if !lost.is_empty() {
        *resent += count(&lost);
        let again = resend(&plans, &lost, |p| {
            p.eval_cmd().unwrap_or_else(|| p.first_cmd())
        });
        let more = conn.req_packed_commands(&again.get_packed_pipeline(), 0, lost.len())?;
        for (i, v) in lost.iter().zip(more) {
            replies[*i] = v;
        }
    }
    // a query in steps continues on its own, after the pipeline
    finish_all(plans, replies)
        .into_iter()
        .map(|r| match r {
            Ok(Next::Again(p)) => Ok(p.run(conn)),
            Ok(Next::Done(t)) => Ok(Ok(t)),
            Err(e) => Ok(Err(e)),
        })
        .collect()
}

/// [`run_all`] on an async connection.
#[cfg(feature = "tokio")]
pub async fn run_all_async<T, C: AsyncConnection>(
    plans: Vec<Plan<T>>,
    conn: &mut C,
) -> Result<Vec<Result<T>>> {
    let mut resent = 0;
    #[cfg(feature = "tracing")]
    {
        use tracing::Instrument as _;
        let op = crate::exec::trace::Op::batch(&plans);
        let r = run_all_async_counted(plans, conn, &mut resent)
            .instrument(op.span.clone())
            .await;
        op.finish_batch(resent, &r);
        r
    }
    #[cfg(not(feature = "tracing"))]
    run_all_async_counted(plans, conn, &mut resent).await
}

/// [`run_all_async`], counting the calls sent again in `resent`.
#[cfg(feature = "tokio")]
async fn run_all_async_counted<T, C: AsyncConnection>(
    plans: Vec<Plan<T>>,
    conn: &mut C,
    resent: &mut u32,
) -> Result<Vec<Result<T>>> {
    if plans.is_empty() {
        return Ok(Vec::new());
    }
    let mut pipe = redis::pipe();
    for p in &plans {
        pipe.add_command(p.first_cmd());
    }
    let mut replies = conn.req_packed_commands(&pipe, 0, plans.len()).await?;
    let missing = retry_list(&plans, &replies, script::is_missing_function_reply);
    if !missing.is_empty() {
        *resent += count(&missing);
        let loaded = script::loaded(conn.req_packed_command(&script::load_command()).await);
        let again = resend(&plans, &missing, |p| p.after_load(loaded));
        let more = conn.req_packed_commands(&again, 0, missing.len()).await?;
        for (i, v) in missing.iter().zip(more) {
            replies[*i] = v;
        }
    }
    let lost = retry_list(&plans, &replies, noscript_reply);
    if !lost.is_empty() {
        *resent += count(&lost);
        let again = resend(&plans, &lost, |p| {
            p.eval_cmd().unwrap_or_else(|| p.first_cmd())
        });
        let more = conn.req_packed_commands(&again, 0, lost.len()).await?;
        for (i, v) in lost.iter().zip(more) {
            replies[*i] = v;
        }
    }
    let mut out = Vec::with_capacity(plans.len());
    for r in finish_all(plans, replies) {
        out.push(match r {
            Ok(Next::Again(p)) => p.run_async(conn).await,
            Ok(Next::Done(t)) => Ok(t),
            Err(e) => Err(e),
        });
    }
    Ok(out)
}

/// A number of calls, saturated.
fn count(calls: &[usize]) -> u32 {
    u32::try_from(calls.len()).unwrap_or(u32::MAX)
}

fn noscript_reply(v: &redis::Value) -> bool {
    matches!(v, redis::Value::ServerError(e) if e.code() == "NOSCRIPT")
}

/// A reply that the runner answers by sending the call again.
fn retry_reply(v: &redis::Value) -> bool {
    noscript_reply(v) || script::is_missing_function_reply(v)
}

/// The script calls of a pipeline whose reply matches.
fn retry_list<T>(
    plans: &[Plan<T>],
    replies: &[redis::Value],
    f: fn(&redis::Value) -> bool,
) -> Vec<usize> {
    (0..replies.len())
        .filter(|&i| f(&replies[i]) && plans[i].script().is_some())
        .collect()
}

/// A pipeline of the calls at `which`, each built by `cmd`.
fn resend<T>(
    plans: &[Plan<T>],
    which: &[usize],
    cmd: impl Fn(&Plan<T>) -> redis::Cmd,
) -> redis::Pipeline {
    let mut p = redis::pipe();
    for &i in which {
        p.add_command(cmd(&plans[i]));
    }
    p
}

fn finish_all<T>(plans: Vec<Plan<T>>, replies: Vec<redis::Value>) -> Vec<Result<Next<T>>> {
    plans
        .into_iter()
        .zip(replies)
        .map(|(p, v)| match p.check_reply(v) {
            Ok(v) => {
                let ro = p.read_only;
                (p.decode)(v).map(|n| match n {
                    Next::Again(next) => Next::Again(next.follow(ro)),
                    done => done,
                })
            }
            Err(e) => Err(e.into()),
        })
        .collect()
}

fn is_noscript(e: &redis::RedisError) -> bool {
    e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript)
}
