//! A real local Redis Cluster: every key of a model shares its hash tag, so every
//! script runs in one slot, sync and async.
mod common;
use common::*;
use rom::testing::RedisCluster;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = posts)]
struct Post {
    #[rom(primary_key)]
    id: Option<u64>,
    #[rom(unique)]
    slug: String,
    #[rom(index(numeric))]
    votes: i64,
}

#[test]
fn models_work_on_a_cluster() {
    let cluster = RedisCluster::start(3).expect("cluster");
    let mut c = cluster.connection().expect("connect");
    // two models: different namespaces may live on different nodes
    for i in 0..20 {
        user(&format!("u{i}@x.io"), "n", i, f64::from(i))
            .insert(&mut c)
            .expect("insert user");
        Post {
            id: None,
            slug: format!("post-{i}"),
            votes: i64::from(i % 4),
        }
        .insert(&mut c)
        .expect("insert post");
    }
    assert!(matches!(
        Post {
            id: None,
            slug: "post-3".into(),
            votes: 0
        }
        .insert(&mut c),
        Err(Error::UniqueViolation { .. })
    ));
    let top = posts::table
        .order_by(posts::votes.desc())
        .limit(3)
        .load(&mut c)
        .expect("query");
    assert_eq!(
        top.iter().map(|p| p.votes).collect::<Vec<_>>(),
        vec![3, 3, 3]
    );
    // a query in steps (a budget of 3 entries per call): every call names
    // the same keys, so each lands on the model's node
    let stepped = posts::table
        .filter(posts::votes.eq(1).not())
        .order_by(posts::votes.desc())
        .budget(rom::query::Budget::units(3))
        .load(&mut c)
        .expect("query in steps");
    assert_eq!(stepped.len(), 15);
    assert!(stepped.windows(2).all(|w| w[0].votes >= w[1].votes));
    assert_eq!(
        posts::table
            .filter(posts::votes.ge(2).or(posts::votes.eq(0)))
            .budget(rom::query::Budget::units(3))
            .count(&mut c)
            .expect("count in steps"),
        15
    );
    let mut u = users::table
        .filter(users::email.eq("u5@x.io"))
        .first(&mut c)
        .expect("lookup");
    u.age = 99;
    u.save(&mut c).expect("save");
    assert_eq!(
        users::table
            .filter(users::age.ge(99))
            .count(&mut c)
            .expect("count"),
        1
    );
    assert_eq!(
        users::table
            .filter(users::age.lt(10))
            .delete(&mut c)
            .expect("delete"),
        9,
        "ages 0..10 but 5, moved to 99"
    );
    assert_eq!(
        User::get_many(&mut c, &[1, 2, 11, 12])
            .expect("get many")
            .len(),
        2
    );

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let mut ac = cluster.async_connection().await.expect("async connect");
        let p = Post {
            id: None,
            slug: "async".into(),
            votes: 7,
        }
        .insert_async(&mut ac)
        .await
        .expect("insert");
        let got = posts::table
            .filter(posts::slug.eq("async"))
            .first_async(&mut ac)
            .await
            .expect("first");
        assert_eq!(got.id, p.id);
    });
    // every key of each model hashes to one slot
    for pattern in ["{users}*", "{posts}*"] {
        let mut slots = std::collections::BTreeSet::new();
        for url in cluster.urls() {
            let mut node = redis::Client::open(url)
                .expect("client")
                .get_connection()
                .expect("node");
            let keys: Vec<String> = redis::cmd("KEYS")
                .arg(pattern)
                .query(&mut node)
                .expect("keys");
            for k in keys {
                let slot: i64 = redis::cmd("CLUSTER")
                    .arg("KEYSLOT")
                    .arg(&k)
                    .query(&mut node)
                    .expect("slot");
                slots.insert(slot);
            }
        }
        assert_eq!(slots.len(), 1, "{pattern}: {slots:?}");
    }
}
