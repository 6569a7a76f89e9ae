//! Atomic increments: integer columns added to on the server without a read,
//! within bounds, with their indexes; alone, on a record, and in a
//! transaction (a transfer with a ledger row in one call).
#![allow(clippy::unwrap_used, missing_docs)]

use rom::prelude::*;
use rom::testing::{CountingConnection, RedisServer};
use rom::transaction::Transaction;
use rom::verify::verify;

rom::group!(pub Bank = "bank");

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = accounts, group = Bank)]
pub struct Account {
    #[rom(primary_key)]
    pub id: u64,
    #[rom(index(numeric))]
    pub balance: i64,
    #[rom(unique)]
    pub number: u32,
    #[rom(index(eq))]
    pub visits: Option<i32>,
    pub note: Option<String>,
}

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = ledger, group = Bank)]
pub struct Entry {
    #[rom(primary_key)]
    pub id: Option<u64>,
    pub from: u64,
    pub to: u64,
    pub amount: i64,
}

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = seats, unique_together(row, seat))]
pub struct Seat {
    #[rom(primary_key)]
    pub id: Option<u64>,
    pub row: u32,
    pub seat: u32,
}

fn account(id: u64, balance: i64) -> Account {
    Account {
        id,
        balance,
        number: id as u32 * 10,
        visits: None,
        note: None,
    }
}

fn server() -> (RedisServer, redis::Connection) {
    let s = RedisServer::start().unwrap();
    let c = s.connection().unwrap();
    (s, c)
}

fn clean(c: &mut redis::Connection) {
    for r in [
        verify::<Account, _>(c).unwrap(),
        verify::<Entry, _>(c).unwrap(),
    ] {
        assert!(r.is_clean(), "{:#?}", r.problems);
    }
}

#[test]
fn an_increment_by_key_moves_the_indexes_in_one_round_trip() {
    let (s, mut raw) = server();
    account(1, 100).insert(&mut raw).unwrap();
    let mut c = CountingConnection::new(s.connection().unwrap());
    let left = Account::increment(&mut c, 1u64, accounts::balance.add(-30)).unwrap();
    assert_eq!(left, 70);
    assert_eq!(c.round_trips(), 1);
    assert_eq!(Account::get(&mut raw, 1u64).unwrap().unwrap().balance, 70);
    let found = accounts::table
        .filter(accounts::balance.eq(70))
        .ids(&mut raw)
        .unwrap();
    assert_eq!(found, vec![1]);
    // a null counts as 0, and the equality index follows
    assert_eq!(
        Account::increment(&mut raw, 1u64, accounts::visits.add(1)).unwrap(),
        1
    );
    assert_eq!(
        Account::increment(&mut raw, 1u64, accounts::visits.add(1)).unwrap(),
        2
    );
    let two = accounts::table
        .filter(accounts::visits.eq(2))
        .count(&mut raw)
        .unwrap();
    assert_eq!(two, 1);
    assert_eq!(
        accounts::table
            .filter(accounts::visits.eq(1))
            .count(&mut raw)
            .unwrap(),
        0
    );
    // a unique integer moves, and must be free
    account(2, 0).insert(&mut raw).unwrap();
    assert_eq!(
        Account::increment(&mut raw, 1u64, accounts::number.add(5)).unwrap(),
        15
    );
    let err = Account::increment(&mut raw, 1u64, accounts::number.add(5)).unwrap_err();
    assert!(
        matches!(&err, Error::UniqueViolation { column, value, .. } if column == "number" && value == "20"),
        "{err:?}"
    );
    let by_number = accounts::table
        .filter(accounts::number.eq(15u32))
        .first(&mut raw)
        .unwrap();
    assert_eq!(by_number.id, 1);
    clean(&mut raw);
}

#[test]
fn bounds_refuse_and_write_nothing() {
    let (_s, mut c) = server();
    account(1, 10).insert(&mut c).unwrap();
    let err = Account::increment(&mut c, 1u64, accounts::balance.add(-11).at_least(0)).unwrap_err();
    assert!(
        matches!(&err, Error::Validation { column, .. } if column == "balance"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "Account.balance: adding -11 to 10 gives -1, outside the bounds of the increment; nothing was written"
    );
    assert_eq!(Account::get(&mut c, 1u64).unwrap().unwrap().balance, 10);
    // the type's own range: a u32 cannot go below 0
    let err = Account::increment(&mut c, 1u64, accounts::number.add(-11)).unwrap_err();
    assert!(matches!(err, Error::Validation { .. }), "{err:?}");
    // within a range, both ends
    assert_eq!(
        Account::increment(&mut c, 1u64, accounts::balance.add(5).within(0..=15)).unwrap(),
        15
    );
    assert!(Account::increment(&mut c, 1u64, accounts::balance.add(1).within(0..16)).is_err());
    // an amount beyond 2^53 is refused before anything is sent
    assert!(matches!(
        Account::increment(&mut c, 1u64, accounts::balance.add(i64::MAX)),
        Err(Error::Validation { .. })
    ));
    // no such row
    assert!(matches!(
        Account::increment(&mut c, 9u64, accounts::balance.add(1)),
        Err(Error::NotFound { .. })
    ));
    // foreign data in the column: a decode error naming key and field
    redis::cmd("HSET")
        .arg("{bank}/accounts:row:1")
        .arg("balance")
        .arg("ten")
        .exec(&mut c)
        .unwrap();
    let err = Account::increment(&mut c, 1u64, accounts::balance.add(1)).unwrap_err();
    assert!(
        matches!(&err, Error::Decode { key, field: Some(f), .. } if key.contains("accounts:row:1") && f == "balance"),
        "{err:?}"
    );
}

#[test]
fn a_column_of_a_composite_unique_is_refused() {
    let (_s, mut c) = server();
    let seat = Seat {
        id: None,
        row: 1,
        seat: 1,
    }
    .insert(&mut c)
    .unwrap();
    let err = Seat::increment(&mut c, seat.id.unwrap(), seats::seat.add(1)).unwrap_err();
    assert!(
        matches!(&err, Error::Validation { reason, .. } if reason.contains("row+seat")),
        "{err:?}"
    );
}

#[test]
fn a_record_increment_keeps_its_other_changes() {
    let (_s, mut c) = server();
    let mut rec = account(1, 10).insert(&mut c).unwrap();
    rec.note = Some("unsaved".into());
    // another writer adds too: increments add up
    Account::increment(&mut c, 1u64, accounts::balance.add(100)).unwrap();
    assert_eq!(
        rec.increment(&mut c, accounts::balance.add(1)).unwrap(),
        111
    );
    assert_eq!(rec.balance, 111);
    assert_eq!(rec.note.as_deref(), Some("unsaved"));
    assert_eq!(rec.changed_columns().unwrap(), vec!["note"]);
    rec.save(&mut c).unwrap();
    let back = Account::get(&mut c, 1u64).unwrap().unwrap();
    assert_eq!((back.balance, back.note.as_deref()), (111, Some("unsaved")));
    clean(&mut c);
}

/// Moves `amount` between two accounts, never below 0, with a ledger row:
/// one call, no read, no conflict.
fn transfer<C: rom::Connection>(c: &mut C, from: u64, to: u64, amount: i64) -> rom::Result<()> {
    let mut tx = Transaction::new();
    tx.increment(from, accounts::balance.add(-amount).at_least(0))?;
    tx.increment(to, accounts::balance.add(amount))?;
    tx.insert(Entry {
        id: None,
        from,
        to,
        amount,
    })?;
    tx.commit(c)?;
    Ok(())
}

#[test]
fn a_transfer_is_one_call_and_refuses_to_overdraw() {
    let (s, mut raw) = server();
    account(1, 50).insert(&mut raw).unwrap();
    account(2, 0).insert(&mut raw).unwrap();
    let mut c = CountingConnection::new(s.connection().unwrap());
    transfer(&mut c, 1, 2, 30).unwrap();
    assert_eq!(c.round_trips(), 1, "no read: one round trip");
    let err = transfer(&mut c, 1, 2, 30).unwrap_err();
    assert!(matches!(err, Error::Validation { .. }), "{err:?}");
    let all: Vec<i64> = Account::get_many(&mut raw, &[1, 2])
        .unwrap()
        .iter()
        .map(|a| a.balance)
        .collect();
    assert_eq!(all, vec![20, 30]);
    assert_eq!(
        ledger::table.count(&mut raw).unwrap(),
        1,
        "the refused transfer wrote no ledger row"
    );
    // the new values, from the commit
    let mut tx = Transaction::new();
    let a = tx.increment(1u64, accounts::balance.add(-5)).unwrap();
    let v = tx.increment(1u64, accounts::visits.add(1)).unwrap();
    let done = tx.commit(&mut raw).unwrap();
    assert_eq!(done.value(a).unwrap(), 15);
    assert_eq!(done.value(v).unwrap(), 1);
    // a held row is changed through its record, not incremented
    let mut tx = Transaction::new();
    tx.get::<Account, _>(&mut raw, 1u64).unwrap();
    assert!(matches!(
        tx.increment(1u64, accounts::balance.add(1)),
        Err(Error::Validation { .. })
    ));
    // a missing row fails the whole commit
    let mut tx = Transaction::new();
    tx.increment(1u64, accounts::balance.add(1)).unwrap();
    tx.increment(7u64, accounts::balance.add(1)).unwrap();
    assert!(matches!(tx.commit(&mut raw), Err(Error::NotFound { .. })));
    assert_eq!(Account::get(&mut raw, 1u64).unwrap().unwrap().balance, 15);
    clean(&mut raw);
}

#[test]
fn racing_transfers_by_increment_conserve_the_total_without_conflicts() {
    const ACCOUNTS: u64 = 10;
    let (s, mut c) = server();
    for id in 1..=ACCOUNTS {
        account(id, 100).insert(&mut c).unwrap();
    }
    let refused = std::sync::atomic::AtomicU64::new(0);
    std::thread::scope(|scope| {
        for t in 0..16u64 {
            let (s, refused) = (&s, &refused);
            scope.spawn(move || {
                let mut c = s.connection().unwrap();
                for i in 0..625u64 {
                    let from = (t + i) % ACCOUNTS + 1;
                    let to = (t * 3 + i * 7 + 1) % ACCOUNTS + 1;
                    if from == to {
                        continue;
                    }
                    match transfer(&mut c, from, to, ((t + i) % 30 + 1) as i64) {
                        Ok(()) => {}
                        Err(Error::Validation { .. }) => {
                            refused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                        Err(e) => panic!("{e}"),
                    }
                }
            });
        }
    });
    let all: Vec<i64> = Account::get_many(&mut c, &(1..=ACCOUNTS).collect::<Vec<_>>())
        .unwrap()
        .iter()
        .map(|a| a.balance)
        .collect();
    assert_eq!(all.iter().sum::<i64>(), 100 * ACCOUNTS as i64, "{all:?}");
    assert!(all.iter().all(|b| *b >= 0), "{all:?}");
    // the ledger replays to the balances
    let mut replay = vec![100i64; ACCOUNTS as usize];
    for e in ledger::table.load(&mut c).unwrap() {
        replay[e.from as usize - 1] -= e.amount;
        replay[e.to as usize - 1] += e.amount;
    }
    assert_eq!(replay, all);
    eprintln!(
        "transfers refused for want of funds: {}",
        refused.into_inner()
    );
    clean(&mut c);
}

#[tokio::test]
async fn increments_run_on_async_connections() {
    let s = RedisServer::start().unwrap();
    let mut c = s
        .client()
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let mut rec = account(1, 1).insert_async(&mut c).await.unwrap();
    assert_eq!(
        Account::increment_async(&mut c, 1u64, accounts::balance.add(2))
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        rec.increment_async(&mut c, accounts::balance.add(3))
            .await
            .unwrap(),
        6
    );
    let mut tx = Transaction::new();
    let h = tx
        .increment(1u64, accounts::balance.add(-6).at_least(0))
        .unwrap();
    assert_eq!(tx.commit_async(&mut c).await.unwrap().value(h).unwrap(), 0);
}
