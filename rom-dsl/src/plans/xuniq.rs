//! Unique values across partitions (remote uniques): the client side of
//! `xuniq.lua`. A partitioned model's unique column that is not its
//! partition column can have two rows with one value in two buckets, so
//! its values are claimed in the value's own bucket U (the claims hash),
//! apart from the row's bucket R. A save that claims values is one plan of
//! several calls, each in one slot:
//!
//! 1. **reserve** each claimed value in its U (pending for this attempt's
//!    token);
//! 2. **save** the row in R, refused if the attempt was fenced (`xsave`);
//! 3. **commit** each reservation (pending → committed).
//!
//! A failed save releases its reservations. A reservation that meets an
//! entry of another row recovers it: a committed entry whose row no longer
//! holds the value (checked in that row's bucket, `xuniq_probe`) is taken
//! over; a pending one older than the lease ([`lease`]) is first fenced in
//! its row's bucket (its save can no longer succeed), then committed for
//! its row if that row holds the value, else taken over. A younger pending
//! entry is [`Error::UniqueContended`]. The book's placement chapter states
//! the guarantee and what a crash between any two calls leaves.

use crate::error::{Error, Result, show};
use crate::plan::{Call, Plan};
use crate::plans::plan::Next;
use crate::record::Saved;
use crate::storage::model::{Key, Layout, Model, Slot, SlotKind};
use crate::storage::slots::entry_key;
use crate::wire::save::SaveMode as Mode;
use crate::wire::status::Status;
use crate::wire::xuniq::{
    CompareSet, Entry, FencedSave, ProbeArgs, ReserveArgs, SettleAttempt, XReply,
};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

static LEASE_MS: AtomicU64 = AtomicU64::new(5_000);

/// How long a pending claim is left to its writer before another writer
/// may fence it and take the value over (default 5 s).
pub(crate) fn lease() -> Duration {
    Duration::from_millis(LEASE_MS.load(Ordering::Relaxed))
}

/// Sets the lease (see [`crate::placement::set_claim_lease`]).
pub(crate) fn set_lease(d: Duration) {
    LEASE_MS.store(
        u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1),
        Ordering::Relaxed,
    );
}

/// How many times a save starts over (a fenced attempt) or a reservation
/// retries (an entry that changed under it) before giving up.
const TRIES: u32 = 4;

/// The unique slots of `M` claimed across partitions: every unique of a
/// partitioned model that does not include its partition column.
pub(crate) fn remote_slots<M: Model>() -> impl Iterator<Item = &'static Slot> {
    let by = M::PARTITION_BY;
    M::layout().slots.iter().filter(move |s| {
        M::BUCKETS > 0 && s.kind == SlotKind::Unique && !by.is_some_and(|c| s.columns.contains(&c))
    })
}

/// Whether `M` has a unique claimed across partitions.
pub(crate) fn has_remote<M: Model>() -> bool {
    remote_slots::<M>().next().is_some()
}

/// The claims hash of `slot` holding value `v`: in v's bucket.
pub(crate) fn claims_key<M: Model>(slot: &Slot, v: &[u8]) -> Vec<u8> {
    let ls = M::bucket_layouts();
    let l = &ls[usize::from(crate::storage::partition::bucket(v, M::BUCKETS)) % ls.len()];
    [&l.tag[..], b":x", slot.id.as_bytes()].concat()
}

/// The fence hash of a bucket.
pub(crate) fn fences_key(l: &Layout) -> Vec<u8> {
    [&l.tag[..], b":xfence"].concat()
}

/// A new attempt's token: 128 bits, 32 hex digits, never the same twice
/// (std's randomly seeded hasher over a process counter, the time and the
/// process id).
pub(crate) fn token() -> Vec<u8> {
    use std::hash::{BuildHasher, Hasher};
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut out = String::with_capacity(32);
    for i in 0..2u8 {
        let mut h = std::hash::RandomState::new().build_hasher();
        h.write_u64(n);
        h.write_u128(t);
        h.write_u32(std::process::id());
        h.write_u8(i);
        out.push_str(&format!("{:016x}", h.finish()));
    }
    out.into_bytes()
}

/// One value a save claims.
struct Claim {
    slot: &'static Slot,
    value: Vec<u8>,
    key: Vec<u8>,
}

/// One attempt of a save that claims values.
struct Attempt<M: Model> {
    value: M,
    snapshot: Option<Vec<Option<Vec<u8>>>>,
    mode: Mode,
    force: bool,
    tries: u32,
    member: Vec<u8>,
    token: Vec<u8>,
    claims: Vec<Claim>,
    row_layout: &'static Layout,
    save: crate::plans::write::SaveParts,
}

type Step<M> = Result<Next<Saved<<M as Model>::Key>>>;

/// The plan of a save of `value` (with its key set) of a model with remote
/// uniques.
pub(crate) fn save_plan<M: Model>(
    value: &M,
    snapshot: Option<&[Option<Vec<u8>>]>,
    mode: Mode,
    force: bool,
) -> Result<Plan<Saved<M::Key>>> {
    start(value.clone(), snapshot.map(<[_]>::to_vec), mode, force, 0)
}

fn start<M: Model>(
    value: M,
    snapshot: Option<Vec<Option<Vec<u8>>>>,
    mode: Mode,
    force: bool,
    tries: u32,
) -> Result<Plan<Saved<M::Key>>> {
    let save = crate::plans::write::save_parts(&value, snapshot.as_deref(), mode, force)?;
    // the values it claims: the remote slots it writes, when not null
    let mut claims = Vec::new();
    for t in &save.args.touched {
        let Some(slot) = remote_slots::<M>().find(|s| s.id.as_bytes() == &t.id[..]) else {
            continue;
        };
        for v in &t.values {
            claims.push(Claim {
                slot,
                value: v.clone(),
                key: claims_key::<M>(slot, v),
            });
        }
    }
    if claims.is_empty() {
        // nothing claimed: an ordinary save
        return crate::plans::write::keyed_save_plan(
            &value,
            snapshot.as_deref(),
            mode,
            force,
            None,
        );
    }
    let member = save.args.member.clone();
    let row_layout = crate::storage::partition::layout_for::<M>(&member);
    let a = Box::new(Attempt {
        value,
        snapshot,
        mode,
        force,
        tries,
        member,
        token: token(),
        claims,
        row_layout,
        save,
    });
    let about = format!(
        "claim {} across partitions: reserve each in its value's partition, then {} (refused if fenced), then commit each ({} calls)",
        a.claims
            .iter()
            .map(|c| format!("{} = {} in {}", c.slot.label, show(&c.value), show(&c.key)))
            .collect::<Vec<_>>()
            .join(", "),
        a.save.step,
        2 * a.claims.len() + 1
    );
    Ok(reserve(a, 0, Vec::new(), 0).step(about))
}

/// Reserves claim `i` (replacing exactly `expect` when not empty).
fn reserve<M: Model>(
    a: Box<Attempt<M>>,
    i: usize,
    expect: Vec<u8>,
    rounds: u32,
) -> Plan<Saved<M::Key>> {
    let c = &a.claims[i];
    let args = ReserveArgs {
        claims: c.key.clone(),
        value: c.value.clone(),
        token: a.token.clone(),
        member: a.member.clone(),
        expect,
    };
    Plan::call(&args, XReply::decode)
        .then(move |r| match r {
            Next::Done(x) => reserved(a, i, x, rounds),
            Next::Again(_) => Err(unexpected()),
        })
        .about("reserve unique", M::SCHEMA.namespace)
}

fn unexpected() -> Error {
    Error::decode(b"(xuniq)", None, "unexpected continuation")
}

/// What a reservation answered.
fn reserved<M: Model>(a: Box<Attempt<M>>, i: usize, x: XReply, rounds: u32) -> Step<M> {
    match x {
        XReply::Ok => {
            if i + 1 < a.claims.len() {
                return Ok(Next::Again(reserve(a, i + 1, Vec::new(), 0)));
            }
            crate::fail::fail_point("xuniq:reserved");
            Ok(Next::Again(save(a)))
        }
        XReply::Moved(_) if rounds < TRIES => {
            Ok(Next::Again(reserve(a, i, Vec::new(), rounds + 1)))
        }
        XReply::Moved(_) => {
            let e = contended(&a.claims[i], lease());
            fail(a, i, e)
        }
        XReply::Held { entry, age_ms } => {
            let Some(e) = Entry::parse(&entry) else {
                let c = &a.claims[i];
                let err = Error::decode(
                    &c.key,
                    Some(&show(&c.value)),
                    "not a claims entry rom wrote",
                );
                return fail(a, i, err);
            };
            let lease_ms = lease().as_millis() as u64;
            let fence = match &e {
                Entry::Committed { .. } => Vec::new(),
                Entry::Pending { .. } if age_ms < lease_ms => {
                    let err = contended(&a.claims[i], Duration::from_millis(lease_ms - age_ms));
                    return fail(a, i, err);
                }
                Entry::Pending { token, .. } => token.clone(),
            };
            Ok(Next::Again(probe(a, i, entry, e, fence, rounds)))
        }
        XReply::WrongType(k) => fail(a, i, wrongtype(&k)),
        XReply::Lost(_) | XReply::Holds(_) => fail(
            a,
            i,
            Error::decode(b"(xuniq_reserve)", None, "unexpected reply"),
        ),
    }
}

fn wrongtype(k: &[u8]) -> Error {
    Error::decode(k, None, "the key is not a hash, as rom expects")
}

fn contended(c: &Claim, after: Duration) -> Error {
    Error::UniqueContended {
        model: "",
        column: c.slot.label.clone(),
        value: show(&c.value),
        retry_after_ms: after.as_millis() as u64,
    }
}

/// Whether the row named by `entry` holds claim `i`'s value, after fencing
/// its attempt (`fence` not empty); then takes the value over, or gives up.
fn probe<M: Model>(
    a: Box<Attempt<M>>,
    i: usize,
    raw: Vec<u8>,
    e: Entry,
    fence: Vec<u8>,
    rounds: u32,
) -> Plan<Saved<M::Key>> {
    let c = &a.claims[i];
    let args = probe_args::<M>(c.slot, &c.value, e.member(), &fence);
    Plan::call(&args, XReply::decode)
        .then(move |r| {
            let Next::Done(x) = r else {
                return Err(unexpected());
            };
            match x {
                XReply::Holds(true) => {
                    let err = violation::<M>(&a.claims[i]);
                    if fence.is_empty() {
                        return refuse(a, i, err);
                    }
                    crate::fail::fail_point("xuniq:fenced");
                    // the fenced attempt's row holds the value: its entry
                    // becomes committed for it; when that row is this
                    // write's own (an earlier attempt of it that stopped),
                    // the value is then reserved again, as the row's own
                    let own = e.member() == a.member.as_slice();
                    let c = &a.claims[i];
                    let args = CompareSet {
                        claims: c.key.clone(),
                        value: c.value.clone(),
                        new: e.committed(),
                        expect: raw,
                    };
                    Ok(Next::Again(Plan::call(&args, XReply::decode).then(
                        move |_| {
                            if own && rounds < TRIES {
                                return Ok(Next::Again(reserve(a, i, Vec::new(), rounds + 1)));
                            }
                            refuse(a, i, err)
                        },
                    )))
                }
                XReply::Holds(false) => {
                    if !fence.is_empty() {
                        crate::fail::fail_point("xuniq:fenced");
                    }
                    if rounds >= TRIES {
                        let err = contended(&a.claims[i], lease());
                        return fail(a, i, err);
                    }
                    Ok(Next::Again(reserve(a, i, raw, rounds + 1)))
                }
                XReply::WrongType(k) => fail(a, i, wrongtype(&k)),
                _ => fail(
                    a,
                    i,
                    Error::decode(b"(xuniq_probe)", None, "unexpected reply"),
                ),
            }
        })
        .about("probe unique", M::SCHEMA.namespace)
}

/// The probe of whether row `owner` holds value `v` of `slot` (in the
/// row's bucket), after fencing attempt `fence` when not empty.
pub(crate) fn probe_args<M: Model>(slot: &Slot, v: &[u8], owner: &[u8], fence: &[u8]) -> ProbeArgs {
    let l = crate::storage::partition::layout_for::<M>(owner);
    ProbeArgs {
        unique: entry_key(&l.tag, SlotKind::Unique, slot.id.as_bytes(), v),
        row: [&l.row_prefix[..], owner].concat(),
        fences: fences_key(l),
        value: v.to_vec(),
        member: owner.to_vec(),
        fence: fence.to_vec(),
    }
}

fn violation<M: Model>(c: &Claim) -> Error {
    Error::UniqueViolation {
        model: M::SCHEMA.name,
        column: c.slot.label.clone(),
        value: show(&c.value),
    }
}

/// Fails with a violation of claim `i`, unless the row's own state fails
/// the write first, as a write in one slot checks it first: an insert whose
/// key is taken, an update of a row that is gone (one `EXISTS`).
fn refuse<M: Model>(a: Box<Attempt<M>>, i: usize, err: Error) -> Step<M> {
    if a.mode == Mode::Put {
        return fail(a, i, err);
    }
    let row = [&a.row_layout.row_prefix[..], &a.member].concat();
    let exists = Plan::new(Call::Command("EXISTS"), vec![row], Vec::new(), |v| {
        Ok(matches!(v, redis::Value::Int(1)))
    });
    Ok(Next::Again(exists.then(move |r| {
        let Next::Done(exists) = r else {
            return Err(unexpected());
        };
        let err = match (a.mode, exists) {
            (Mode::Insert, true) => crate::plans::write::status_error::<M>(Status::Exists),
            (Mode::Update, false) => crate::plans::write::status_error::<M>(Status::Gone),
            _ => err,
        };
        fail(a, i, err)
    })))
}

/// The fenced save of the row.
fn save<M: Model>(a: Box<Attempt<M>>) -> Plan<Saved<M::Key>> {
    let args = FencedSave {
        fences: fences_key(a.row_layout),
        token: a.token.clone(),
        save: a.save.args.clone(),
    };
    Plan::call(&args, Ok)
        .then(move |r| {
            let Next::Done(v) = r else {
                return Err(unexpected());
            };
            let revoked = matches!(&v, redis::Value::Array(items)
                if matches!(items.first(), Some(redis::Value::BulkString(w)) if w == b"revoked"));
            if revoked {
                // the attempt stalled past its lease and was fenced: its
                // reservations may be taken over; start again with a new one
                let n = a.claims.len();
                if a.tries + 1 >= TRIES {
                    let err = contended(&a.claims[0], lease());
                    return fail(a, n, err);
                }
                return release(
                    a,
                    n,
                    Box::new(|a: Box<Attempt<M>>| {
                        start(a.value, a.snapshot, a.mode, a.force, a.tries + 1).map(Next::Again)
                    }),
                );
            }
            match crate::plans::write::script_reply::<M>(v) {
                Ok(member) => {
                    crate::fail::fail_point("xuniq:saved");
                    let key = M::Key::from_member(&member).map_err(|e| {
                        Error::decode(&member, None, format!("bad key from save: {e}"))
                    })?;
                    Ok(Next::Again(commit(a, 0, key)))
                }
                Err(e) => {
                    crate::fail::fail_point("xuniq:save-failed");
                    let n = a.claims.len();
                    fail(a, n, e)
                }
            }
        })
        .about("save", M::SCHEMA.namespace)
}

/// Commits claim `i`, then the next; the save's result after the last.
fn commit<M: Model>(a: Box<Attempt<M>>, i: usize, key: M::Key) -> Plan<Saved<M::Key>> {
    let c = &a.claims[i];
    let args = SettleAttempt {
        claims: c.key.clone(),
        value: c.value.clone(),
        token: a.token.clone(),
        member: a.member.clone(),
        release: false,
    };
    Plan::call(&args, XReply::decode)
        .then(move |r| match r {
            // `lost`: the claim was taken over after this save, which a
            // writer does only once it has read that the row no longer
            // holds the value (a later write of the row gave it up): the
            // save happened, and was overwritten since
            Next::Done(XReply::Ok | XReply::Lost(_)) if i + 1 < a.claims.len() => {
                Ok(Next::Again(commit(a, i + 1, key)))
            }
            Next::Done(XReply::Ok | XReply::Lost(_)) => {
                crate::fail::fail_point("xuniq:committed");
                Ok(Next::Done(Saved {
                    key,
                    snapshot: a.save.snapshot,
                }))
            }
            Next::Done(XReply::WrongType(k)) => Err(wrongtype(&k)),
            Next::Done(_) => Err(Error::decode(b"(xuniq_commit)", None, "unexpected reply")),
            Next::Again(_) => Err(unexpected()),
        })
        .about("commit unique", M::SCHEMA.namespace)
}

/// Gives up: releases the first `n` claims (reserved by this attempt),
/// then fails with `err`.
fn fail<M: Model>(a: Box<Attempt<M>>, n: usize, err: Error) -> Step<M> {
    let err = match err {
        Error::UniqueContended {
            column,
            value,
            retry_after_ms,
            ..
        } => Error::UniqueContended {
            model: M::SCHEMA.name,
            column,
            value,
            retry_after_ms,
        },
        e => e,
    };
    if n == 0 {
        return Err(err);
    }
    release(a, n, Box::new(move |_| Err(err)))
}

type After<M> = Box<dyn FnOnce(Box<Attempt<M>>) -> Step<M> + Send>;

/// Releases claims `n - 1` down to 0, then `after`.
fn release<M: Model>(a: Box<Attempt<M>>, n: usize, after: After<M>) -> Step<M> {
    if n == 0 {
        return after(a);
    }
    let c = &a.claims[n - 1];
    let args = SettleAttempt {
        claims: c.key.clone(),
        value: c.value.clone(),
        token: a.token.clone(),
        member: a.member.clone(),
        release: true,
    };
    Ok(Next::Again(
        Plan::call(&args, XReply::decode)
            .then(move |_| release(a, n - 1, after))
            .about("release unique", M::SCHEMA.namespace),
    ))
}
