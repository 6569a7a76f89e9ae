//! A partitioned group: customers partitioned by their key and their
//! orders by `customer` share buckets, so a customer's row and its orders
//! live in one slot and one transaction writes them together, atomically,
//! on a single server and on a cluster; a transaction over two customers in
//! different buckets is refused before anything is sent. An order
//! references its customer (`belongs_to`, cascade): the parent is checked
//! and the cascade applied inside the bucket.
#![allow(clippy::unwrap_used, missing_docs)]

use rom::prelude::*;
use rom::testing::{RedisCluster, RedisServer};
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

/// The hash tag of a plan's first key.
fn tag(key: &[u8]) -> Vec<u8> {
    let open = key.iter().position(|&b| b == b'{').unwrap();
    let close = key.iter().position(|&b| b == b'}').unwrap();
    key[open..=close].to_vec()
}

/// Buys: the customer pays `total` and gets an order, in one transaction;
/// `Ok(false)` when the balance is short (nothing written).
fn buy<C: rom::Connection>(c: &mut C, customer: u64, total: i64) -> rom::Result<bool> {
    let mut tx = Transaction::<Shop>::new();
    let Some(cust) = tx.get::<Customer, _>(c, customer)? else {
        return Ok(false);
    };
    if cust.balance < total {
        return Ok(false);
    }
    cust.balance -= total;
    tx.insert(Order {
        id: None,
        customer,
        total,
    })?;
    tx.commit(c)?;
    Ok(true)
}

fn run(c: &mut impl rom::Connection) {
    let mut ids = Vec::new();
    for i in 0..12 {
        let cust = Customer {
            id: None,
            name: format!("c{i}"),
            balance: 100,
        }
        .insert(c)
        .unwrap();
        ids.push(cust.id.unwrap());
    }
    // each customer buys until the money runs out: 30 + 30 + 30, then no
    for &id in &ids {
        for _ in 0..4 {
            buy(c, id, 30).unwrap();
        }
    }
    for &id in &ids {
        let cust = Customer::get(c, id).unwrap().unwrap();
        assert_eq!(cust.balance, 10);
        let orders = orders::table.in_partition(id).load(c).unwrap();
        assert_eq!(orders.len(), 3, "customer {id}");
        // the orders live in their customer's bucket: one slot
        let home = tag(&Customer::get_plan(&[id]).keys()[0]);
        for o in &orders {
            assert_eq!(tag(&Order::get_plan(&[o.id.unwrap()]).keys()[0]), home);
            assert_eq!(o.customer, id);
        }
    }
    // two customers in different buckets: refused, nothing written
    let (a, b) = ids
        .iter()
        .flat_map(|&a| ids.iter().map(move |&b| (a, b)))
        .find(|(a, b)| {
            tag(&Customer::get_plan(&[*a]).keys()[0]) != tag(&Customer::get_plan(&[*b]).keys()[0])
        })
        .expect("12 customers over 16 buckets share at most a few");
    let mut tx = Transaction::<Shop>::new();
    tx.get::<Customer, _>(c, a).unwrap().unwrap().balance += 1;
    tx.get::<Customer, _>(c, b).unwrap().unwrap().balance += 1;
    let err = tx.commit(c).unwrap_err();
    assert!(matches!(err, Error::Validation { .. }), "{err:?}");
    assert_eq!(Customer::get(c, a).unwrap().unwrap().balance, 10);
    assert_eq!(Customer::get(c, b).unwrap().unwrap().balance, 10);
    // every partition: 36 orders
    assert_eq!(orders::table.across_partitions().count(c).unwrap(), 36);
}

#[test]
fn a_customer_and_its_orders_commit_together() {
    let server = RedisServer::start().unwrap();
    let mut c = server.connection().unwrap();
    run(&mut c);
    for r in [
        rom::verify::verify::<Customer, _>(&mut c).unwrap(),
        rom::verify::verify::<Order, _>(&mut c).unwrap(),
    ] {
        assert!(r.is_clean(), "{:#?}", r.problems);
    }
}

#[test]
fn a_customer_and_its_orders_commit_together_on_a_cluster() {
    let cluster = RedisCluster::start(3).unwrap();
    let mut c = cluster.connection().unwrap();
    run(&mut c);
    let r = rom::verify::verify::<Order, _>(&mut c).unwrap();
    assert!(r.is_clean(), "{:#?}", r.problems);
}

#[test]
fn an_order_takes_a_key_in_its_customers_bucket_inside_a_transaction() {
    let server = RedisServer::start().unwrap();
    let mut c = server.connection().unwrap();
    let cust = Customer {
        id: None,
        name: "x".into(),
        balance: 5,
    }
    .insert(&mut c)
    .unwrap();
    let id = cust.id.unwrap();
    let mut tx = Transaction::<Shop>::new();
    let o = tx
        .insert(Order {
            id: None,
            customer: id,
            total: 1,
        })
        .unwrap();
    let done = tx.commit(&mut c).unwrap();
    let key = done.key(o);
    let order = Order::get(&mut c, key).unwrap().unwrap();
    assert_eq!(order.customer, id);
    assert_eq!(
        tag(&Order::get_plan(&[key]).keys()[0]),
        tag(&Customer::get_plan(&[id]).keys()[0])
    );
}

#[test]
fn references_and_cascades_stay_inside_the_bucket() {
    let server = RedisServer::start().unwrap();
    let mut c = server.connection().unwrap();
    let mut ids = Vec::new();
    for i in 0..10 {
        let id = Customer {
            id: None,
            name: format!("c{i}"),
            balance: 50,
        }
        .insert(&mut c)
        .unwrap()
        .id
        .unwrap();
        for t in 0..3 {
            Order {
                id: None,
                customer: id,
                total: t,
            }
            .insert(&mut c)
            .unwrap();
        }
        ids.push(id);
    }
    // an order of a customer that does not exist: refused
    let err = Order {
        id: None,
        customer: 999_999,
        total: 1,
    }
    .insert(&mut c)
    .unwrap_err();
    assert!(matches!(err, Error::MissingParent { .. }), "{err:?}");
    // deleting customers deletes their orders (each bucket's part atomic)
    assert_eq!(Customer::delete_many(&mut c, &ids[..4]).unwrap(), 4);
    assert_eq!(orders::table.across_partitions().count(&mut c).unwrap(), 18);
    for &id in &ids[..4] {
        assert_eq!(orders::table.in_partition(id).count(&mut c).unwrap(), 0);
    }
    // by query across partitions, and in a transaction
    let n = customers::table
        .across_partitions()
        .filter(customers::balance.eq(50))
        .limit(1000)
        .ids(&mut c)
        .unwrap();
    assert_eq!(n.len(), 6);
    let mut tx = Transaction::<Shop>::new();
    tx.delete::<Customer>(ids[4]).unwrap();
    tx.commit(&mut c).unwrap();
    assert_eq!(orders::table.in_partition(ids[4]).count(&mut c).unwrap(), 0);
    assert_eq!(
        customers::table
            .across_partitions()
            .filter(customers::balance.eq(50))
            .delete(&mut c)
            .unwrap(),
        5
    );
    assert_eq!(orders::table.across_partitions().count(&mut c).unwrap(), 0);
    for r in [
        rom::verify::verify::<Customer, _>(&mut c).unwrap(),
        rom::verify::verify::<Order, _>(&mut c).unwrap(),
    ] {
        assert!(r.is_clean(), "{:#?}", r.problems);
    }
}

#[test]
fn a_pinned_query_loads_each_order_with_its_customer_in_one_call() {
    let server = RedisServer::start().unwrap();
    let mut c = rom::testing::CountingConnection::new(server.connection().unwrap());
    let id = Customer {
        id: None,
        name: "ann".into(),
        balance: 9,
    }
    .insert(&mut c)
    .unwrap()
    .id
    .unwrap();
    for t in 0..3 {
        Order {
            id: None,
            customer: id,
            total: t,
        }
        .insert(&mut c)
        .unwrap();
    }
    c.reset();
    let rows = orders::table
        .in_partition(id)
        .order_by(orders::total.asc())
        .load_with(&mut c, orders::customer)
        .unwrap();
    assert_eq!(c.round_trips(), 1);
    assert_eq!(rows.len(), 3);
    for (o, cust) in &rows {
        assert_eq!(o.customer, id);
        assert_eq!(cust.as_ref().unwrap().name, "ann");
    }
}

/// Across partitions, every order with its customer and every customer
/// with its orders, in the query's order: one call per bucket (one
/// pipeline on a single server), the same rows as reading each partition.
#[test]
fn a_query_across_partitions_loads_related_rows() {
    let server = RedisServer::start().unwrap();
    let mut c = rom::testing::CountingConnection::new(server.connection().unwrap());
    let mut ids = Vec::new();
    for (i, name) in ["ann", "bob", "cy", "dee", "eve"].iter().enumerate() {
        let id = Customer {
            id: None,
            name: (*name).into(),
            balance: i as i64,
        }
        .insert(&mut c)
        .unwrap()
        .id
        .unwrap();
        for t in 0..=i as i64 {
            Order {
                id: None,
                customer: id,
                total: 10 * t + i as i64,
            }
            .insert(&mut c)
            .unwrap();
        }
        ids.push(id);
    }
    c.reset();
    let rows = orders::table
        .across_partitions()
        .order_by(orders::total.desc())
        .limit(7)
        .load_with(&mut c, orders::customer)
        .unwrap();
    assert_eq!(c.round_trips(), 1);
    let totals: Vec<i64> = rows.iter().map(|(o, _)| o.total).collect();
    let mut want: Vec<i64> = (0..5i64)
        .flat_map(|i| (0..=i).map(move |t| 10 * t + i))
        .collect();
    want.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(totals, want[..7]);
    for (o, cust) in &rows {
        assert_eq!(cust.as_ref().unwrap().id, Some(o.customer));
    }
    let kids = customers::table
        .across_partitions()
        .order_by(customers::balance.asc())
        .load_children(&mut c, orders::customer)
        .unwrap();
    let counts: Vec<(String, usize)> = kids
        .iter()
        .map(|(k, o)| (k.name.clone(), o.len()))
        .collect();
    assert_eq!(
        counts,
        [("ann", 1), ("bob", 2), ("cy", 3), ("dee", 4), ("eve", 5)].map(|(n, k)| (n.to_owned(), k))
    );
    for (k, os) in &kids {
        assert!(os.iter().all(|o| Some(o.customer) == k.id));
    }
    let rel = customers::table
        .across_partitions()
        .filter(customers::balance.ge(3))
        .load_related(&mut c, (rom::relations::children(orders::customer),))
        .unwrap();
    assert_eq!(rel.len(), 2);
}
