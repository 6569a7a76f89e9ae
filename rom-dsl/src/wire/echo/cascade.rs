//! Echo of `delete_graph`: the models of the graph, their relations, and
//! the root members.

use super::{Echo, echo, kind, odd};
use crate::storage::model::SlotKind;
use crate::wire::cascade::{GraphArgs, GraphNode, GraphRel};

fn node_back(e: &mut Echo) -> GraphNode {
    GraphNode {
        name: e.b(),
        numeric_ids: e.flag(),
        ids: e.b(),
        row_prefix: e.b(),
        tag: e.b(),
        numeric: e.strings(),
        expiry: e.b(),
        rels: e.list(|e| GraphRel {
            child: e.text().parse::<usize>().expect("child") - 1,
            rule: match e.b().as_slice() {
                b"a" => "a",
                b"r" => "r",
                b"c" => "c",
                b"n" => "n",
                b"s" => "s",
                other => panic!("rule {other:?}"),
            },
            field: e.b(),
            eq_prefix: e.b(),
            numeric: Some(e.b()).filter(|k| !k.is_empty()),
            slots: e.list(|e| {
                let id = e.b();
                (id, kind(&e.b()))
            }),
            default: e.b(),
            score: e.text(),
        }),
    }
}

#[test]
fn graph_args_echo() {
    let users = GraphNode {
        name: b"User".to_vec(),
        numeric_ids: true,
        ids: b"{g}/users:ids".to_vec(),
        row_prefix: b"{g}/users:row:".to_vec(),
        tag: b"{g}/users".to_vec(),
        numeric: vec![],
        expiry: Vec::new(),
        rels: vec![GraphRel {
            child: 1,
            rule: "c",
            field: b"author".to_vec(),
            eq_prefix: b"{g}/posts:eq:author:".to_vec(),
            numeric: None,
            slots: vec![(b"eq:author:".to_vec(), SlotKind::Set)],
            default: vec![],
            score: String::new(),
        }],
    };
    let posts = GraphNode {
        name: odd(0),
        numeric_ids: false,
        ids: b"{g}/posts:ids".to_vec(),
        row_prefix: b"{g}/posts:row:".to_vec(),
        tag: b"{g}/posts".to_vec(),
        numeric: vec![b"{g}/posts:num:likes".to_vec()],
        expiry: b"{g}/posts:exp".to_vec(),
        rels: vec![GraphRel {
            child: 0,
            rule: "s",
            field: odd(1),
            eq_prefix: odd(2),
            numeric: Some(b"{g}/posts:num:editor".to_vec()),
            slots: vec![
                (b"eq:editor:".to_vec(), SlotKind::Set),
                (b"uniq:editor".to_vec(), SlotKind::Unique),
            ],
            default: b"0".to_vec(),
            score: "0".into(),
        }],
    };
    let args = GraphArgs {
        nodes: vec![users, posts],
        members: vec![b"1".to_vec(), odd(3)],
    };
    let mut e = Echo::new(echo(&args, "graph"));
    let nodes = e.list(node_back);
    let members = e.strings();
    e.done();
    assert_eq!(GraphArgs { nodes, members }, args);
}
