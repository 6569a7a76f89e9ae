//! Transactions: rows of the models of one placement, read, changed and
//! written in one atomic call, with the optimistic check on every row read.
#![allow(clippy::unwrap_used, missing_docs)]

use rom::error::{RowChange, RowConflict};
use rom::prelude::*;
use rom::testing::{CountingConnection, RedisServer};
use rom::transaction::{Transaction, retry};
use rom::verify::verify;

rom::group! {
    /// A bank's models.
    pub Bank = "bank";
}

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = accounts, group = Bank)]
pub struct Account {
    #[rom(primary_key)]
    pub id: u64,
    #[rom(unique)]
    pub iban: String,
    #[rom(index(numeric))]
    pub balance: i64,
}

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = ledger, group = Bank)]
pub struct Entry {
    #[rom(primary_key)]
    pub id: Option<u64>,
    #[rom(index(eq))]
    pub from: u64,
    #[rom(index(eq))]
    pub to: u64,
    pub amount: i64,
}

/// A model in no group: a transaction of its own.
#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = notes)]
pub struct Note {
    #[rom(primary_key)]
    pub id: Option<u64>,
    #[rom(unique)]
    pub slug: String,
}

/// A model with a natural `String` key, in no group.
#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = tags)]
pub struct Tag {
    #[rom(primary_key)]
    pub name: String,
    pub n: i64,
}

fn account(id: u64, balance: i64) -> Account {
    Account {
        id,
        iban: format!("DE{id:04}"),
        balance,
    }
}

fn open<C: rom::Connection>(c: &mut C, n: u64, balance: i64) {
    for id in 1..=n {
        account(id, balance).insert(c).unwrap();
    }
}

fn clean(c: &mut redis::Connection) {
    for r in [
        verify::<Account, _>(c).unwrap(),
        verify::<Entry, _>(c).unwrap(),
        verify::<Note, _>(c).unwrap(),
    ] {
        assert!(r.is_clean(), "{:#?}", r.problems);
    }
}

/// Moves `amount` from one account to another if the first has it, with a
/// ledger entry; `Ok(false)` when the balance is short.
fn transfer<C: rom::Connection>(c: &mut C, from: u64, to: u64, amount: i64) -> rom::Result<bool> {
    let mut tx = Transaction::new();
    tx.get_many::<Account, _>(c, &[from, to])?;
    let a = tx.row::<Account>(from).unwrap();
    if a.balance < amount {
        return Ok(false);
    }
    a.balance -= amount;
    tx.row::<Account>(to).unwrap().balance += amount;
    tx.insert(Entry {
        id: None,
        from,
        to,
        amount,
    })?;
    tx.commit(c)?;
    Ok(true)
}

async fn transfer_async<C: rom::AsyncConnection>(
    c: &mut C,
    from: u64,
    to: u64,
    amount: i64,
) -> rom::Result<()> {
    let mut tx = Transaction::new();
    tx.get_many_async::<Account, _>(c, &[from, to]).await?;
    let a = tx.row::<Account>(from).unwrap();
    if a.balance < amount {
        return Ok(());
    }
    a.balance -= amount;
    tx.row::<Account>(to).unwrap().balance += amount;
    tx.commit_async(c).await?;
    Ok(())
}

fn balances(c: &mut redis::Connection, n: u64) -> Vec<i64> {
    let keys: Vec<u64> = (1..=n).collect();
    Account::get_many(c, &keys)
        .unwrap()
        .into_iter()
        .map(|a| a.balance)
        .collect()
}

#[test]
fn a_commit_writes_rows_of_several_models_in_one_round_trip() {
    let s = RedisServer::start().unwrap();
    let mut raw = s.connection().unwrap();
    open(&mut raw, 2, 100);
    let mut c = CountingConnection::new(s.connection().unwrap());
    let mut tx = Transaction::new();
    tx.get_many::<Account, _>(&mut c, &[1, 2]).unwrap();
    assert_eq!(c.round_trips(), 1, "both rows in one read");
    tx.row::<Account>(1u64).unwrap().balance -= 30;
    tx.row::<Account>(2u64).unwrap().balance += 30;
    let e1 = tx
        .insert(Entry {
            id: None,
            from: 1,
            to: 2,
            amount: 30,
        })
        .unwrap();
    let e2 = tx
        .insert(Entry {
            id: None,
            from: 1,
            to: 2,
            amount: 0,
        })
        .unwrap();
    c.reset();
    let done = tx.commit(&mut c).unwrap();
    assert_eq!(c.round_trips(), 1, "a commit is one round trip");
    // two auto-increment keys allocated in one call, distinct
    assert_eq!((done.key(e1), done.key(e2)), (1, 2));
    assert_eq!(done.record(e1).amount, 30);
    assert_eq!(balances(&mut raw, 2), vec![70, 130]);
    let from_1 = ledger::table
        .filter(ledger::from.eq(1u64))
        .count(&mut raw)
        .unwrap();
    assert_eq!(from_1, 2);
    let rich = accounts::table
        .filter(accounts::balance.gt(100))
        .ids(&mut raw)
        .unwrap();
    assert_eq!(rich, vec![2], "the numeric index moved with the commit");
    clean(&mut raw);
}

#[test]
fn a_conflict_names_every_changed_row_and_writes_nothing() {
    let (_s, mut c) = {
        let s = RedisServer::start().unwrap();
        let c = s.connection().unwrap();
        (s, c)
    };
    open(&mut c, 4, 100);
    let mut tx = Transaction::new();
    tx.get_many::<Account, _>(&mut c, &[1, 2, 3, 4]).unwrap();
    assert!(tx.get::<Account, _>(&mut c, 9u64).unwrap().is_none());
    tx.row::<Account>(1u64).unwrap().balance = 0;
    tx.delete::<Account>(4u64).unwrap();
    tx.insert(Entry {
        id: None,
        from: 1,
        to: 2,
        amount: 100,
    })
    .unwrap();
    // other writers: a column of a written row, a row only read, a row the
    // transaction deletes, a row it read as absent
    let mut other = Account::get(&mut c, 1u64).unwrap().unwrap();
    other.balance = 1;
    other.save(&mut c).unwrap();
    let mut other = Account::get(&mut c, 2u64).unwrap().unwrap();
    other.iban = "XX".into();
    other.save(&mut c).unwrap();
    Account::delete_many(&mut c, &[4]).unwrap();
    account(9, 5).insert(&mut c).unwrap();
    let before = balances(&mut c, 9);
    let err = tx.commit(&mut c).unwrap_err();
    assert!(err.is_conflict(), "{err}");
    let Error::TransactionConflict { conflicts } = &err else {
        panic!("{err:?}")
    };
    let want = |key: &str, change: RowChange| RowConflict {
        model: "Account",
        key: key.into(),
        change,
    };
    assert_eq!(
        conflicts,
        &vec![
            want("1", RowChange::Column("balance".into())),
            want("2", RowChange::Column("iban".into())),
            want("4", RowChange::Deleted),
            want("9", RowChange::Created),
        ],
        "{err}"
    );
    assert_eq!(balances(&mut c, 9), before, "nothing was written");
    assert_eq!(ledger::table.count(&mut c).unwrap(), 0);
    clean(&mut c);
}

#[test]
fn unique_values_may_move_between_rows_of_one_commit() {
    let s = RedisServer::start().unwrap();
    let mut c = s.connection().unwrap();
    open(&mut c, 3, 0);
    // a swap: each row takes the other's value (two separate saves cannot)
    let mut tx = Transaction::new();
    tx.get_many::<Account, _>(&mut c, &[1, 2]).unwrap();
    tx.row::<Account>(1u64).unwrap().iban = "DE0002".into();
    tx.row::<Account>(2u64).unwrap().iban = "DE0001".into();
    tx.commit(&mut c).unwrap();
    let one = accounts::table
        .filter(accounts::iban.eq("DE0001"))
        .first(&mut c)
        .unwrap();
    assert_eq!(one.id, 2);
    // a value given up by a deleted row, taken by a new one
    let mut tx = Transaction::new();
    tx.delete::<Account>(3u64).unwrap();
    tx.insert(Account {
        id: 4,
        iban: "DE0003".into(),
        balance: 0,
    })
    .unwrap();
    tx.commit(&mut c).unwrap();
    let four = accounts::table
        .filter(accounts::iban.eq("DE0003"))
        .first(&mut c)
        .unwrap();
    assert_eq!(four.id, 4);
    clean(&mut c);
    // two rows of one commit cannot both take a value: nothing written
    let mut tx = Transaction::new();
    tx.insert(account(5, 0)).unwrap();
    tx.insert(Account {
        iban: "DE0005".into(),
        ..account(6, 0)
    })
    .unwrap();
    let err = tx.commit(&mut c).unwrap_err();
    assert!(
        matches!(&err, Error::UniqueViolation { column, value, .. } if column == "iban" && value == "DE0005"),
        "{err:?}"
    );
    assert!(Account::get(&mut c, 5u64).unwrap().is_none());
    // nor take a value a row outside it holds
    let mut tx = Transaction::new();
    tx.insert(Account {
        iban: "DE0001".into(),
        ..account(7, 0)
    })
    .unwrap();
    assert!(matches!(
        tx.commit(&mut c).unwrap_err(),
        Error::UniqueViolation { .. }
    ));
    // an insert of a key that exists, not read: the primary key is taken
    let mut tx = Transaction::new();
    tx.insert(account(1, 0)).unwrap();
    let err = tx.commit(&mut c).unwrap_err();
    assert!(
        matches!(&err, Error::UniqueViolation { column, value, .. } if column == "id" && value == "1"),
        "{err:?}"
    );
    clean(&mut c);
}

#[test]
fn the_transaction_is_an_identity_map_and_sends_nothing_before_commit() {
    let s = RedisServer::start().unwrap();
    let mut raw = s.connection().unwrap();
    open(&mut raw, 2, 10);
    let mut c = CountingConnection::new(s.connection().unwrap());
    let mut tx = Transaction::new();
    tx.get::<Account, _>(&mut c, 1u64).unwrap().unwrap().balance = 11;
    // the same row again: the pending object, no round trip
    c.reset();
    assert_eq!(
        tx.get::<Account, _>(&mut c, 1u64).unwrap().unwrap().balance,
        11
    );
    assert_eq!(c.round_trips(), 0);
    tx.delete::<Account>(2u64).unwrap();
    assert!(tx.get::<Account, _>(&mut c, 2u64).unwrap().is_none());
    tx.insert(account(3, 3)).unwrap();
    assert_eq!(tx.row::<Account>(3u64).unwrap().balance, 3);
    assert_eq!(c.round_trips(), 0, "writes are held");
    // a row it holds cannot be inserted again, nor an insert deleted
    assert!(matches!(
        tx.insert(account(1, 0)),
        Err(Error::Validation { .. })
    ));
    assert!(matches!(
        tx.delete::<Account>(3u64),
        Err(Error::Validation { .. })
    ));
    let plan = tx.explain().unwrap();
    assert!(plan.contains("commit 3 row(s)"), "{plan}");
    tx.rollback();
    assert_eq!(c.round_trips(), 0, "a rollback sends nothing");
    assert_eq!(balances(&mut raw, 3), vec![10, 10]);
    // an empty commit sends nothing either
    Transaction::<Bank>::new().commit(&mut c).unwrap();
    assert_eq!(c.round_trips(), 0);
}

#[test]
fn attached_records_and_unchanged_reads_are_checked() {
    let s = RedisServer::start().unwrap();
    let mut c = s.connection().unwrap();
    open(&mut c, 2, 10);
    let loaded = accounts::table
        .filter(accounts::balance.ge(10))
        .load(&mut c)
        .unwrap();
    let mut tx = Transaction::new();
    for r in loaded {
        tx.attach(r).unwrap();
    }
    tx.row::<Account>(1u64).unwrap().balance = 0;
    // account 2 is only read; another writer changes it
    let mut other = Account::get(&mut c, 2u64).unwrap().unwrap();
    other.balance = 9;
    other.save(&mut c).unwrap();
    let err = tx.commit(&mut c).unwrap_err();
    let Error::TransactionConflict { conflicts } = err else {
        panic!()
    };
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].key, "2");
    assert_eq!(balances(&mut c, 2), vec![10, 9]);
}

#[test]
fn a_model_in_no_group_has_transactions_of_its_own() {
    let s = RedisServer::start().unwrap();
    let mut c = s.connection().unwrap();
    let mut tx = Transaction::new();
    let a = tx
        .insert(Note {
            id: None,
            slug: "a".into(),
        })
        .unwrap();
    tx.insert(Note {
        id: None,
        slug: "b".into(),
    })
    .unwrap();
    let done = tx.commit(&mut c).unwrap();
    let a = done.key(a);
    let mut tx = Transaction::new();
    tx.get::<Note, _>(&mut c, a).unwrap().unwrap().slug = "c".into();
    tx.delete::<Note>(2u64).unwrap();
    tx.commit(&mut c).unwrap();
    let all = notes::table.load(&mut c).unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].slug, "c");
    clean(&mut c);
}

#[test]
fn threads_and_tasks_transferring_conserve_the_total() {
    const ACCOUNTS: u64 = 10;
    const EACH: usize = 625;
    let s = RedisServer::start().unwrap();
    let mut c = s.connection().unwrap();
    open(&mut c, ACCOUNTS, 1_000);
    let conflicts = std::sync::atomic::AtomicU64::new(0);
    let done = std::sync::atomic::AtomicU64::new(0);
    std::thread::scope(|scope| {
        for t in 0..8u64 {
            let (s, conflicts, done) = (&s, &conflicts, &done);
            scope.spawn(move || {
                let mut c = s.connection().unwrap();
                for i in 0..EACH as u64 {
                    let from = (t * 7 + i * 3) % ACCOUNTS + 1;
                    let to = (from + 1 + i % (ACCOUNTS - 1)) % ACCOUNTS + 1;
                    let amount = ((t + i) % 50) as i64 + 1;
                    let mut tries = 0;
                    let r = retry(50, || {
                        tries += 1;
                        transfer(&mut c, from, to, amount)
                    });
                    conflicts.fetch_add(tries - 1, std::sync::atomic::Ordering::Relaxed);
                    r.unwrap();
                    done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            });
        }
        // and 8 async tasks on one runtime
        let (s, conflicts, done) = (&s, &conflicts, &done);
        scope.spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let mut tasks = Vec::new();
                for t in 0..8u64 {
                    let c = s
                        .client()
                        .unwrap()
                        .get_multiplexed_async_connection()
                        .await
                        .unwrap();
                    let conflicts = &*Box::leak(Box::new(std::sync::atomic::AtomicU64::new(0)));
                    tasks.push((
                        conflicts,
                        tokio::spawn(async move {
                            for i in 0..EACH as u64 {
                                let from = (t * 5 + i) % ACCOUNTS + 1;
                                let to = (from + 2 + i % (ACCOUNTS - 2)) % ACCOUNTS + 1;
                                let amount = ((t * 3 + i) % 40) as i64 + 1;
                                let mut tries = 0u64;
                                rom::transaction::retry_async(50, || {
                                    tries += 1;
                                    let mut c = c.clone();
                                    async move { transfer_async(&mut c, from, to, amount).await }
                                })
                                .await
                                .unwrap();
                                conflicts
                                    .fetch_add(tries - 1, std::sync::atomic::Ordering::Relaxed);
                            }
                        }),
                    ));
                }
                for (n, t) in tasks {
                    t.await.unwrap();
                    conflicts.fetch_add(
                        n.load(std::sync::atomic::Ordering::Relaxed),
                        std::sync::atomic::Ordering::Relaxed,
                    );
                    done.fetch_add(EACH as u64, std::sync::atomic::Ordering::Relaxed);
                }
            });
        });
    });
    let all = balances(&mut c, ACCOUNTS);
    assert_eq!(all.iter().sum::<i64>(), 1_000 * ACCOUNTS as i64, "{all:?}");
    assert!(all.iter().all(|b| *b >= 0), "{all:?}");
    assert_eq!(done.into_inner(), 16 * EACH as u64);
    eprintln!(
        "16 writers, {} transfers, {} conflicts retried",
        16 * EACH,
        conflicts.into_inner()
    );
    clean(&mut c);
}

#[test]
fn a_killed_server_shows_no_partial_transaction_after_restart() {
    let mut s =
        RedisServer::start_with_args(&["--appendonly", "yes", "--appendfsync", "always"]).unwrap();
    let mut c = s.connection().unwrap();
    open(&mut c, 4, 1_000);
    let writer = {
        let mut c = s.connection().unwrap();
        std::thread::spawn(move || {
            let mut n = 0u64;
            // until the server dies under it
            while transfer(&mut c, n % 4 + 1, (n + 1) % 4 + 1, 1).is_ok() {
                n += 1;
            }
            n
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(300));
    std::process::Command::new("kill")
        .args(["-9", &s.pid().to_string()])
        .status()
        .unwrap();
    let n = writer.join().unwrap();
    assert!(n > 0, "some transfers ran before the kill");
    s.restart().unwrap();
    let mut c = s.connection().unwrap();
    let all = balances(&mut c, 4);
    assert_eq!(all.iter().sum::<i64>(), 4_000, "{all:?}");
    // each committed transfer has its ledger entry: replaying the ledger
    // gives the balances exactly
    let mut replay = [1_000i64; 4];
    for e in ledger::table.load(&mut c).unwrap() {
        replay[e.from as usize - 1] -= e.amount;
        replay[e.to as usize - 1] += e.amount;
    }
    assert_eq!(all, replay.to_vec(), "balances against the ledger");
    clean(&mut c);
}

#[test]
fn a_transaction_commits_on_a_cluster() {
    let cluster = rom::testing::RedisCluster::start(3).unwrap();
    let mut c = cluster.connection().unwrap();
    open(&mut c, 3, 50);
    assert!(transfer(&mut c, 1, 2, 20).unwrap());
    assert!(transfer(&mut c, 2, 3, 70).unwrap());
    assert!(!transfer(&mut c, 1, 3, 31).unwrap());
    let keys: Vec<u64> = vec![1, 2, 3];
    let all: Vec<i64> = Account::get_many(&mut c, &keys)
        .unwrap()
        .into_iter()
        .map(|a| a.balance)
        .collect();
    assert_eq!(all, vec![30, 0, 120]);
    assert_eq!(ledger::table.count(&mut c).unwrap(), 2);
    // a conflict on a cluster is reported as on one server
    let mut tx = Transaction::new();
    tx.get::<Account, _>(&mut c, 1u64).unwrap().unwrap().balance = 0;
    let mut other = Account::get(&mut c, 1u64).unwrap().unwrap();
    other.balance = 1;
    other.save(&mut c).unwrap();
    assert!(tx.commit(&mut c).unwrap_err().is_conflict());
}

/// Regression: a row read as absent named its key in a conflict as stored
/// (`a`), not as `Debug` shows it (`"a"`) like every other row.
#[test]
fn a_conflict_shows_every_key_as_debug_does() {
    let s = RedisServer::start().unwrap();
    let mut c = s.connection().unwrap();
    Tag {
        name: "b".into(),
        n: 0,
    }
    .insert(&mut c)
    .unwrap();
    let mut tx = Transaction::new();
    tx.get_many::<Tag, _>(&mut c, &["a".into(), "b".into()])
        .unwrap();
    assert!(tx.row::<Tag>("a").is_none());
    Tag {
        name: "a".into(),
        n: 1,
    }
    .insert(&mut c)
    .unwrap();
    Tag {
        name: "b".into(),
        n: 2,
    }
    .upsert(&mut c)
    .unwrap();
    let Error::TransactionConflict { conflicts } = tx.commit(&mut c).unwrap_err() else {
        panic!("a conflict")
    };
    let keys: Vec<(&str, RowChange)> = conflicts
        .iter()
        .map(|c| (c.key.as_str(), c.change.clone()))
        .collect();
    assert_eq!(
        keys,
        vec![
            ("\"a\"", RowChange::Created),
            ("\"b\"", RowChange::Column("n".into()))
        ]
    );
}

/// Regression: a delete by key of a row not read, then an insert of that key,
/// was taken; the insert replaced the delete, and the commit failed on a
/// taken primary key. It is refused like an insert of a row read and deleted.
#[test]
fn an_insert_of_a_row_the_transaction_deletes_is_refused() {
    let s = RedisServer::start().unwrap();
    let mut c = s.connection().unwrap();
    open(&mut c, 2, 10);
    let mut tx = Transaction::new();
    tx.delete::<Account>(2u64).unwrap();
    let err = tx.insert(account(2, 0)).unwrap_err();
    assert!(
        matches!(&err, Error::Validation { reason, .. } if reason.contains("deletes the row")),
        "{err:?}"
    );
    tx.get::<Account, _>(&mut c, 1u64).unwrap();
    tx.delete::<Account>(1u64).unwrap();
    assert!(matches!(
        tx.insert(account(1, 0)),
        Err(Error::Validation { .. })
    ));
    // the deletes commit as they were
    tx.commit(&mut c).unwrap();
    assert_eq!(accounts::table.count(&mut c).unwrap(), 0);
    // a row read as absent may still be inserted
    let mut tx = Transaction::new();
    assert!(tx.get::<Account, _>(&mut c, 3u64).unwrap().is_none());
    tx.insert(account(3, 0)).unwrap();
    tx.commit(&mut c).unwrap();
    assert_eq!(balances(&mut c, 3), vec![0]);
    clean(&mut c);
}
