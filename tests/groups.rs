//! Placement groups: models declared with `#[rom(group = G)]` share the hash
//! tag `{g}`, so their keys are in one cluster slot; their keys never collide
//! with an ungrouped model's, and every operation works as for any model.
#![allow(clippy::unwrap_used, missing_docs)]

use rom::prelude::*;
use rom::testing::{RedisCluster, RedisServer};
use rom::verify::verify;

rom::group! {
    /// The shop's models.
    pub Shop = "shop";
}

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = customers, group = Shop)]
pub struct Customer {
    #[rom(primary_key)]
    pub id: Option<u64>,
    #[rom(unique(case_insensitive))]
    pub email: String,
    #[rom(index(text))]
    pub name: String,
}

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = orders, group = Shop)]
pub struct Order {
    #[rom(primary_key)]
    pub id: Option<u64>,
    #[rom(index(eq))]
    pub customer: u64,
    #[rom(index(numeric))]
    pub total: f64,
}

/// An ungrouped model whose namespace is the group's name: its keys are
/// `{shop}:...`, the group's `{shop}/...`, so they never meet.
#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = shop)]
pub struct Shelf {
    #[rom(primary_key)]
    pub id: Option<u64>,
    #[rom(index(eq))]
    pub aisle: String,
}

fn fill<C: rom::Connection>(c: &mut C) {
    let ann = Customer {
        id: None,
        email: "Ann@Example.com".into(),
        name: "Ann Lee".into(),
    }
    .insert(c)
    .unwrap();
    let bob = Customer {
        id: None,
        email: "bob@example.com".into(),
        name: "Bob Lee".into(),
    }
    .insert(c)
    .unwrap();
    for (who, total) in [(&ann, 10.0), (&ann, 25.5), (&bob, 7.0)] {
        Order {
            id: None,
            customer: who.id.unwrap(),
            total,
        }
        .insert(c)
        .unwrap();
    }
    Shelf {
        id: None,
        aisle: "row".into(),
    }
    .insert(c)
    .unwrap();
}

fn check<C: rom::Connection>(c: &mut C) {
    let ann = customers::table
        .filter(customers::email.eq("ANN@example.com"))
        .first(c)
        .unwrap();
    assert_eq!(ann.id, Some(1));
    assert_eq!(
        customers::table
            .filter(customers::name.has_word("lee"))
            .count(c)
            .unwrap(),
        2
    );
    let anns = orders::table
        .filter(orders::customer.eq(1u64))
        .order_by(orders::total.desc())
        .load(c)
        .unwrap();
    assert_eq!(
        anns.iter().map(|o| o.total).collect::<Vec<_>>(),
        vec![25.5, 10.0]
    );
    assert_eq!(shelfs_count(c), 1);
    assert!(matches!(
        Customer {
            id: None,
            email: "bob@EXAMPLE.com".into(),
            name: "B".into()
        }
        .insert(c),
        Err(Error::UniqueViolation { .. })
    ));
    assert_eq!(
        orders::table
            .filter(orders::total.lt(20.0))
            .delete(c)
            .unwrap(),
        2
    );
    assert!(verify::<Customer, _>(c).unwrap().is_clean());
    assert!(verify::<Order, _>(c).unwrap().is_clean());
    assert!(verify::<Shelf, _>(c).unwrap().is_clean());
}

fn shelfs_count<C: rom::Connection>(c: &mut C) -> u64 {
    shop::table.filter(shop::aisle.eq("row")).count(c).unwrap()
}

#[test]
fn grouped_models_share_the_group_tag_and_work_as_any_model() {
    let server = RedisServer::start().unwrap();
    let mut c = server.connection().unwrap();
    fill(&mut c);
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut c).unwrap();
    for k in &keys {
        let grouped = k.starts_with("{shop}/customers:") || k.starts_with("{shop}/orders:");
        let shelf = k.starts_with("{shop}:");
        assert!(grouped || shelf, "unexpected key {k}");
    }
    assert!(
        keys.contains(&"{shop}/customers:row:1".to_owned()),
        "{keys:?}"
    );
    assert!(
        keys.contains(&"{shop}/orders:num:total".to_owned()),
        "{keys:?}"
    );
    assert!(keys.contains(&"{shop}:row:1".to_owned()), "{keys:?}");
    check(&mut c);
}

#[test]
fn on_a_cluster_a_group_is_one_slot() {
    let cluster = RedisCluster::start(3).unwrap();
    let mut c = cluster.connection().unwrap();
    fill(&mut c);
    check(&mut c);
    // every key of the group hashes to one slot, on one node
    let mut slots = std::collections::BTreeSet::new();
    for url in cluster.urls() {
        let client = redis::Client::open(url.as_str()).unwrap();
        let mut node = client.get_connection().unwrap();
        let keys: Vec<String> = redis::cmd("KEYS").arg("{shop}/*").query(&mut node).unwrap();
        for k in keys {
            let slot: u16 = redis::cmd("CLUSTER")
                .arg("KEYSLOT")
                .arg(&k)
                .query(&mut node)
                .unwrap();
            slots.insert((slot, url.clone()));
        }
    }
    assert_eq!(
        slots.len(),
        1,
        "the group's keys are in one slot on one node: {slots:?}"
    );
}
