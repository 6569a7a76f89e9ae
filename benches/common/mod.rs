//! What several benches share: the standard workload's user, as rom stores
//! it, and the server's CPU time. (A folder of `benches/` without a
//! `main.rs` is not a bench of its own.)
#![allow(dead_code)]

use rom::prelude::*;

/// The workload's user, as rom stores it (`../shared/bench/WORKLOAD.md`).
#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = users)]
pub(crate) struct User {
    #[rom(primary_key)]
    pub(crate) id: Option<u64>,
    #[rom(unique(case_insensitive))]
    pub(crate) email: String,
    #[rom(index(text))]
    pub(crate) name: String,
    #[rom(index(numeric))]
    pub(crate) age: i32,
    #[rom(index(numeric))]
    pub(crate) score: f64,
    /// Seconds since 1970 (UTC).
    pub(crate) created: i64,
    pub(crate) bio: String,
}

/// used_cpu_user + used_cpu_sys of the server, in seconds (INFO cpu).
pub(crate) fn server_cpu(conn: &mut redis::Connection) -> Result<f64, Box<dyn std::error::Error>> {
    let info: String = redis::cmd("INFO").arg("cpu").query(conn)?;
    let get = |f: &str| -> f64 {
        info.lines()
            .find_map(|l| l.strip_prefix(f).and_then(|r| r.strip_prefix(':')))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0.0)
    };
    Ok(get("used_cpu_user") + get("used_cpu_sys"))
}
