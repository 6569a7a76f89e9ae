//! A Redis Cluster slot holding one bucket of a model partitioned by a
//! column (a tenant) migrates to another master while writers insert,
//! update, increment and delete rows of that tenant and of others, and a
//! reader runs pinned (`in_partition`) and `across_partitions` queries and
//! reads by key. Every error the client sees is one a retry cures (a
//! redirection, TRYAGAIN, a dropped connection), each operation is retried
//! until it succeeds, and afterwards every row each writer kept is there
//! with its values, nothing else is, each tenant's partition counts its
//! rows, `verify` is clean and the slot belongs to the other master. While
//! the slot moves, the reader also checks rows no writer touches: pinned and
//! across-partition queries and reads by key always see all of them.
#![allow(clippy::unwrap_used, missing_docs)]

mod random;
use random::{Rng, seed};
use rom::prelude::*;
use rom::testing::RedisCluster;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = mig_orders, partition(by = tenant, buckets = 16))]
struct Order {
    #[rom(primary_key)]
    id: Option<u64>,
    #[rom(index(eq))]
    tenant: String,
    #[rom(index(numeric))]
    n: i64,
    /// Unique per row and never changed: finds a row whose insert may or
    /// may not have been applied (a broken connection).
    label: String,
}

type Conn = redis::cluster::ClusterConnection;

/// The tenant whose bucket's slot migrates.
const HOT: &str = "acme";
const TENANTS: [&str; 5] = [HOT, "globex", "initech", "umbrella", "hooli"];
/// Rows no writer touches, per tenant, with `n` from `STATIC_BASE` up
/// (writers keep their `n` well below it).
const STATIC_PER_TENANT: u64 = 6;
const STATIC_BASE: i64 = 1_000_000;
const WRITERS: u64 = 4;
/// Rows each writer owns before the threads start (two thirds of HOT).
const SEED_PER_WRITER: u64 = 24;
/// Bounds on every loop, far above what a run needs: how long one
/// operation is retried (a save or an insert in the migrating bucket gets
/// TRYAGAIN from `SETSLOT MIGRATING` to `SETSLOT NODE`: it names keys that
/// do not exist, such as a new row's), and how many operations and batches.
const RETRY_FOR: Duration = Duration::from_secs(30);
const MAX_OPS: u64 = 1_000_000;
const MAX_BATCHES: u32 = 10_000;

/// The kinds of error a caller retries while a slot moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Retry {
    Ask,
    Moved,
    TryAgain,
    ClusterDown,
    /// A refused, dropped or timed-out connection: a write may or may not
    /// have been applied.
    Connection,
}

/// Whether an error is one a caller would retry, and which: the cluster was
/// moving the slot (TRYAGAIN, ASK, MOVED, CLUSTERDOWN) or a connection broke.
fn retryable(e: &Error) -> Option<Retry> {
    use redis::{ErrorKind, ServerErrorKind};
    let Error::Redis(r) = e else {
        return None;
    };
    match r.kind() {
        ErrorKind::Server(ServerErrorKind::Ask) => Some(Retry::Ask),
        ErrorKind::Server(ServerErrorKind::Moved) => Some(Retry::Moved),
        ErrorKind::Server(ServerErrorKind::TryAgain) => Some(Retry::TryAgain),
        ErrorKind::Server(ServerErrorKind::ClusterDown) => Some(Retry::ClusterDown),
        _ if r.to_string().contains("TRYAGAIN") => Some(Retry::TryAgain),
        _ if r.is_io_error()
            || r.is_connection_dropped()
            || r.is_connection_refusal()
            || r.is_timeout() =>
        {
            Some(Retry::Connection)
        }
        _ => None,
    }
}

/// What the threads share.
#[derive(Default)]
struct Shared {
    stop: AtomicBool,
    migrating: AtomicBool,
    /// Operations done (each counted once, after its retries).
    ops: AtomicU64,
    /// Writers' operations on the migrating tenant's rows, and the reader's
    /// checks, that started or ended while the slot was migrating.
    hot_during: AtomicU64,
    reads_during: AtomicU64,
    /// Retryable errors seen, by kind and operation.
    retried: Mutex<BTreeMap<(Retry, &'static str), u64>>,
}

impl Shared {
    fn note(&self, k: Retry, op: &'static str) {
        *self.retried.lock().unwrap().entry((k, op)).or_default() += 1;
    }
    fn migrating(&self) -> bool {
        self.migrating.load(Ordering::Relaxed)
    }
    /// Counts an operation done, in `during` too if the slot was migrating
    /// when it started (`started`) or now.
    fn done(&self, during: Option<&AtomicU64>, started: bool) {
        self.ops.fetch_add(1, Ordering::Relaxed);
        if let Some(n) = during.filter(|_| started || self.migrating()) {
            n.fetch_add(1, Ordering::Relaxed);
        }
    }
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

fn pause() {
    std::thread::sleep(Duration::from_millis(2));
}

/// Runs a read until it succeeds, retrying the errors `retryable` allows;
/// any other error (or retrying for longer than `RETRY_FOR`) is returned as
/// a message.
fn read<T>(
    c: &mut Conn,
    sh: &Shared,
    op: &'static str,
    mut f: impl FnMut(&mut Conn) -> rom::Result<T>,
) -> Result<T, String> {
    let deadline = Instant::now() + RETRY_FOR;
    loop {
        match f(c) {
            Ok(v) => return Ok(v),
            Err(e) => match retryable(&e) {
                Some(_) if Instant::now() > deadline => {
                    return Err(format!("{op}: still failing after {RETRY_FOR:?}: {e:?}"));
                }
                Some(k) => {
                    sh.note(k, op);
                    pause();
                }
                None => return Err(format!("{op}: {e:?}")),
            },
        }
    }
}

/// Runs a write until it succeeds. A refusal by the cluster (a redirection,
/// TRYAGAIN) wrote nothing, so the write is sent again; after a broken
/// connection it may have been applied, so `applied` reads the row first
/// and gives the write's result if it was.
fn write<T>(
    c: &mut Conn,
    sh: &Shared,
    op: &'static str,
    mut f: impl FnMut(&mut Conn) -> rom::Result<T>,
    mut applied: impl FnMut(&mut Conn) -> rom::Result<Option<T>>,
) -> Result<T, String> {
    let deadline = Instant::now() + RETRY_FOR;
    loop {
        match f(c) {
            Ok(v) => return Ok(v),
            Err(e) => match retryable(&e) {
                Some(_) if Instant::now() > deadline => {
                    return Err(format!("{op}: still failing after {RETRY_FOR:?}: {e:?}"));
                }
                Some(k) => {
                    sh.note(k, op);
                    pause();
                    if k == Retry::Connection
                        && let Some(v) = read(c, sh, op, &mut applied)?
                    {
                        return Ok(v);
                    }
                }
                None => return Err(format!("{op}: {e:?}")),
            },
        }
    }
}

/// A key of `rows`, of the migrating tenant or of another one when there is.
fn pick(rows: &BTreeMap<u64, Order>, r: &mut Rng, hot: bool) -> Option<u64> {
    let mut keys: Vec<u64> = rows
        .iter()
        .filter(|(_, o)| (o.tenant == HOT) == hot)
        .map(|(k, _)| *k)
        .collect();
    if keys.is_empty() {
        keys = rows.keys().copied().collect();
    }
    if keys.is_empty() {
        return None;
    }
    Some(keys[r.below(keys.len() as u64) as usize])
}

/// One operation of writer `w` on its own rows (`rows` is what the store
/// must hold of them afterwards); whether it was on the migrating tenant.
fn step(
    c: &mut Conn,
    sh: &Shared,
    w: u64,
    seq: u64,
    r: &mut Rng,
    rows: &mut BTreeMap<u64, Order>,
) -> Result<bool, String> {
    let hot = r.below(4) != 0;
    let choice = match rows.len() {
        0..8 => 0,
        80.. => 9,
        _ => r.below(10),
    };
    if choice <= 2 {
        let tenant = if hot {
            HOT
        } else {
            TENANTS[1 + r.below(4) as usize]
        };
        let label = format!("w{w}-{seq}");
        let row = Order {
            id: None,
            tenant: tenant.into(),
            n: (w * 100_000 + seq % 40_000) as i64,
            label: label.clone(),
        };
        let got = write(
            c,
            sh,
            "insert",
            |c| row.clone().insert(c).map(Record::into_inner),
            |c| {
                Ok(mig_orders::table
                    .in_partition(tenant)
                    .load(c)?
                    .into_iter()
                    .map(Record::into_inner)
                    .find(|o| o.label == label))
            },
        )?;
        let Some(k) = got.id else {
            return Err(format!("insert of {label}: no key"));
        };
        if got != (Order { id: Some(k), ..row }) {
            return Err(format!("insert of {label}: stored as {got:?}"));
        }
        if rows.insert(k, got).is_some() {
            return Err(format!("insert of {label}: key {k} given twice"));
        }
        return Ok(tenant == HOT);
    }
    let Some(k) = pick(rows, r, hot) else {
        return Ok(false);
    };
    let was = rows[&k].clone();
    let on_hot = was.tenant == HOT;
    match choice {
        3..=5 => {
            // a loaded record, changed and saved (conflict-checked)
            let Some(mut rec) = read(c, sh, "get", |c| Order::get(c, k))? else {
                return Err(format!("update: row {k} ({}) is gone", was.label));
            };
            if *rec != was {
                return Err(format!("get {k}: {:?}, expected {was:?}", *rec));
            }
            let n = (w * 100_000 + 50_000 + seq % 40_000) as i64;
            rec.n = n;
            write(
                c,
                sh,
                "save",
                |c| rec.clone().save(c),
                |c| Ok(Order::get(c, k)?.filter(|o| o.n == n).map(|_| ())),
            )?;
            rows.get_mut(&k).unwrap().n = n;
        }
        6 | 7 => {
            let d = r.below(5) as i64 + 1;
            let want = was.n + d;
            let got = write(
                c,
                sh,
                "increment",
                |c| Order::increment(c, k, mig_orders::n.add(d)),
                |c| Ok(Order::get(c, k)?.and_then(|o| (o.n == want).then_some(o.n))),
            )?;
            if got != want {
                return Err(format!("increment of {k} by {d}: {got}, expected {want}"));
            }
            rows.get_mut(&k).unwrap().n = want;
        }
        8 => {
            let got = read(c, sh, "get", |c| Order::get(c, k))?.map(Record::into_inner);
            if got.as_ref() != Some(&was) {
                return Err(format!("get {k}: {got:?}, expected {was:?}"));
            }
        }
        _ => {
            let gone = write(
                c,
                sh,
                "delete",
                |c| Order::delete_many(c, &[k]),
                |c| Ok((!Order::exists(c, k)?).then_some(1)),
            )?;
            if gone != 1 {
                return Err(format!("delete of {k}: {gone} rows deleted, expected 1"));
            }
            rows.remove(&k);
        }
    }
    Ok(on_hot)
}

/// Writer `w`: operations on its own rows until told to stop (or a bound);
/// the rows it leaves, and what went wrong.
fn writer(
    w: u64,
    mut c: Conn,
    sh: &Shared,
    mut rows: BTreeMap<u64, Order>,
    seed: u64,
) -> (BTreeMap<u64, Order>, Vec<String>) {
    let mut r = Rng(seed ^ (w + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut bad = Vec::new();
    for seq in 0..MAX_OPS {
        if sh.stopped() || bad.len() >= 10 {
            break;
        }
        let started = sh.migrating();
        match step(&mut c, sh, w, seq, &mut r, &mut rows) {
            Ok(hot) => sh.done(hot.then_some(&sh.hot_during), started),
            Err(e) => bad.push(format!("writer {w}: {e}")),
        }
    }
    (rows, bad)
}

/// The reader: queries and reads whose answers are known although writers
/// change other rows, because they only look at rows no writer touches (or
/// only bound a count from below).
fn reader(mut c: Conn, sh: &Shared, statics: &BTreeMap<u64, Order>) -> Vec<String> {
    let c = &mut c;
    let hot_static: Vec<Order> = {
        let mut v: Vec<Order> = statics
            .values()
            .filter(|o| o.tenant == HOT)
            .cloned()
            .collect();
        v.sort_by_key(|o| o.n);
        v
    };
    let all_keys: Vec<u64> = statics.keys().copied().collect();
    let total = statics.len() as u64;
    let mut bad = Vec::new();
    for i in 0..MAX_OPS {
        if sh.stopped() || bad.len() >= 10 {
            break;
        }
        let started = sh.migrating();
        let checked: Result<(), String> = (|| {
            match i % 7 {
                0 => {
                    let n = read(c, sh, "in_partition count", |c| {
                        mig_orders::table.in_partition(HOT).count(c)
                    })?;
                    if n < STATIC_PER_TENANT {
                        return Err(format!("in_partition({HOT}).count() = {n}"));
                    }
                }
                1 => {
                    let n = read(c, sh, "in_partition count", |c| {
                        mig_orders::table
                            .in_partition(HOT)
                            .filter(mig_orders::n.ge(STATIC_BASE))
                            .count(c)
                    })?;
                    if n != STATIC_PER_TENANT {
                        return Err(format!("{HOT}'s untouched rows counted {n}"));
                    }
                }
                2 => {
                    let got: Vec<Order> = read(c, sh, "in_partition load", |c| {
                        mig_orders::table
                            .in_partition(HOT)
                            .filter(mig_orders::n.ge(STATIC_BASE))
                            .order_by(mig_orders::n.asc())
                            .load(c)
                    })?
                    .into_iter()
                    .map(Record::into_inner)
                    .collect();
                    if got != hot_static {
                        return Err(format!("{HOT}'s untouched rows loaded as {got:?}"));
                    }
                }
                3 => {
                    let n = read(c, sh, "across count", |c| {
                        mig_orders::table
                            .across_partitions()
                            .filter(mig_orders::n.ge(STATIC_BASE))
                            .count(c)
                    })?;
                    if n != total {
                        return Err(format!("untouched rows counted {n} across partitions"));
                    }
                }
                4 => {
                    let n = read(c, sh, "across count", |c| {
                        mig_orders::table.across_partitions().count(c)
                    })?;
                    if n < total {
                        return Err(format!("across_partitions().count() = {n}"));
                    }
                }
                5 => {
                    let got: Vec<Order> =
                        read(c, sh, "get_many", |c| Order::get_many(c, &all_keys))?
                            .into_iter()
                            .map(Record::into_inner)
                            .collect();
                    if got.len() != statics.len() || got.iter().ne(statics.values()) {
                        return Err(format!("get_many of the untouched rows: {got:?}"));
                    }
                }
                _ => {
                    for o in &hot_static {
                        let k = o.id.unwrap();
                        let got = read(c, sh, "get", |c| Order::get(c, k))?.map(Record::into_inner);
                        if got.as_ref() != Some(o) {
                            return Err(format!("get {k}: {got:?}, expected {o:?}"));
                        }
                    }
                }
            }
            Ok(())
        })();
        match checked {
            Ok(()) => sh.done(Some(&sh.reads_during), started),
            Err(e) => bad.push(format!("reader: {e}")),
        }
    }
    bad
}

fn node_id(c: &mut redis::Connection) -> String {
    redis::cmd("CLUSTER").arg("MYID").query(c).expect("myid")
}

/// The id of the master that owns `slot`, as node `n` sees it (`CLUSTER
/// NODES`; its `[slot->-id]` migration entries are not ownership).
fn slot_owner(n: &mut redis::Connection, slot: u16) -> Option<String> {
    let text: String = redis::cmd("CLUSTER").arg("NODES").query(n).unwrap();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        for range in f.iter().skip(8).filter(|s| !s.starts_with('[')) {
            let (a, b) = range.split_once('-').unwrap_or((range, range));
            let (a, b): (u16, u16) = (a.parse().unwrap(), b.parse().unwrap());
            if (a..=b).contains(&slot) {
                return Some(f[0].to_owned());
            }
        }
    }
    None
}

fn keys_in_slot(n: &mut redis::Connection, slot: u16) -> u64 {
    redis::cmd("CLUSTER")
        .arg("COUNTKEYSINSLOT")
        .arg(slot)
        .query(n)
        .unwrap()
}

/// A connection of thread `i`. redis-rs follows ASK and MOVED itself and
/// waits out TRYAGAIN (by default 16 times, at least 1.28 s each): here the
/// waits are short, and half the threads give up after two tries, so that
/// their callers see the errors a migration causes and retry them.
fn connection(cluster: &RedisCluster, i: u64) -> Conn {
    redis::cluster::ClusterClient::builder(cluster.urls())
        .retries(if i.is_multiple_of(2) { 16 } else { 2 })
        .min_retry_wait(1)
        .max_retry_wait(20)
        .build()
        .unwrap()
        .get_connection()
        .unwrap()
}

/// Waits until `counter` has grown by `by`, or `limit` has passed (no
/// assertion rests on how long it took).
fn wait_for(counter: &AtomicU64, by: u64, limit: Duration) {
    let start = counter.load(Ordering::Relaxed);
    let deadline = Instant::now() + limit;
    while counter.load(Ordering::Relaxed) < start + by && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn a_partition_keeps_working_while_its_slot_migrates() {
    let seed = seed();
    println!("seed {seed}");
    let cluster = RedisCluster::start(3).unwrap();
    let mut nodes: Vec<redis::Connection> = cluster
        .urls()
        .iter()
        .map(|u| {
            redis::Client::open(u.as_str())
                .unwrap()
                .get_connection()
                .unwrap()
        })
        .collect();
    let ids: Vec<String> = nodes.iter_mut().map(node_id).collect();

    // rows no writer touches, and each writer's own first rows
    let mut c = cluster.connection().unwrap();
    let mut statics: BTreeMap<u64, Order> = BTreeMap::new();
    for (t, tenant) in TENANTS.iter().enumerate() {
        for i in 0..STATIC_PER_TENANT {
            let o = Order {
                id: None,
                tenant: (*tenant).into(),
                n: STATIC_BASE + (t as i64) * 100 + i as i64,
                label: format!("static-{t}-{i}"),
            }
            .insert(&mut c)
            .unwrap()
            .into_inner();
            statics.insert(o.id.unwrap(), o);
        }
    }
    let owned: Vec<BTreeMap<u64, Order>> = (0..WRITERS)
        .map(|w| {
            (0..SEED_PER_WRITER)
                .map(|i| {
                    let tenant = if i % 3 == 2 {
                        TENANTS[1 + (i as usize / 3) % 4]
                    } else {
                        HOT
                    };
                    let o = Order {
                        id: None,
                        tenant: tenant.into(),
                        n: (w * 100_000 + 90_000 + i) as i64,
                        label: format!("w{w}-seed{i}"),
                    }
                    .insert(&mut c)
                    .unwrap()
                    .into_inner();
                    (o.id.unwrap(), o)
                })
                .collect()
        })
        .collect();

    // the hot tenant's bucket, its slot, who owns it, and where it goes
    let hot_key = statics
        .values()
        .find(|o| o.tenant == HOT)
        .unwrap()
        .id
        .unwrap();
    let row_key = Order::get_plan(&[hot_key]).keys()[0].clone();
    let bucket = Order::bucket_layouts()
        .iter()
        .position(|l| row_key.starts_with(&l.tag))
        .expect("the row key carries a bucket's tag");
    let slot: u16 = redis::cmd("CLUSTER")
        .arg("KEYSLOT")
        .arg(&row_key)
        .query(&mut nodes[0])
        .unwrap();
    let src_id = slot_owner(&mut nodes[0], slot).expect("an owner");
    let src = ids.iter().position(|i| *i == src_id).unwrap();
    let dst = (src + 1) % nodes.len();
    let dst_id = ids[dst].clone();
    let dst_port = cluster.ports()[dst];
    let keys_before = keys_in_slot(&mut nodes[src], slot);
    println!(
        "{HOT}: bucket {bucket} ({}), slot {slot} with {keys_before} keys, node {src} -> node {dst}",
        String::from_utf8_lossy(&Order::bucket_layouts()[bucket].tag)
    );
    assert!(keys_before > 0);

    let sh = Shared::default();
    let mut conns: Vec<Conn> = (0..=WRITERS).map(|i| connection(&cluster, i)).collect();
    let (kept, mut bad, batches, moved) = std::thread::scope(|s| {
        let sh = &sh;
        let statics = &statics;
        let reader = {
            let c = conns.pop().unwrap();
            s.spawn(move || reader(c, sh, statics))
        };
        let writers: Vec<_> = owned
            .into_iter()
            .zip(conns)
            .enumerate()
            .map(|(w, (rows, c))| s.spawn(move || writer(w as u64, c, sh, rows, seed)))
            .collect();

        // let them get going, then move the slot in small batches (from the
        // first to the last, the slot's calls that name keys on both nodes
        // get TRYAGAIN), with a short pause after each
        wait_for(&sh.ops, 200, Duration::from_secs(20));
        sh.migrating.store(true, Ordering::Relaxed);
        redis::cmd("CLUSTER")
            .arg("SETSLOT")
            .arg(slot)
            .arg("IMPORTING")
            .arg(&src_id)
            .exec(&mut nodes[dst])
            .unwrap();
        redis::cmd("CLUSTER")
            .arg("SETSLOT")
            .arg(slot)
            .arg("MIGRATING")
            .arg(&dst_id)
            .exec(&mut nodes[src])
            .unwrap();
        // reads while the slot is migrating but no key has moved yet
        wait_for(&sh.reads_during, 20, Duration::from_secs(10));
        let (mut batches, mut moved) = (0u32, 0usize);
        while batches < MAX_BATCHES {
            let keys: Vec<Vec<u8>> = redis::cmd("CLUSTER")
                .arg("GETKEYSINSLOT")
                .arg(slot)
                .arg(3)
                .query(&mut nodes[src])
                .unwrap();
            if keys.is_empty() {
                break;
            }
            moved += keys.len();
            redis::cmd("MIGRATE")
                .arg("127.0.0.1")
                .arg(dst_port)
                .arg("")
                .arg(0)
                .arg(5000)
                .arg("KEYS")
                .arg(keys)
                .exec(&mut nodes[src])
                .unwrap();
            batches += 1;
            wait_for(&sh.ops, 4, Duration::from_millis(100));
        }
        assert_eq!(keys_in_slot(&mut nodes[src], slot), 0, "keys left behind");
        // the new owner first, then the old one, then the rest
        let order = [dst, src, 3 - src - dst];
        for i in order {
            redis::cmd("CLUSTER")
                .arg("SETSLOT")
                .arg(slot)
                .arg("NODE")
                .arg(&dst_id)
                .exec(&mut nodes[i])
                .unwrap();
        }
        sh.migrating.store(false, Ordering::Relaxed);
        // a little longer on the new owner, then stop and join everyone
        wait_for(&sh.ops, 500, Duration::from_secs(20));
        sh.stop.store(true, Ordering::Relaxed);
        let mut bad = reader.join().unwrap();
        let mut kept = Vec::new();
        for w in writers {
            let (rows, b) = w.join().unwrap();
            kept.push(rows);
            bad.extend(b);
        }
        (kept, bad, batches, moved)
    });

    let retried = sh.retried.lock().unwrap().clone();
    let hot_during = sh.hot_during.load(Ordering::Relaxed);
    println!(
        "{batches} batches ({moved} keys), {} operations; while the slot migrated, \
         {hot_during} on {HOT}'s rows and {} reader checks",
        sh.ops.load(Ordering::Relaxed),
        sh.reads_during.load(Ordering::Relaxed)
    );
    let mut by_kind: BTreeMap<Retry, u64> = BTreeMap::new();
    for ((k, op), n) in &retried {
        println!("retried {k:?} on {op}: {n}");
        *by_kind.entry(*k).or_default() += n;
    }
    println!("retryable errors by kind: {by_kind:?}");

    // what must be stored: the untouched rows and what each writer kept
    let mut want = statics.clone();
    for rows in kept {
        for (k, o) in rows {
            if let Some(old) = want.insert(k, o.clone()) {
                bad.push(format!("key {k} held by two owners: {old:?} and {o:?}"));
            }
        }
    }
    assert!(bad.is_empty(), "seed {seed}: {bad:#?}");
    assert!(batches > 0);
    assert!(
        hot_during > 0,
        "no write or read of {HOT}'s rows overlapped the migration"
    );

    let mut c = cluster.connection().unwrap();
    for (k, o) in &want {
        let got = Order::get(&mut c, *k).unwrap().map(Record::into_inner);
        assert_eq!(got.as_ref(), Some(o), "seed {seed}: row {k}");
    }
    let mut all = mig_orders::table.across_partitions().ids(&mut c).unwrap();
    all.sort_unstable();
    assert_eq!(
        all,
        want.keys().copied().collect::<Vec<_>>(),
        "seed {seed}: the stored keys"
    );
    for t in TENANTS {
        let mut ids = mig_orders::table.in_partition(t).ids(&mut c).unwrap();
        ids.sort_unstable();
        let of_t: Vec<u64> = want
            .iter()
            .filter(|(_, o)| o.tenant == t)
            .map(|(k, _)| *k)
            .collect();
        assert_eq!(ids, of_t, "seed {seed}: {t}'s keys");
        assert_eq!(
            mig_orders::table.in_partition(t).count(&mut c).unwrap(),
            of_t.len() as u64,
            "seed {seed}: {t}'s count"
        );
    }
    let report = rom::verify::verify::<Order, _>(&mut c).unwrap();
    assert!(report.is_clean(), "seed {seed}: {:#?}", report.problems);

    // the slot has moved, as every node sees it
    for (i, n) in nodes.iter_mut().enumerate() {
        assert_eq!(
            slot_owner(n, slot).as_deref(),
            Some(dst_id.as_str()),
            "node {i}'s view of slot {slot}"
        );
    }
    assert_eq!(keys_in_slot(&mut nodes[src], slot), 0);
    assert!(keys_in_slot(&mut nodes[dst], slot) > 0);
}
