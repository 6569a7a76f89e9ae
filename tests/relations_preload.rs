//! Preloading the other side of a relation: a query's rows each with the rows
//! that reference them (`load_children`, `has_many`) or the one row that does
//! (`load_child`, `has_one`), in one round trip when co-located and two when
//! not, checked against rows read one by one.
#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::BTreeMap;

use rom::prelude::*;
use rom::testing::{CountingConnection, RedisServer};

rom::group!(pub Shop = "shop");

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = users, group = Shop, has_many(orders::buyer), has_one(profiles::owner))]
pub struct User {
    #[rom(primary_key)]
    pub id: Option<u64>,
    #[rom(index(numeric))]
    pub age: i64,
}

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = orders, group = Shop)]
pub struct Order {
    #[rom(primary_key)]
    pub id: Option<u64>,
    #[rom(belongs_to(User, on_delete = cascade))]
    pub buyer: Option<u64>,
    pub total: i64,
}

/// One-to-one: a unique reference.
#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = profiles, group = Shop)]
pub struct Profile {
    #[rom(primary_key)]
    pub handle: String,
    #[rom(belongs_to(User, on_delete = cascade), unique)]
    pub owner: u64,
}

/// Another placement: references are not checked and children are read in a
/// second round trip.
#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = reviews)]
pub struct Review {
    #[rom(primary_key)]
    pub id: Option<u64>,
    #[rom(belongs_to(User, on_delete = no_action))]
    pub by: u64,
    #[rom(belongs_to(User, on_delete = no_action), unique)]
    pub featured_for: Option<u64>,
}

/// Users 0..n with `i % 4` orders each (user 0 none), a profile for even
/// users, and reviews in another placement.
fn fill<C: rom::Connection>(c: &mut C, n: u64) -> Vec<u64> {
    let mut ids = Vec::new();
    for i in 0..n {
        let id = User {
            id: None,
            age: i as i64,
        }
        .insert(c)
        .unwrap()
        .id
        .unwrap();
        ids.push(id);
        for k in 0..i % 4 {
            Order {
                id: None,
                buyer: Some(id),
                total: (i * 10 + k) as i64,
            }
            .insert(c)
            .unwrap();
        }
        if i % 2 == 0 {
            Profile {
                handle: format!("h{i}"),
                owner: id,
            }
            .insert(c)
            .unwrap();
        }
        Review {
            id: None,
            by: id,
            featured_for: (i % 3 == 0).then_some(id),
        }
        .insert(c)
        .unwrap();
    }
    // an order with no buyer belongs to nobody
    Order {
        id: None,
        buyer: None,
        total: -1,
    }
    .insert(c)
    .unwrap();
    ids
}

/// The orders of each user, read with a query per user (the reference).
fn orders_by_user<C: rom::Connection>(c: &mut C) -> BTreeMap<u64, Vec<Order>> {
    let mut out = BTreeMap::new();
    for u in users::table.load(c).unwrap() {
        let mine = u.children(orders::buyer).load(c).unwrap();
        out.insert(
            u.id.unwrap(),
            mine.into_iter().map(|o| (*o).clone()).collect(),
        );
    }
    out
}

#[test]
fn a_query_loads_its_rows_children_in_one_round_trip() {
    let s = RedisServer::start().unwrap();
    let mut raw = s.connection().unwrap();
    fill(&mut raw, 100);
    let want = orders_by_user(&mut raw);
    let mut c = CountingConnection::new(s.connection().unwrap());
    let got = users::table.load_children(&mut c, orders::buyer).unwrap();
    assert_eq!(c.round_trips(), 1, "100 users with their orders: one call");
    assert_eq!(got.len(), 100);
    for (u, orders) in &got {
        let orders: Vec<Order> = orders.iter().map(|o| (**o).clone()).collect();
        assert_eq!(orders, want[&u.id.unwrap()], "user {:?}", u.id);
        // in key order
        let ids: Vec<u64> = orders.iter().map(|o| o.id.unwrap()).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
    }
    // the query's filter, order and page apply to the parents
    c.reset();
    let page = users::table
        .filter(users::age.ge(50))
        .order_by(users::age.desc())
        .limit(3)
        .load_children(&mut c, orders::buyer)
        .unwrap();
    assert_eq!(c.round_trips(), 1);
    let shape: Vec<(i64, usize)> = page.iter().map(|(u, o)| (u.age, o.len())).collect();
    assert_eq!(shape, vec![(99, 3), (98, 2), (97, 1)]);
    // a child whose row is gone (removed by another program) is left out
    let victim = page[0].1[0].id.unwrap();
    let removed: i64 = redis::cmd("DEL")
        .arg(format!("{{shop}}/orders:row:{victim}"))
        .query(&mut raw)
        .unwrap();
    assert_eq!(removed, 1);
    let again = users::table
        .filter(users::age.eq(99))
        .load_children(&mut raw, orders::buyer)
        .unwrap();
    assert!(again[0].1.iter().all(|o| o.id != Some(victim)));
    let plan = users::table
        .load_children_plan(orders::buyer)
        .unwrap()
        .explain();
    assert!(plan.contains("reference each"), "{plan}");
}

#[test]
fn has_one_loads_the_one_row_that_references_each() {
    let s = RedisServer::start().unwrap();
    let mut raw = s.connection().unwrap();
    fill(&mut raw, 20);
    let mut c = CountingConnection::new(s.connection().unwrap());
    let got = users::table
        .order_by(users::age.asc())
        .load_child(&mut c, profiles::owner)
        .unwrap();
    assert_eq!(c.round_trips(), 1);
    for (u, profile) in &got {
        match profile {
            Some(p) => {
                assert_eq!(u.age % 2, 0);
                assert_eq!(
                    (p.handle.clone(), p.owner),
                    (format!("h{}", u.age), u.id.unwrap())
                );
            }
            None => assert_eq!(u.age % 2, 1),
        }
    }
    // deleting a user cascades to its profile
    let first = got[0].0.clone();
    first.delete(&mut raw).unwrap();
    assert_eq!(profiles::table.count(&mut raw).unwrap(), 9);
}

#[test]
fn a_child_model_of_another_placement_is_read_in_a_second_round_trip() {
    let s = RedisServer::start().unwrap();
    let mut raw = s.connection().unwrap();
    let ids = fill(&mut raw, 12);
    let mut c = CountingConnection::new(s.connection().unwrap());
    let got = users::table
        .order_by(users::age.asc())
        .load_children(&mut c, reviews::by)
        .unwrap();
    assert_eq!(c.round_trips(), 2);
    for (u, reviews) in &got {
        let by: Vec<u64> = reviews.iter().map(|r| r.by).collect();
        assert_eq!(by, vec![u.id.unwrap()]);
    }
    c.reset();
    let featured = users::table
        .order_by(users::age.asc())
        .load_child(&mut c, reviews::featured_for)
        .unwrap();
    assert_eq!(c.round_trips(), 2);
    let has: Vec<bool> = featured.iter().map(|(_, r)| r.is_some()).collect();
    let want: Vec<bool> = (0..12).map(|i| i % 3 == 0).collect();
    assert_eq!(has, want);
    // no parents: no second round trip
    c.reset();
    let none = users::table
        .filter(users::age.gt(1_000))
        .load_children(&mut c, reviews::by)
        .unwrap();
    assert!(none.is_empty());
    assert_eq!(c.round_trips(), 1);
    // no single plan describes two round trips
    assert!(users::table.load_children_plan(reviews::by).is_err());
    assert_eq!(ids.len(), 12);
}

#[cfg(feature = "tokio")]
#[tokio::test]
async fn children_load_on_an_async_connection() {
    let s = RedisServer::start().unwrap();
    let mut raw = s.connection().unwrap();
    fill(&mut raw, 10);
    let want = orders_by_user(&mut raw);
    let mut c = s.multiplexed().await.unwrap();
    let got = users::table
        .load_children_async(&mut c, orders::buyer)
        .await
        .unwrap();
    for (u, orders) in &got {
        let orders: Vec<Order> = orders.iter().map(|o| (**o).clone()).collect();
        assert_eq!(orders, want[&u.id.unwrap()]);
    }
    let apart = users::table
        .load_children_async(&mut c, reviews::by)
        .await
        .unwrap();
    assert!(apart.iter().all(|(_, r)| r.len() == 1));
    let one = users::table
        .load_child_async(&mut c, profiles::owner)
        .await
        .unwrap();
    assert_eq!(one.iter().filter(|(_, p)| p.is_some()).count(), 5);
}

#[test]
fn children_load_on_a_cluster() {
    let cluster = rom::testing::RedisCluster::start(3).unwrap();
    let mut c = cluster.connection().unwrap();
    fill(&mut c, 8);
    let want = orders_by_user(&mut c);
    let got = users::table.load_children(&mut c, orders::buyer).unwrap();
    for (u, orders) in &got {
        let orders: Vec<Order> = orders.iter().map(|o| (**o).clone()).collect();
        assert_eq!(orders, want[&u.id.unwrap()]);
    }
    let apart = users::table.load_children(&mut c, reviews::by).unwrap();
    assert_eq!(apart.len(), 8);
    assert!(apart.iter().all(|(_, r)| r.len() == 1));
}

#[test]
fn several_relations_load_in_one_round_trip() {
    use rom::relations::{child, children, parent};
    let s = RedisServer::start().unwrap();
    let mut raw = s.connection().unwrap();
    fill(&mut raw, 30);
    let want = orders_by_user(&mut raw);
    let mut c = CountingConnection::new(s.connection().unwrap());
    // users with their orders and their profile
    let got = users::table
        .order_by(users::age.asc())
        .load_related(&mut c, (children(orders::buyer), child(profiles::owner)))
        .unwrap();
    assert_eq!(c.round_trips(), 1);
    assert_eq!(got.len(), 30);
    for (u, (orders, profile)) in &got {
        let orders: Vec<Order> = orders.iter().map(|o| (**o).clone()).collect();
        assert_eq!(orders, want[&u.id.unwrap()]);
        assert_eq!(profile.is_some(), u.age % 2 == 0);
    }
    // orders with their buyer (a null buyer gives none)
    c.reset();
    let orders = orders::table
        .load_related(&mut c, (parent(orders::buyer),))
        .unwrap();
    assert_eq!(c.round_trips(), 1);
    assert!(orders.iter().any(|(o, _)| o.buyer.is_none()));
    assert!(
        orders
            .iter()
            .all(|(o, (b,))| b.as_ref().and_then(|b| b.id) == o.buyer)
    );
    // a model of another placement cannot be read in the same call
    assert!(
        users::table
            .load_related(&mut c, (children(orders::buyer), children(reviews::by)))
            .is_err()
    );
    let plan = users::table
        .load_related_plan((children(orders::buyer),))
        .unwrap()
        .explain();
    assert!(plan.contains("reference each"), "{plan}");
}
