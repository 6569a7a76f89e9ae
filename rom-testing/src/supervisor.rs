//! A `redis-server` that dies with its owner.
//!
//! The helpers of this module must never leave a server running, even when
//! the test process that started it is killed (`SIGKILL` runs no destructor)
//! — and without `unsafe` (no `prctl(PR_SET_PDEATHSIG)`, no signals sent by
//! pid from Rust). So each server is started by a small POSIX shell script,
//! the *supervisor*, whose standard input is a pipe whose write end only the
//! owner holds:
//!
//! 1. the supervisor starts `redis-server` in the background, prints
//!    `pid <pid>` and starts a *watcher* that reads its standard input;
//! 2. when the watcher reads end-of-file (the owner dropped the handle, or
//!    died in any way: the kernel closes its end of the pipe) or the line
//!    `stop`, it sends `SIGKILL` to the server;
//! 3. the supervisor reaps the server (it is its parent, so the pid cannot
//!    be reused before that), prints `exited <status>`, waits for
//!    end-of-file on its input if it has not seen it yet, removes the
//!    server's directory and exits.
//!
//! The supervisor and the watcher ignore `SIGINT`, `SIGTERM` and `SIGHUP`,
//! so a Ctrl-C or a signal to the whole process group cannot kill them
//! before they have cleaned up: only the pipe (or `SIGKILL`) ends them.
//! [`Supervised`]'s `Drop` closes the pipe and waits for the supervisor,
//! which takes a few milliseconds.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::{POLL_INTERVAL, TestingError};

/// The supervisor script; `$1` is the directory to remove, the remaining
/// arguments are the server's command line.
///
/// The watcher reads a copy (fd 3) of the standard input: a shell gives a
/// background command `/dev/null` as its standard input.
const SCRIPT: &str = r#"dir=$1
shift
trap '' INT TERM HUP PIPE
"$@" </dev/null >/dev/null 2>&1 &
server=$!
echo "pid $server"
exec 3<&0
(
  while read -r line; do
    if [ "$line" = stop ]; then break; fi
  done
  kill -9 "$server"
) <&3 >/dev/null 2>&1 &
exec 3<&-
watcher=$!
wait "$server"
echo "exited $?"
kill -9 "$watcher" 2>/dev/null
wait "$watcher" 2>/dev/null
while read -r line; do :; done
rm -rf "$dir"
"#;

/// The shell that runs [`SCRIPT`].
const SHELL: &str = "/bin/sh";

/// How long [`Supervised::stop`] waits for the server to be reaped.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// A `redis-server` process started under a supervisor (see the module
/// documentation). Dropping it kills the server, reaps it and removes its
/// directory.
#[derive(Debug)]
pub(crate) struct Supervised {
    supervisor: Child,
    /// The write end of the supervisor's standard input: the lifeline.
    lifeline: Option<ChildStdin>,
    /// The pid of `redis-server` itself.
    pid: u32,
    /// How the server exited (`exited <status>` from the supervisor), once it has.
    exit: Arc<Mutex<Option<String>>>,
}

impl Supervised {
    /// Starts `binary args...` under a supervisor that removes `dir` once the
    /// owner lets go.
    pub(crate) fn spawn(
        binary: &Path,
        args: &[OsString],
        dir: &Path,
    ) -> Result<Self, TestingError> {
        let mut supervisor = Command::new(SHELL)
            .arg("-c")
            .arg(SCRIPT)
            .arg("rom-redis-supervisor")
            .arg(dir)
            .arg(binary)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let lifeline = supervisor.stdin.take();
        let Some(stdout) = supervisor.stdout.take() else {
            return Err(unexpected(&mut supervisor, "no stdout pipe"));
        };
        let mut stdout = BufReader::new(stdout);
        let mut first = String::new();
        stdout.read_line(&mut first)?;
        let Some(pid) = first
            .trim_end()
            .strip_prefix("pid ")
            .and_then(|p| p.parse().ok())
        else {
            let what = format!("the supervisor said {first:?} instead of `pid <n>`");
            return Err(unexpected(&mut supervisor, &what));
        };
        let exit = Arc::new(Mutex::new(None));
        let seen = Arc::clone(&exit);
        let reader = std::thread::Builder::new()
            .name(format!("rom-redis-{pid}"))
            .spawn(move || {
                // Ends at end-of-file, when the supervisor exits.
                for line in stdout.lines() {
                    let Ok(line) = line else { break };
                    if let Some(status) = line.strip_prefix("exited ") {
                        *seen.lock().unwrap_or_else(PoisonError::into_inner) =
                            Some(status.to_owned());
                    }
                }
            });
        let process = Self {
            supervisor,
            lifeline,
            pid,
            exit,
        };
        // On failure, dropping `process` stops the server again.
        reader?;
        Ok(process)
    }

    /// The pid of the `redis-server` process.
    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    /// The pid of the supervisor (`/bin/sh`) process.
    #[cfg(test)]
    pub(crate) fn supervisor_pid(&self) -> u32 {
        self.supervisor.id()
    }

    /// `Some(description)` once the server has exited, e.g. `"exit status 1"`
    /// or `"killed by signal 9"`.
    pub(crate) fn exited(&self) -> Option<String> {
        let status = self
            .exit
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()?;
        Some(match status.parse::<i32>() {
            Ok(code) if code > 128 => format!("killed by signal {}", code - 128),
            Ok(127) => "exit status 127: the binary could not be run".to_owned(),
            _ => format!("exit status {status}"),
        })
    }

    /// Kills the server (`SIGKILL`) and waits until it has been reaped. The
    /// directory stays until the value is dropped.
    pub(crate) fn stop(&mut self) -> Result<(), TestingError> {
        if self.exited().is_some() {
            return Ok(());
        }
        if let Some(lifeline) = self.lifeline.as_mut() {
            // A closed pipe means the supervisor is gone, and the server with it.
            let _ = lifeline
                .write_all(b"stop\n")
                .and_then(|()| lifeline.flush());
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        while self.exited().is_none() {
            if self.supervisor.try_wait()?.is_some() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(TestingError::StartFailed {
                    what: format!(
                        "redis-server {} did not stop within {STOP_TIMEOUT:?}",
                        self.pid
                    ),
                    log_tail: String::new(),
                });
            }
            std::thread::sleep(POLL_INTERVAL);
        }
        Ok(())
    }
}

/// Ends a supervisor that misbehaved, and describes the failure.
fn unexpected(supervisor: &mut Child, what: &str) -> TestingError {
    let _ = supervisor.kill();
    let _ = supervisor.wait();
    TestingError::StartFailed {
        what: format!("{SHELL} could not supervise redis-server: {what}"),
        log_tail: String::new(),
    }
}

impl Drop for Supervised {
    fn drop(&mut self) {
        // Closing the pipe is the signal: the supervisor kills and reaps the
        // server, removes the directory and exits.
        drop(self.lifeline.take());
        let _ = self.supervisor.wait();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn alive(pid: u32) -> bool {
        Command::new("kill")
            .args(["-0", &pid.to_string()])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    #[test]
    fn drop_kills_the_process_and_removes_the_dir() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("file"), b"x").unwrap();
        let process =
            Supervised::spawn(Path::new("/bin/sleep"), &["1000".into()], dir.path()).unwrap();
        let (pid, sh) = (process.pid(), process.supervisor_pid());
        assert_ne!(pid, sh);
        assert!(alive(pid));
        assert_eq!(process.exited(), None);
        drop(process);
        assert!(!alive(pid), "{pid} survived");
        assert!(!dir.path().exists());
    }

    #[test]
    fn stop_keeps_the_dir_and_reports_the_signal() {
        let dir = tempfile::tempdir().unwrap();
        let mut process =
            Supervised::spawn(Path::new("/bin/sleep"), &["1000".into()], dir.path()).unwrap();
        let pid = process.pid();
        process.stop().unwrap();
        assert!(!alive(pid));
        assert_eq!(process.exited().as_deref(), Some("killed by signal 9"));
        assert!(dir.path().exists());
        process.stop().unwrap();
        drop(process);
        assert!(!dir.path().exists());
    }

    #[test]
    fn an_early_exit_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let process = Supervised::spawn(
            Path::new("/bin/sh"),
            &["-c".into(), "exit 3".into()],
            dir.path(),
        )
        .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while process.exited().is_none() && Instant::now() < deadline {
            std::thread::sleep(POLL_INTERVAL);
        }
        assert_eq!(process.exited().as_deref(), Some("exit status 3"));
        // The directory (and so the log) stays until the owner lets go.
        assert!(dir.path().exists());
    }
}
