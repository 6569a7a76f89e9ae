//! Unique columns of partitioned models, claimed across partitions
//! (`plans/xuniq.rs`, `xuniq.lua`): no two rows ever hold one value, on a
//! single server and a cluster, under random operations against an
//! in-memory model, racing writers, a stalled writer, and a client or a
//! server killed between any two calls of a write.
//!
//! The kill tests run this binary again as a child (`child_write`, ignored
//! when run directly) with a fail point armed by the environment
//! (`ROM_FAIL_AT`), then check what the crash left: at most one row holds
//! the value, the value can be claimed after the lease exactly when no row
//! holds it, and verify finds nothing wrong.
#![allow(clippy::unwrap_used, missing_docs)]

mod random;
use random::{Rng, seed};
use rom::prelude::*;
use rom::testing::{RedisCluster, RedisServer};
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = members, partition(by = id, buckets = 8))]
struct Member {
    #[rom(primary_key)]
    id: u64,
    #[rom(unique)]
    email: String,
    #[rom(unique(case_insensitive))]
    handle: Option<String>,
}

fn m(id: u64, email: &str) -> Member {
    Member {
        id,
        email: email.into(),
        handle: None,
    }
}

/// Every test of this binary uses one short lease (it is process-wide).
const LEASE: Duration = Duration::from_millis(300);

fn short_lease() {
    rom::placement::set_claim_lease(LEASE);
}

/// Every row, by key.
fn all_rows<C: rom::connection::Connection + ?Sized>(c: &mut C) -> BTreeMap<u64, Member> {
    members::table
        .across_partitions()
        .load(c)
        .unwrap()
        .into_iter()
        .map(|r| (r.id, (*r).clone()))
        .collect()
}

/// The rows holding `email`.
fn holders<C: rom::connection::Connection + ?Sized>(c: &mut C, email: &str) -> Vec<u64> {
    all_rows(c)
        .values()
        .filter(|r| r.email == email)
        .map(|r| r.id)
        .collect()
}

fn is_violation(e: &rom::Error, column: &str) -> bool {
    matches!(e, rom::Error::UniqueViolation { column: c, .. } if c == column)
}

#[test]
fn a_value_has_one_owner_and_is_freed_by_its_owner() {
    short_lease();
    let server = RedisServer::start().unwrap();
    let mut c = server.connection().unwrap();
    m(1, "a@x").insert(&mut c).unwrap();
    // rows 1 and 2 fall in different buckets, so only the claim stops this
    let e = m(2, "a@x").insert(&mut c).unwrap_err();
    assert!(is_violation(&e, "email"), "{e}");
    assert!(Member::get(&mut c, 2).unwrap().is_none());
    m(2, "b@x").insert(&mut c).unwrap();
    // an update to a held value is refused; to a free one, it moves
    let mut r = Member::get(&mut c, 2).unwrap().unwrap();
    r.email = "a@x".into();
    assert!(is_violation(&r.save(&mut c).unwrap_err(), "email"));
    let mut r = Member::get(&mut c, 2).unwrap().unwrap();
    r.email = "c@x".into();
    r.save(&mut c).unwrap();
    // the value it gave up is free again (its stale claim is taken over)
    m(3, "b@x").insert(&mut c).unwrap();
    // a deleted row's values are free
    Member::delete_many(&mut c, &[1]).unwrap();
    m(4, "a@x").insert(&mut c).unwrap();
    // case-insensitive: one owner for every case
    let mut h = m(5, "h@x");
    h.handle = Some("Ann".into());
    h.clone().insert(&mut c).unwrap();
    let mut h2 = m(6, "h2@x");
    h2.handle = Some("aNN".into());
    assert!(is_violation(
        &h2.clone().insert(&mut c).unwrap_err(),
        "handle"
    ));
    // an upsert of the owner keeps it
    h.email = "h3@x".into();
    h.clone().upsert(&mut c).unwrap();
    assert_eq!(holders(&mut c, "h3@x"), vec![5]);
    // a query across partitions finds the owner by the value
    let found = members::table
        .across_partitions()
        .filter(members::email.eq("a@x"))
        .load(&mut c)
        .unwrap();
    assert_eq!(found.iter().map(|r| r.id).collect::<Vec<_>>(), vec![4]);
    assert!(rom::verify::verify::<Member, _>(&mut c).unwrap().is_clean());
}

#[test]
fn an_insert_takes_three_calls() {
    short_lease();
    let server = RedisServer::start().unwrap();
    let mut c = rom::testing::CountingConnection::new(server.connection().unwrap());
    // (the first call loads rom's library)
    m(7, "w@x").insert(&mut c).unwrap();
    c.reset();
    m(1, "a@x").insert(&mut c).unwrap();
    assert_eq!(c.round_trips(), 3, "reserve, save, commit");
    c.reset();
    let mut r = Member::get(&mut c, 1).unwrap().unwrap();
    c.reset();
    r.email = "b@x".into();
    r.save(&mut c).unwrap();
    assert_eq!(c.round_trips(), 3);
    // a save that claims nothing is one call
    let mut r = Member::get(&mut c, 1).unwrap().unwrap();
    c.reset();
    r.handle = None;
    r.email = "b@x".into();
    let _ = r.save(&mut c);
    assert!(c.round_trips() <= 1);
    let p = m(2, "z@x").insert_plan().unwrap();
    let text = p.explain();
    assert!(
        text.contains("xuniq_reserve") && text.contains("claim email"),
        "{text}"
    );
}

/// What the in-memory model expects of a write: `Ok`, or the column a
/// violation names.
fn expect_write(model: &BTreeMap<u64, Member>, row: &Member, insert: bool) -> Result<(), String> {
    if insert && model.contains_key(&row.id) {
        return Err("id".into());
    }
    // the columns are checked in declaration order
    let others = || model.values().filter(|o| o.id != row.id);
    if others().any(|o| o.email == row.email) {
        return Err("email".into());
    }
    let fold = |h: &Option<String>| h.as_ref().map(|s| s.to_lowercase());
    if row.handle.is_some() && others().any(|o| fold(&o.handle) == fold(&row.handle)) {
        return Err("handle".into());
    }
    Ok(())
}

fn random_ops<C: rom::connection::Connection + ?Sized>(c: &mut C, seed: u64, steps: usize) {
    let mut rng = Rng(seed);
    let mut model: BTreeMap<u64, Member> = BTreeMap::new();
    let emails = ["a@x", "b@x", "c@x", "d@x"];
    let handles = [None, Some("H1"), Some("h1"), Some("h2")];
    for step in 0..steps {
        let id = 1 + rng.below(6);
        let row = Member {
            id,
            email: emails[rng.below(4) as usize].into(),
            handle: handles[rng.below(4) as usize].map(Into::into),
        };
        let ctx = format!("seed {seed} step {step}");
        let (what, got, want) = match rng.below(4) {
            0 => (
                "insert",
                row.clone().insert(c).map(|_| ()),
                expect_write(&model, &row, true),
            ),
            1 => (
                "upsert",
                row.clone().upsert(c).map(|_| ()),
                expect_write(&model, &row, false),
            ),
            2 => match Member::get(c, id).unwrap() {
                Some(mut r) => {
                    r.email = row.email.clone();
                    r.handle = row.handle.clone();
                    ("update", r.save(c), expect_write(&model, &row, false))
                }
                None => continue,
            },
            _ => {
                let n = Member::delete_many(c, &[id]).unwrap();
                assert_eq!(n, u64::from(model.remove(&id).is_some()), "{ctx}: delete");
                continue;
            }
        };
        match (&got, &want) {
            (Ok(()), Ok(())) => {
                model.insert(id, row.clone());
            }
            (Err(e), Err(col)) => assert!(
                is_violation(e, col),
                "{ctx}: {what} {row:?}: {e}, want {col}"
            ),
            _ => panic!("{ctx}: {what} {row:?}: got {got:?}, want {want:?}"),
        }
        assert_eq!(all_rows(c), model, "{ctx}: after {what} {row:?}");
        let report = rom::verify::verify::<Member, _>(c).unwrap();
        assert!(report.is_clean(), "{ctx}: {report:?}");
        let claims = rom::verify::verify_claims::<Member, _>(c).unwrap();
        assert!(claims.is_clean(), "{ctx}: {claims:?}");
        assert_eq!(claims.pending, 0, "{ctx}: {claims:?}");
        let held = model
            .values()
            .map(|r| 1 + u64::from(r.handle.is_some()))
            .sum::<u64>();
        assert_eq!(claims.checked, held, "{ctx}: {claims:?}");
    }
    // stale claims (values given up) go with a repair, and nothing else
    let fixed = rom::verify::repair_claims::<Member, _>(c, rom::Repair::Apply).unwrap();
    let after = rom::verify::verify_claims::<Member, _>(c).unwrap();
    assert_eq!((after.stale, after.repaired), (0, 0), "{fixed:?} {after:?}");
    assert_eq!(all_rows(c), model);
}

#[test]
fn random_writes_match_the_model() {
    short_lease();
    let server = RedisServer::start().unwrap();
    let mut c = server.connection().unwrap();
    let s = seed();
    random_ops(&mut c, s, 300);
}

#[test]
fn random_writes_match_the_model_on_a_cluster() {
    short_lease();
    let cluster = RedisCluster::start(3).unwrap();
    let mut c = cluster.connection().unwrap();
    let s = seed();
    random_ops(&mut c, s, 120);
}

#[test]
fn racing_writers_never_share_a_value() {
    short_lease();
    let server = RedisServer::start().unwrap();
    let emails = ["r1@x", "r2@x", "r3@x"];
    let won: Vec<Vec<(u64, &str)>> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..6u64)
            .map(|t| {
                let server = &server;
                s.spawn(move || {
                    let mut c = server.connection().unwrap();
                    let mut won = Vec::new();
                    for i in 0..40u64 {
                        let id = 1000 * (t + 1) + i;
                        let email = emails[(i % 3) as usize];
                        loop {
                            match m(id, email).insert(&mut c) {
                                Ok(_) => {
                                    won.push((id, email));
                                    break;
                                }
                                Err(rom::Error::UniqueContended { retry_after_ms, .. }) => {
                                    std::thread::sleep(Duration::from_millis(
                                        retry_after_ms.min(20),
                                    ));
                                }
                                Err(e) if is_violation(&e, "email") => break,
                                Err(e) => panic!("{e}"),
                            }
                        }
                        // free the value now and then, so that it is won again
                        if i % 7 == 6
                            && let Some(&(k, _)) = won.last()
                        {
                            Member::delete_many(&mut c, &[k]).unwrap();
                        }
                    }
                    won
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut c = server.connection().unwrap();
    let rows = all_rows(&mut c);
    for e in emails {
        let n = rows.values().filter(|r| r.email == e).count();
        assert!(n <= 1, "{e} held by {n} rows");
    }
    assert!(won.iter().map(Vec::len).sum::<usize>() >= 3);
    assert!(rom::verify::verify::<Member, _>(&mut c).unwrap().is_clean());
}

#[test]
fn a_stalled_writer_is_fenced_and_loses_the_value() {
    short_lease();
    let server = RedisServer::start().unwrap();
    let url = server.url();
    let stalled = std::thread::spawn(move || {
        // this thread's write stalls after its reservation, past the lease
        rom::__private::arm(Some((
            "xuniq:reserved",
            rom::__private::Action::Sleep(LEASE * 8),
        )));
        let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
        m(1, "s@x").insert(&mut c).map(|_| ())
    });
    std::thread::sleep(LEASE * 2);
    let mut c = server.connection().unwrap();
    // past the lease, another row takes the value over
    m(2, "s@x").insert(&mut c).unwrap();
    let r = stalled.join().unwrap();
    // the stalled save was refused (fenced): it started over and found the
    // value held
    assert!(matches!(&r, Err(e) if is_violation(e, "email")), "{r:?}");
    assert_eq!(holders(&mut c, "s@x"), vec![2]);
    assert!(Member::get(&mut c, 1).unwrap().is_none());
}

/// The write a child runs (`ROM_CHILD_OP`) against `ROM_CHILD_URL`.
#[test]
#[ignore = "run by the kill tests as a child process"]
fn child_write() {
    let Ok(url) = std::env::var("ROM_CHILD_URL") else {
        return;
    };
    short_lease();
    let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
    let op = std::env::var("ROM_CHILD_OP").unwrap();
    let r = match op.as_str() {
        "insert" => m(1, "k@x").insert(&mut c).map(|_| ()),
        "update" => {
            let mut r = Member::get(&mut c, 1).unwrap().unwrap();
            r.email = "k@x".into();
            r.save(&mut c)
        }
        // key 1 exists: the save fails after the reservation
        "failing" => m(1, "k@x").insert(&mut c).map(|_| ()),
        // takes over a stale pending claim of row 9
        "takeover" => m(2, "k@x").insert(&mut c).map(|_| ()),
        other => panic!("unknown op {other}"),
    };
    println!("child result: {r:?}");
}

/// Runs `child_write` in a child with `point` armed; `server_kill`: the
/// child pauses there and the server is killed (SIGKILL) and restarted
/// from its append-only file, then the child is killed. Fails when the
/// child does not reach the point.
fn run_child(server: &mut RedisServer, op: &str, point: &str, server_kill: bool) {
    let dir = tempfile_dir();
    let flag = dir.join(format!("paused-{op}-{}", point.replace(':', "-")));
    let _ = std::fs::remove_file(&flag);
    let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
    cmd.args(["child_write", "--exact", "--ignored", "--nocapture"])
        .env("ROM_CHILD_URL", server.url())
        .env("ROM_CHILD_OP", op)
        .env("ROM_FAIL_AT", point)
        .env(
            "ROM_FAIL_ACTION",
            if server_kill {
                format!("pause:{}", flag.display())
            } else {
                "abort".into()
            },
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().unwrap();
    if server_kill {
        let t0 = std::time::Instant::now();
        while !flag.exists() {
            if let Some(st) = child.try_wait().unwrap() {
                panic!("{op} at {point}: the child ended ({st}) without reaching the point");
            }
            assert!(
                t0.elapsed() < Duration::from_secs(30),
                "{op} at {point}: no pause"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        kill9(server.pid());
        server.restart().unwrap();
        child.kill().unwrap();
        let _ = child.wait();
    } else {
        let st = child.wait().unwrap();
        assert!(
            !st.success(),
            "{op} at {point}: the child finished without reaching the point"
        );
    }
}

fn tempfile_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("rom-xuniq-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn kill9(pid: u32) {
    let st = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(st.success());
}

/// After a crash: at most one row holds the value; after the lease, a new
/// row can claim it exactly when no row holds it; verify is clean.
fn check_after_crash(server: &RedisServer, ctx: &str) {
    let mut c = server.connection().unwrap();
    let held = holders(&mut c, "k@x");
    assert!(held.len() <= 1, "{ctx}: k@x held by {held:?}");
    std::thread::sleep(LEASE + Duration::from_millis(50));
    match m(50, "k@x").insert(&mut c) {
        Ok(_) => assert!(held.is_empty(), "{ctx}: claimed while {held:?} holds it"),
        Err(e) => {
            assert!(is_violation(&e, "email"), "{ctx}: {e}");
            assert_eq!(held.len(), 1, "{ctx}: refused while no row holds it");
        }
    }
    let after = holders(&mut c, "k@x");
    assert_eq!(after.len(), 1, "{ctx}: {after:?}");
    let report = rom::verify::verify::<Member, _>(&mut c).unwrap();
    assert!(report.is_clean(), "{ctx}: {report:?}");
    let claims = rom::verify::verify_claims::<Member, _>(&mut c).unwrap();
    assert!(claims.is_clean(), "{ctx}: {claims:?}");
}

/// Every boundary between two calls of a write, with the client killed,
/// or the server killed and restarted from its append-only file.
#[test]
fn a_crash_between_any_two_calls_leaves_at_most_a_reserved_value() {
    short_lease();
    let cases: &[(&str, &str)] = &[
        ("insert", "xuniq:reserved"),
        ("insert", "xuniq:saved"),
        ("insert", "xuniq:committed"),
        ("update", "xuniq:reserved"),
        ("update", "xuniq:saved"),
        ("update", "xuniq:committed"),
        ("failing", "xuniq:save-failed"),
        ("takeover", "xuniq:fenced"),
    ];
    for server_kill in [false, true] {
        for &(op, point) in cases {
            let ctx = format!(
                "{op} killed at {point} ({})",
                if server_kill { "server" } else { "client" }
            );
            let mut server =
                RedisServer::start_with_args(&["--appendonly", "yes", "--appendfsync", "always"])
                    .unwrap();
            {
                let mut c = server.connection().unwrap();
                match op {
                    "update" => m(1, "old@x").insert(&mut c).map(|_| ()).unwrap(),
                    "failing" => m(1, "other@x").insert(&mut c).map(|_| ()).unwrap(),
                    "takeover" => {
                        // a crashed insert of row 9 left a pending claim
                        run_child_takeover_setup(&server);
                        std::thread::sleep(LEASE + Duration::from_millis(50));
                    }
                    _ => {}
                }
            }
            run_child(&mut server, op, point, server_kill);
            check_after_crash(&server, &ctx);
        }
    }
}

/// Leaves a pending claim of k@x by row 9: a child whose insert is killed
/// after its reservation.
fn run_child_takeover_setup(server: &RedisServer) {
    let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
    let st = cmd
        .args([
            "child_takeover_setup",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env("ROM_CHILD_URL", server.url())
        .env("ROM_FAIL_AT", "xuniq:reserved")
        .env("ROM_FAIL_ACTION", "abort")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(
        !st.success(),
        "the setup child did not stop at its reservation"
    );
}

#[test]
#[ignore = "run by the kill tests as a child process"]
fn child_takeover_setup() {
    let Ok(url) = std::env::var("ROM_CHILD_URL") else {
        return;
    };
    short_lease();
    let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
    let _ = m(9, "k@x").insert(&mut c);
}

/// A composite unique that includes the partition column is checked in the
/// partition, in the write's one call.
#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = seats, partition(by = venue, buckets = 8), unique_together(venue, seat))]
struct Seat {
    #[rom(primary_key)]
    id: Option<u64>,
    #[rom(index(eq))]
    venue: String,
    seat: String,
}

#[test]
fn a_unique_with_the_partition_column_is_local() {
    let server = RedisServer::start().unwrap();
    let mut c = rom::testing::CountingConnection::new(server.connection().unwrap());
    let s = |v: &str, n: &str| Seat {
        id: None,
        venue: v.into(),
        seat: n.into(),
    };
    s("hall", "A1").insert(&mut c).unwrap();
    s("yard", "A1").insert(&mut c).unwrap();
    c.reset();
    let e = s("hall", "A1").insert(&mut c).unwrap_err();
    assert!(is_violation(&e, "venue+seat"), "{e}");
    assert_eq!(c.round_trips(), 1);
    assert_eq!(seats::table.in_partition("hall").count(&mut c).unwrap(), 1);
}

/// A claim lost from outside (damage): verify reports the value as
/// missing, and repair claims it again for its row, so another row still
/// cannot take it.
#[test]
fn a_lost_claim_is_found_and_repaired() {
    short_lease();
    let server = RedisServer::start().unwrap();
    let mut c = server.connection().unwrap();
    m(1, "a@x").insert(&mut c).unwrap();
    m(2, "b@x").insert(&mut c).unwrap();
    Member::delete_many(&mut c, &[2]).unwrap();
    // every claims hash, emptied by another program
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("{members#*}:xuniq:email")
        .query(&mut c)
        .unwrap();
    assert!(!keys.is_empty());
    for k in &keys {
        let _: () = redis::cmd("DEL").arg(k).query(&mut c).unwrap();
    }
    let report = rom::verify::verify_claims::<Member, _>(&mut c).unwrap();
    assert_eq!(
        report.missing,
        vec![("email".to_owned(), "a@x".to_owned(), "1".to_owned())]
    );
    let dry = rom::verify::repair_claims::<Member, _>(&mut c, rom::Repair::DryRun).unwrap();
    assert_eq!(dry.repaired, 0);
    let fixed = rom::verify::repair_claims::<Member, _>(&mut c, rom::Repair::Apply).unwrap();
    assert_eq!(fixed.repaired, 1);
    assert!(
        rom::verify::verify_claims::<Member, _>(&mut c)
            .unwrap()
            .is_clean()
    );
    assert!(is_violation(
        &m(3, "a@x").insert(&mut c).unwrap_err(),
        "email"
    ));
    // the async walk finds the same
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut a = server.multiplexed().await.unwrap();
        let r = rom::verify::verify_claims_async::<Member, _>(&mut a)
            .await
            .unwrap();
        assert!(r.is_clean() && r.checked == 1, "{r:?}");
    });
}

/// Auto keys, and a row per key of a partitioned model with a unique.
#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = handles, partition(by = id, buckets = 16))]
struct Handle {
    #[rom(primary_key)]
    id: Option<u64>,
    #[rom(unique)]
    name: String,
}

fn h(name: &str) -> Handle {
    Handle {
        id: None,
        name: name.into(),
    }
}

#[test]
fn batches_and_async_writes_claim_each_row() {
    short_lease();
    let server = RedisServer::start().unwrap();
    let mut c = server.connection().unwrap();
    h("taken").insert(&mut c).unwrap();
    let rows: Vec<Handle> = ["a", "b", "taken", "c", "d"].iter().map(|n| h(n)).collect();
    let out = Handle::insert_all(&mut c, rows).unwrap();
    let ok: Vec<bool> = out.iter().map(Result::is_ok).collect();
    assert_eq!(ok, [true, true, false, true, true]);
    assert!(is_violation(out[2].as_ref().unwrap_err(), "name"));
    let n = handles::table.across_partitions().count(&mut c).unwrap();
    assert_eq!(n, 5);
    // one value twice in a batch: the second row's violation, as in one slot
    let out2 = Handle::insert_all(&mut c, vec![h("twice"), h("twice")]).unwrap();
    assert!(out2[0].is_ok());
    assert!(is_violation(out2[1].as_ref().unwrap_err(), "name"));
    Handle::delete_many(&mut c, &[out2[0].as_ref().unwrap().id.unwrap()]).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut a = server.multiplexed().await.unwrap();
        h("e").insert_async(&mut a).await.unwrap();
        let e = h("a").insert_async(&mut a).await.unwrap_err();
        assert!(is_violation(&e, "name"), "{e}");
        let mut r = Handle::get_async(&mut a, out[0].as_ref().unwrap().id.unwrap())
            .await
            .unwrap()
            .unwrap();
        r.name = "a2".into();
        r.save_async(&mut a).await.unwrap();
        h("a").insert_async(&mut a).await.unwrap();
    });
    assert!(rom::verify::verify::<Handle, _>(&mut c).unwrap().is_clean());
    let claims = rom::verify::verify_claims::<Handle, _>(&mut c).unwrap();
    assert!(claims.is_clean() && claims.checked == 7, "{claims:?}");
}

/// An increment of a unique column claimed across partitions would write a
/// value without its claim: it is refused, and nothing changes.
#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = tickets, partition(by = id, buckets = 8))]
struct Ticket {
    #[rom(primary_key)]
    id: u64,
    #[rom(unique)]
    seq: i64,
    #[rom(index(numeric))]
    uses: i64,
}

#[test]
fn an_increment_of_a_unique_across_partitions_is_refused() {
    short_lease();
    let server = RedisServer::start().unwrap();
    let mut c = server.connection().unwrap();
    Ticket {
        id: 1,
        seq: 5,
        uses: 0,
    }
    .insert(&mut c)
    .unwrap();
    Ticket {
        id: 2,
        seq: 4,
        uses: 0,
    }
    .insert(&mut c)
    .unwrap();
    let e = Ticket::increment(&mut c, 2, tickets::seq.add(1)).unwrap_err();
    assert!(
        matches!(&e, rom::Error::Validation { column, .. } if column == "seq"),
        "{e}"
    );
    assert_eq!(Ticket::get(&mut c, 2).unwrap().unwrap().seq, 4);
    // another column of the model still increments in one call
    assert_eq!(
        Ticket::increment(&mut c, 2, tickets::uses.add(3)).unwrap(),
        3
    );
}

/// A write of a row whose own earlier attempt stopped after its
/// reservation (a client that stalled, or failed between its calls): after
/// the lease, the row's value is its own again, not a violation.
#[test]
fn a_rows_own_stopped_attempt_does_not_refuse_it() {
    short_lease();
    let server = RedisServer::start().unwrap();
    let mut c = server.connection().unwrap();
    m(1, "v@x").insert(&mut c).unwrap();
    let url = server.url();
    let first = std::thread::spawn(move || {
        rom::__private::arm(Some((
            "xuniq:reserved",
            rom::__private::Action::Sleep(LEASE * 8),
        )));
        let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
        let mut r = m(1, "v@x");
        r.handle = Some("one".into());
        r.upsert(&mut c).map(|_| ())
    });
    std::thread::sleep(LEASE * 2);
    let mut r = m(1, "v@x");
    r.handle = Some("two".into());
    r.upsert(&mut c).unwrap();
    // the stalled attempt was fenced: it starts over, and its row's values
    // are its own
    first.join().unwrap().unwrap();
    assert_eq!(holders(&mut c, "v@x"), vec![1]);
    assert!(
        rom::verify::verify_claims::<Member, _>(&mut c)
            .unwrap()
            .is_clean()
    );
}

/// A save whose claim is taken over between its save and its commit (the
/// row gave the value up meanwhile, and another row claimed it) was saved:
/// it succeeds, and no value has two holders.
#[test]
fn a_save_overtaken_before_its_commit_still_succeeds() {
    short_lease();
    let server = RedisServer::start().unwrap();
    let mut c = server.connection().unwrap();
    let url = server.url();
    let first = std::thread::spawn(move || {
        rom::__private::arm(Some((
            "xuniq:saved",
            rom::__private::Action::Sleep(LEASE * 8),
        )));
        let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
        m(1, "w@x").insert(&mut c).map(|_| ())
    });
    std::thread::sleep(LEASE * 2);
    // row 1 (saved, its claim still pending) gives the value up, and row 2
    // takes it over after the lease
    let mut r = Member::get(&mut c, 1).unwrap().unwrap();
    r.email = "z@x".into();
    r.save(&mut c).unwrap();
    m(2, "w@x").insert(&mut c).unwrap();
    first.join().unwrap().unwrap();
    assert_eq!(holders(&mut c, "w@x"), vec![2]);
    assert_eq!(holders(&mut c, "z@x"), vec![1]);
    assert!(
        rom::verify::verify_claims::<Member, _>(&mut c)
            .unwrap()
            .is_clean()
    );
}

/// On an async cluster connection: each call of a claiming write goes to
/// its own slot's node, and the results are those of one server.
#[test]
fn claims_work_on_an_async_cluster_connection() {
    short_lease();
    let cluster = RedisCluster::start(3).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut a = cluster
            .client()
            .unwrap()
            .get_async_connection()
            .await
            .unwrap();
        for i in 0..20u64 {
            m(i, &format!("a{i}@x")).insert_async(&mut a).await.unwrap();
        }
        for i in 0..20u64 {
            let e = m(100 + i, &format!("a{i}@x"))
                .insert_async(&mut a)
                .await
                .unwrap_err();
            assert!(is_violation(&e, "email"), "{e}");
        }
        let mut r = Member::get_async(&mut a, 3).await.unwrap().unwrap();
        r.email = "moved@x".into();
        r.save_async(&mut a).await.unwrap();
        m(103, "a3@x").insert_async(&mut a).await.unwrap();
        let page = members::table
            .across_partitions()
            .filter(members::email.eq("a3@x"))
            .load_page_async(10, &mut a)
            .await
            .unwrap();
        assert_eq!(
            page.rows.iter().map(|r| r.id).collect::<Vec<_>>(),
            vec![103]
        );
        assert!(page.next.is_none());
    });
    let mut c = cluster.connection().unwrap();
    assert_eq!(all_rows(&mut c).len(), 21);
    assert!(
        rom::verify::verify_claims::<Member, _>(&mut c)
            .unwrap()
            .is_clean()
    );
}
