//! Relations: `belongs_to` columns checked on write against the referenced
//! row, and `on_delete` rules (cascade, restrict, set null, set default)
//! applied over the whole graph in one atomic call.
#![allow(clippy::unwrap_used, missing_docs)]

use rom::prelude::*;
use rom::testing::{CountingConnection, RedisServer};
use rom::verify::verify;

rom::group!(pub Blog = "blog");

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = users, group = Blog, has_many(posts::author, posts::editor, users::manager))]
pub struct User {
    #[rom(primary_key)]
    pub id: Option<u64>,
    #[rom(unique)]
    pub name: String,
    /// a self-reference: deleting a manager clears it on their reports
    #[rom(belongs_to(User, on_delete = set_null))]
    pub manager: Option<u64>,
}

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = posts, group = Blog, has_many(comments::post, tags::post))]
pub struct Post {
    #[rom(primary_key)]
    pub id: Option<u64>,
    #[rom(belongs_to(User, on_delete = cascade))]
    pub author: u64,
    /// set to the "ghost" user (a row the tests create) when the editor goes
    #[rom(belongs_to(User, on_delete = set_default), default = GHOST)]
    pub editor: u64,
    #[rom(index(numeric))]
    pub likes: i64,
}

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = comments, group = Blog)]
pub struct Comment {
    #[rom(primary_key)]
    pub id: Option<u64>,
    #[rom(belongs_to(Post, on_delete = cascade))]
    pub post: u64,
    pub body: String,
}

/// A post with a tag cannot be deleted (nor its author, whose delete reaches it).
#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = tags, group = Blog)]
pub struct Tag {
    #[rom(primary_key)]
    pub id: Option<u64>,
    #[rom(belongs_to(Post, on_delete = restrict))]
    pub post: Option<u64>,
}

const GHOST: u64 = 1000;

fn ghost<C: rom::Connection>(c: &mut C) {
    User {
        id: Some(GHOST),
        name: "ghost".into(),
        manager: None,
    }
    .insert(c)
    .unwrap();
}

fn user(name: &str, manager: Option<u64>) -> User {
    User {
        id: None,
        name: name.into(),
        manager,
    }
}

fn post(author: u64, editor: u64) -> Post {
    Post {
        id: None,
        author,
        editor,
        likes: 1,
    }
}

fn clean(c: &mut redis::Connection) {
    for r in [
        verify::<User, _>(c).unwrap(),
        verify::<Post, _>(c).unwrap(),
        verify::<Comment, _>(c).unwrap(),
        verify::<Tag, _>(c).unwrap(),
    ] {
        assert!(r.is_clean(), "{:#?}", r.problems);
    }
}

#[test]
fn a_write_naming_a_missing_parent_writes_nothing() {
    let s = RedisServer::start().unwrap();
    let mut c = s.connection().unwrap();
    let err = post(7, 7).insert(&mut c).unwrap_err();
    assert!(
        matches!(&err, Error::MissingParent { model: "Post", column, .. } if column == "author"),
        "{err:?}"
    );
    assert_eq!(posts::table.count(&mut c).unwrap(), 0);
    let ann = user("ann", None).insert(&mut c).unwrap();
    let mut p = post(ann.id.unwrap(), ann.id.unwrap())
        .insert(&mut c)
        .unwrap();
    // an update that points elsewhere is checked too; an unchanged one is not
    p.author = 99;
    assert!(matches!(p.save(&mut c), Err(Error::MissingParent { .. })));
    p.author = ann.id.unwrap();
    p.likes = 5;
    p.save(&mut c).unwrap();
    // a null reference names nothing
    user("bob", None).insert(&mut c).unwrap();
    clean(&mut c);
}

#[test]
fn deleting_a_user_cascades_sets_null_and_default_in_one_call() {
    let s = RedisServer::start().unwrap();
    let mut raw = s.connection().unwrap();
    ghost(&mut raw);
    let boss = user("boss", None).insert(&mut raw).unwrap().id.unwrap();
    let ann = user("ann", Some(boss))
        .insert(&mut raw)
        .unwrap()
        .id
        .unwrap();
    let bob = user("bob", Some(boss))
        .insert(&mut raw)
        .unwrap()
        .id
        .unwrap();
    // boss's posts (edited by ann), ann's post (edited by boss), comments
    let p1 = post(boss, ann).insert(&mut raw).unwrap().id.unwrap();
    let p2 = post(ann, boss).insert(&mut raw).unwrap().id.unwrap();
    for (p, body) in [(p1, "x"), (p1, "y"), (p2, "z")] {
        Comment {
            id: None,
            post: p,
            body: body.into(),
        }
        .insert(&mut raw)
        .unwrap();
    }
    let mut c = CountingConnection::new(s.connection().unwrap());
    assert_eq!(User::delete_many(&mut c, &[boss]).unwrap(), 1);
    assert_eq!(c.round_trips(), 1, "the whole graph in one call");
    // boss's post and its comments are gone
    assert!(Post::get(&mut raw, p1).unwrap().is_none());
    let left: Vec<String> = comments::table
        .load(&mut raw)
        .unwrap()
        .into_iter()
        .map(|r| r.body.clone())
        .collect();
    assert_eq!(left, vec!["z"]);
    // ann's post lost its editor to the default; ann and bob lost their manager
    assert_eq!(Post::get(&mut raw, p2).unwrap().unwrap().editor, GHOST);
    assert_eq!(User::get(&mut raw, ann).unwrap().unwrap().manager, None);
    assert_eq!(User::get(&mut raw, bob).unwrap().unwrap().manager, None);
    // the indexes follow: no post is edited by boss any more
    assert_eq!(
        posts::table
            .filter(posts::editor.eq(boss))
            .count(&mut raw)
            .unwrap(),
        0
    );
    assert_eq!(
        posts::table
            .filter(posts::editor.eq(GHOST))
            .count(&mut raw)
            .unwrap(),
        1
    );
    clean(&mut raw);
}

#[test]
fn a_restrict_anywhere_in_the_graph_deletes_nothing() {
    let s = RedisServer::start().unwrap();
    let mut c = s.connection().unwrap();
    let ann = user("ann", None).insert(&mut c).unwrap().id.unwrap();
    let p = post(ann, ann).insert(&mut c).unwrap().id.unwrap();
    Comment {
        id: None,
        post: p,
        body: "hi".into(),
    }
    .insert(&mut c)
    .unwrap();
    let tag = Tag {
        id: None,
        post: Some(p),
    }
    .insert(&mut c)
    .unwrap();
    // ann's delete cascades to her post, which a tag restricts
    let err = User::delete_many(&mut c, &[ann]).unwrap_err();
    assert!(
        matches!(&err, Error::Restricted { model: "User", child, column, .. } if child == "Tag" && column == "post"),
        "{err:?}"
    );
    assert!(User::get(&mut c, ann).unwrap().is_some());
    assert!(Post::get(&mut c, p).unwrap().is_some());
    assert_eq!(comments::table.count(&mut c).unwrap(), 1);
    // so is a query's delete that reaches the post, directly or by a cascade
    for err in [
        posts::table.delete(&mut c).unwrap_err(),
        users::table
            .filter(users::name.eq("ann"))
            .delete(&mut c)
            .unwrap_err(),
    ] {
        assert!(
            matches!(&err, Error::Restricted { child, column, .. } if child == "Tag" && column == "post"),
            "{err:?}"
        );
    }
    assert_eq!(posts::table.count(&mut c).unwrap(), 1);
    assert_eq!(users::table.count(&mut c).unwrap(), 1);
    // without the tag, the delete goes through
    tag.delete(&mut c).unwrap();
    let rec = User::get(&mut c, ann).unwrap().unwrap();
    assert!(rec.delete(&mut c).unwrap());
    assert_eq!(posts::table.count(&mut c).unwrap(), 0);
    assert_eq!(comments::table.count(&mut c).unwrap(), 0);
    clean(&mut c);
}

#[test]
fn cycles_end_and_deletes_that_cannot_apply_rules_are_refused() {
    let s = RedisServer::start().unwrap();
    let mut c = s.connection().unwrap();
    // a manager chain a -> b -> a: set_null on both, each deleted once
    let a = user("a", None).insert(&mut c).unwrap().id.unwrap();
    let b = user("b", Some(a)).insert(&mut c).unwrap().id.unwrap();
    let mut ra = User::get(&mut c, a).unwrap().unwrap();
    ra.manager = Some(b);
    ra.save(&mut c).unwrap();
    assert_eq!(User::delete_many(&mut c, &[a, b]).unwrap(), 2);
    assert_eq!(users::table.count(&mut c).unwrap(), 0);
    clean(&mut c);
    // a query's delete applies the rules too
    let u = user("u", None).insert(&mut c).unwrap().id.unwrap();
    let v = user("v", Some(u)).insert(&mut c).unwrap().id.unwrap();
    let p = post(u, v).insert(&mut c).unwrap().id.unwrap();
    Comment {
        id: None,
        post: p,
        body: "c".into(),
    }
    .insert(&mut c)
    .unwrap();
    assert_eq!(
        users::table
            .filter(users::name.eq("u"))
            .delete(&mut c)
            .unwrap(),
        1
    );
    assert_eq!(posts::table.count(&mut c).unwrap(), 0);
    assert_eq!(comments::table.count(&mut c).unwrap(), 0);
    assert_eq!(User::get(&mut c, v).unwrap().unwrap().manager, None);
    clean(&mut c);
    // a transaction's delete applies them in its commit
    let w = user("w", None).insert(&mut c).unwrap().id.unwrap();
    let x = user("x", Some(w)).insert(&mut c).unwrap().id.unwrap();
    let wp = post(w, x).insert(&mut c).unwrap().id.unwrap();
    let mut tx = rom::transaction::Transaction::new();
    tx.delete::<User>(w).unwrap();
    tx.insert(user("y", None)).unwrap();
    tx.commit(&mut c).unwrap();
    assert!(Post::get(&mut c, wp).unwrap().is_none());
    assert_eq!(User::get(&mut c, x).unwrap().unwrap().manager, None);
    assert!(
        users::table
            .filter(users::name.eq("y"))
            .exists(&mut c)
            .unwrap()
    );
    // a cascade that reaches a row the transaction also writes: refused whole
    let xp = post(x, x).insert(&mut c).unwrap().id.unwrap();
    let mut tx = rom::transaction::Transaction::new();
    tx.get::<Post, _>(&mut c, xp).unwrap().unwrap().likes = 9;
    tx.delete::<User>(x).unwrap();
    let err = tx.commit(&mut c).unwrap_err();
    assert!(matches!(err, Error::Validation { .. }), "{err:?}");
    assert_eq!(Post::get(&mut c, xp).unwrap().unwrap().likes, 1);
    assert!(User::get(&mut c, x).unwrap().is_some());
    clean(&mut c);
}

/// Races child inserts against their parent's delete, `rounds` times: every
/// post left has its author.
fn race_child_inserts_against_parent_delete<C: rom::Connection>(
    c: &mut C,
    connect: &(dyn Fn() -> Box<dyn rom::Connection + Send> + Sync),
    rounds: usize,
) {
    for round in 0..rounds {
        let ann = user(&format!("ann{round}"), None)
            .insert(c)
            .unwrap()
            .id
            .unwrap();
        std::thread::scope(|scope| {
            scope.spawn(move || {
                let mut c = connect();
                for _ in 0..20 {
                    match post(ann, ann).insert(&mut *c) {
                        Ok(_) | Err(Error::MissingParent { .. }) => {}
                        Err(e) => panic!("{e}"),
                    }
                }
            });
            User::delete_many(c, &[ann]).unwrap();
        });
        for p in posts::table.load(c).unwrap() {
            assert!(User::get(c, p.author).unwrap().is_some(), "orphan {p:?}");
        }
    }
}

#[test]
fn a_child_inserted_while_its_parent_is_deleted_is_never_an_orphan_on_a_cluster() {
    let cluster = rom::testing::RedisCluster::start(3).unwrap();
    let mut c = cluster.connection().unwrap();
    let connect = || -> Box<dyn rom::Connection + Send> { Box::new(cluster.connection().unwrap()) };
    race_child_inserts_against_parent_delete(&mut c, &connect, 20);
}

#[test]
fn a_child_inserted_while_its_parent_is_deleted_is_never_an_orphan() {
    let s = RedisServer::start().unwrap();
    let mut c = s.connection().unwrap();
    let connect = || -> Box<dyn rom::Connection + Send> { Box::new(s.connection().unwrap()) };
    race_child_inserts_against_parent_delete(&mut c, &connect, 50);
    clean(&mut c);
}

/// A model of another placement referencing `User` (no rule: not co-located).
#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = visits)]
pub struct Visit {
    #[rom(primary_key)]
    pub id: Option<u64>,
    #[rom(belongs_to(User, on_delete = no_action))]
    pub user: Option<u64>,
}

#[test]
fn rows_load_with_their_parents_in_one_round_trip() {
    let s = RedisServer::start().unwrap();
    let mut raw = s.connection().unwrap();
    let ids: Vec<u64> = (0..10)
        .map(|i| {
            user(&format!("u{i}"), None)
                .insert(&mut raw)
                .unwrap()
                .id
                .unwrap()
        })
        .collect();
    for i in 0..100 {
        Post {
            likes: i,
            ..post(ids[i as usize % 10], ids[0])
        }
        .insert(&mut raw)
        .unwrap();
    }
    let mut c = CountingConnection::new(s.connection().unwrap());
    let rows = posts::table
        .order_by(posts::likes.asc())
        .load_with(&mut c, posts::author)
        .unwrap();
    assert_eq!(
        c.round_trips(),
        1,
        "100 posts with their authors: one round trip"
    );
    assert_eq!(rows.len(), 100);
    for (p, author) in &rows {
        let author = author.as_ref().expect("every author exists");
        assert_eq!(author.id, Some(p.author));
        assert_eq!(author.name, format!("u{}", p.likes % 10));
    }
    // a model of another placement: the parents in a second round trip
    Visit {
        id: None,
        user: Some(ids[3]),
    }
    .insert(&mut raw)
    .unwrap();
    Visit {
        id: None,
        user: None,
    }
    .insert(&mut raw)
    .unwrap();
    Visit {
        id: None,
        user: Some(999),
    }
    .insert(&mut raw)
    .unwrap();
    c.reset();
    let visits = visits::table.load_with(&mut c, visits::user).unwrap();
    assert_eq!(c.round_trips(), 2);
    let names: Vec<Option<String>> = visits
        .iter()
        .map(|(_, u)| u.as_ref().map(|u| u.name.clone()))
        .collect();
    // a null reference and a row that does not exist both give None
    assert_eq!(names, vec![Some("u3".to_owned()), None, None]);
    assert!(visits::table.load_with_plan(visits::user).is_err());
    // the rows referencing a row: a query to refine
    let u3 = User::get(&mut raw, ids[3]).unwrap().unwrap();
    let top: Vec<i64> = u3
        .children(posts::author)
        .order_by(posts::likes.desc())
        .limit(3)
        .load(&mut raw)
        .unwrap()
        .iter()
        .map(|p| p.likes)
        .collect();
    assert_eq!(top, vec![93, 83, 73]);
    assert_eq!(u3.children(visits::user).count(&mut raw).unwrap(), 1);
    // a filter by a parent record, typed by the column's parent model
    let by_u3 = posts::table
        .filter(posts::author.references(&u3).and(posts::likes.ge(90)))
        .count(&mut raw)
        .unwrap();
    assert_eq!(by_u3, 1);
    let plan = posts::table
        .load_with_plan(posts::author)
        .unwrap()
        .explain();
    assert!(plan.contains("parent row"), "{plan}");
}

/// A co-located reference without a rule: its parent may go.
#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = likes, group = Blog)]
pub struct Like {
    #[rom(primary_key)]
    pub id: Option<u64>,
    #[rom(belongs_to(Post, on_delete = no_action))]
    pub post: u64,
}

#[test]
fn verify_reports_references_to_rows_that_are_gone() {
    let s = RedisServer::start().unwrap();
    let mut c = s.connection().unwrap();
    let ann = user("ann", None).insert(&mut c).unwrap().id.unwrap();
    let p = post(ann, ann).insert(&mut c).unwrap().id.unwrap();
    let like = Like { id: None, post: p }.insert(&mut c).unwrap();
    assert!(verify::<Like, _>(&mut c).unwrap().is_clean());
    Post::delete_many(&mut c, &[p]).unwrap();
    let r = verify::<Like, _>(&mut c).unwrap();
    assert_eq!(
        r.problems,
        vec![rom::verify::Problem::Dangling {
            key: format!("{{blog}}/likes:row:{}", like.id.unwrap()),
            column: "post".into(),
            parent: format!("{{blog}}/posts:row:{p}"),
        }]
    );
    // repair leaves a no_action reference
    let r = rom::repair::<Like, _>(&mut c, rom::Repair::Apply).unwrap();
    assert_eq!(r.references_resolved, 0);
    assert_eq!(verify::<Like, _>(&mut c).unwrap().problems.len(), 1);
}

#[test]
fn repair_applies_the_rule_of_a_reference_whose_row_was_removed_from_outside() {
    let s = RedisServer::start().unwrap();
    let mut c = s.connection().unwrap();
    let ann = user("ann", None).insert(&mut c).unwrap().id.unwrap();
    let bob = user("bob", Some(ann)).insert(&mut c).unwrap().id.unwrap();
    let p = post(ann, bob).insert(&mut c).unwrap().id.unwrap();
    Comment {
        id: None,
        post: p,
        body: "hi".into(),
    }
    .insert(&mut c)
    .unwrap();
    // another program removes ann's row behind rom's back
    redis::cmd("DEL")
        .arg(format!("{{blog}}/users:row:{ann}"))
        .exec(&mut c)
        .unwrap();
    // cascade: the post goes, with its comment
    let dry = rom::repair::<Post, _>(&mut c, rom::Repair::DryRun).unwrap();
    assert_eq!(dry.references_resolved, 1);
    assert!(
        Post::get(&mut c, p).unwrap().is_some(),
        "a dry run writes nothing"
    );
    let r = rom::repair::<Post, _>(&mut c, rom::Repair::Apply).unwrap();
    assert_eq!(r.references_resolved, 1, "{r:?}");
    assert!(Post::get(&mut c, p).unwrap().is_none());
    assert_eq!(comments::table.count(&mut c).unwrap(), 0);
    assert!(verify::<Post, _>(&mut c).unwrap().is_clean());
    assert!(verify::<Comment, _>(&mut c).unwrap().is_clean());
    // set_null: bob's manager
    let r = rom::repair::<User, _>(&mut c, rom::Repair::Apply).unwrap();
    assert_eq!(r.references_resolved, 1, "{r:?}");
    assert_eq!(User::get(&mut c, bob).unwrap().unwrap().manager, None);
}

#[test]
fn relations_work_on_a_cluster() {
    let cluster = rom::testing::RedisCluster::start(3).unwrap();
    let mut c = cluster.connection().unwrap();
    ghost(&mut c);
    let ann = user("ann", None).insert(&mut c).unwrap().id.unwrap();
    let bob = user("bob", Some(ann)).insert(&mut c).unwrap().id.unwrap();
    let p = post(ann, bob).insert(&mut c).unwrap().id.unwrap();
    Comment {
        id: None,
        post: p,
        body: "hi".into(),
    }
    .insert(&mut c)
    .unwrap();
    assert!(matches!(
        post(77, ann).insert(&mut c),
        Err(Error::MissingParent { .. })
    ));
    let with = posts::table.load_with(&mut c, posts::author).unwrap();
    assert_eq!(with.len(), 1);
    assert_eq!(with[0].1.as_ref().map(|u| u.name.as_str()), Some("ann"));
    User::delete_many(&mut c, &[ann]).unwrap();
    assert_eq!(posts::table.count(&mut c).unwrap(), 0);
    assert_eq!(comments::table.count(&mut c).unwrap(), 0);
    assert_eq!(User::get(&mut c, bob).unwrap().unwrap().manager, None);
}
