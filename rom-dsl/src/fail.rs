//! Fail points: named places between the calls of a protocol that takes
//! several (unique values across partitions, `plans/xuniq.rs`), where a test
//! stops or stalls the process to check what a crash there leaves behind.
//! Compiled only with the `fail-points` feature (the `testing` feature of
//! `rom` turns it on); without it [`fail_point`] is an empty inline function.
//!
//! A point fires when its name is the armed one: armed in a thread with
//! [`arm`] (it fires once, in that thread only, so a test can stall one
//! writer among many), or for a child process by the environment,
//! `ROM_FAIL_AT=<name>` with `ROM_FAIL_ACTION` one of `abort` (the default:
//! the process dies on the spot, as in a crash), `pause:<file>` (creates the
//! file, then sleeps for ever: the test kills the server, then the process)
//! or `sleep:<ms>` (a stalled client that then goes on).

#[cfg(feature = "fail-points")]
mod imp {
    use std::cell::RefCell;
    use std::time::Duration;

    /// What a fail point does when it fires.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Action {
        /// `std::process::abort()`.
        Abort,
        /// Creates the file, then sleeps until the process is killed.
        Pause(String),
        /// Sleeps this long, then goes on.
        Sleep(Duration),
    }

    thread_local! {
        static ARMED: RefCell<Option<(String, Action)>> = const { RefCell::new(None) };
    }

    /// Arms the point `name` for the calling thread, to fire once there
    /// (`None` disarms).
    pub fn arm(point: Option<(&str, Action)>) {
        ARMED.with(|a| *a.borrow_mut() = point.map(|(n, a)| (n.to_owned(), a)));
    }

    fn from_env(name: &str) -> Option<Action> {
        if std::env::var("ROM_FAIL_AT").ok()? != name {
            return None;
        }
        let a = std::env::var("ROM_FAIL_ACTION").unwrap_or_default();
        Some(if let Some(f) = a.strip_prefix("pause:") {
            Action::Pause(f.to_owned())
        } else if let Some(ms) = a.strip_prefix("sleep:") {
            Action::Sleep(Duration::from_millis(ms.parse().unwrap_or(0)))
        } else {
            Action::Abort
        })
    }

    /// Fires the point `name` if it is armed.
    pub fn fail_point(name: &str) {
        let armed = ARMED.with(|a| {
            let mut g = a.borrow_mut();
            if g.as_ref().is_some_and(|(n, _)| n == name) {
                g.take().map(|(_, a)| a)
            } else {
                None
            }
        });
        match armed.or_else(|| from_env(name)) {
            None => {}
            Some(Action::Abort) => std::process::abort(),
            Some(Action::Pause(file)) => {
                let _ = std::fs::write(file, name);
                loop {
                    std::thread::sleep(Duration::from_secs(60));
                }
            }
            Some(Action::Sleep(d)) => std::thread::sleep(d),
        }
    }
}

#[cfg(feature = "fail-points")]
pub use imp::{Action, arm, fail_point};

/// Without the `fail-points` feature: nothing.
#[cfg(not(feature = "fail-points"))]
#[inline(always)]
pub(crate) fn fail_point(_name: &str) {}
