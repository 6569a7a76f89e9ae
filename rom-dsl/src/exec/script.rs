//! The server code: one Lua library, in the files of `rom-dsl/lua/` (one
//! concern each, each with a header documenting its arguments), loaded into
//! Redis as a **function library** and called with `FCALL` / `FCALL_RO`.
//!
//! - The library is named by a hash of its source (`rom_<hash>`, functions
//!   `rom_<hash>_save`...), so two versions of an application can run side by
//!   side during a rolling deploy.
//! - It is loaded lazily: the first call that finds it missing (a new server, a
//!   `FUNCTION FLUSH`, a cluster node that never had it) loads it with
//!   `FUNCTION LOAD` and calls again. Redis keeps functions across restarts
//!   (RDB/AOF) and replicates them to replicas.
//! - Where a server refuses `FUNCTION LOAD` (an ACL without `@scripting`
//!   write rights on functions, say), rom falls back for the rest of the
//!   process to `EVALSHA` of the same code packaged as one script per function
//!   (with `EVAL` when the script cache was flushed). [`use_eval_scripts`]
//!   chooses that path from the start.
//!
//! Values and key names only ever travel as `KEYS` and `ARGV`, never spliced
//! into Lua source. Every key a function touches starts with the model's hash
//! tag, and the first declared key routes the call in a cluster.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

/// The library's source: the files of `rom-dsl/lua/`, in dependency order.
macro_rules! library_body {
    () => {
        concat!(
            include_str!("../../lua/rows.lua"),
            "\n",
            include_str!("../../lua/wire.lua"),
            "\n",
            include_str!("../../lua/glob.lua"),
            "\n",
            include_str!("../../lua/delete.lua"),
            "\n",
            include_str!("../../lua/structures.lua"),
            "\n",
            include_str!("../../lua/save.lua"),
            "\n",
            include_str!("../../lua/plain.lua"),
            "\n",
            include_str!("../../lua/xuniq.lua"),
            "\n",
            include_str!("../../lua/ids.lua"),
            "\n",
            include_str!("../../lua/increment.lua"),
            "\n",
            include_str!("../../lua/cascade.lua"),
            "\n",
            include_str!("../../lua/commit.lua"),
            "\n",
            include_str!("../../lua/expiry.lua"),
            "\n",
            include_str!("../../lua/lock.lua"),
            "\n",
            include_str!("../../lua/get.lua"),
            "\n",
            include_str!("../../lua/unique.lua"),
            "\n",
            include_str!("../../lua/walk.lua"),
            "\n",
            include_str!("../../lua/query_args.lua"),
            "\n",
            include_str!("../../lua/include.lua"),
            "\n",
            include_str!("../../lua/query.lua"),
            "\n",
            include_str!("../../lua/verify.lua"),
            "\n",
            include_str!("../../lua/register.lua"),
        )
    };
}

/// The library's Lua source, without its `#!lua name=...` line.
pub const LIBRARY_BODY: &str = library_body!();

/// What Redis may let a function do (its declared flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flags {
    /// May grow memory: refused before it runs when the server is over
    /// `maxmemory`.
    Write,
    /// Deletes: runs even over `maxmemory`.
    AllowOom,
    /// Reads only: may run as `FCALL_RO` / `EVALSHA_RO` (on a replica too).
    NoWrites,
}

/// One function of the library, and its script packaging for the fallback.
///
/// ```
/// let s = &rom_dsl::__private::script::QUERY;
/// assert_eq!(s.name(), "query");
/// assert!(s.is_read_only());
/// assert!(s.function_name().starts_with("rom_"));
/// assert_eq!(s.sha().len(), 40);
/// ```
#[derive(Debug)]
pub struct Script {
    name: &'static str,
    flags: Flags,
    eval_source: &'static str,
    sha: OnceLock<String>,
    function: OnceLock<String>,
}

/// A library function: its name, flags, and the Lua entry it calls.
macro_rules! function {
    ($name:literal, $flags:ident, $shebang:literal, $entry:literal) => {
        Script {
            name: $name,
            flags: Flags::$flags,
            eval_source: concat!(
                $shebang,
                "\n",
                library_body!(),
                "\nreturn ",
                $entry,
                "(KEYS, ARGV)\n"
            ),
            sha: OnceLock::new(),
            function: OnceLock::new(),
        }
    };
}

/// Inserts or updates one row (`save.lua`; a plain insert or update: `plain.lua`).
pub static SAVE: Script = function!("save", Write, "#!lua", "PS.save");
/// Writes a transaction's rows together (`commit.lua`).
pub(crate) static COMMIT: Script = function!("commit", Write, "#!lua", "commit_main");
/// Deletes rows with the on_delete rules of the rows referencing them
/// (`cascade.lua`).
pub(crate) static DELETE_GRAPH: Script = function!("delete_graph", Write, "#!lua", "delete_graph");
/// Acquires or refreshes a row lock (`lock.lua`).
pub(crate) static LOCK: Script = function!("lock", Write, "#!lua", "lock_main");
/// Releases a row lock (`lock.lua`).
pub(crate) static UNLOCK: Script =
    function!("unlock", AllowOom, "#!lua flags=allow-oom", "unlock_main");
/// Deletes rows by key with their index entries (`delete.lua`).
pub static DELETE: Script = function!("delete", AllowOom, "#!lua flags=allow-oom", "delete_main");
/// Reads rows by key (`get.lua`).
pub static GET: Script = function!("get", NoWrites, "#!lua flags=no-writes", "get_main");
/// Reads a structure of an expiring row (`structures.lua`).
pub(crate) static STRUCTURE_READ: Script = function!(
    "structure_read",
    NoWrites,
    "#!lua flags=no-writes",
    "ST.read"
);
/// The row owning a unique value (`unique.lua`): a query on one unique
/// column's equality, without the interpreter.
pub(crate) static UNIQUE_GET: Script =
    function!("unique_get", NoWrites, "#!lua flags=no-writes", "UQ.get");
/// Reserves a block of auto-increment keys, checking the number of
/// buckets (`ids.lua`).
pub(crate) static ID_BLOCK: Script = function!("id_block", Write, "#!lua", "IB.block");
/// Reserves a unique value across partitions (`xuniq.lua`).
pub(crate) static XUNIQ_RESERVE: Script = function!("xuniq_reserve", Write, "#!lua", "XU.reserve");
/// Commits a reserved value (`xuniq.lua`).
pub(crate) static XUNIQ_COMMIT: Script = function!("xuniq_commit", Write, "#!lua", "XU.commit");
/// Releases a failed attempt's reservation (`xuniq.lua`).
pub(crate) static XUNIQ_RELEASE: Script = function!(
    "xuniq_release",
    AllowOom,
    "#!lua flags=allow-oom",
    "XU.release"
);
/// Compare and set of a value's entry (`xuniq.lua`).
pub(crate) static XUNIQ_SETTLE: Script = function!("xuniq_settle", Write, "#!lua", "XU.settle");
/// Whether a row holds a value, after fencing an attempt (`xuniq.lua`).
pub(crate) static XUNIQ_PROBE: Script = function!("xuniq_probe", Write, "#!lua", "XU.probe");
/// A save refused when its attempt is fenced (`xuniq.lua`).
pub(crate) static XSAVE: Script = function!("xsave", Write, "#!lua", "XU.save");
/// The query interpreter, read-only modes (`query.lua`).
pub static QUERY: Script = function!("query", NoWrites, "#!lua flags=no-writes", "query_main");
/// The query interpreter in delete mode (`query.lua`).
pub static QUERY_DELETE: Script = function!(
    "query_delete",
    AllowOom,
    "#!lua flags=allow-oom",
    "query_main"
);
/// One page of a model's keyspace, for verify (`verify.lua`).
pub(crate) static VERIFY_SCAN: Script = function!(
    "verify_scan",
    NoWrites,
    "#!lua flags=no-writes",
    "verify_scan"
);
/// Rows as verify reads them (`verify.lua`).
pub(crate) static VERIFY_ROWS: Script = function!(
    "verify_rows",
    NoWrites,
    "#!lua flags=no-writes",
    "verify_rows"
);
/// Index entries rows call for (`verify.lua`).
pub(crate) static VERIFY_PROBE: Script = function!(
    "verify_probe",
    NoWrites,
    "#!lua flags=no-writes",
    "verify_probe"
);
/// Re-indexes one unchanged row (`verify.lua`).
pub(crate) static REPAIR_REINDEX: Script =
    function!("repair_reindex", Write, "#!lua", "repair_reindex");
/// Removes an entry no row claims (`verify.lua`).
pub(crate) static REPAIR_UNINDEX: Script = function!(
    "repair_unindex",
    AllowOom,
    "#!lua flags=allow-oom",
    "repair_unindex"
);
/// Unlists a member whose row is gone (`verify.lua`).
pub(crate) static REPAIR_UNLIST: Script = function!(
    "repair_unlist",
    AllowOom,
    "#!lua flags=allow-oom",
    "repair_unlist"
);

/// Sets or removes a live row's deadline (`expiry.lua`).
pub(crate) static EXPIRE: Script = function!("expire", Write, "#!lua", "expire_main");
/// Reads a row's time to live (`expiry.lua`).
pub(crate) static TTL: Script = function!("ttl", NoWrites, "#!lua flags=no-writes", "ttl_main");
/// Reclaims expired rows (`expiry.lua`); runs under OOM, since it frees
/// memory.
pub(crate) static SWEEP: Script =
    function!("sweep", AllowOom, "#!lua flags=allow-oom", "sweep_main");

/// Every function of the library (for tests and tools).
pub static ALL: [&Script; 27] = [
    &SAVE,
    &COMMIT,
    &DELETE_GRAPH,
    &LOCK,
    &UNLOCK,
    &DELETE,
    &GET,
    &QUERY,
    &QUERY_DELETE,
    &VERIFY_SCAN,
    &VERIFY_ROWS,
    &VERIFY_PROBE,
    &REPAIR_REINDEX,
    &REPAIR_UNINDEX,
    &REPAIR_UNLIST,
    &EXPIRE,
    &TTL,
    &SWEEP,
    &STRUCTURE_READ,
    &UNIQUE_GET,
    &XUNIQ_RESERVE,
    &XUNIQ_COMMIT,
    &XUNIQ_RELEASE,
    &XUNIQ_SETTLE,
    &XUNIQ_PROBE,
    &XSAVE,
    &ID_BLOCK,
];

impl Script {
    /// The function's name in the library (`save`, `query`...), shown by
    /// `explain()`.
    pub fn name(&self) -> &'static str {
        self.name
    }
    /// Its declared flags.
    pub fn flags(&self) -> Flags {
        self.flags
    }
    /// Whether it only reads (so it may run as `FCALL_RO` / `EVALSHA_RO`).
    pub fn is_read_only(&self) -> bool {
        self.flags == Flags::NoWrites
    }
    /// The name `FCALL` calls: `rom_<library hash>_<name>`.
    pub fn function_name(&self) -> &str {
        self.function
            .get_or_init(|| format!("{}{}", library().prefix, self.name))
    }
    /// The function packaged as one script (the library, then a call of its
    /// entry), for the `EVALSHA` fallback.
    pub fn source(&self) -> &'static str {
        self.eval_source
    }
    /// The SHA1 that EVALSHA names the script packaging by.
    pub fn sha(&self) -> &str {
        self.sha
            .get_or_init(|| redis::Script::new(self.eval_source).get_hash().to_owned())
    }
}

/// The library as `FUNCTION LOAD` takes it, and its function-name prefix.
pub(crate) struct Library {
    /// `rom_<hash>_`
    pub(crate) prefix: String,
    /// `#!lua name=rom_<hash>`, the body, then the registration call.
    pub(crate) source: String,
}

/// The library, built once.
pub(crate) fn library() -> &'static Library {
    static LIB: OnceLock<Library> = OnceLock::new();
    LIB.get_or_init(|| {
        let hash = redis::Script::new(LIBRARY_BODY).get_hash().to_owned();
        let name = format!("rom_{}", &hash[..16]);
        Library {
            prefix: format!("{name}_"),
            source: format!("#!lua name={name}\n{LIBRARY_BODY}\nregister('{name}_')\n"),
        }
    })
}

/// The library's name on the server (`rom_<hash>`), e.g. to `FUNCTION DELETE`
/// an old version after a deploy.
///
/// ```
/// assert!(rom_dsl::library::library_name().starts_with("rom_"));
/// ```
pub fn library_name() -> &'static str {
    let p = &library().prefix;
    &p[..p.len() - 1]
}

/// The `FUNCTION LOAD` command that installs the library (rom sends it by
/// itself when a call finds the library missing; this is for deploy tools
/// that want to install it ahead of time).
///
/// ```
/// let cmd = rom_dsl::library::load_command();
/// assert!(!cmd.get_packed_command().is_empty());
/// ```
pub fn load_command() -> redis::Cmd {
    let mut c = redis::cmd("FUNCTION");
    c.arg("LOAD").arg(&library().source);
    c
}

static EVAL_ONLY: AtomicBool = AtomicBool::new(false);

/// Runs rom's server code as scripts (`EVALSHA`, with `EVAL` after a script
/// cache flush) instead of a function library, for the rest of the process.
/// rom switches by itself when a server refuses `FUNCTION LOAD`; call this
/// (or set `ROM_EVAL_SCRIPTS=1` in the environment) where functions are not
/// wanted at all, or to measure the difference.
///
/// ```
/// rom_dsl::library::use_eval_scripts(false); // the default: functions
/// ```
pub fn use_eval_scripts(on: bool) {
    EVAL_ONLY.store(on, Ordering::Relaxed);
}

/// Whether calls go through `EVALSHA` rather than `FCALL`: after
/// [`use_eval_scripts`], after a server refused the library, or when the
/// environment variable `ROM_EVAL_SCRIPTS` is `1` (read once).
pub(crate) fn eval_only() -> bool {
    static ENV: OnceLock<bool> = OnceLock::new();
    EVAL_ONLY.load(Ordering::Relaxed)
        || *ENV.get_or_init(|| std::env::var_os("ROM_EVAL_SCRIPTS").is_some_and(|v| v == "1"))
}

/// What `FUNCTION LOAD` answered, for the call that needed the library.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Loaded {
    /// The library is there now (loaded, or loaded already by another
    /// client): send the call again.
    Yes,
    /// The server refused for now (a read-only replica, out of memory, a
    /// server still loading...): send this call as a script (`EVAL`), and
    /// try loading again next time.
    NotNow,
    /// The server will never load it (an ACL without `FUNCTION LOAD`, a
    /// server without functions): rom uses scripts from now on.
    Never,
}

/// Reads `FUNCTION LOAD`'s reply. Only a refusal that will not change (the
/// user may not load functions, the server has no `FUNCTION` command) turns
/// functions off for the process; any other refusal affects this call only.
pub(crate) fn loaded(reply: redis::RedisResult<redis::Value>) -> Loaded {
    let refused = match reply {
        Ok(v) => v.extract_error().err(),
        Err(e) => Some(e),
    };
    let Some(e) = refused else {
        return Loaded::Yes;
    };
    let text = e.to_string();
    if text.contains("already exists") {
        return Loaded::Yes;
    }
    let permanent = e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoPerm)
        || e.code() == Some("NOPERM")
        || text.contains("unknown command")
        || text.contains("unknown subcommand");
    if permanent {
        use_eval_scripts(true);
        Loaded::Never
    } else {
        Loaded::NotNow
    }
}

/// Whether an error says the library's function is not on the server.
pub(crate) fn is_missing_function(e: &redis::RedisError) -> bool {
    e.to_string().contains("Function not found")
}

/// Whether an error reply says the library's function is not on the server.
pub(crate) fn is_missing_function_reply(v: &redis::Value) -> bool {
    matches!(v, redis::Value::ServerError(e)
        if e.details().is_some_and(|d| d.contains("Function not found")))
}
