//! Echoes of `expire`, `ttl` and `sweep`.

use super::{Echo, echo, odd};
use crate::wire::cascade::GraphNode;
use crate::wire::expiry::{Deadline, ExpireArgs, SweepArgs, TtlArgs};

fn deadline(how: &[u8], n: &str) -> Deadline {
    let ms = || n.parse().expect("milliseconds");
    match how {
        b"p" => Deadline::Clear,
        b"t" => Deadline::In(ms()),
        b"a" => Deadline::At(ms()),
        other => panic!("deadline {other:?}"),
    }
}

#[test]
fn expire_args_echo() {
    for d in [
        Deadline::Clear,
        Deadline::In(1),
        Deadline::At(9_007_199_254_740_992),
    ] {
        let args = ExpireArgs {
            row: b"{t}:row:\0:\xff".to_vec(),
            expiry: b"{t}:exp".to_vec(),
            member: odd(3),
            deadline: d,
        };
        let v = echo(&args, "expire");
        let mut e = Echo::new(v);
        let (row, expiry, member, how) = (e.b(), e.b(), e.b(), e.b());
        let back = ExpireArgs {
            row,
            expiry,
            member,
            deadline: deadline(&how, &e.text()),
        };
        e.done();
        assert_eq!(back, args);
    }
}

#[test]
fn ttl_args_echo() {
    let args = TtlArgs {
        row: odd(0),
        expiry: b"{t}:exp".to_vec(),
        member: odd(1),
    };
    let v = echo(&args, "ttl");
    let mut e = Echo::new(v);
    let back = TtlArgs {
        row: e.b(),
        expiry: e.b(),
        member: e.b(),
    };
    e.done();
    assert_eq!(back, args);
}

#[test]
fn sweep_args_echo() {
    let node = |name: &[u8]| GraphNode {
        name: name.to_vec(),
        numeric_ids: true,
        ids: b"{g}/s:ids".to_vec(),
        row_prefix: b"{g}/s:row:".to_vec(),
        tag: b"{g}/s".to_vec(),
        numeric: vec![b"{g}/s:exp".to_vec()],
        expiry: b"{g}/s:exp".to_vec(),
        rels: vec![],
    };
    let args = SweepArgs {
        expiry: b"{g}/s:exp".to_vec(),
        ids: b"{g}/s:ids".to_vec(),
        limit: 500,
        graph: vec![node(b"Session"), node(&odd(2))],
    };
    // the graph's own echo is `cascade.rs`'s: here, that it is read in place
    let v = echo(&args, "sweep");
    let mut e = Echo::new(v);
    let (expiry, ids, limit) = (e.b(), e.b(), e.text());
    let names = e.list(|e| {
        let name = e.b();
        assert_eq!(e.strings(), vec![b"{g}/s:exp".to_vec()]);
        name
    });
    e.done();
    assert_eq!(
        (expiry, ids, limit.parse::<u64>().unwrap(), names),
        (
            args.expiry.clone(),
            args.ids.clone(),
            args.limit,
            vec![b"Session".to_vec(), odd(2)]
        )
    );
}
