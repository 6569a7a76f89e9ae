//! The plan type and its explanation (running it: `exec/run.rs`).
//! Public as `rom_dsl::plan` (`src/plan.rs`).

use crate::error::{Result, show};
use crate::exec::script::Script;
use std::fmt::Write as _;

/// What a plan sends.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Call {
    /// A function of rom's library, by FCALL (or its script packaging).
    Script(&'static Script),
    /// A single command, its keys then its arguments.
    Command(&'static str),
}

/// The reply decoder of a plan.
pub(crate) type Decoder<T> = Box<dyn FnOnce(redis::Value) -> Result<Next<T>> + Send>;

/// What a reply decodes to: the result, or, for a query that ran out of its
/// budget, the plan of the call that continues it.
pub(crate) enum Next<T> {
    Done(T),
    Again(Plan<T>),
}

/// One operation, ready to run: one round trip to Redis (a query whose work
/// exceeds its budget continues in further calls, each one round trip; see
/// [`crate::query::Budget`]).
///
/// Plans are made by the operations (`insert_plan`, `load_plan`, `get_plan`...),
/// never by hand.
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
    /// What the plan does and to which model, for its span.
    #[cfg(feature = "tracing")]
    pub(crate) about: crate::exec::trace::About,
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
        Plan::with_decoder(
            call,
            keys,
            args,
            Box::new(move |v| decode(v).map(Next::Done)),
        )
    }

    fn with_decoder(
        call: Call,
        keys: Vec<Vec<u8>>,
        args: Vec<Vec<u8>>,
        decode: Decoder<T>,
    ) -> Self {
        Plan {
            call,
            keys,
            args,
            steps: Vec::new(),
            lazy_steps: None,
            decode,
            read_only: false,
            raw_errors: false,
            #[cfg(feature = "tracing")]
            about: crate::exec::trace::About::default(),
        }
    }

    /// A plan calling a function of the library with a wire contract's
    /// arguments.
    pub(crate) fn call(
        args: &impl crate::wire::Args,
        decode: impl FnOnce(redis::Value) -> Result<T> + Send + 'static,
    ) -> Self {
        let (keys, argv) = args.encode();
        Plan::new(Call::Script(args.function()), keys, argv, decode)
    }

    /// A plan whose reply may ask for another call (a query in steps).
    pub(crate) fn call_steps(
        args: &impl crate::wire::Args,
        decode: impl FnOnce(redis::Value) -> Result<Next<T>> + Send + 'static,
    ) -> Self {
        let (keys, argv) = args.encode();
        Plan::with_decoder(Call::Script(args.function()), keys, argv, Box::new(decode))
    }

    /// The plan of the next call keeps what the first one was asked
    /// (`read_only`).
    pub(crate) fn follow(mut self, read_only: bool) -> Self {
        if read_only {
            self = self.read_only();
        }
        self
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

    /// Names what the plan does (`insert`, `query rows`...) and the model's
    /// namespace, for the span of the feature `tracing` (nothing without it).
    #[inline]
    pub(crate) fn about(self, what: &'static str, collection: &'static str) -> Self {
        #[cfg(feature = "tracing")]
        {
            let mut p = self;
            p.about = crate::exec::trace::About { what, collection };
            p
        }
        #[cfg(not(feature = "tracing"))]
        {
            let _ = (what, collection);
            self
        }
    }

    /// Hands error replies to the decoder.
    pub(crate) fn with_raw_errors(mut self) -> Self {
        self.raw_errors = true;
        self
    }

    /// Runs the function with FCALL_RO (EVALSHA_RO / EVAL_RO on the script
    /// path), so that it may run on a replica (Redis 7+). Only read plans (queries, gets) accept this: a plan
    /// whose script writes is returned unchanged and runs as a normal call.
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
    /// let p = Tag::get_plan(&[7, 8]); // the `get` function (one key is a plain HGETALL)
    /// assert!(p.read_only().explain().starts_with("FCALL_RO get"));
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
            decode: Box::new(move |v| match decode(v)? {
                Next::Done(t) => f(t).map(Next::Done),
                Next::Again(p) => Ok(Next::Again(p.map(f))),
            }),
            read_only: self.read_only,
            raw_errors: self.raw_errors,
            #[cfg(feature = "tracing")]
            about: self.about,
        }
    }

    /// Changes what the reply decodes to, continuations included: `f` gets
    /// each step's outcome (a result, or the plan of the next call).
    pub(crate) fn then<U>(
        self,
        f: impl FnOnce(Next<T>) -> Result<Next<U>> + Send + 'static,
    ) -> Plan<U>
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
            decode: Box::new(move |v| f(decode(v)?)),
            read_only: self.read_only,
            raw_errors: self.raw_errors,
            #[cfg(feature = "tracing")]
            about: self.about,
        }
    }

    /// Like [`Plan::then`], but `f` also gets the errors of the decoder
    /// (a typed error from the reply), to recover from them.
    pub(crate) fn then_result<U>(
        self,
        f: impl FnOnce(Result<Next<T>>) -> Result<Next<U>> + Send + 'static,
    ) -> Plan<U>
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
            decode: Box::new(move |v| f(decode(v))),
            read_only: self.read_only,
            raw_errors: self.raw_errors,
            #[cfg(feature = "tracing")]
            about: self.about,
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
                    "{} {} {} key(s)",
                    if self.read_only { "FCALL_RO" } else { "FCALL" },
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
