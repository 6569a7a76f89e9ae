//! `delete_graph` (`cascade.lua`, decoded by `graph_args`): deletes rows of a
//! model that other models reference, applying each referencing column's
//! `on_delete` rule over the whole graph, all or nothing.
//!
//! `KEYS` (derived): the root model's ids, the root rows, its numeric
//! indexes. `ARGV`: the models ([`GraphNode`], counted; the first is the
//! root), then the root members to the end. Reply: [`GraphReply`], or a
//! failure [`Status`](super::status::Status).

use super::status::Status;
use super::{Args, Argv, Encoded, kind_letter, reply_strings};
use crate::error::{Error, Result};
use crate::exec::script::{self, Script};
use crate::storage::model::SlotKind;

/// A column of a model that references a node.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GraphRel {
    /// The referencing model's position in the list (from 0).
    pub(crate) child: usize,
    /// The rule's letter (`a`, `r`, `c`, `n`, `s`).
    pub(crate) rule: &'static str,
    pub(crate) field: Vec<u8>,
    /// The prefix of the column's equality sets.
    pub(crate) eq_prefix: Vec<u8>,
    pub(crate) numeric: Option<Vec<u8>>,
    pub(crate) slots: Vec<(Vec<u8>, SlotKind)>,
    /// The default's stored bytes and score (`set_default`).
    pub(crate) default: Vec<u8>,
    pub(crate) score: String,
}

/// A model of the graph.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GraphNode {
    pub(crate) name: Vec<u8>,
    pub(crate) numeric_ids: bool,
    pub(crate) ids: Vec<u8>,
    pub(crate) row_prefix: Vec<u8>,
    pub(crate) tag: Vec<u8>,
    pub(crate) numeric: Vec<Vec<u8>>,
    /// The model's expiry set (empty: its rows never expire): an expired
    /// row is deleted but not counted.
    pub(crate) expiry: Vec<u8>,
    pub(crate) rels: Vec<GraphRel>,
}

/// The arguments of `delete_graph`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GraphArgs {
    pub(crate) nodes: Vec<GraphNode>,
    pub(crate) members: Vec<Vec<u8>>,
}

impl Args for GraphArgs {
    fn function(&self) -> &'static Script {
        &script::DELETE_GRAPH
    }

    fn encode(&self) -> Encoded {
        let mut keys = Vec::new();
        if let Some(root) = self.nodes.first() {
            keys.push(root.ids.clone());
            keys.extend(
                self.members
                    .iter()
                    .map(|m| [&root.row_prefix[..], m].concat()),
            );
            keys.extend(root.numeric.iter().cloned());
        }
        let mut a = Argv::default();
        write_nodes(&mut a, &self.nodes);
        a.0.extend(self.members.iter().cloned());
        (keys, a.0)
    }
}

/// The models of a graph, as a counted list (also the tail of a query's
/// delete mode).
pub(crate) fn write_nodes(a: &mut Argv, nodes: &[GraphNode]) {
    a.list(nodes, |a, n| {
        a.one(n.name.clone())
            .flag(n.numeric_ids)
            .one(n.ids.clone())
            .one(n.row_prefix.clone())
            .one(n.tag.clone())
            .list(&n.numeric, |a, k| {
                a.one(k.clone());
            })
            .one(n.expiry.clone())
            .list(&n.rels, |a, r| {
                a.num(r.child as u64 + 1)
                    .one(r.rule)
                    .one(r.field.clone())
                    .one(r.eq_prefix.clone())
                    .one(r.numeric.clone().unwrap_or_default())
                    .list(&r.slots, |a, (id, kind)| {
                        a.one(id.clone()).one(kind_letter(*kind));
                    })
                    .one(r.default.clone())
                    .one(r.score.clone());
            });
    });
}

/// What `delete_graph` did: the named rows deleted, every row deleted, the
/// rows whose column was set to null or to its default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GraphReply {
    pub(crate) roots: u64,
    pub(crate) deleted: u64,
    pub(crate) changed: u64,
}

impl GraphReply {
    /// The counts, or the failure's status.
    pub(crate) fn decode(v: redis::Value) -> Result<std::result::Result<GraphReply, Status>> {
        let parts = reply_strings(v)?;
        if parts.first().map(Vec::as_slice) != Some(b"ok") {
            return Ok(Err(Status::from_parts(parts)?));
        }
        let num = |i: usize| -> Result<u64> {
            parts
                .get(i)
                .and_then(|b| std::str::from_utf8(b).ok())
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| Error::decode(b"(delete_graph reply)", None, "bad count"))
        };
        Ok(Ok(GraphReply {
            roots: num(1)?,
            deleted: num(2)?,
            changed: num(3)?,
        }))
    }
}
