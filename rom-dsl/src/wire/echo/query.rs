//! Echo of `query` / `query_delete`.

use super::{Echo, echo, odd};
use crate::wire::cascade::{GraphNode, GraphRel};
use crate::wire::query::{Cursor, Filter, Include, OrderBy, QueryArgs, QueryMode};
use redis::Value;

thread_local! {
    /// The graph the delete cases send (a model and its referencing one).
    static GRAPH: Vec<GraphNode> = vec![
        GraphNode {
            name: b"User".to_vec(),
            numeric_ids: true,
            ids: b"{t}:ids".to_vec(),
            row_prefix: b"{t}:row:".to_vec(),
            tag: b"{t}".to_vec(),
            numeric: vec![],
            expiry: Vec::new(),
            rels: vec![GraphRel {
                child: 1,
                rule: "c",
                field: b"author".to_vec(),
                eq_prefix: b"{t}/p:eq:author:".to_vec(),
                numeric: None,
                slots: vec![],
                default: vec![],
                score: String::new(),
            }],
        },
        GraphNode {
            name: odd(0),
            numeric_ids: false,
            ids: b"{t}/p:ids".to_vec(),
            row_prefix: b"{t}/p:row:".to_vec(),
            tag: b"{t}/p".to_vec(),
            numeric: vec![],
            expiry: Vec::new(),
            rels: vec![],
        },
    ];
}

fn filter_back(e: &mut Echo) -> Filter {
    let op = e.b();
    match op.as_slice() {
        b"A" => Filter::And(e.list(filter_back)),
        b"O" => Filter::Or(e.list(filter_back)),
        b"N" => Filter::Not(Box::new(filter_back(&mut Echo::new(e.next())))),
        b"S" => Filter::Set(e.b()),
        b"U" => Filter::Unique(e.b(), e.b()),
        b"R" => Filter::Range(e.b(), e.b(), e.b()),
        b"X" => Filter::Lex(e.b(), e.b(), e.b(), e.b(), e.b()),
        b"L" => Filter::All,
        b"E" => Filter::Empty,
        other => panic!("filter op {other:?}"),
    }
}

fn query_back(v: Value) -> QueryArgs {
    let mut e = Echo::new(v);
    let ids = e.b();
    let row_prefix = e.b();
    let numeric_ids = e.flag();
    let expiry = e.b();
    let mode_word = e.text();
    let fields = e.strings();
    let order_key = e.b();
    let desc = e.flag();
    let lex_slot = e.b();
    let offset = e.text().parse().expect("offset");
    let limit = e.text();
    let mut c = Echo::new(e.next());
    let cursor = Cursor {
        phase: c.b(),
        score: c.b(),
        member: c.b(),
    };
    c.done();
    let budget = e.text().parse().expect("budget");
    let filter = filter_back(&mut Echo::new(e.next()));
    let mode = match mode_word.as_str() {
        "rows" => QueryMode::Rows,
        "with" => QueryMode::RowsWith(e.list(|e| {
            let (kind, at, row_prefix, expiry) = (e.b(), e.b(), e.b(), e.b());
            match &kind[..] {
                b"p" => Include::Parent {
                    field: at,
                    row_prefix,
                    expiry,
                },
                b"c" => Include::Children {
                    eq_prefix: at,
                    row_prefix,
                    expiry,
                },
                other => panic!("an include kind, got {other:?}"),
            }
        })),
        "ids" => QueryMode::Ids,
        "select" => QueryMode::Select(fields),
        "count" => QueryMode::Count,
        "exists" => QueryMode::Exists,
        "delete" => {
            let mut d = Echo::new(e.next());
            let tag = d.b();
            let numeric = d.strings();
            // the graph's own echo is `cascade.rs`'s: here, that it is read
            // in place (name, ids, number of relations of each model)
            let graph = d.list(|e| {
                let (name, ids) = (e.b(), e.b());
                let rels = match e.next() {
                    Value::Int(n) => n,
                    other => panic!("a count, got {other:?}"),
                };
                (name, ids, rels)
            });
            d.done();
            GRAPH.with(|g| {
                let want: Vec<(Vec<u8>, Vec<u8>, i64)> = g
                    .iter()
                    .map(|n| (n.name.clone(), n.ids.clone(), n.rels.len() as i64))
                    .collect();
                assert_eq!(graph, want);
            });
            QueryMode::Delete {
                tag,
                numeric,
                graph: GRAPH.with(Clone::clone),
            }
        }
        other => panic!("mode {other}"),
    };
    e.done();
    QueryArgs {
        ids,
        row_prefix,
        numeric_ids,
        mode,
        order: (!order_key.is_empty()).then(|| OrderBy {
            key: order_key,
            desc,
            lex_slot: (!lex_slot.is_empty()).then_some(lex_slot),
        }),
        offset,
        limit: (!limit.is_empty()).then(|| limit.parse().expect("limit")),
        cursor,
        budget,
        filter,
        expiry,
    }
}

#[test]
fn query_args_echo() {
    let base = QueryArgs {
        ids: b"{t}:ids".to_vec(),
        row_prefix: b"{t}:row:".to_vec(),
        numeric_ids: true,
        mode: QueryMode::Rows,
        order: None,
        offset: 0,
        limit: None,
        cursor: Cursor::default(),
        budget: 0,
        filter: Filter::All,
        expiry: Vec::new(),
    };
    let tree = Filter::And(vec![
        Filter::Or(vec![
            Filter::Set(b"{t}:eq:name:\0:\xff".to_vec()),
            Filter::Unique(b"{t}:uniq:email".to_vec(), odd(2)),
        ]),
        Filter::Not(Box::new(Filter::Range(
            b"{t}:num:age".to_vec(),
            b"(1.5".to_vec(),
            b"+inf".to_vec(),
        ))),
        Filter::Lex(
            b"{t}:pre:name".to_vec(),
            b"[a\0".to_vec(),
            b"(b".to_vec(),
            b"G*L1:a?".to_vec(),
            b"pre:name".to_vec(),
        ),
        Filter::Lex(
            b"{t}:suf:name".to_vec(),
            b"-".to_vec(),
            b"+".to_vec(),
            Vec::new(),
            odd(1),
        ),
        Filter::Or(vec![]),
        Filter::Empty,
    ]);
    let cases = vec![
        base.clone(),
        QueryArgs {
            mode: QueryMode::RowsWith(vec![
                Include::Parent {
                    field: b"author".to_vec(),
                    row_prefix: b"{t}:row:".to_vec(),
                    expiry: Vec::new(),
                },
                Include::Children {
                    eq_prefix: b"{t}:eq:post:".to_vec(),
                    row_prefix: b"{t}:comments:".to_vec(),
                    expiry: b"{t}:comments:exp".to_vec(),
                },
                Include::Parent {
                    field: odd(0),
                    row_prefix: odd(1),
                    expiry: odd(2),
                },
            ]),
            limit: Some(10),
            expiry: b"{t}:exp".to_vec(),
            ..base.clone()
        },
        QueryArgs {
            mode: QueryMode::Select(vec![b"name".to_vec(), odd(1)]),
            order: Some(OrderBy {
                key: b"{t}:sort:name".to_vec(),
                desc: true,
                lex_slot: Some(b"sort:name".to_vec()),
            }),
            offset: 20,
            limit: Some(10),
            cursor: Cursor {
                phase: b"v".to_vec(),
                score: odd(0),
                member: odd(2),
            },
            budget: 2_000,
            filter: tree.clone(),
            ..base.clone()
        },
        QueryArgs {
            mode: QueryMode::Count,
            order: Some(OrderBy {
                key: b"{t}:num:age".to_vec(),
                desc: false,
                lex_slot: None,
            }),
            limit: Some(0),
            numeric_ids: false,
            ..base.clone()
        },
        QueryArgs {
            mode: QueryMode::Select(vec![]),
            ..base.clone()
        },
        QueryArgs {
            mode: QueryMode::Ids,
            ..base.clone()
        },
        QueryArgs {
            mode: QueryMode::Exists,
            ..base.clone()
        },
        QueryArgs {
            mode: QueryMode::Delete {
                tag: b"{t}".to_vec(),
                numeric: vec![b"{t}:num:age".to_vec()],
                graph: GRAPH.with(Clone::clone),
            },
            limit: Some(100),
            cursor: Cursor {
                phase: b"d2".to_vec(),
                score: odd(1),
                member: Vec::new(),
            },
            budget: u64::from(u32::MAX) + 1,
            filter: tree,
            ..base.clone()
        },
        QueryArgs {
            mode: QueryMode::Delete {
                tag: b"{t}".to_vec(),
                numeric: vec![],
                graph: GRAPH.with(Clone::clone),
            },
            ..base
        },
    ];
    for args in cases {
        assert_eq!(query_back(echo(&args, "query")), args);
    }
}
