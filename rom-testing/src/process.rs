//! Helpers shared by [`RedisServer`](super::RedisServer) and
//! [`RedisCluster`](super::RedisCluster): temporary directories, command
//! lines, log tails, admin connections and the readiness probe.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use redis::{ConnectionAddr, IntoConnectionInfo, RedisConnectionInfo};
use tempfile::TempDir;

use super::supervisor::Supervised;
use super::{LOG_TAIL_LINES, POLL_INTERVAL, READY_TIMEOUT, TestingError};

/// A temporary directory whose unix socket path stays below the ~104 byte
/// `sun_path` limit even when `TMPDIR` is long.
pub(super) fn make_tempdir(prefix: &str) -> Result<(TempDir, PathBuf), TestingError> {
    let dir = tempfile::Builder::new().prefix(prefix).tempdir()?;
    let dir = if dir.path().as_os_str().len() > 80 {
        tempfile::Builder::new().prefix(prefix).tempdir_in("/tmp")?
    } else {
        dir
    };
    let path = std::path::absolute(dir.path())?;
    Ok((dir, path))
}

/// Starts `redis-server` with `args` under a supervisor (see
/// [`Supervised`]) that removes `dir` once the owner lets go.
pub(super) fn spawn(
    binary: &Path,
    args: &[OsString],
    dir: &Path,
) -> Result<Supervised, TestingError> {
    Supervised::spawn(binary, args, dir)
}

pub(super) fn base_args(dir: &Path, log: &Path) -> Vec<OsString> {
    let mut args: Vec<OsString> = Vec::new();
    for (flag, value) in [
        ("--save", ""),
        ("--appendonly", "no"),
        ("--daemonize", "no"),
    ] {
        args.push(flag.into());
        args.push(value.into());
    }
    args.push("--dir".into());
    args.push(dir.into());
    args.push("--logfile".into());
    args.push(log.into());
    args
}

/// The last [`LOG_TAIL_LINES`] lines of a log file, or a note why there are none.
pub(super) fn log_tail(path: &Path) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let lines: Vec<&str> = text.lines().collect();
            let start = lines.len().saturating_sub(LOG_TAIL_LINES);
            if lines.is_empty() {
                format!("(log file {} is empty)", path.display())
            } else {
                lines[start..].join("\n")
            }
        }
        Err(err) => format!("(cannot read log file {}: {err})", path.display()),
    }
}

/// A client that does not send `CLIENT SETINFO` on connect, so that the
/// helpers' own connections leave no trace in `INFO commandstats`.
pub(super) fn quiet_client(addr: ConnectionAddr) -> Result<redis::Client, TestingError> {
    let info = addr
        .into_connection_info()?
        .set_redis_settings(RedisConnectionInfo::default().set_skip_set_lib_name());
    Ok(redis::Client::open(info)?)
}

pub(super) fn admin_connection(client: &redis::Client) -> Result<redis::Connection, TestingError> {
    let con = client.get_connection_with_timeout(Duration::from_secs(2))?;
    con.set_read_timeout(Some(Duration::from_secs(10)))?;
    con.set_write_timeout(Some(Duration::from_secs(10)))?;
    Ok(con)
}

/// `field:value` lookup in the text returned by `INFO` or `CLUSTER INFO`.
pub(super) fn info_field<'a>(info: &'a str, field: &str) -> Option<&'a str> {
    info.lines().find_map(|line| {
        line.trim_end()
            .strip_prefix(field)
            .and_then(|rest| rest.strip_prefix(':'))
    })
}

pub(super) fn parse_error(what: &'static str, text: String) -> TestingError {
    TestingError::Redis(redis::RedisError::from((
        redis::ErrorKind::Parse,
        what,
        text,
    )))
}

/// Asks a freshly started server for its pid. `Ok(None)` means "not ready
/// yet" (socket missing, connection refused, `LOADING`, ...).
fn probe_pid(client: &redis::Client) -> Option<u32> {
    let mut con = client
        .get_connection_with_timeout(Duration::from_millis(500))
        .ok()?;
    con.set_read_timeout(Some(Duration::from_secs(1))).ok()?;
    let info: String = redis::cmd("INFO")
        .arg("server")
        .arg("persistence")
        .query(&mut con)
        .ok()?;
    // a server still loading its data (an AOF after a restart) answers INFO
    // but refuses commands: not ready yet
    if info_field(&info, "loading").is_some_and(|l| l != "0") {
        return None;
    }
    info_field(&info, "process_id")?.parse().ok()
}

/// How [`wait_ready`] ended.
pub(super) enum WaitOutcome {
    /// The server answers.
    Ready,
    /// The server exited (how, in words).
    Exited(String),
    /// The server did not answer in time.
    TimedOut,
}

/// Polls until the server started as `process` answers on `client`.
///
/// The answer must come from *this* process (its `process_id` must match):
/// with TCP ports, another process may have grabbed the port in between.
pub(super) fn wait_ready(process: &Supervised, client: &redis::Client) -> WaitOutcome {
    let deadline = Instant::now() + READY_TIMEOUT;
    let pid = process.pid();
    loop {
        if let Some(status) = process.exited() {
            return WaitOutcome::Exited(status);
        }
        if probe_pid(client) == Some(pid) {
            return WaitOutcome::Ready;
        }
        if Instant::now() >= deadline {
            return WaitOutcome::TimedOut;
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// Percent-encodes a path for use in a `redis+unix://` URL.
pub(super) fn encode_path(path: &Path) -> String {
    let mut out = String::new();
    for &byte in path.as_os_str().as_encoded_bytes() {
        if byte.is_ascii_alphanumeric() || b"/-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}
