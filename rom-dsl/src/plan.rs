//! Plans: what an operation will send to Redis (a script or a command, its keys
//! and arguments) and how the reply is decoded. Built without a server, printed
//! by [`Plan::explain`], run by [`Plan::run`] or [`Plan::run_async`].

use crate::connection::{AsyncConnection, Connection};
use crate::error::{Result, show};
use crate::script::Script;
use std::fmt::Write as _;

/// What a plan sends.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Call {
    /// A Lua script, by EVALSHA (EVAL when the server does not have it cached).
    Script(&'static Script),
    /// A single command, its keys then its arguments.
    Command(&'static str),
}

/// The reply decoder of a plan.
pub(crate) type Decoder<T> = Box<dyn FnOnce(redis::Value) -> Result<T> + Send>;

/// One operation, ready to run: one round trip to Redis.
///
/// Plans are made by the operations (`insert_plan`, `load_plan`, `get_plan`...),
/// never by hand.
///
/// ```
/// # use rom_dsl::{Crud, Model};
/// # #[derive(Clone, Debug)] struct Tag;
/// # impl rom_dsl::__private::Sealed for Tag {}
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
/// // (`Tag` is a model written by hand; yours come from `#[derive(Model)]`)
/// let p = Tag::get_plan(&[7]);
/// assert!(p.explain().contains("{tags}:row:7"));
/// ```
pub struct Plan<T> {
    pub(crate) call: Call,
    pub(crate) keys: Vec<Vec<u8>>,
    pub(crate) args: Vec<Vec<u8>>,
    pub(crate) steps: Vec<String>,
    /// Steps described only when `explain()` asks (a query's are not cheap).
    pub(crate) lazy_steps: Option<LazySteps>,
    pub(crate) decode: Decoder<T>,
    pub(crate) read_only: bool,
    /// Error replies go to the decoder (which turns them into typed errors)
    /// instead of failing the call.
    pub(crate) raw_errors: bool,
}

/// Steps of a plan, described on demand.
pub(crate) type LazySteps = Box<dyn Fn() -> Vec<String> + Send>;

impl<T> std::fmt::Debug for Plan<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.explain())
    }
}

impl<T> Plan<T> {
    /// A plan from its parts.
    pub(crate) fn new(
        call: Call,
        keys: Vec<Vec<u8>>,
        args: Vec<Vec<u8>>,
        decode: impl FnOnce(redis::Value) -> Result<T> + Send + 'static,
    ) -> Self {
        Plan {
            call,
            keys,
            args,
            steps: Vec::new(),
            lazy_steps: None,
            decode: Box::new(decode),
            read_only: false,
            raw_errors: false,
        }
    }

    /// Adds a human-readable step to the explanation.
    pub(crate) fn step(mut self, s: impl Into<String>) -> Self {
        self.steps.push(s.into());
        self
    }

    /// Adds steps that are described only when the plan is explained.
    pub(crate) fn steps_with(mut self, f: impl Fn() -> Vec<String> + Send + 'static) -> Self {
        self.lazy_steps = Some(Box::new(f));
        self
    }

    /// Hands error replies to the decoder.
    pub(crate) fn with_raw_errors(mut self) -> Self {
        self.raw_errors = true;
        self
    }

    /// Runs the script with EVALSHA_RO / EVAL_RO, so that it may run on a
    /// replica (Redis 7+). Only read plans (queries, gets) accept this: a plan
    /// whose script writes is returned unchanged and runs as a normal call.
    ///
    /// ```
    /// # use rom_dsl::{Crud, Model};
    /// # #[derive(Clone, Debug)] struct Tag;
    /// # impl rom_dsl::__private::Sealed for Tag {}
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
    /// let p = Tag::get_plan(&[7, 8]); // the GET script (one key is a plain HGETALL)
    /// assert!(p.read_only().explain().starts_with("EVALSHA_RO"));
    /// ```
    pub fn read_only(mut self) -> Self {
        if let Call::Script(s) = self.call {
            self.read_only = s.is_read_only();
        }
        self
    }

    /// The keys the plan declares.
    pub fn keys(&self) -> &[Vec<u8>] {
        &self.keys
    }

    /// The arguments the plan sends.
    pub fn args(&self) -> &[Vec<u8>] {
        &self.args
    }

    /// The script the plan runs, if it runs one.
    #[doc(hidden)]
    pub fn script(&self) -> Option<&'static Script> {
        match self.call {
            Call::Script(s) => Some(s),
            Call::Command(_) => None,
        }
    }

    /// Changes what the reply decodes to.
    pub fn map<U>(self, f: impl FnOnce(T) -> Result<U> + Send + 'static) -> Plan<U>
    where
        T: 'static,
    {
        let decode = self.decode;
        Plan {
            call: self.call,
            keys: self.keys,
            args: self.args,
            steps: self.steps,
            lazy_steps: self.lazy_steps,
            decode: Box::new(move |v| decode(v).and_then(f)),
            read_only: self.read_only,
            raw_errors: self.raw_errors,
        }
    }

    /// The plan as text: the call, its keys and arguments (binary shown escaped),
    /// and the steps the server will take. Needs no server.
    pub fn explain(&self) -> String {
        let mut out = String::new();
        match self.call {
            Call::Script(s) => {
                let _ = writeln!(
                    out,
                    "{} {} ({} script) {} key(s)",
                    if self.read_only {
                        "EVALSHA_RO"
                    } else {
                        "EVALSHA"
                    },
                    &s.sha()[..12],
                    s.name(),
                    self.keys.len()
                );
                let _ = writeln!(out, "  keys: {}", join(&self.keys));
                let _ = writeln!(out, "  args: {}", join(&self.args));
            }
            Call::Command(c) => {
                let _ = writeln!(
                    out,
                    "{c} {}",
                    join(&[&self.keys[..], &self.args[..]].concat())
                );
            }
        }
        let lazy = self.lazy_steps.as_ref().map(|f| f()).unwrap_or_default();
        for s in self.steps.iter().chain(&lazy) {
            let _ = writeln!(out, "  - {s}");
        }
        out
    }

    /// The command sent first: EVALSHA for a script.
    pub(crate) fn first_cmd(&self) -> redis::Cmd {
        match self.call {
            Call::Command(name) => {
                let mut c = redis::cmd(name);
                c.arg(&self.keys).arg(&self.args);
                c
            }
            Call::Script(s) => {
                let mut c = redis::cmd(if self.read_only {
                    "EVALSHA_RO"
                } else {
                    "EVALSHA"
                });
                c.arg(s.sha())
                    .arg(self.keys.len())
                    .arg(&self.keys)
                    .arg(&self.args);
                c
            }
        }
    }

    /// The command sent when the server answered NOSCRIPT: EVAL with the
    /// source (built only then: it carries the whole script).
    pub(crate) fn fallback_cmd(&self) -> Option<redis::Cmd> {
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

    fn check_reply(&self, v: redis::Value) -> redis::RedisResult<redis::Value> {
        if self.raw_errors && !noscript_reply(&v) {
            Ok(v)
        } else {
            v.extract_error()
        }
    }

    /// Runs the plan on a synchronous connection: one round trip (two only when
    /// the server lost its script cache).
    pub fn run<C: Connection + ?Sized>(self, conn: &mut C) -> Result<T> {
        let v = match conn
            .req_command(&self.first_cmd())
            .and_then(|v| self.check_reply(v))
        {
            Err(e) if is_noscript(&e) => match self.fallback_cmd() {
                Some(f) => conn.req_command(&f).and_then(|v| self.check_reply(v))?,
                None => return Err(e.into()),
            },
            other => other?,
        };
        (self.decode)(v)
    }

    /// Runs the plan on an asynchronous connection (`MultiplexedConnection`,
    /// `ConnectionManager`, a cluster connection...).
    pub async fn run_async<C: AsyncConnection>(self, conn: &mut C) -> Result<T> {
        let first = conn.req_packed_command(&self.first_cmd()).await;
        let v = match first.and_then(|v| self.check_reply(v)) {
            Err(e) if is_noscript(&e) => match self.fallback_cmd() {
                Some(f) => {
                    let again = conn.req_packed_command(&f).await;
                    again.and_then(|v| self.check_reply(v))?
                }
                None => return Err(e.into()),
            },
            other => other?,
        };
        (self.decode)(v)
    }
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
/// # let server = rom_dsl::testing::RedisServer::start()?;
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
    if plans.is_empty() {
        return Ok(Vec::new());
    }
    let mut pipe = redis::pipe();
    for p in &plans {
        pipe.add_command(p.first_cmd());
    }
    let mut replies = conn.req_packed_commands(&pipe.get_packed_pipeline(), 0, plans.len())?;
    let retry: Vec<usize> = (0..replies.len())
        .filter(|&i| noscript_reply(&replies[i]) && plans[i].fallback_cmd().is_some())
        .collect();
    if !retry.is_empty() {
        let mut again = redis::pipe();
        for &i in &retry {
            if let Some(f) = plans[i].fallback_cmd() {
                again.add_command(f);
            }
        }
        for (i, v) in retry.iter().zip(conn.req_packed_commands(
            &again.get_packed_pipeline(),
            0,
            retry.len(),
        )?) {
            replies[*i] = v;
        }
    }
    Ok(finish_all(plans, replies))
}

/// [`run_all`] on an async connection.
pub async fn run_all_async<T, C: AsyncConnection>(
    plans: Vec<Plan<T>>,
    conn: &mut C,
) -> Result<Vec<Result<T>>> {
    if plans.is_empty() {
        return Ok(Vec::new());
    }
    let mut pipe = redis::pipe();
    for p in &plans {
        pipe.add_command(p.first_cmd());
    }
    let mut replies = conn.req_packed_commands(&pipe, 0, plans.len()).await?;
    let retry: Vec<usize> = (0..replies.len())
        .filter(|&i| noscript_reply(&replies[i]) && plans[i].fallback_cmd().is_some())
        .collect();
    if !retry.is_empty() {
        let mut again = redis::pipe();
        for &i in &retry {
            if let Some(f) = plans[i].fallback_cmd() {
                again.add_command(f);
            }
        }
        let more = conn.req_packed_commands(&again, 0, retry.len()).await?;
        for (i, v) in retry.iter().zip(more) {
            replies[*i] = v;
        }
    }
    Ok(finish_all(plans, replies))
}

fn noscript_reply(v: &redis::Value) -> bool {
    matches!(v, redis::Value::ServerError(e) if e.code() == "NOSCRIPT")
}

fn finish_all<T>(plans: Vec<Plan<T>>, replies: Vec<redis::Value>) -> Vec<Result<T>> {
    plans
        .into_iter()
        .zip(replies)
        .map(|(p, v)| match p.check_reply(v) {
            Ok(v) => (p.decode)(v),
            Err(e) => Err(e.into()),
        })
        .collect()
}

fn is_noscript(e: &redis::RedisError) -> bool {
    e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript)
}

fn join(items: &[Vec<u8>]) -> String {
    items
        .iter()
        .map(|a| {
            let s = show(a);
            if s.is_empty() || s.contains(' ') {
                format!("{s:?}")
            } else {
                s
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
