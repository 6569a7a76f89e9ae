//! Echo of `commit`: its operations, each a save (as `save` sends it), a
//! delete or a check.

use super::writes::{save_back, save_cases};
use super::{Echo, check, echo, odd};
use crate::storage::model::SlotKind;
use crate::wire::Check;
use crate::wire::cascade::GraphNode;
use crate::wire::commit::{CommitArgs, TxAdd, TxCheck, TxDelete, TxIncrement, TxOp};
use redis::Value;

/// A model of a delete's graph, known by its name.
fn graph_node(name: &[u8]) -> GraphNode {
    GraphNode {
        name: name.to_vec(),
        numeric_ids: true,
        ids: b"{g}/x:ids".to_vec(),
        row_prefix: b"{g}/x:row:".to_vec(),
        tag: b"{g}/x".to_vec(),
        numeric: vec![],
        expiry: Vec::new(),
        rels: vec![],
    }
}

fn op_back(v: Value) -> TxOp {
    let mut e = Echo::new(v);
    let kind = e.b();
    let inner = e.next();
    e.done();
    match kind.as_slice() {
        b"s" => TxOp::Save(save_back(inner)),
        b"d" => {
            let mut e = Echo::new(inner);
            let out = TxDelete {
                numeric_ids: e.flag(),
                ids: e.b(),
                row_prefix: e.b(),
                tag: e.b(),
                numeric: e.strings(),
                checks: e.list(check),
                must_exist: e.flag(),
                member: e.b(),
                // the graph's own echo is `cascade.rs`'s: here, its models
                // by name, read in place
                graph: e
                    .strings()
                    .into_iter()
                    .map(|name| graph_node(&name))
                    .collect(),
                expiry: e.b(),
            };
            e.done();
            TxOp::Delete(out)
        }
        b"c" => {
            let mut e = Echo::new(inner);
            let row_prefix = e.b();
            let member = e.b();
            let expiry = e.b();
            let present = e.flag();
            let checks = e.list(check);
            e.done();
            TxOp::Check(TxCheck {
                row_prefix,
                member,
                present: present.then_some(checks),
                expiry,
            })
        }
        b"n" => {
            let mut e = Echo::new(inner);
            let out = TxIncrement {
                numeric_ids: e.flag(),
                ids: e.b(),
                row_prefix: e.b(),
                tag: e.b(),
                member: e.b(),
                expiry: e.b(),
                adds: e.list(|e| TxAdd {
                    field: e.b(),
                    by: e.text().parse().expect("by"),
                    min: e.text().parse().expect("min"),
                    max: e.text().parse().expect("max"),
                    numeric: Some(e.b()).filter(|k| !k.is_empty()),
                    slots: e.list(|e| {
                        let id = e.b();
                        (id, super::kind(&e.b()))
                    }),
                }),
            };
            e.done();
            TxOp::Increment(out)
        }
        b"f" => {
            let mut e = Echo::new(inner);
            let out = TxOp::Fence {
                lock: e.b(),
                token: e.b(),
            };
            e.done();
            out
        }
        other => panic!("operation kind {other:?}"),
    }
}

#[test]
fn commit_args_echo() {
    let checks = vec![
        Check {
            field: b"balance".to_vec(),
            value: Some(odd(0)),
        },
        Check {
            field: odd(1),
            value: None,
        },
    ];
    let delete = TxDelete {
        numeric_ids: true,
        ids: b"{g}/a:ids".to_vec(),
        row_prefix: b"{g}/a:row:".to_vec(),
        tag: b"{g}/a".to_vec(),
        numeric: vec![b"{g}/a:num:x".to_vec()],
        checks: checks.clone(),
        must_exist: true,
        member: odd(2),
        graph: vec![graph_node(b"User"), graph_node(&odd(1))],
        expiry: b"{g}/a:exp".to_vec(),
    };
    let mut ops: Vec<TxOp> = save_cases().into_iter().map(TxOp::Save).collect();
    ops.push(TxOp::Delete(delete.clone()));
    ops.push(TxOp::Delete(TxDelete {
        numeric: vec![],
        checks: vec![],
        must_exist: false,
        numeric_ids: false,
        graph: vec![],
        expiry: Vec::new(),
        ..delete
    }));
    ops.push(TxOp::Check(TxCheck {
        row_prefix: b"{g}/b:row:".to_vec(),
        member: odd(4),
        present: Some(checks),
        expiry: b"{g}/b:exp".to_vec(),
    }));
    ops.push(TxOp::Check(TxCheck {
        row_prefix: b"{g}/b:row:".to_vec(),
        member: b"7".to_vec(),
        present: None,
        expiry: Vec::new(),
    }));
    ops.push(TxOp::Increment(TxIncrement {
        numeric_ids: true,
        ids: b"{g}/a:ids".to_vec(),
        row_prefix: b"{g}/a:row:".to_vec(),
        tag: b"{g}/a".to_vec(),
        member: b"12".to_vec(),
        expiry: b"{g}/a:exp".to_vec(),
        adds: vec![
            TxAdd {
                field: b"balance".to_vec(),
                by: -30,
                min: 0,
                max: (1 << 53) - 1,
                numeric: Some(b"{g}/a:num:balance".to_vec()),
                slots: vec![],
            },
            TxAdd {
                field: odd(0),
                by: 1,
                min: -(1 << 53) + 1,
                max: 7,
                numeric: None,
                slots: vec![
                    (b"uniq:n".to_vec(), SlotKind::Unique),
                    (b"eq:n:".to_vec(), SlotKind::Set),
                ],
            },
        ],
    }));
    ops.push(TxOp::Fence {
        lock: [b"{g}/a:lock:".to_vec(), odd(0)].concat(),
        token: b"17".to_vec(),
    });
    for args in [CommitArgs::default(), CommitArgs { ops }] {
        let back: Vec<TxOp> = Echo::new(echo(&args, "commit")).0.map(op_back).collect();
        assert_eq!(back, args.ops);
    }
}
