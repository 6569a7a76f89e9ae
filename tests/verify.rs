//! verify finds each kind of inconsistency (so a clean report means something).
mod common;
use common::*;
use rom::verify::{Problem, verify};

fn cmd(c: &mut redis::Connection, args: &[&str]) {
    let mut k = redis::cmd(args[0]);
    for a in &args[1..] {
        k.arg(*a);
    }
    let _: redis::Value = k.query(c).expect("command");
}

#[test]
fn verify_reports_every_kind_of_damage() {
    let (_s, mut c) = server();
    for i in 0..5 {
        user(&format!("u{i}@x.io"), &format!("n{i}"), 20 + i, 1.0)
            .insert(&mut c)
            .expect("insert");
    }
    assert!(verify::<User, _>(&mut c).expect("verify").is_clean());

    cmd(&mut c, &["ZADD", "{users}:num:age", "99", "1"]); // wrong score
    // user i has id i + 1
    cmd(&mut c, &["SREM", "{users}:eq:name:n1", "2"]); // missing set entry
    cmd(&mut c, &["SADD", "{users}:eq:name:ghost", "3"]); // orphan set entry
    cmd(&mut c, &["HSET", "{users}:uniq:email", "stale@x.io", "4"]); // orphan unique entry
    cmd(&mut c, &["HDEL", "{users}:uniq:email", "u3@x.io"]); // missing unique entry
    cmd(&mut c, &["ZREM", "{users}:ids", "5"]); // row not listed
    cmd(&mut c, &["ZADD", "{users}:ids", "77", "77"]); // listed without a row
    cmd(&mut c, &["HSET", "{users}:row:3", "age", "old"]); // undecodable row

    let r = verify::<User, _>(&mut c).expect("verify");
    let has = |f: &dyn Fn(&Problem) -> bool| r.problems.iter().any(f);
    assert!(
        has(
            &|p| matches!(p, Problem::Missing { index, member } if index == "{users}:num:age" && member == "1")
        ),
        "{r:#?}"
    );
    assert!(
        has(
            &|p| matches!(p, Problem::Orphan { index, member } if index == "{users}:num:age" && member == "1")
        ),
        "{r:#?}"
    );
    assert!(
        has(
            &|p| matches!(p, Problem::Missing { index, member } if index == "{users}:eq:name:n1" && member == "2")
        ),
        "{r:#?}"
    );
    assert!(
        has(&|p| matches!(p, Problem::Orphan { index, .. } if index == "{users}:eq:name:ghost")),
        "{r:#?}"
    );
    assert!(
        has(&|p| matches!(p, Problem::Orphan { index, .. } if index.contains("stale@x.io"))),
        "{r:#?}"
    );
    assert!(
        has(
            &|p| matches!(p, Problem::Missing { index, member } if index.contains("u3@x.io") && member == "4")
        ),
        "{r:#?}"
    );
    assert!(
        has(&|p| matches!(p, Problem::RowNotListed { key } if key == "{users}:row:5")),
        "{r:#?}"
    );
    assert!(
        has(&|p| matches!(p, Problem::ListedWithoutRow { member } if member == "77")),
        "{r:#?}"
    );
    assert!(
        has(&|p| matches!(p, Problem::Undecodable { key, .. } if key == "{users}:row:3")),
        "{r:#?}"
    );
}
