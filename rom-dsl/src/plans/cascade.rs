//! The plan of a delete of rows that other models reference: the graph of
//! models reachable through `has_many` (each model once), sent to
//! `delete_graph`.

use crate::plan::Plan;
use crate::plans::write::status_error;
use crate::storage::model::{Key, Model};
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

/// Deletes the rows with these keys and applies the rules of the rows
/// referencing them; returns how many of the named rows existed.
pub(crate) fn graph_delete_plan<M: Model>(keys: &[M::Key]) -> Plan<u64> {
    let nodes = graph::<M>();
    let n = nodes.len();
    let args = GraphArgs {
        nodes,
        members: keys.iter().map(Key::to_member).collect(),
    };
    let count = keys.len();
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
