//! `rom::testing` servers die with the process that started them, however it
//! ends: a child process (this test binary, re-run with an environment
//! variable) starts a `RedisServer` and a `RedisCluster`, reports their pids
//! and directories, and is killed with `SIGKILL` (no destructor runs) or
//! `SIGTERM`; every server process must then be gone and every directory
//! removed.
#![cfg(unix)]
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rom::testing::{RedisCluster, RedisServer};

/// Set in the child: run [`child_starts_servers_and_waits`] for real.
const CHILD_ENV: &str = "ROM_TESTING_LEAKS_CHILD";
/// Prefix of the lines the child prints for the parent.
const MARK: &str = "ROM-LEAK";
/// How long the parent gives the supervisors to clean up (generous: this is
/// a hang guard, not a speed requirement).
const CLEANUP_LIMIT: Duration = Duration::from_secs(60);

/// The child's side. As a plain test (without the variable) it does nothing.
#[test]
fn child_starts_servers_and_waits() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let server = RedisServer::start().expect("start redis-server");
    let cluster = RedisCluster::start(2).expect("start cluster");
    println!("{MARK} pid {}", server.pid());
    println!("{MARK} dir {}", server.dir().display());
    for pid in cluster.pids() {
        println!("{MARK} pid {pid}");
    }
    for dir in cluster.dirs() {
        println!("{MARK} dir {}", dir.display());
    }
    println!("{MARK} ready");
    // Waits to be killed; gives up after a while if the parent is gone.
    std::thread::sleep(Duration::from_secs(300));
}

/// What the child reported.
struct Started {
    child: Child,
    pids: Vec<u32>,
    dirs: Vec<PathBuf>,
}

/// Kills whatever is still alive when the test fails, so that a failing run
/// leaves nothing behind either.
impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        for &pid in &self.pids {
            if is_redis_server(pid) {
                let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            }
        }
        for dir in &self.dirs {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn start_child() -> Started {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "child_starts_servers_and_waits",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut started = Started {
        child,
        pids: Vec::new(),
        dirs: Vec::new(),
    };
    for line in stdout.lines() {
        let line = line.unwrap();
        // libtest may have printed `test name ... ` on the same line first.
        let Some((_, rest)) = line.split_once(MARK) else {
            continue;
        };
        match rest.trim().split_once(' ') {
            Some(("pid", pid)) => started.pids.push(pid.parse().unwrap()),
            Some(("dir", dir)) => started.dirs.push(PathBuf::from(dir)),
            _ if rest.trim() == "ready" => break,
            _ => panic!("unexpected line from the child: {line}"),
        }
    }
    assert_eq!(started.pids.len(), 3, "the child did not start its servers");
    assert_eq!(started.dirs.len(), 3);
    for &pid in &started.pids {
        assert!(is_redis_server(pid), "{pid} is not a running redis-server");
    }
    for dir in &started.dirs {
        assert!(dir.is_dir(), "{} does not exist", dir.display());
    }
    started
}

/// Whether `pid` is a live (not zombie) `redis-server` process.
fn is_redis_server(pid: u32) -> bool {
    let proc_dir = PathBuf::from(format!("/proc/{pid}"));
    if Path::new("/proc/self").exists() {
        let Ok(stat) = std::fs::read_to_string(proc_dir.join("stat")) else {
            return false;
        };
        // `pid (comm) state ...`: the state follows the last ')'.
        let state = stat.rsplit_once(')').map(|(_, r)| r.trim_start());
        if state.is_some_and(|s| s.starts_with('Z')) {
            return false;
        }
        let cmdline = std::fs::read(proc_dir.join("cmdline")).unwrap_or_default();
        return String::from_utf8_lossy(&cmdline).contains("redis-server");
    }
    // Without /proc: ask ps.
    Command::new("ps")
        .args(["-o", "command=", "-p", &pid.to_string()])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("redis-server"))
}

/// Polls until every server is gone and every directory removed.
fn assert_cleaned_up(started: &Started, how: &str) {
    let deadline = Instant::now() + CLEANUP_LIMIT;
    loop {
        let alive: Vec<u32> = started
            .pids
            .iter()
            .copied()
            .filter(|&p| is_redis_server(p))
            .collect();
        let left: Vec<&PathBuf> = started.dirs.iter().filter(|d| d.exists()).collect();
        if alive.is_empty() && left.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "after {how} of the owner, after {CLEANUP_LIMIT:?}: servers still running {alive:?}, directories left {left:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn servers_die_when_the_owner_is_killed() {
    let mut started = start_child();
    started.child.kill().unwrap(); // SIGKILL
    started.child.wait().unwrap();
    assert_cleaned_up(&started, "SIGKILL");
}

#[test]
fn servers_die_when_the_owner_is_terminated() {
    let mut started = start_child();
    // The child is ours and not reaped yet, so its pid cannot have been reused.
    let status = Command::new("kill")
        .args(["-TERM", &started.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = started.child.wait().unwrap();
    assert!(
        !exit.success(),
        "the child was meant to die of SIGTERM: {exit}"
    );
    assert_cleaned_up(&started, "SIGTERM");
}
