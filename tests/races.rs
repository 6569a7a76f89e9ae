//! 8 threads and 8 async tasks race to create rows with overlapping unique
//! values and to update the same rows: exactly one winner per unique value,
//! every loser gets the typed error, no update is lost, and verify is clean.
mod common;
use common::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

const EMAILS: usize = 24;
const WORKERS: usize = 8;
const BUMPS: u64 = 25;

#[derive(Default)]
struct Tally {
    created: AtomicU64,
    refused: AtomicU64,
    bumps: AtomicU64,
    conflicts: AtomicU64,
}

fn email(i: usize) -> String {
    format!("Racer{i}@Example.com")
}

#[test]
fn racing_writers_keep_every_guarantee() {
    let server = Arc::new(RedisServer::start().expect("start"));
    let mut c = server.connection().expect("connect");
    // the shared counter row everyone bumps
    let counter = user("counter@x.io", "counter", 0, 0.0)
        .insert(&mut c)
        .expect("insert");
    let counter_id = counter.id.expect("id");
    let tally = Arc::new(Tally::default());

    let threads: Vec<_> = (0..WORKERS)
        .map(|w| {
            let server = Arc::clone(&server);
            let tally = Arc::clone(&tally);
            std::thread::spawn(move || {
                let mut c = server.connection().expect("connect");
                for k in 0..EMAILS {
                    let i = (k * 7 + w * 5) % EMAILS;
                    // the same email in another case: the index is case-insensitive
                    let e = if w % 2 == 0 {
                        email(i)
                    } else {
                        email(i).to_uppercase()
                    };
                    match user(&e, "t", 20, 0.0).insert(&mut c) {
                        Ok(_) => tally.created.fetch_add(1, Ordering::SeqCst),
                        Err(Error::UniqueViolation { column, .. }) if column == "email" => {
                            tally.refused.fetch_add(1, Ordering::SeqCst)
                        }
                        Err(e) => panic!("unexpected {e}"),
                    };
                }
                let mut done = 0;
                while done < BUMPS {
                    let mut r = User::get(&mut c, counter_id).expect("get").expect("row");
                    r.age += 1;
                    match r.save(&mut c) {
                        Ok(()) => {
                            done += 1;
                            tally.bumps.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(Error::Conflict { .. }) => {
                            tally.conflicts.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(e) => panic!("unexpected {e}"),
                    }
                }
            })
        })
        .collect();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let conn = server.multiplexed().await.expect("async connect");
        let tasks: Vec<_> = (0..WORKERS)
            .map(|w| {
                let mut c = conn.clone();
                let tally = Arc::clone(&tally);
                tokio::spawn(async move {
                    for k in 0..EMAILS {
                        let i = (k * 11 + w * 3) % EMAILS;
                        match user(&email(i).to_lowercase(), "a", 30, 0.0)
                            .insert_async(&mut c)
                            .await
                        {
                            Ok(_) => tally.created.fetch_add(1, Ordering::SeqCst),
                            Err(Error::UniqueViolation { .. }) => {
                                tally.refused.fetch_add(1, Ordering::SeqCst)
                            }
                            Err(e) => panic!("unexpected {e}"),
                        };
                    }
                    let mut done = 0;
                    while done < BUMPS {
                        let mut r = User::get_async(&mut c, counter_id)
                            .await
                            .expect("get")
                            .expect("row");
                        r.age += 1;
                        match r.save_async(&mut c).await {
                            Ok(()) => {
                                done += 1;
                                tally.bumps.fetch_add(1, Ordering::SeqCst);
                            }
                            Err(Error::Conflict { .. }) => {
                                tally.conflicts.fetch_add(1, Ordering::SeqCst);
                            }
                            Err(e) => panic!("unexpected {e}"),
                        }
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("task");
        }
    });
    for t in threads {
        t.join().expect("thread");
    }

    let attempts = (2 * WORKERS * EMAILS) as u64;
    assert_eq!(
        tally.created.load(Ordering::SeqCst),
        EMAILS as u64,
        "one winner per email"
    );
    assert_eq!(
        tally.refused.load(Ordering::SeqCst),
        attempts - EMAILS as u64,
        "every loser refused"
    );
    for i in 0..EMAILS {
        let n = users::table
            .filter(users::email.eq(email(i)))
            .count(&mut c)
            .expect("count");
        assert_eq!(n, 1, "{}", email(i));
    }
    // no lost update: the counter saw every successful bump
    let final_age = User::get(&mut c, counter_id)
        .expect("get")
        .expect("row")
        .age;
    assert_eq!(final_age as u64, tally.bumps.load(Ordering::SeqCst));
    assert_eq!(final_age as u64, 2 * WORKERS as u64 * BUMPS);
    println!(
        "conflicts detected and retried: {}",
        tally.conflicts.load(Ordering::SeqCst)
    );
    assert_eq!(
        users::table.count(&mut c).expect("count"),
        EMAILS as u64 + 1
    );
    assert_clean::<User>(&mut c);
}
