//! Echoes of the `verify_*` and `repair_*` functions.

use super::{Echo, echo, kind, numop, odd};
use crate::storage::model::SlotKind;
use crate::wire::NumOp;
use crate::wire::repair::{Entry, ReindexArgs, Target, UnindexArgs, UnlistArgs};
use crate::wire::verify::{Probe, ProbeArgs, ProbeKind, RowRef, RowsArgs, ScanArgs};

#[test]
fn scan_args_echo() {
    let args = ScanArgs {
        ids: b"{t}:ids".to_vec(),
        cursor: b"0".to_vec(),
        pattern: b"\\{t\\}:*".to_vec(),
        count: 200,
    };
    let v = echo(&args, "scan");
    let mut e = Echo::new(v);
    let back = ScanArgs {
        ids: e.b(),
        cursor: e.b(),
        pattern: e.b(),
        count: e.text().parse().expect("count"),
    };
    e.done();
    assert_eq!(back, args);
}

#[test]
fn rows_args_echo() {
    for (n, expiry) in [(0, Vec::new()), (1, b"{t}:exp".to_vec()), (5, Vec::new())] {
        let args = RowsArgs {
            ids: b"{t}:ids".to_vec(),
            rows: (0..n)
                .map(|i| RowRef {
                    key: [b"{t}:row:".to_vec(), odd(i)].concat(),
                    member: odd(i),
                })
                .collect(),
            expiry,
        };
        let v = echo(&args, "rows");
        let mut e = Echo::new(v);
        let back = RowsArgs {
            ids: e.b(),
            rows: e.list(|e| RowRef {
                key: e.b(),
                member: e.b(),
            }),
            expiry: e.b(),
        };
        e.done();
        assert_eq!(back, args);
    }
}

#[test]
fn probe_args_echo() {
    let kinds = [
        (ProbeKind::Score, b"n"),
        (ProbeKind::Owner, b"u"),
        (ProbeKind::InSet, b"s"),
        (ProbeKind::InZset, b"l"),
        (ProbeKind::Row, b"r"),
        (ProbeKind::Type, b"t"),
        (ProbeKind::Members, b"m"),
    ];
    for n in [0, 5, 11] {
        let args = ProbeArgs {
            ids: b"{t}:ids".to_vec(),
            probes: (0..n)
                .map(|i| Probe {
                    kind: kinds[i % kinds.len()].0,
                    key: [b"{t}:k".to_vec(), odd(i / 2)].concat(),
                    item: odd(i),
                })
                .collect(),
        };
        let v = echo(&args, "probe");
        let mut e = Echo::new(v);
        let back = ProbeArgs {
            ids: e.b(),
            probes: e.list(|e| {
                let letter = e.b();
                Probe {
                    kind: kinds
                        .iter()
                        .find(|(_, l)| l[..] == letter[..])
                        .expect("a probe kind")
                        .0,
                    key: e.b(),
                    item: e.b(),
                }
            }),
        };
        e.done();
        assert_eq!(back, args);
    }
}

#[test]
fn reindex_args_echo() {
    let base = ReindexArgs {
        ids: b"{t}:ids".to_vec(),
        row: b"{t}:row:1".to_vec(),
        declared: vec![],
        tag: b"{t}".to_vec(),
        numeric_ids: true,
        row_prefix: b"{t}:row:".to_vec(),
        member: b"1".to_vec(),
        fields: vec![],
        numeric: vec![],
        entries: vec![],
        structures: vec![],
    };
    let full = ReindexArgs {
        declared: vec![b"{t}:num:a".to_vec(), b"{t}:eq:n:\0:\xff".to_vec()],
        numeric_ids: false,
        member: odd(2),
        fields: vec![(b"#i".to_vec(), odd(0)), (b"name".to_vec(), odd(3))],
        numeric: vec![
            NumOp {
                key: b"{t}:num:a".to_vec(),
                score: Some(0.1),
            },
            NumOp {
                key: b"{t}:num:b".to_vec(),
                score: None,
            },
        ],
        entries: vec![
            Entry {
                id: b"uniq:e".to_vec(),
                kind: SlotKind::Unique,
                value: odd(1),
                owner: b"9".to_vec(),
            },
            Entry {
                id: b"eq:n:".to_vec(),
                kind: SlotKind::Set,
                value: odd(2),
                owner: vec![],
            },
            Entry {
                id: b"sort:n".to_vec(),
                kind: SlotKind::Lex,
                value: odd(3),
                owner: vec![],
            },
        ],
        structures: vec![
            (b"st:labels:".to_vec(), b"eq:labels:".to_vec()),
            (b"st:m:".to_vec(), vec![]),
        ],
        ..base.clone()
    };
    for args in [base, full] {
        let mut e = Echo::new(echo(&args, "reindex"));
        let back = ReindexArgs {
            ids: e.b(),
            row: e.b(),
            declared: e.strings(),
            tag: e.b(),
            numeric_ids: e.flag(),
            row_prefix: e.b(),
            member: e.b(),
            fields: e.list(|e| (e.b(), e.b())),
            numeric: e.list(numop),
            entries: e.list(|e| Entry {
                id: e.b(),
                kind: kind(&e.b()),
                value: e.b(),
                owner: e.b(),
            }),
            structures: e.list(|e| (e.b(), e.b())),
        };
        e.done();
        assert_eq!(back, args);
    }
}

#[test]
fn unindex_args_echo() {
    let targets = [
        Target::Numeric,
        Target::Malformed,
        Target::Slot(b"uniq:e".to_vec(), SlotKind::Unique),
        Target::Slot(b"text:b:".to_vec(), SlotKind::Set),
        Target::Slot(b"suf:n".to_vec(), SlotKind::Lex),
        Target::Structure(b"st:labels:".to_vec()),
        Target::StructureEntry {
            id: b"st:labels:".to_vec(),
            structure: b"{t}:st:labels:\xff".to_vec(),
        },
    ];
    for (i, target) in targets.into_iter().enumerate() {
        let args = UnindexArgs {
            row: b"{t}:row:1".to_vec(),
            index: b"{t}:num:a".to_vec(),
            tag: b"{t}".to_vec(),
            numeric_ids: i % 2 == 0,
            target,
            value: odd(i),
            member: odd(i + 1),
        };
        let v = echo(&args, "unindex");
        let mut e = Echo::new(v);
        let (row, index, tag, numeric_ids) = (e.b(), e.b(), e.b(), e.flag());
        let (what, letter) = (e.b(), e.b());
        let (value, member, structure) = (e.b(), e.b(), e.b());
        let back = UnindexArgs {
            row,
            index,
            tag,
            numeric_ids,
            target: match (what.as_slice(), letter.as_slice()) {
                (b"n", b"") => Target::Numeric,
                (b"x", b"") => Target::Malformed,
                (_, b"k") => Target::Structure(what),
                (_, b"i") => Target::StructureEntry {
                    id: what,
                    structure: structure.clone(),
                },
                (_, l) if !l.is_empty() => Target::Slot(what, kind(&letter)),
                other => panic!("target {other:?}"),
            },
            value,
            member,
        };
        if !matches!(back.target, Target::StructureEntry { .. }) {
            assert!(structure.is_empty(), "only kind `i` declares a structure");
        }
        e.done();
        assert_eq!(back, args);
    }
}

#[test]
fn unlist_args_echo() {
    for numeric in [vec![], vec![b"{t}:num:a".to_vec(), b"{t}:num:b".to_vec()]] {
        let args = UnlistArgs {
            ids: b"{t}:ids".to_vec(),
            row: b"{t}:row:\xff".to_vec(),
            numeric,
            member: b"\xff".to_vec(),
        };
        let v = echo(&args, "unlist");
        let mut e = Echo::new(v);
        let back = UnlistArgs {
            ids: e.b(),
            row: e.b(),
            numeric: e.strings(),
            member: e.b(),
        };
        e.done();
        assert_eq!(back, args);
    }
}
