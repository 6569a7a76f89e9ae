//! Partitioned models (`#[rom(partition(by = key, buckets = N))]`): every
//! row and its index entries live under its bucket's hash tag, the key
//! operations find them there, and a batch or a read of many keys spanning
//! buckets works on a single server and on a real Redis Cluster (sync and
//! async), with the results a model in one slot gives.
#![allow(clippy::unwrap_used, missing_docs)]

mod random;
use random::{Rng, seed};
use rom::prelude::*;
use rom::testing::{RedisCluster, RedisServer};
use std::collections::BTreeMap;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = accounts, partition(by = id, buckets = 8))]
struct Account {
    #[rom(primary_key)]
    id: u64,
    #[rom(index(eq))]
    tenant: String,
    #[rom(index(numeric))]
    balance: i64,
    note: Option<String>,
}

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = skus, partition(by = code, buckets = 64))]
struct Sku {
    #[rom(primary_key)]
    code: String,
    #[rom(index(numeric))]
    stock: i64,
}

fn account(id: u64, r: &mut Rng) -> Account {
    Account {
        id,
        tenant: format!("t{}", r.below(3)),
        balance: r.below(100) as i64 - 50,
        note: (r.below(2) == 0).then(|| format!("n{}", r.below(10))),
    }
}

fn keys(c: &mut redis::Connection) -> Vec<String> {
    let mut k: Vec<String> = redis::cmd("KEYS").arg("*").query(c).unwrap();
    k.sort();
    k
}

/// The bucket (index into `bucket_layouts`) whose tag prefixes `key`.
fn bucket_of_key<M: Model>(key: &[u8]) -> Option<usize> {
    M::bucket_layouts()
        .iter()
        .position(|l| key.starts_with(&l.tag))
}

/// What must hold after every step: every key of the model carries one of
/// its buckets' tags; each stored row sits in exactly one bucket, and that
/// bucket's id list and indexes hold it and nothing of another bucket.
fn check_placement(c: &mut redis::Connection, model: &BTreeMap<u64, Account>) {
    let layouts = Account::bucket_layouts();
    assert_eq!(layouts.len(), 8);
    for k in keys(c) {
        assert!(
            bucket_of_key::<Account>(k.as_bytes()).is_some(),
            "{k} carries no bucket tag"
        );
    }
    let mut listed = 0;
    for (b, l) in layouts.iter().enumerate() {
        let ids: Vec<String> = redis::cmd("ZRANGE")
            .arg(&l.ids)
            .arg(0)
            .arg(-1)
            .query(c)
            .unwrap();
        listed += ids.len();
        for m in &ids {
            let id: u64 = m.parse().unwrap();
            assert!(
                model.contains_key(&id),
                "bucket {b} lists {m}, which is gone"
            );
            let row: bool = redis::cmd("EXISTS")
                .arg(l.row_key(m.as_bytes()))
                .query(c)
                .unwrap();
            assert!(row, "bucket {b} lists {m} without its row there");
            let bal: Option<f64> = redis::cmd("ZSCORE")
                .arg(l.numeric[1].as_ref().unwrap())
                .arg(m)
                .query(c)
                .unwrap();
            assert_eq!(bal, Some(model[&id].balance as f64), "balance index of {m}");
            let tenant = format!(
                "{}{}",
                String::from_utf8_lossy(&l.slots[0].key),
                model[&id].tenant
            );
            let member: bool = redis::cmd("SISMEMBER").arg(tenant).arg(m).query(c).unwrap();
            assert!(member, "tenant index of {m} in bucket {b}");
        }
    }
    assert_eq!(listed, model.len(), "rows listed over all buckets");
}

#[test]
fn key_operations_follow_each_rows_bucket() {
    let seed = seed();
    let mut r = Rng(seed);
    let server = RedisServer::start().unwrap();
    let mut c = server.connection().unwrap();
    let mut model: BTreeMap<u64, Account> = BTreeMap::new();
    let mut seen = [0u32; 8];
    for step in 0..400 {
        let id = r.below(40) + 1;
        let ctx = format!("step {step}, seed {seed}");
        match r.below(9) {
            0 | 1 => {
                let a = account(id, &mut r);
                let got = a.clone().insert(&mut c);
                if let std::collections::btree_map::Entry::Vacant(e) = model.entry(id) {
                    assert_eq!(got.unwrap().into_inner(), a, "{ctx}");
                    e.insert(a);
                } else {
                    assert!(
                        matches!(got, Err(Error::UniqueViolation { .. })),
                        "{ctx}: {got:?}"
                    );
                }
            }
            2 => {
                let a = account(id, &mut r);
                a.clone().upsert(&mut c).unwrap();
                model.insert(id, a);
            }
            3 => {
                // a loaded record, changed and saved (conflict-checked)
                if let Some(mut rec) = Account::get(&mut c, id).unwrap() {
                    rec.balance += 7;
                    rec.tenant = format!("t{}", r.below(3));
                    rec.save(&mut c).unwrap();
                    model.insert(id, rec.into_inner());
                }
            }
            4 => {
                let got = Account::get(&mut c, id).unwrap().map(|r| r.into_inner());
                assert_eq!(got.as_ref(), model.get(&id), "{ctx}");
                assert_eq!(
                    Account::exists(&mut c, id).unwrap(),
                    model.contains_key(&id),
                    "{ctx}"
                );
            }
            5 => {
                // many keys over several buckets, some absent, one repeated
                let ks: Vec<u64> = (0..r.below(12)).map(|_| r.below(45) + 1).collect();
                let got: Vec<Account> = Account::get_many(&mut c, &ks)
                    .unwrap()
                    .into_iter()
                    .map(|r| r.into_inner())
                    .collect();
                let want: Vec<Account> = ks.iter().filter_map(|k| model.get(k).cloned()).collect();
                assert_eq!(got, want, "{ctx}: get_many {ks:?}");
            }
            6 => {
                let ks: Vec<u64> = (0..r.below(6)).map(|_| r.below(45) + 1).collect();
                let mut distinct = ks.clone();
                distinct.sort_unstable();
                distinct.dedup();
                let want = distinct.iter().filter(|k| model.contains_key(k)).count() as u64;
                assert_eq!(
                    Account::delete_many(&mut c, &ks).unwrap(),
                    want,
                    "{ctx}: delete_many {ks:?}"
                );
                for k in &ks {
                    model.remove(k);
                }
            }
            7 => {
                let got = Account::increment(&mut c, id, accounts::balance.add(3));
                match model.get_mut(&id) {
                    Some(a) => {
                        a.balance += 3;
                        assert_eq!(got.unwrap(), a.balance, "{ctx}");
                    }
                    None => assert!(matches!(got, Err(Error::NotFound { .. })), "{ctx}: {got:?}"),
                }
            }
            _ => {
                // a batch over several buckets: each row its own result
                let rows: Vec<Account> = (0..r.below(6) + 1)
                    .map(|_| {
                        let id = r.below(45) + 1;
                        account(id, &mut r)
                    })
                    .collect();
                let got = Account::insert_all(&mut c, rows.clone()).unwrap();
                for (a, g) in rows.into_iter().zip(got) {
                    if let std::collections::btree_map::Entry::Vacant(e) = model.entry(a.id) {
                        assert_eq!(g.unwrap().into_inner(), a, "{ctx}");
                        e.insert(a);
                    } else {
                        assert!(
                            matches!(g, Err(Error::UniqueViolation { .. })),
                            "{ctx}: {g:?}"
                        );
                    }
                }
            }
        }
        check_placement(&mut c, &model);
        if step % 25 == 0 {
            let report = rom::verify::verify::<Account, _>(&mut c).unwrap();
            assert!(report.is_clean(), "{ctx}: {:#?}", report.problems);
            assert_eq!(report.rows, model.len() as u64, "{ctx}");
        }
        for id in model.keys() {
            let k = Account::bucket_layouts()
                .iter()
                .position(|l| {
                    redis::cmd("EXISTS")
                        .arg(l.row_key(id.to_string().as_bytes()))
                        .query::<bool>(&mut c)
                        .unwrap()
                })
                .unwrap();
            seen[k] += 1;
        }
    }
    // the rows spread over every bucket
    assert!(seen.iter().all(|&n| n > 0), "buckets used: {seen:?}");
}

#[test]
fn a_query_built_by_generic_code_is_refused_with_a_typed_error() {
    let server = RedisServer::start().unwrap();
    let mut c = server.connection().unwrap();
    let mut r = Rng(7);
    account(1, &mut r).insert(&mut c).unwrap();
    // the table has no query methods but `across_partitions` (a compile
    // error, tests/ui); generic code can still build a one-slot query,
    // which is refused before anything is sent
    let q = rom::Query::<Account>::default();
    let err = q.clone().load(&mut c).unwrap_err();
    assert!(
        matches!(&err, Error::Validation { model: "Account", reason, .. } if reason.contains("partitioned")),
        "{err:?}"
    );
    assert!(matches!(q.count(&mut c), Err(Error::Validation { .. })));
}

#[test]
fn verify_and_repair_walk_every_bucket() {
    let server = RedisServer::start().unwrap();
    let mut c = server.connection().unwrap();
    let mut r = Rng(11);
    for id in 1..=60 {
        account(id, &mut r).insert(&mut c).unwrap();
    }
    let report = rom::verify::verify::<Account, _>(&mut c).unwrap();
    assert!(report.is_clean(), "{:#?}", report.problems);
    assert_eq!(report.rows, 60);
    // damage in two buckets: an orphan index entry, a listed member without
    // its row, and a row under the wrong bucket's tag
    let layouts = Account::bucket_layouts();
    let home = |id: u64| {
        let key = Account::get_plan(&[id]).keys()[0].clone();
        layouts
            .iter()
            .position(|l| key.starts_with(&l.tag))
            .unwrap()
    };
    let (b1, b2) = (home(1), home(2));
    let l1 = &layouts[b1];
    redis::cmd("ZADD")
        .arg(l1.numeric[1].as_ref().unwrap())
        .arg(5)
        .arg("999")
        .exec(&mut c)
        .unwrap();
    redis::cmd("ZADD")
        .arg(&layouts[b2].ids)
        .arg(0)
        .arg("998")
        .exec(&mut c)
        .unwrap();
    let wrong = (0..layouts.len()).find(|&b| b != home(3)).unwrap();
    redis::cmd("HSET")
        .arg(layouts[wrong].row_key(b"3"))
        .arg("tenant")
        .arg("t0")
        .exec(&mut c)
        .unwrap();
    let report = rom::verify::verify::<Account, _>(&mut c).unwrap();
    let kinds: Vec<&str> = report
        .problems
        .iter()
        .map(|p| match p {
            rom::verify::Problem::Orphan { .. } => "orphan",
            rom::verify::Problem::ListedWithoutRow { .. } => "listed",
            rom::verify::Problem::Misplaced { .. } => "misplaced",
            _ => "other",
        })
        .collect();
    for k in ["orphan", "listed", "misplaced"] {
        assert!(kinds.contains(&k), "{k} not found: {:#?}", report.problems);
    }
    let fixed = rom::verify::repair::<Account, _>(&mut c, rom::Repair::Apply).unwrap();
    assert!(fixed.fixes() >= 2, "{fixed:?}");
    // what is left: the misplaced row, which repair leaves alone
    let after = rom::verify::verify::<Account, _>(&mut c).unwrap();
    assert!(
        matches!(
            after.problems.as_slice(),
            [rom::verify::Problem::Misplaced { .. }]
        ),
        "{:#?}",
        after.problems
    );
}

#[test]
fn explain_shows_one_call_per_bucket() {
    let p = Account::get_plan(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    let text = p.explain();
    assert!(text.contains("{accounts#"), "{text}");
    assert!(text.contains("more call(s), one per partition"), "{text}");
    // one key: one call, to its bucket
    let one = Account::get_plan(&[1]).explain();
    assert!(one.starts_with("HGETALL {accounts#"), "{one}");
    assert!(!one.contains("more call"), "{one}");
}

/// Which master holds a key (by `CLUSTER KEYSLOT` and `CLUSTER SLOTS`).
fn master_of(c: &mut redis::Connection, slots: &[(u16, u16, u16)], key: &str) -> u16 {
    let slot: u16 = redis::cmd("CLUSTER")
        .arg("KEYSLOT")
        .arg(key)
        .query(c)
        .unwrap();
    slots
        .iter()
        .find(|(lo, hi, _)| (*lo..=*hi).contains(&slot))
        .unwrap()
        .2
}

#[test]
fn a_partitioned_model_spreads_over_a_cluster_and_reads_back() {
    let cluster = RedisCluster::start(3).unwrap();
    let mut c = cluster.connection().unwrap();
    let mut node = redis::Client::open(cluster.urls()[0].as_str())
        .unwrap()
        .get_connection()
        .unwrap();
    let raw: Vec<(u16, u16, Vec<redis::Value>)> =
        redis::cmd("CLUSTER").arg("SLOTS").query(&mut node).unwrap();
    let slots: Vec<(u16, u16, u16)> = raw
        .into_iter()
        .map(|(lo, hi, master)| {
            let port = match &master[1] {
                redis::Value::Int(p) => *p as u16,
                other => panic!("port {other:?}"),
            };
            (lo, hi, port)
        })
        .collect();
    // 3,000 rows, inserted in batches (one pipeline per bucket)
    let n = 3000;
    let rows: Vec<Sku> = (0..n)
        .map(|i| Sku {
            code: format!("sku-{i}"),
            stock: i % 17,
        })
        .collect();
    for chunk in rows.chunks(500) {
        for r in Sku::insert_all(&mut c, chunk.to_vec()).unwrap() {
            r.unwrap();
        }
    }
    // rows per master: each within 10% of even (64 buckets over 3 masters)
    let mut per: BTreeMap<u16, usize> = BTreeMap::new();
    for r in &rows {
        let l = &Sku::bucket_layouts()[bucket_of_rows_layout(&r.code)];
        let key = String::from_utf8(l.row_key(r.code.as_bytes())).unwrap();
        *per.entry(master_of(&mut node, &slots, &key)).or_default() += 1;
    }
    assert_eq!(per.len(), 3, "{per:?}");
    for (&port, &k) in &per {
        let share = k as f64 / (n as f64 / 3.0);
        assert!(
            (0.9..=1.1).contains(&share),
            "master {port} holds {k} of {n} rows: {per:?}"
        );
    }
    // every row reads back, one at a time and all at once
    let codes: Vec<String> = rows.iter().map(|r| r.code.clone()).collect();
    let got: Vec<Sku> = Sku::get_many(&mut c, &codes)
        .unwrap()
        .into_iter()
        .map(|r| r.into_inner())
        .collect();
    assert_eq!(got, rows);
    // verify walks every bucket on its node
    let report = rom::verify::verify::<Sku, _>(&mut c).unwrap();
    assert!(report.is_clean(), "{:#?}", report.problems);
    assert_eq!(report.rows, n as u64);
    assert_eq!(Sku::get(&mut c, "sku-42").unwrap().unwrap().stock, 42 % 17);
    assert_eq!(
        Sku::increment(&mut c, "sku-42", skus::stock.add(5)).unwrap(),
        42 % 17 + 5
    );
    // deletes across buckets
    assert_eq!(Sku::delete_many(&mut c, &codes[..1000]).unwrap(), 1000);
    assert!(!Sku::exists(&mut c, "sku-1").unwrap());
    assert!(Sku::exists(&mut c, "sku-1001").unwrap());

    // async: the same through the async cluster connection
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut a = cluster
            .client()
            .unwrap()
            .get_async_connection()
            .await
            .unwrap();
        let again: Vec<Sku> = (0..200)
            .map(|i| Sku {
                code: format!("sku-{i}"),
                stock: -1,
            })
            .collect();
        for r in Sku::insert_all_async(&mut a, again.clone()).await.unwrap() {
            r.unwrap();
        }
        let codes: Vec<String> = again.iter().map(|r| r.code.clone()).collect();
        let got: Vec<Sku> = Sku::get_many_async(&mut a, &codes)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.into_inner())
            .collect();
        assert_eq!(got, again);
        assert_eq!(Sku::delete_many_async(&mut a, &codes).await.unwrap(), 200);
    });
}

/// The bucket of a `Sku` row: the one layout whose row key the row has on
/// the server is found by the model itself; here, by trying each bucket's
/// layout against the client's own routing (`get` of one key is one
/// HGETALL whose key names the bucket).
fn bucket_of_rows_layout(code: &str) -> usize {
    let plan = Sku::get_plan(&[code.to_owned()]);
    let key = plan.keys()[0].clone();
    bucket_of_key::<Sku>(&key).unwrap()
}

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = tickets, partition(by = id, buckets = 4))]
struct Ticket {
    #[rom(primary_key)]
    id: Option<u64>,
    #[rom(index(eq))]
    queue: String,
}

/// The same model under another name: the test that moves between servers
/// has a block of keys of its own (blocks are held per model, per process).
#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = chits, partition(by = id, buckets = 4))]
struct Chit {
    #[rom(primary_key)]
    id: Option<u64>,
    #[rom(index(eq))]
    queue: String,
}

fn chit(q: &str) -> Chit {
    Chit {
        id: None,
        queue: q.to_owned(),
    }
}

fn ticket(q: &str) -> Ticket {
    Ticket {
        id: None,
        queue: q.to_owned(),
    }
}

#[test]
fn auto_keys_come_in_blocks_and_never_repeat() {
    let server = RedisServer::start().unwrap();
    let mut c = rom::testing::CountingConnection::new(server.connection().unwrap());
    // an explicit key ahead of the counter: the auto keys step over it
    Ticket {
        id: Some(5),
        queue: "x".into(),
    }
    .insert(&mut c)
    .unwrap();
    c.reset();
    let mut keys = std::collections::BTreeSet::new();
    for i in 0..300 {
        let t = ticket(if i % 2 == 0 { "a" } else { "b" })
            .insert(&mut c)
            .unwrap();
        assert!(
            keys.insert(t.id.unwrap()),
            "key {:?} handed out twice",
            t.id
        );
    }
    assert!(!keys.contains(&5), "the explicit key was handed out again");
    // a block per 64 keys at most (more keys per block while busy), plus
    // the retry of the taken key
    assert!(
        c.round_trips() <= 300 + 300 / 64 + 2,
        "{} round trips for 300 inserts",
        c.round_trips()
    );
    // keys spread over the buckets, every row readable where it is
    let rows = Ticket::get_many(&mut c, &keys.iter().copied().collect::<Vec<_>>()).unwrap();
    assert_eq!(rows.len(), 300);
    let n = tickets::table
        .across_partitions()
        .filter(tickets::queue.eq("a"))
        .count(&mut c)
        .unwrap();
    assert_eq!(n, 150);
    // a batch: one block for its keyless rows, explicit keys kept
    let mut batch: Vec<Ticket> = (0..50).map(|_| ticket("c")).collect();
    batch.push(Ticket {
        id: Some(1_000_000),
        queue: "c".into(),
    });
    let saved = Ticket::insert_all(&mut c, batch).unwrap();
    let mut batch_keys = std::collections::BTreeSet::new();
    for s in saved {
        let id = s.unwrap().id.unwrap();
        assert!(
            !keys.contains(&id) && batch_keys.insert(id),
            "key {id} repeated"
        );
    }
    assert!(batch_keys.contains(&1_000_000));
    let report = rom::verify::verify::<Ticket, _>(c.inner_mut()).unwrap();
    assert!(report.is_clean(), "{:#?}", report.problems);
    assert_eq!(report.rows, 352);
}

#[test]
fn auto_keys_survive_a_flush_and_a_second_server() {
    // the block is held by the process: after a FLUSHALL, or on another
    // server, its keys may be taken there; the insert then takes a new block
    let a = RedisServer::start().unwrap();
    let b = RedisServer::start().unwrap();
    let mut ca = a.connection().unwrap();
    let mut cb = b.connection().unwrap();
    for _ in 0..10 {
        chit("a").insert(&mut ca).unwrap();
    }
    for _ in 0..100 {
        chit("b").insert(&mut cb).unwrap();
    }
    for _ in 0..100 {
        chit("a").insert(&mut ca).unwrap();
    }
    redis::cmd("FLUSHALL").exec(&mut cb).unwrap();
    for _ in 0..200 {
        chit("b").insert(&mut cb).unwrap();
    }
    assert_eq!(
        chits::table.across_partitions().count(&mut ca).unwrap(),
        110
    );
    assert_eq!(
        chits::table.across_partitions().count(&mut cb).unwrap(),
        200
    );
    // async, on the same pool
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut m = b.multiplexed().await.unwrap();
        let t = chit("z").insert_async(&mut m).await.unwrap();
        assert!(Chit::exists_async(&mut m, t.id.unwrap()).await.unwrap());
    });
}

/// The same model's data, declared again with another number of buckets:
/// its first block of keys finds the marker of the old number and refuses
/// (every key's name depends on the number), instead of writing rows where
/// the old ones cannot be found.
mod renumbered {
    use rom::prelude::*;

    #[derive(Model, Clone, Debug, PartialEq)]
    #[rom(table = tags8, namespace = "renumbered", partition(by = id, buckets = 8))]
    pub(super) struct Tag8 {
        #[rom(primary_key)]
        pub(super) id: Option<u64>,
        pub(super) name: String,
    }

    #[derive(Model, Clone, Debug, PartialEq)]
    #[rom(table = tags16, namespace = "renumbered", partition(by = id, buckets = 16))]
    pub(super) struct Tag16 {
        #[rom(primary_key)]
        pub(super) id: Option<u64>,
        pub(super) name: String,
    }
}

#[test]
fn a_changed_number_of_buckets_is_refused() {
    use renumbered::{Tag8, Tag16};
    let server = RedisServer::start().unwrap();
    let mut c = server.connection().unwrap();
    Tag8 {
        id: None,
        name: "a".into(),
    }
    .insert(&mut c)
    .unwrap();
    let e = Tag16 {
        id: None,
        name: "b".into(),
    }
    .insert(&mut c)
    .unwrap_err();
    assert!(
        matches!(&e, rom::Error::Validation { column, reason, .. }
            if column == "(partitions)" && reason.contains("written with 8 buckets")),
        "{e}"
    );
    let stored: String = redis::cmd("GET")
        .arg("{renumbered}:partitions")
        .query(&mut c)
        .unwrap();
    assert_eq!(stored, "8");
}
