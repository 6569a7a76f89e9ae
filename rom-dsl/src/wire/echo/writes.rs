//! Echoes of `save`, `delete` and `get`.

use super::{Echo, check, echo, kind, numop, odd};
use crate::storage::model::SlotKind;
use crate::storage::structures::StructureKind;
use crate::wire::delete::DeleteArgs;
use crate::wire::expiry::{Deadline, RowExpiry};
use crate::wire::get::GetArgs;
use crate::wire::save::{Parent, SaveArgs, SaveMode, StructWrites, Touched, Write};
use crate::wire::{Check, NumOp};
use redis::Value;

pub(super) fn save_back(v: Value) -> SaveArgs {
    let mut e = Echo::new(v);
    let out = SaveArgs {
        ids: e.b(),
        seq: e.b(),
        mode: match e.b().as_slice() {
            b"i" => SaveMode::Insert,
            b"u" => SaveMode::Update,
            b"p" => SaveMode::Put,
            other => panic!("mode {other:?}"),
        },
        member: e.b(),
        numeric_ids: e.flag(),
        row_prefix: e.b(),
        tag: e.b(),
        checks: e.list(check),
        writes: e.list(|e| {
            let field = e.b();
            let set = e.flag();
            let value = e.b();
            Write {
                field,
                value: set.then_some(value),
            }
        }),
        numeric: e.list(numop),
        touched: e.list(|e| Touched {
            id: e.b(),
            kind: kind(&e.b()),
            values: e.strings(),
        }),
        parents: e.list(|e| Parent {
            field: e.b(),
            row: e.b(),
            expiry: e.b(),
            member: e.b(),
        }),
        expiry: {
            let mut x = Echo::new(e.next());
            let key = x.b();
            let how = x.b();
            let n = x.text();
            let ms = || n.parse().expect("milliseconds");
            let out = RowExpiry {
                key,
                deadline: match how.as_slice() {
                    b"k" => Deadline::Keep,
                    b"p" => Deadline::Clear,
                    b"t" => Deadline::In(ms()),
                    b"a" => Deadline::At(ms()),
                    other => panic!("deadline {other:?}"),
                },
                reclaim: x.strings(),
            };
            x.done();
            out
        },
        structures: e.list(|e| StructWrites {
            id: e.b(),
            index: e.b(),
            kind: match e.b().as_slice() {
                b"l" => StructureKind::List,
                b"s" => StructureKind::Set,
                b"h" => StructureKind::Hash,
                b"z" => StructureKind::SortedSet,
                other => panic!("structure kind {other:?}"),
            },
            version: e.b(),
            ops: e.list(|e| (e.text(), e.strings())),
        }),
    };
    e.done();
    out
}

pub(super) fn save_cases() -> Vec<SaveArgs> {
    let base = SaveArgs {
        ids: b"{t}:ids".to_vec(),
        seq: b"{t}:seq".to_vec(),
        mode: SaveMode::Insert,
        member: Vec::new(),
        numeric_ids: true,
        row_prefix: b"{t}:row:".to_vec(),
        tag: b"{t}".to_vec(),
        checks: vec![],
        writes: vec![],
        numeric: vec![],
        touched: vec![],
        parents: vec![],
        expiry: RowExpiry::default(),
        structures: vec![],
    };
    let full = SaveArgs {
        mode: SaveMode::Update,
        member: b"k\0:\xff".to_vec(),
        numeric_ids: false,
        checks: vec![
            Check {
                field: b"name".to_vec(),
                value: Some(odd(0)),
            },
            Check {
                field: b"bio".to_vec(),
                value: None,
            },
            Check {
                field: b"e".to_vec(),
                value: Some(Vec::new()),
            },
        ],
        writes: vec![
            Write {
                field: b"name".to_vec(),
                value: Some(odd(2)),
            },
            Write {
                field: b"bio".to_vec(),
                value: None,
            },
        ],
        numeric: vec![
            NumOp {
                key: b"{t}:num:age".to_vec(),
                score: Some(-12.5),
            },
            NumOp {
                key: b"{t}:num:score".to_vec(),
                score: None,
            },
            NumOp {
                key: b"{t}:num:big".to_vec(),
                score: Some(9007199254740991.0),
            },
        ],
        touched: vec![
            Touched {
                id: b"uniq:email".to_vec(),
                kind: SlotKind::Unique,
                values: vec![odd(1)],
            },
            Touched {
                id: b"text:bio:".to_vec(),
                kind: SlotKind::Set,
                values: (0..5).map(odd).collect(),
            },
            Touched {
                id: b"pre:name".to_vec(),
                kind: SlotKind::Lex,
                values: vec![],
            },
        ],
        parents: vec![
            Parent {
                field: b"author".to_vec(),
                row: b"{t}:row:1".to_vec(),
                expiry: Vec::new(),
                member: b"1".to_vec(),
            },
            Parent {
                field: odd(2),
                row: odd(0),
                expiry: b"{t}:exp".to_vec(),
                member: odd(1),
            },
        ],
        expiry: RowExpiry {
            key: b"{t}:exp".to_vec(),
            deadline: Deadline::In(1_800_000),
            reclaim: vec![b"{t}:num:age".to_vec(), b"{t}:exp".to_vec()],
        },
        structures: vec![
            StructWrites {
                id: b"st:log:".to_vec(),
                index: Vec::new(),
                kind: StructureKind::List,
                version: b"#v:f".to_vec(),
                ops: vec![
                    ("rp".into(), vec![odd(0)]),
                    ("lr".into(), vec![b"-2".to_vec(), odd(1)]),
                    ("cl".into(), vec![]),
                ],
            },
            StructWrites {
                id: b"st:tags:".to_vec(),
                index: b"eq:tags:".to_vec(),
                kind: StructureKind::Set,
                version: b"#v:f".to_vec(),
                ops: vec![("sa".into(), vec![odd(2)]), ("sr".into(), vec![Vec::new()])],
            },
            StructWrites {
                id: b"st:prefs:".to_vec(),
                index: Vec::new(),
                kind: StructureKind::Hash,
                version: b"#v:f".to_vec(),
                ops: vec![("hs".into(), vec![odd(0), odd(1)])],
            },
            StructWrites {
                id: b"st:scores:".to_vec(),
                index: Vec::new(),
                kind: StructureKind::SortedSet,
                version: b"#v:f".to_vec(),
                ops: vec![],
            },
        ],
        ..base.clone()
    };
    let put = SaveArgs {
        mode: SaveMode::Put,
        member: b"7".to_vec(),
        expiry: RowExpiry {
            key: b"{t}:exp".to_vec(),
            deadline: Deadline::At(9_007_199_254_740_992),
            reclaim: vec![],
        },
        ..base.clone()
    };
    let persist = SaveArgs {
        expiry: RowExpiry {
            key: odd(1),
            deadline: Deadline::Clear,
            reclaim: vec![],
        },
        ..base.clone()
    };
    vec![base, full, put, persist]
}

#[test]
fn save_args_echo() {
    for args in save_cases() {
        assert_eq!(save_back(echo(&args, "save")), args);
    }
}

fn delete_back(v: Value) -> DeleteArgs {
    let mut e = Echo::new(v);
    let out = DeleteArgs {
        ids: e.b(),
        numeric_ids: e.flag(),
        row_prefix: e.b(),
        tag: e.b(),
        numeric: e.strings(),
        checks: e.list(check),
        expiry: e.b(),
        members: e.strings(),
    };
    e.done();
    out
}

#[test]
fn delete_args_echo() {
    let base = DeleteArgs {
        ids: b"{t}:ids".to_vec(),
        numeric_ids: false,
        row_prefix: b"{t}:row:".to_vec(),
        tag: b"{t}".to_vec(),
        numeric: vec![],
        checks: vec![],
        members: vec![],
        expiry: Vec::new(),
    };
    let full = DeleteArgs {
        numeric_ids: true,
        numeric: vec![b"{t}:num:a".to_vec(), b"{t}:num:b".to_vec()],
        checks: vec![
            Check {
                field: b"f".to_vec(),
                value: Some(odd(0)),
            },
            Check {
                field: odd(1),
                value: None,
            },
        ],
        members: (0..5).map(odd).collect(),
        expiry: b"{t}:exp".to_vec(),
        ..base.clone()
    };
    for args in [base, full] {
        assert_eq!(delete_back(echo(&args, "delete")), args);
    }
}

#[test]
fn get_args_echo() {
    for rows in [
        vec![],
        vec![b"{t}:row:1".to_vec(), b"{t}:row:\0:\xff".to_vec()],
    ] {
        for expiry in [Vec::new(), b"{t}:exp".to_vec()] {
            let members = if expiry.is_empty() {
                Vec::new()
            } else {
                (0..rows.len()).map(odd).collect()
            };
            let args = GetArgs {
                rows: rows.clone(),
                expiry,
                members,
            };
            let v = echo(&args, "get");
            let mut e = Echo::new(v);
            let back = GetArgs {
                rows: e.strings(),
                expiry: e.b(),
                members: e.strings(),
            };
            e.done();
            assert_eq!(back, args);
        }
    }
}
