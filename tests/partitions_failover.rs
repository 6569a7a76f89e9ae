//! A partitioned group survives the crash of a cluster master: on a cluster
//! whose three masters each have a replica, customers (partitioned by their
//! key) and their orders (inserted in `Transaction::<Shop>` commits, in their
//! customer's bucket) are written, and each acknowledged write is followed by
//! `WAIT 1 1000` on the connection to its master. Then the master of one
//! customer's bucket is killed (`SIGKILL`) and its replica promoted. On a new
//! cluster connection every row a replica confirmed reads back, the bucket
//! takes writes on the promoted replica (rom's function library is there, or
//! reloaded), and `rom::verify` finds nothing wrong.
#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::HashMap;
use std::time::Instant;

use redis::cluster::ClusterConnection;
use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr};
use rom::prelude::*;
use rom::testing::RedisCluster;
use rom::transaction::Transaction;

rom::group!(pub Shop = "shop", partitions = 16);

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = customers, group = Shop, partition(by = id), has_many(orders::customer))]
struct Customer {
    #[rom(primary_key)]
    id: Option<u64>,
    name: String,
    #[rom(index(numeric))]
    balance: i64,
}

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = orders, group = Shop, partition(by = customer))]
struct Order {
    #[rom(primary_key)]
    id: Option<u64>,
    #[rom(index(eq), belongs_to(Customer, on_delete = cascade))]
    customer: u64,
    #[rom(index(numeric))]
    total: i64,
}

/// The key of a customer's row (its slot is its bucket's slot).
fn customer_key(id: u64) -> Vec<u8> {
    Customer::get_plan(&[id]).keys()[0].clone()
}

/// `WAIT 1 1000` on the cluster connection's link to the master of `key`'s
/// slot, the link the write went over: `true` if a replica confirmed every
/// write sent on it so far.
fn replicated(c: &mut ClusterConnection, key: &[u8]) -> bool {
    let route = Route::with_key(key, SlotAddr::Master);
    let routing = RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(route));
    let answer = c
        .route_command(redis::cmd("WAIT").arg(1).arg(1000), routing)
        .unwrap();
    redis::from_redis_value::<i64>(answer).unwrap() >= 1
}

/// The slot of a key, as the cluster computes it.
fn slot_of(c: &mut ClusterConnection, key: &[u8]) -> u16 {
    redis::cmd("CLUSTER")
        .arg("KEYSLOT")
        .arg(key)
        .query(c)
        .unwrap()
}

/// Whether the node on `port` has rom's function library.
fn has_library(port: u16) -> bool {
    let mut con = redis::Client::open(format!("redis://127.0.0.1:{port}"))
        .unwrap()
        .get_connection()
        .unwrap();
    let libs: Vec<redis::Value> = redis::cmd("FUNCTION")
        .arg("LIST")
        .arg("LIBRARYNAME")
        .arg(rom::library::library_name())
        .query(&mut con)
        .unwrap();
    !libs.is_empty()
}

/// What a replica confirmed: the customers' last confirmed state, their
/// confirmed orders, and the customers with a write it did not confirm
/// (whose state after the failover is either one).
#[derive(Default)]
struct Confirmed {
    customers: HashMap<u64, Customer>,
    orders: HashMap<u64, Vec<Order>>,
    unsure: Vec<u64>,
}

fn write_and_wait(c: &mut ClusterConnection) -> Confirmed {
    let mut confirmed = Confirmed::default();
    let mut ids = Vec::new();
    for i in 0..12 {
        let cust = Customer {
            id: None,
            name: format!("c{i}"),
            balance: 100,
        }
        .insert(c)
        .unwrap()
        .into_inner();
        let id = cust.id.unwrap();
        ids.push(id);
        if replicated(c, &customer_key(id)) {
            confirmed.customers.insert(id, cust);
            confirmed.orders.insert(id, Vec::new());
        } else {
            confirmed.unsure.push(id);
        }
    }
    // two purchases each, a transaction each: the customer pays, an order
    // is written in the customer's bucket
    for &id in &ids {
        for total in [30, 20] {
            let mut tx = Transaction::<Shop>::new();
            let cust = tx.get::<Customer, _>(c, id).unwrap().unwrap();
            cust.balance -= total;
            let balance = cust.balance;
            let o = tx
                .insert(Order {
                    id: None,
                    customer: id,
                    total,
                })
                .unwrap();
            let done = tx.commit(c).unwrap();
            let order = Order {
                id: Some(done.key(o)),
                customer: id,
                total,
            };
            if replicated(c, &customer_key(id)) && !confirmed.unsure.contains(&id) {
                confirmed.customers.get_mut(&id).unwrap().balance = balance;
                confirmed.orders.get_mut(&id).unwrap().push(order);
            } else if !confirmed.unsure.contains(&id) {
                confirmed.unsure.push(id);
            }
        }
    }
    confirmed
}

#[test]
fn confirmed_rows_of_a_bucket_survive_the_failover_of_its_master() {
    let mut cluster = RedisCluster::start_with_replicas(3).unwrap();
    let mut c = cluster.connection().unwrap();
    let confirmed = write_and_wait(&mut c);
    assert!(
        confirmed.unsure.is_empty(),
        "a replica did not confirm the writes of {:?} within 1 s",
        confirmed.unsure
    );

    // the bucket of the first customer loses its master
    let victim = *confirmed.customers.keys().min().unwrap();
    let slot = slot_of(&mut c, &customer_key(victim));
    let (master, replicas) = cluster.slot_nodes(slot).unwrap();
    assert_eq!(
        replicas.len(),
        1,
        "slot {slot}: master {master}, {replicas:?}"
    );
    drop(c);
    cluster.kill_node(master).unwrap();
    let killed = Instant::now();
    let promoted = cluster.wait_for_failover(slot, master).unwrap();
    eprintln!(
        "slot {slot}: 127.0.0.1:{master} killed, 127.0.0.1:{promoted} serves it after {:?}",
        killed.elapsed()
    );
    assert_eq!(promoted, replicas[0]);
    eprintln!(
        "rom's library on the promoted replica before any call: {}",
        has_library(promoted)
    );

    let mut c = cluster.connection().unwrap();
    // every confirmed row is there, as it was confirmed
    for (&id, cust) in &confirmed.customers {
        let got = Customer::get(&mut c, id).unwrap().unwrap().into_inner();
        assert_eq!(&got, cust);
        let mut orders: Vec<Order> = orders::table
            .in_partition(id)
            .load(&mut c)
            .unwrap()
            .into_iter()
            .map(|row| row.into_inner())
            .collect();
        orders.sort_by_key(|o| o.id);
        let mut expected = confirmed.orders[&id].clone();
        expected.sort_by_key(|o| o.id);
        assert_eq!(orders, expected, "customer {id}");
    }
    assert_eq!(orders::table.across_partitions().count(&mut c).unwrap(), 24);

    // the bucket takes writes on its new master: a transaction and a plain insert
    let mut tx = Transaction::<Shop>::new();
    tx.get::<Customer, _>(&mut c, victim)
        .unwrap()
        .unwrap()
        .balance -= 5;
    let o = tx
        .insert(Order {
            id: None,
            customer: victim,
            total: 5,
        })
        .unwrap();
    let done = tx.commit(&mut c).unwrap();
    let key = done.key(o);
    assert_eq!(
        Order::get(&mut c, key).unwrap().unwrap().into_inner().total,
        5
    );
    Order {
        id: None,
        customer: victim,
        total: 7,
    }
    .insert(&mut c)
    .unwrap();
    assert_eq!(orders::table.in_partition(victim).count(&mut c).unwrap(), 4);
    assert_eq!(
        Customer::get(&mut c, victim).unwrap().unwrap().balance,
        confirmed.customers[&victim].balance - 5
    );
    assert!(has_library(promoted));

    for r in [
        rom::verify::verify::<Customer, _>(&mut c).unwrap(),
        rom::verify::verify::<Order, _>(&mut c).unwrap(),
    ] {
        assert!(r.is_clean(), "{:#?}", r.problems);
    }
}
