//! The plan of a delete of rows that other models reference: the graph of
//! models reachable through `has_many` (each model once), sent to
//! `delete_graph`.

use crate::plan::Plan;
use crate::plans::write::status_error;
use crate::storage::model::{Key, Layout, Model};
use crate::storage::relations::{GraphModel, OnDelete};
use crate::wire::cascade::{GraphArgs, GraphNode, GraphRel, GraphReply};

/// Whether deleting a row of `M` must apply a rule to other rows.
pub(crate) fn has_rules<M: Model>() -> bool {
    M::children().iter().any(|c| c.rule != OnDelete::NoAction)
}

/// The models a delete of `M` reaches, `M` first.
pub(crate) fn graph<M: Model>() -> Vec<GraphNode> {
    let mut models = vec![GraphModel::of::<M>()];
    let mut nodes = Vec::new();
    let mut i = 0;
    while i < models.len() {
        let m = models[i].clone();
        let mut rels = Vec::new();
        for c in (m.children)() {
            let child = (c.child)();
            let at = match models
                .iter()
                .position(|x| std::ptr::eq(x.layout, child.layout))
            {
                Some(at) => at,
                None => {
                    models.push(child);
                    models.len() - 1
                }
            };
            let default = c.default.clone().unwrap_or_default();
            rels.push(GraphRel {
                child: at,
                rule: c.rule.letter(),
                field: c.column.as_bytes().to_vec(),
                eq_prefix: c.eq_prefix.clone(),
                numeric: c.numeric.clone(),
                slots: c.slots.clone(),
                score: String::from_utf8_lossy(&default).into_owned(),
                default,
            });
        }
        nodes.push(GraphNode {
            name: m.name.as_bytes().to_vec(),
            numeric_ids: m.numeric_ids,
            ids: m.layout.ids.clone(),
            row_prefix: m.layout.row_prefix.clone(),
            tag: m.layout.tag.clone(),
            numeric: m.numeric.clone(),
            expiry: m.expiry.clone(),
            rels,
        });
        i += 1;
    }
    nodes
}

/// The graph of [`graph`] for the rows of layout `l` of `M` (a bucket of
/// a partitioned group: every model of the graph is in the group, so each
/// key moves from the group's tag to the bucket's).
pub(crate) fn graph_in<M: Model>(l: &Layout) -> Vec<GraphNode> {
    let mut nodes = graph::<M>();
    let from = crate::storage::partition::braced(&M::layout().tag);
    let to = crate::storage::partition::braced(&l.tag);
    if from == to {
        return nodes;
    }
    let k = |key: &mut Vec<u8>| *key = crate::dsl::filter::retag(key, &from, &to);
    for n in &mut nodes {
        k(&mut n.ids);
        k(&mut n.row_prefix);
        k(&mut n.tag);
        k(&mut n.expiry);
        n.numeric.iter_mut().for_each(k);
        for r in &mut n.rels {
            k(&mut r.eq_prefix);
            r.numeric.iter_mut().for_each(k);
        }
    }
    nodes
}

/// Deletes the rows with these keys and applies the rules of the rows
/// referencing them; returns how many of the named rows existed. A
/// partitioned model's keys: one call per bucket (each atomic).
pub(crate) fn graph_delete_plan<M: Model>(keys: &[M::Key]) -> Plan<u64> {
    let members: Vec<Vec<u8>> = keys.iter().map(Key::to_member).collect();
    let mut groups = crate::storage::partition::group_by_layout::<M>(&members).into_iter();
    let Some((l, first)) = groups.next() else {
        return graph_delete_in::<M>(M::layout(), Vec::new());
    };
    let pick = |idx: &[usize]| idx.iter().map(|&i| members[i].clone()).collect::<Vec<_>>();
    let first = graph_delete_in::<M>(l, pick(&first));
    let rest: Vec<Plan<u64>> = groups
        .map(|(l, idx)| graph_delete_in::<M>(l, pick(&idx)))
        .collect();
    if rest.is_empty() {
        return first;
    }
    crate::plans::fan::serial(first, rest, |n| Ok(n.iter().sum()))
}

/// [`graph_delete_plan`] of rows all in layout `l`.
fn graph_delete_in<M: Model>(l: &Layout, members: Vec<Vec<u8>>) -> Plan<u64> {
    let nodes = graph_in::<M>(l);
    let n = nodes.len();
    let count = members.len();
    let args = GraphArgs { nodes, members };
    Plan::call(&args, |v| match GraphReply::decode(v)? {
        Ok(r) => Ok(r.roots),
        Err(status) => Err(status_error::<M>(status)),
    })
    .step(format!(
        "delete {count} row(s) of {} and apply the on_delete rules of {} model(s) that reference it, in one call",
        M::SCHEMA.name,
        n - 1
    ))
    .about("delete", M::SCHEMA.namespace)
}
