//! Row locks: a lease that expires on the server's clock, and a fencing
//! token that a transaction's commit checks.
#![allow(clippy::unwrap_used, missing_docs)]

use rom::lock::Lease;
use rom::prelude::*;
use rom::testing::RedisServer;
use rom::transaction::Transaction;
use std::time::{Duration, Instant};

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = accounts)]
pub struct Account {
    #[rom(primary_key)]
    pub id: u64,
    #[rom(index(numeric))]
    pub balance: i64,
}

const MS: Duration = Duration::from_millis(1);

#[test]
fn one_holder_at_a_time_and_tokens_grow() {
    let s = RedisServer::start().unwrap();
    let mut c = s.connection().unwrap();
    let a = Lease::<Account>::try_acquire(&mut c, 1u64, 10_000 * MS)
        .unwrap()
        .unwrap();
    assert!(
        Lease::<Account>::try_acquire(&mut c, 1u64, 10_000 * MS)
            .unwrap()
            .is_none(),
        "held"
    );
    // another row has its own lock; tokens grow across the model
    let b = Lease::<Account>::try_acquire(&mut c, 2u64, 10_000 * MS)
        .unwrap()
        .unwrap();
    assert!(b.token() > a.token());
    let first = a.token();
    assert!(a.release(&mut c).unwrap());
    let again = Lease::<Account>::try_acquire(&mut c, 1u64, 10_000 * MS)
        .unwrap()
        .unwrap();
    assert!(again.token() > b.token() && again.token() > first);
    // a wait that ends before the holder's lease: Locked
    let t = Instant::now();
    let err = Lease::<Account>::acquire(&mut c, 1u64, 10_000 * MS, 30 * MS).unwrap_err();
    assert!(matches!(err, Error::Locked { .. }), "{err:?}");
    assert!(t.elapsed() >= 30 * MS);
    // a zero lease is refused before anything is sent
    assert!(matches!(
        Lease::<Account>::try_acquire(&mut c, 3u64, Duration::ZERO),
        Err(Error::Validation { .. })
    ));
}

#[test]
fn a_lease_runs_out_on_the_server_and_the_next_holder_gets_it() {
    let s = RedisServer::start().unwrap();
    let mut c = s.connection().unwrap();
    let a = Lease::<Account>::try_acquire(&mut c, 1u64, 40 * MS)
        .unwrap()
        .unwrap();
    a.refresh(&mut c, 80 * MS).unwrap();
    // waits for the lease to run out
    let b = Lease::<Account>::acquire(&mut c, 1u64, 10_000 * MS, 5_000 * MS).unwrap();
    assert!(b.token() > a.token());
    // the old holder can neither refresh nor release it
    assert!(matches!(
        a.refresh(&mut c, 1_000 * MS),
        Err(Error::LeaseLost { .. })
    ));
    assert!(!a.release(&mut c).unwrap());
    assert!(
        Lease::<Account>::try_acquire(&mut c, 1u64, 10_000 * MS)
            .unwrap()
            .is_none(),
        "b still holds it"
    );
}

#[test]
fn a_fenced_commit_of_a_lost_lease_writes_nothing() {
    let s = RedisServer::start().unwrap();
    let mut c = s.connection().unwrap();
    Account { id: 1, balance: 0 }.insert(&mut c).unwrap();
    let slow = Lease::<Account>::try_acquire(&mut c, 1u64, 30 * MS)
        .unwrap()
        .unwrap();
    // the slow holder prepares its write, then pauses past its lease
    let mut tx = Transaction::new();
    tx.fence(&slow);
    tx.increment(1u64, accounts::balance.add(1)).unwrap();
    std::thread::sleep(60 * MS);
    let fast = Lease::<Account>::try_acquire(&mut c, 1u64, 10_000 * MS)
        .unwrap()
        .unwrap();
    let err = tx.commit(&mut c).unwrap_err();
    assert!(
        matches!(
            &err,
            Error::LeaseLost {
                model: "Account",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(Account::get(&mut c, 1u64).unwrap().unwrap().balance, 0);
    // the holder's fenced write goes through, with reads checked as usual
    let mut tx = Transaction::new();
    tx.fence(&fast);
    tx.get::<Account, _>(&mut c, 1u64).unwrap().unwrap().balance = 5;
    tx.commit(&mut c).unwrap();
    assert_eq!(Account::get(&mut c, 1u64).unwrap().unwrap().balance, 5);
    assert!(fast.release(&mut c).unwrap());
    // lock keys are not rows: verify ignores them
    let held = Lease::<Account>::try_acquire(&mut c, 1u64, 10_000 * MS).unwrap();
    assert!(held.is_some());
    let r = rom::verify::verify::<Account, _>(&mut c).unwrap();
    assert!(r.is_clean(), "{:#?}", r.problems);
}

#[test]
fn racing_holders_never_overlap() {
    let s = RedisServer::start().unwrap();
    let mut c = s.connection().unwrap();
    Account { id: 1, balance: 0 }.insert(&mut c).unwrap();
    let inside = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        for _ in 0..8 {
            let (s, inside) = (&s, &inside);
            scope.spawn(move || {
                let mut c = s.connection().unwrap();
                for _ in 0..25 {
                    let lease =
                        Lease::<Account>::acquire(&mut c, 1u64, 5_000 * MS, 10_000 * MS).unwrap();
                    assert!(
                        !inside.swap(true, std::sync::atomic::Ordering::SeqCst),
                        "two holders at once"
                    );
                    // a read-modify-write made safe by the lock alone
                    let mut a = Account::get(&mut c, 1u64).unwrap().unwrap();
                    a.balance += 1;
                    a.save(&mut c).unwrap();
                    inside.store(false, std::sync::atomic::Ordering::SeqCst);
                    assert!(lease.release(&mut c).unwrap());
                }
            });
        }
    });
    assert_eq!(Account::get(&mut c, 1u64).unwrap().unwrap().balance, 200);
}

#[tokio::test]
async fn leases_on_async_connections() {
    let s = RedisServer::start().unwrap();
    let mut c = s
        .client()
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let a = Lease::<Account>::acquire_async(&mut c, 1u64, 50 * MS, Duration::ZERO)
        .await
        .unwrap();
    assert!(
        Lease::<Account>::try_acquire_async(&mut c, 1u64, 50 * MS)
            .await
            .unwrap()
            .is_none()
    );
    a.refresh_async(&mut c, 50 * MS).await.unwrap();
    assert!(a.release_async(&mut c).await.unwrap());
}
