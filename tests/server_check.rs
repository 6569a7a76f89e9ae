//! `rom::check_server`: a server whose eviction policy can remove rom's keys is
//! reported; a refused command leaves a fact unknown instead of failing.
use rom::server_check::{EvictionPolicy, Problem};
use rom::testing::{RedisCluster, RedisServer};

fn start(args: &[&str]) -> (RedisServer, redis::Connection) {
    let s = RedisServer::start_with_args(args).expect("start redis-server");
    let c = s.connection().expect("connect");
    (s, c)
}

#[test]
fn an_allkeys_policy_is_a_problem() {
    for policy in ["allkeys-lru", "allkeys-lfu", "allkeys-random"] {
        let (_s, mut c) = start(&["--maxmemory-policy", policy]);
        let report = rom::check_server(&mut c).expect("check");
        assert!(!report.is_ok(), "{report}");
        assert!(report.is_complete(), "{report}");
        assert_eq!(
            report.problems(),
            [Problem::EvictingPolicy {
                server: None,
                policy: policy.into(),
                maxmemory: Some(0),
            }]
        );
        let text = report.problems()[0].to_string();
        assert!(
            text.contains(policy) && text.contains("noeviction"),
            "{text}"
        );
    }
}

#[test]
fn noeviction_is_clean() {
    let (_s, mut c) = start(&["--maxmemory-policy", "noeviction", "--maxmemory", "64mb"]);
    let report = rom::check_server(&mut c).expect("check");
    assert!(report.is_ok(), "{report}");
    assert!(report.is_complete(), "{report}");
    let s = &report.servers[0];
    assert_eq!(s.policy, Some(EvictionPolicy::NoEviction));
    assert_eq!(s.maxmemory, Some(64 * 1024 * 1024));
    assert_eq!(s.address, None);
    // the server these tests run on is recent enough
    let version = s.version.clone().expect("a version");
    let major: u32 = version.split('.').next().unwrap().parse().unwrap();
    assert!(major >= 7, "{version}");
}

#[test]
fn a_volatile_policy_is_fine_since_rom_sets_no_ttl() {
    let (_s, mut c) = start(&["--maxmemory-policy", "volatile-lru", "--maxmemory", "10mb"]);
    let report = rom::check_server(&mut c).expect("check");
    assert!(report.is_ok(), "{report}");
    assert_eq!(
        report.servers[0].policy,
        Some(EvictionPolicy::Volatile("volatile-lru".into()))
    );
}

/// A policy changed at run time is what the next check sees.
#[test]
fn a_policy_set_at_run_time_is_seen() {
    let (_s, mut c) = start(&[]);
    assert!(rom::check_server(&mut c).expect("check").is_ok());
    redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory-policy")
        .arg("allkeys-lru")
        .exec(&mut c)
        .expect("config set");
    assert!(!rom::check_server(&mut c).expect("check").is_ok());
}

fn limited_user(
    s: &RedisServer,
    admin: &mut redis::Connection,
    rules: &[&str],
) -> redis::Connection {
    let mut cmd = redis::cmd("ACL");
    cmd.arg("SETUSER")
        .arg("limited")
        .arg("reset")
        .arg("on")
        .arg(">secret")
        .arg("~*")
        .arg("+@all");
    for r in rules {
        cmd.arg(*r);
    }
    cmd.exec(admin).expect("acl setuser");
    let mut c = s.connection().expect("connect");
    redis::cmd("AUTH")
        .arg("limited")
        .arg("secret")
        .exec(&mut c)
        .expect("auth");
    c
}

#[test]
fn refused_commands_leave_facts_unknown_not_errors() {
    let (s, mut admin) = start(&["--maxmemory-policy", "allkeys-lru"]);

    // INFO refused: the policy still comes from CONFIG GET
    let mut c = limited_user(&s, &mut admin, &["-info"]);
    let report = rom::check_server(&mut c).expect("check");
    let info = &report.servers[0];
    assert_eq!(info.version, None);
    assert_eq!(
        info.policy,
        Some(EvictionPolicy::AllKeys("allkeys-lru".into()))
    );
    assert!(info.unknown.iter().any(|u| u.contains("INFO")), "{report}");
    assert!(!report.is_complete());
    assert_eq!(report.problems().len(), 1, "{report}");

    // INFO and CONFIG refused: nothing known, and no problem claimed
    let mut c = limited_user(&s, &mut admin, &["-info", "-config"]);
    let report = rom::check_server(&mut c).expect("check");
    let info = &report.servers[0];
    assert_eq!(
        (info.version.as_ref(), info.maxmemory, info.policy.as_ref()),
        (None, None, None)
    );
    assert_eq!(info.unknown.len(), 2, "{report}");
    assert!(report.is_ok() && !report.is_complete(), "{report}");
    assert!(report.to_string().contains("unknown"), "{report}");
}

#[tokio::test]
async fn the_async_check_reports_the_same() {
    let s = RedisServer::start_with_args(&[
        "--maxmemory-policy",
        "allkeys-random",
        "--maxmemory",
        "1gb",
    ])
    .expect("start");
    let mut c = s
        .client()
        .expect("client")
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let report = rom::check_server_async(&mut c).await.expect("check");
    assert_eq!(
        report.problems(),
        [Problem::EvictingPolicy {
            server: None,
            policy: "allkeys-random".into(),
            maxmemory: Some(1024 * 1024 * 1024),
        }]
    );
    let mut sync = s.connection().expect("connect");
    assert_eq!(rom::check_server(&mut sync).expect("check"), report);
}

/// On a cluster connection, `INFO` reaches every primary: each is reported,
/// and a problem names the node it is on.
#[test]
fn a_cluster_reports_every_primary() {
    let cluster = RedisCluster::start(2).expect("cluster");
    let mut c = cluster.connection().expect("connect");
    let report = rom::check_server(&mut c).expect("check");
    assert_eq!(report.servers.len(), 2, "{report}");
    assert!(
        report.servers.iter().all(|s| s.address.is_some()),
        "{report}"
    );
    assert!(report.is_ok() && report.is_complete(), "{report}");

    // one node switched to an evicting policy
    let port = cluster.ports()[1];
    let mut node = redis::Client::open(cluster.urls()[1].as_str())
        .expect("client")
        .get_connection()
        .expect("connect");
    redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory-policy")
        .arg("allkeys-lfu")
        .exec(&mut node)
        .expect("config set");
    let report = rom::check_server(&mut c).expect("check");
    let problems = report.problems();
    assert_eq!(problems.len(), 1, "{report}");
    match &problems[0] {
        Problem::EvictingPolicy {
            server: Some(addr),
            policy,
            ..
        } => {
            assert!(addr.ends_with(&format!(":{port}")), "{addr}");
            assert_eq!(policy, "allkeys-lfu");
        }
        other => panic!("{other:?}"),
    }
}
