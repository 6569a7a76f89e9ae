//! A model partitioned by a column (a tenant): every row sits in its
//! tenant's bucket, under a key rom picked in that bucket, so `get` by key
//! and a query pinned to the tenant (`in_partition`) are each one call to
//! one slot. Checked against an unpartitioned twin on random operations,
//! with `verify` along the way, on a single server and on a cluster.
#![allow(clippy::unwrap_used, missing_docs)]

mod random;
use random::{Rng, seed};
use rom::prelude::*;
use rom::testing::{RedisCluster, RedisServer};

macro_rules! order {
    ($name:ident, $table:ident $(, $($part:tt)+)?) => {
        #[derive(Model, Clone, Debug, PartialEq)]
        #[rom(table = $table $(, $($part)+)?)]
        struct $name {
            #[rom(primary_key)]
            id: Option<u64>,
            #[rom(index(eq))]
            tenant: String,
            #[rom(index(numeric))]
            total: i64,
            #[rom(index(eq))]
            status: String,
        }
    };
}
order!(Order, orders_t, partition(by = tenant, buckets = 16));
order!(Twin, orders_u);

type Row = (String, i64, String);
fn o_row(r: &Order) -> Row {
    (r.tenant.clone(), r.total, r.status.clone())
}
fn t_row(r: &Twin) -> Row {
    (r.tenant.clone(), r.total, r.status.clone())
}

const TENANTS: [&str; 6] = ["acme", "globex", "initech", "umbrella", "hooli", "Ωmega"];
const STATUS: [&str; 3] = ["new", "paid", "sent"];

/// Sorted rows, to compare sets.
fn sorted(mut v: Vec<Row>) -> Vec<Row> {
    v.sort();
    v
}

fn run(c: &mut impl rom::Connection, seed: u64, steps: usize) {
    let mut r = Rng(seed);
    // the twin's key for each partitioned key (they differ: rom picks them)
    let mut twin_of: std::collections::BTreeMap<u64, u64> = Default::default();
    for step in 0..steps {
        let ctx = format!("step {step}, seed {seed}");
        let tenant = TENANTS[r.below(6) as usize];
        match r.below(7) {
            0 | 1 => {
                let (total, status) = (r.below(100) as i64, STATUS[r.below(3) as usize]);
                let o = Order {
                    id: None,
                    tenant: tenant.into(),
                    total,
                    status: status.into(),
                }
                .insert(c)
                .unwrap();
                let t = Twin {
                    id: None,
                    tenant: tenant.into(),
                    total,
                    status: status.into(),
                }
                .insert(c)
                .unwrap();
                twin_of.insert(o.id.unwrap(), t.id.unwrap());
            }
            2 => {
                let rows: Vec<(Order, Twin)> = (0..r.below(8) + 1)
                    .map(|_| {
                        let tenant = TENANTS[r.below(6) as usize];
                        let (total, status) = (r.below(100) as i64, STATUS[r.below(3) as usize]);
                        (
                            Order {
                                id: None,
                                tenant: tenant.into(),
                                total,
                                status: status.into(),
                            },
                            Twin {
                                id: None,
                                tenant: tenant.into(),
                                total,
                                status: status.into(),
                            },
                        )
                    })
                    .collect();
                let (os, ts): (Vec<Order>, Vec<Twin>) = rows.into_iter().unzip();
                let os = Order::insert_all(c, os).unwrap();
                let ts = Twin::insert_all(c, ts).unwrap();
                for (o, t) in os.into_iter().zip(ts) {
                    twin_of.insert(o.unwrap().id.unwrap(), t.unwrap().id.unwrap());
                }
            }
            3 => {
                // update a row's other columns; moving it to another tenant
                // is refused unless both tenants share a bucket
                let Some((&k, &tk)) = twin_of
                    .iter()
                    .nth(r.below(twin_of.len().max(1) as u64) as usize)
                else {
                    continue;
                };
                let mut o = Order::get(c, k).unwrap().expect("stored");
                let mut t = Twin::get(c, tk).unwrap().expect("stored");
                o.status = "paid".into();
                t.status = "paid".into();
                if r.below(3) == 0 {
                    o.tenant = tenant.into();
                    match o.save(c) {
                        Ok(()) => {
                            t.tenant = tenant.into();
                            t.save(c).unwrap();
                        }
                        Err(Error::Validation { column, .. }) => {
                            assert_eq!(column, "tenant", "{ctx}");
                            let back = Order::get(c, k).unwrap().unwrap();
                            assert_ne!(back.tenant, tenant, "{ctx}: refused, yet moved");
                        }
                        Err(e) => panic!("{ctx}: {e:?}"),
                    }
                } else {
                    o.save(c).unwrap();
                    t.save(c).unwrap();
                }
            }
            4 => {
                // a query pinned to a tenant: what the twin's filter gives
                let min = r.below(100) as i64;
                let got: Vec<Row> = orders_t::table
                    .in_partition(tenant)
                    .filter(orders_t::total.ge(min))
                    .order_by(orders_t::total.desc())
                    .limit(5)
                    .load(c)
                    .unwrap()
                    .iter()
                    .map(|r| o_row(r))
                    .collect();
                let want: Vec<Row> = orders_u::table
                    .filter(orders_u::tenant.eq(tenant))
                    .filter(orders_u::total.ge(min))
                    .order_by(orders_u::total.desc())
                    .limit(5)
                    .load(c)
                    .unwrap()
                    .iter()
                    .map(|r| t_row(r))
                    .collect();
                // equal totals may come in another key order (keys differ)
                assert_eq!(
                    got.iter().map(|r| r.1).collect::<Vec<_>>(),
                    want.iter().map(|r| r.1).collect::<Vec<_>>(),
                    "{ctx}: pinned query of {tenant}"
                );
                let n = orders_t::table.in_partition(tenant).count(c).unwrap();
                assert_eq!(
                    n,
                    orders_u::table
                        .filter(orders_u::tenant.eq(tenant))
                        .count(c)
                        .unwrap(),
                    "{ctx}"
                );
            }
            5 => {
                // across partitions, as sets
                let status = STATUS[r.below(3) as usize];
                let got = orders_t::table
                    .across_partitions()
                    .filter(orders_t::status.eq(status))
                    .load(c)
                    .unwrap()
                    .iter()
                    .map(|r| o_row(r))
                    .collect();
                let want = orders_u::table
                    .filter(orders_u::status.eq(status))
                    .load(c)
                    .unwrap()
                    .iter()
                    .map(|r| t_row(r))
                    .collect();
                assert_eq!(sorted(got), sorted(want), "{ctx}");
            }
            _ => {
                // delete by key
                let Some((&k, &tk)) = twin_of
                    .iter()
                    .nth(r.below(twin_of.len().max(1) as u64) as usize)
                else {
                    continue;
                };
                assert_eq!(Order::delete_many(c, &[k]).unwrap(), 1, "{ctx}");
                assert_eq!(Twin::delete_many(c, &[tk]).unwrap(), 1, "{ctx}");
                twin_of.remove(&k);
            }
        }
        // every row by key, as its twin
        if step % 20 == 0 {
            for (&k, &tk) in &twin_of {
                let o = Order::get(c, k).unwrap().expect("row by key");
                let t = Twin::get(c, tk).unwrap().expect("twin by key");
                assert_eq!(o_row(&o), t_row(&t), "{ctx}: row {k}");
            }
        }
    }
}

#[test]
fn a_model_partitioned_by_a_tenant_answers_like_one_slot() {
    let seed = seed();
    let server = RedisServer::start().unwrap();
    let mut c = server.connection().unwrap();
    run(&mut c, seed, 300);
    let report = rom::verify::verify::<Order, _>(&mut c).unwrap();
    assert!(report.is_clean(), "seed {seed}: {:#?}", report.problems);
}

#[test]
fn a_pinned_query_is_one_call_to_its_tenants_bucket_and_pages() {
    let server = RedisServer::start().unwrap();
    let mut c = server.connection().unwrap();
    for i in 0..30 {
        Order {
            id: None,
            tenant: "acme".into(),
            total: i,
            status: "new".into(),
        }
        .insert(&mut c)
        .unwrap();
        Order {
            id: None,
            tenant: "globex".into(),
            total: i,
            status: "new".into(),
        }
        .insert(&mut c)
        .unwrap();
    }
    let q = orders_t::table
        .in_partition("acme")
        .order_by(orders_t::total.asc());
    let text = q.clone().explain();
    assert!(
        text.starts_with("FCALL_RO query") || text.starts_with("FCALL query"),
        "{text}"
    );
    assert!(text.contains("{orders_t#"), "{text}");
    assert!(!text.contains("more call"), "{text}");
    // pages with tokens, as any query
    let mut seen = Vec::new();
    let mut page = q.clone().load_page(7, &mut c).unwrap();
    loop {
        seen.extend(page.rows.iter().map(|r| r.total));
        let Some(t) = page.next.take() else { break };
        page = q.clone().after(&t).load_page(7, &mut c).unwrap();
    }
    assert_eq!(seen, (0..30).collect::<Vec<_>>());
    // a key given by hand must fall in its tenant's partition
    let mut refused = 0;
    for id in 1000..1016 {
        match (Order {
            id: Some(id),
            tenant: "acme".into(),
            total: 0,
            status: "x".into(),
        })
        .insert(&mut c)
        {
            Ok(_) => {}
            Err(Error::Validation { column, .. }) if column == "tenant" => refused += 1,
            Err(e) => panic!("{e:?}"),
        }
    }
    assert!(refused > 0, "16 hand-picked keys, all in acme's partition?");
}

#[test]
fn a_model_partitioned_by_a_tenant_on_a_cluster() {
    let seed = seed();
    let cluster = RedisCluster::start(3).unwrap();
    let mut c = cluster.connection().unwrap();
    run(&mut c, seed, 120);
    let report = rom::verify::verify::<Order, _>(&mut c).unwrap();
    assert!(report.is_clean(), "seed {seed}: {:#?}", report.problems);
}
