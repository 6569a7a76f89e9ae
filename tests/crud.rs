//! Active-record operations against a real redis-server.
mod common;
use common::*;

#[test]
fn insert_get_update_delete() {
    let (_s, mut c) = server();
    let mut a = user("Ann@Example.com", "Ann", 30, 1.5)
        .insert(&mut c)
        .unwrap();
    assert_eq!(a.id, Some(1));
    let b = user("bob@example.com", "Bob", 40, 2.5)
        .insert(&mut c)
        .unwrap();
    assert_eq!(b.id, Some(2));

    let got = User::get(&mut c, 1u64).unwrap().unwrap();
    assert_eq!(*got, *a);

    a.age = 31;
    a.save(&mut c).unwrap();
    assert_eq!(User::get(&mut c, 1u64).unwrap().unwrap().age, 31);
    assert_clean::<User>(&mut c);

    let many = User::get_many(&mut c, &[2, 99, 1]).unwrap();
    assert_eq!(
        many.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![Some(2), Some(1)]
    );

    assert!(User::exists(&mut c, 2u64).unwrap());
    assert!(b.delete(&mut c).unwrap());
    assert!(!User::exists(&mut c, 2u64).unwrap());
    assert_clean::<User>(&mut c);
}

#[test]
fn unique_violation_leaves_nothing_behind() {
    let (_s, mut c) = server();
    user("a@x.io", "A", 20, 0.0).insert(&mut c).unwrap();
    let err = user("A@X.IO", "B", 21, 0.0).insert(&mut c).unwrap_err();
    match err {
        Error::UniqueViolation { column, .. } => assert_eq!(column, "email"),
        other => panic!("{other:?}"),
    }
    assert_eq!(users::table.count(&mut c).unwrap(), 1);
    assert_clean::<User>(&mut c);
    // the failed insert did not burn an id
    let n = user("n@x.io", "N", 1, 0.0).insert(&mut c).unwrap();
    assert_eq!(n.id, Some(2));
}

#[test]
fn conflict_is_detected_on_written_columns() {
    let (_s, mut c) = server();
    let mut a = user("a@x.io", "A", 20, 0.0).insert(&mut c).unwrap();
    let mut a2 = User::get(&mut c, 1u64).unwrap().unwrap();
    a2.age = 50;
    a2.save(&mut c).unwrap();
    a.age = 60;
    assert!(matches!(a.save(&mut c), Err(Error::Conflict { .. })));
    // a different column is not a conflict
    let mut a3 = User::get(&mut c, 1u64).unwrap().unwrap();
    a2.score = 9.0;
    a2.save(&mut c).unwrap();
    a3.bio = Some("was null".into());
    a3.save(&mut c).unwrap();
    // a column null when loaded and set by someone else since is a conflict
    a2.bio = Some("other".into());
    assert!(matches!(a2.save(&mut c), Err(Error::Conflict { .. })));
    a2.save_forced(&mut c).unwrap();
    assert_eq!(
        User::get(&mut c, 1u64).unwrap().unwrap().bio.as_deref(),
        Some("other")
    );
    assert_clean::<User>(&mut c);
}

#[test]
fn queries() {
    let (_s, mut c) = server();
    let mut all = Vec::new();
    for i in 0..20 {
        let r = user(
            &format!("u{i}@x.io"),
            if i % 2 == 0 { "even" } else { "odd" },
            18 + i,
            f64::from(i % 5),
        )
        .insert(&mut c)
        .unwrap();
        all.push(r.into_inner());
    }
    // the oracle: filter and sort in memory
    let mut want: Vec<(f64, u64)> = all
        .iter()
        .filter(|u| (20..=30).contains(&u.age))
        .map(|u| (u.score, u.id.unwrap()))
        .collect();
    want.sort_by(|a, b| a.partial_cmp(b).unwrap());
    want.truncate(5);
    let q = users::table
        .filter(users::age.between(20..=30))
        .order_by(users::score.asc())
        .limit(5);
    let rows = q.clone().load(&mut c).unwrap();
    let got: Vec<(f64, u64)> = rows.iter().map(|r| (r.score, r.id.unwrap())).collect();
    assert_eq!(got, want);
    assert_eq!(
        users::table
            .filter(users::age.between(20..=30))
            .count(&mut c)
            .unwrap(),
        11
    );
    let r = users::table
        .filter(users::email.eq("U3@X.io"))
        .first(&mut c)
        .unwrap();
    assert_eq!(r.id, Some(4));
    assert_eq!(
        users::table
            .filter(users::name.eq("odd").or(users::age.lt(20)))
            .count(&mut c)
            .unwrap(),
        11
    );
    assert_eq!(
        users::table
            .filter(users::name.eq("odd").not())
            .count(&mut c)
            .unwrap(),
        10
    );
    let ids = users::table
        .order_by(users::age.desc())
        .limit(3)
        .ids(&mut c)
        .unwrap();
    assert_eq!(ids, vec![20, 19, 18]);
    let sel = users::table
        .filter(users::age.lt(20))
        .select((users::email, users::name))
        .load(&mut c)
        .unwrap();
    assert_eq!(
        sel,
        vec![
            ("u0@x.io".to_string(), Some("even".to_string())),
            ("u1@x.io".into(), Some("odd".into()))
        ]
    );
    let mut pages = users::table.order_by(users::score.desc()).pages(3);
    let mut seen = Vec::new();
    while let Some(p) = pages.next_page(&mut c).unwrap() {
        seen.extend(p.iter().map(|r| r.id.unwrap()));
    }
    assert_eq!(seen.len(), 20);
    let n = users::table
        .filter(users::name.eq("even"))
        .delete(&mut c)
        .unwrap();
    assert_eq!(n, 10);
    assert_eq!(users::table.count(&mut c).unwrap(), 10);
    assert_clean::<User>(&mut c);
    println!("{}", q.explain());
}

#[test]
fn saving_a_row_deleted_underneath_is_a_conflict() {
    let (_s, mut c) = server();
    let mut a = user("a@x.io", "A", 20, 0.0).insert(&mut c).unwrap();
    User::delete_many(&mut c, &[a.id.unwrap()]).unwrap();
    a.age = 21;
    match a.save(&mut c) {
        Err(Error::Conflict {
            column: None, key, ..
        }) => assert_eq!(key, "1"),
        other => panic!("{other:?}"),
    }
    // nothing was resurrected, and refresh says it is gone
    assert!(!User::exists(&mut c, 1u64).unwrap());
    assert!(matches!(a.refresh(&mut c), Err(Error::NotFound { .. })));
    assert_clean::<User>(&mut c);
}

#[test]
fn batches_are_one_round_trip_with_a_result_per_row() {
    let (_s, c) = server();
    let mut c = CountingConnection::new(c);
    // warm the script cache
    user("w@x.io", "W", 0, 0.0).insert(&mut c).unwrap();
    c.reset();
    let rows = vec![
        user("a@x.io", "A", 1, 0.0),
        user("b@x.io", "B", 2, f64::NAN), // refused before sending
        user("A@X.IO", "dup", 3, 0.0),    // unique violation against the first
        user("c@x.io", "C", 4, 0.0),
    ];
    let out = User::insert_all(&mut c, rows).unwrap();
    assert_eq!(c.round_trips(), 1);
    assert!(out[0].is_ok() && out[3].is_ok());
    assert!(matches!(out[1], Err(Error::Validation { .. })));
    assert!(matches!(out[2], Err(Error::UniqueViolation { .. })));
    let ids: Vec<u64> = out.iter().flatten().map(|r| r.id.unwrap()).collect();
    assert_eq!(User::get_many(&mut c, &ids).unwrap().len(), 2);
    // the library flushed: it is loaded again, and the refused calls are sent
    // again, once (the pipeline, the load, the calls again)
    let _: () = redis::cmd("FUNCTION").arg("FLUSH").query(&mut c).unwrap();
    c.reset();
    let more = (0..5)
        .map(|i| user(&format!("m{i}@x.io"), "M", i, 0.0))
        .collect();
    let out = User::upsert_all(&mut c, more).unwrap();
    assert_eq!(c.round_trips(), 3);
    assert!(out.iter().all(Result::is_ok));
    assert_eq!(users::table.count(c.inner_mut()).unwrap(), 8);
    // batch updates: one round trip, a conflict reported for its row only
    let mut recs = users::table
        .order_by(users::age.asc())
        .load(c.inner_mut())
        .unwrap();
    let mut other = User::get(c.inner_mut(), recs[1].id.unwrap())
        .unwrap()
        .unwrap();
    other.score = 5.0;
    other.save(c.inner_mut()).unwrap();
    for r in recs.iter_mut() {
        r.score += 1.0;
    }
    c.reset();
    let res = Record::save_all(&mut c, &mut recs).unwrap();
    assert_eq!(c.round_trips(), 1);
    assert!(matches!(res[1], Err(Error::Conflict { .. })));
    assert_eq!(res.iter().filter(|r| r.is_ok()).count(), recs.len() - 1);
    assert_clean::<User>(c.inner_mut());
}

#[test]
fn deleting_a_key_listed_twice_counts_it_once() {
    let (_s, mut c) = server();
    let a = user("a@x.io", "A", 1, 0.0).insert(&mut c).unwrap();
    let id = a.id.unwrap();
    assert_eq!(User::delete_many(&mut c, &[id, id, 99]).unwrap(), 1);
    assert_clean::<User>(&mut c);
}

/// `upsert` overwrites the whole row; the names it had before the rename
/// (`save`, `save_all` on a plain value) still compile, deprecated, and do the
/// same.
#[test]
fn upsert_and_its_deprecated_names() {
    let (_s, mut c) = server();
    let a = user("ann@example.com", "Ann", 30, 1.0)
        .insert(&mut c)
        .unwrap();
    let mut v = a.clone().into_inner();
    v.name = None;
    v.age = 31;
    let r = v.clone().upsert(&mut c).unwrap();
    assert_eq!(r.id, a.id);
    let got = User::get(&mut c, 1u64).unwrap().unwrap();
    assert_eq!((got.name.clone(), got.age), (None, 31));

    #[allow(deprecated)]
    {
        v.age = 32;
        v.clone().save(&mut c).unwrap();
        assert_eq!(User::get(&mut c, 1u64).unwrap().unwrap().age, 32);
        let out = User::save_all(&mut c, vec![user("bob@example.com", "Bob", 40, 2.0)]).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].as_ref().unwrap().id, Some(2));
    }
    let out = User::upsert_all(
        &mut c,
        vec![v.clone(), user("cy@example.com", "Cy", 50, 3.0)],
    )
    .unwrap();
    assert_eq!(
        out.iter()
            .map(|r| r.as_ref().unwrap().id)
            .collect::<Vec<_>>(),
        [Some(1), Some(3)]
    );
    assert_eq!(users::table.count(&mut c).unwrap(), 3);
    assert_clean::<User>(&mut c);
}
