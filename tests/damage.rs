//! Damage from outside stays contained: a row key removed by another program
//! (or evicted) leaves index entries that name no row; queries answer for the
//! rows that exist. And the server's memory limit: a save that could grow
//! memory is refused whole under OOM, while deletes still run.
mod common;
use common::*;

fn seed(c: &mut redis::Connection) {
    for (i, (email, name)) in [
        ("a@x.io", "Ann"),
        ("b@x.io", "Bob"),
        ("c@x.io", "Cid"),
        ("d@x.io", "Bob"),
    ]
    .iter()
    .enumerate()
    {
        user(email, name, 20 + i as i32, i as f64)
            .insert(c)
            .expect("insert");
    }
}

#[test]
fn queries_answer_for_the_rows_that_exist() {
    let (_s, mut c) = server();
    seed(&mut c);
    // another program deletes row 2 (Bob, b@x.io, age 21)
    let _: () = redis::cmd("DEL")
        .arg("{users}:row:2")
        .query(&mut c)
        .expect("del");

    let all = users::table.load(&mut c).expect("load");
    assert_eq!(
        all.iter().map(|u| u.id).collect::<Vec<_>>(),
        vec![Some(1), Some(3), Some(4)]
    );
    assert_eq!(users::table.ids(&mut c).expect("ids"), vec![1, 3, 4]);
    // the unique lookup of the lost row's value finds nothing
    let lost = users::table
        .filter(users::email.eq("b@x.io"))
        .first(&mut c)
        .optional()
        .expect("lookup");
    assert!(lost.is_none());
    assert!(
        !users::table
            .filter(users::email.eq("B@X.IO"))
            .exists(&mut c)
            .expect("exists")
    );
    // an equality set, an order walk, offset and limit skip it too
    let bobs = users::table
        .filter(users::name.eq("Bob"))
        .load(&mut c)
        .expect("bobs");
    assert_eq!(bobs.iter().map(|u| u.id).collect::<Vec<_>>(), vec![Some(4)]);
    let page = users::table
        .order_by(users::age.asc())
        .offset(1)
        .limit(1)
        .load(&mut c)
        .expect("page");
    assert_eq!(page[0].id, Some(3));
    let picked = users::table
        .filter(users::age.between(20..=22))
        .select((users::email, users::age))
        .load(&mut c)
        .expect("select");
    assert_eq!(
        picked,
        vec![("a@x.io".to_string(), 20), ("c@x.io".to_string(), 22)]
    );
    let mut seen = Vec::new();
    let mut pages = users::table.pages(1);
    while let Some(p) = pages.next_page(&mut c).expect("page") {
        seen.extend(p.into_iter().map(|u| u.id));
    }
    assert_eq!(seen, vec![Some(1), Some(3), Some(4)]);
    // verify reports the damage; deleting by query removes what exists
    let report = rom::verify::verify::<User, _>(&mut c).expect("verify");
    assert!(!report.is_clean());
    assert_eq!(
        users::table
            .filter(users::name.eq("Bob"))
            .delete(&mut c)
            .expect("delete"),
        1
    );
    // a new row may take the lost row's unique value
    user("b@x.io", "Bea", 30, 0.0)
        .insert(&mut c)
        .expect("the value is free");
}

#[test]
fn under_oom_saves_are_refused_whole_and_deletes_run() {
    let (_s, mut c) = server();
    seed(&mut c);
    let used: u64 = {
        let info: String = redis::cmd("INFO")
            .arg("memory")
            .query(&mut c)
            .expect("info");
        info.lines()
            .find_map(|l| l.strip_prefix("used_memory:"))
            .and_then(|v| v.trim().parse().ok())
            .expect("used_memory")
    };
    // a limit below what is in use: every write that can grow memory fails
    redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory-policy")
        .arg("noeviction")
        .exec(&mut c)
        .expect("policy");
    redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg(used / 2)
        .exec(&mut c)
        .expect("maxmemory");
    let before: Vec<Vec<u8>> = redis::cmd("KEYS").arg("*").query(&mut c).expect("keys");
    let err = user("e@x.io", "Eve", 50, 0.0).insert(&mut c).unwrap_err();
    assert!(
        matches!(&err, Error::Redis(e) if e.to_string().contains("OOM")),
        "{err:?}"
    );
    assert!(err.is_out_of_memory() && !err.is_unavailable(), "{err:?}");
    let mut a = User::get(&mut c, 1u64).expect("get").expect("row");
    a.age = 99;
    assert!(a.save(&mut c).is_err());
    let mut after: Vec<Vec<u8>> = redis::cmd("KEYS").arg("*").query(&mut c).expect("keys");
    let mut before = before;
    before.sort();
    after.sort();
    assert_eq!(before, after, "a refused save wrote nothing");
    assert_eq!(User::get(&mut c, 1u64).expect("get").expect("row").age, 20);
    // deletes free memory, so they are allowed
    assert_eq!(User::delete_many(&mut c, &[2]).expect("delete"), 1);
    assert_eq!(
        users::table
            .filter(users::name.eq("Ann"))
            .delete(&mut c)
            .expect("query delete"),
        1
    );
    redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg(0)
        .exec(&mut c)
        .expect("maxmemory");
    assert_clean::<User>(&mut c);
}
