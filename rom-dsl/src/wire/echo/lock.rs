//! Echoes of `lock` and `unlock`.

use super::{Echo, echo, odd};
use crate::wire::lock::{LockArgs, LockMode, UnlockArgs};

#[test]
fn lock_args_echo() {
    let acquire = LockArgs {
        lock: b"{g}/a:lock:7".to_vec(),
        seq: b"{g}/a:lockseq".to_vec(),
        mode: LockMode::Acquire,
        token: vec![],
        lease_ms: 10_000,
    };
    let refresh = LockArgs {
        lock: [b"{t}:lock:".to_vec(), odd(0)].concat(),
        mode: LockMode::Refresh,
        token: b"42".to_vec(),
        lease_ms: 1,
        ..acquire.clone()
    };
    for args in [acquire, refresh] {
        let v = echo(&args, "lock");
        let mut e = Echo::new(v);
        let back = LockArgs {
            lock: e.b(),
            seq: e.b(),
            mode: match e.b().as_slice() {
                b"a" => LockMode::Acquire,
                b"r" => LockMode::Refresh,
                other => panic!("mode {other:?}"),
            },
            token: e.b(),
            lease_ms: e.text().parse().expect("ms"),
        };
        e.done();
        assert_eq!(back, args);
    }
}

#[test]
fn unlock_args_echo() {
    let args = UnlockArgs {
        lock: [b"{t}:lock:".to_vec(), odd(2)].concat(),
        token: b"9".to_vec(),
    };
    let v = echo(&args, "unlock");
    let mut e = Echo::new(v);
    let back = UnlockArgs {
        lock: e.b(),
        token: e.b(),
    };
    e.done();
    assert_eq!(back, args);
}
