//! Repairing a reference to a row that does not exist: the column's
//! `on_delete` rule, applied as the parent's delete would have applied it,
//! in one `commit` call that first checks the parent is still missing and
//! the column unchanged.

use super::DanglingFix;
use crate::plan::Plan;
use crate::plans::cascade::{graph_in, has_rules};
use crate::plans::write::numeric_keys_in;
use crate::storage::model::{Key, Model};
use crate::storage::relations::OnDelete;
use crate::wire::Check;
use crate::wire::NumOp;
use crate::wire::commit::{CommitArgs, TxCheck, TxDelete, TxOp};
use crate::wire::save::{SaveArgs, SaveMode, Touched, Write};

/// The call that applies the rule of a dangling reference.
pub(crate) fn dangling_plan<M: Model>(d: &DanglingFix) -> Plan<redis::Value> {
    // a partitioned group's row: its bucket's keys, and its graph's
    let l = crate::storage::partition::layout_for::<M>(&d.member);
    let p = &d.parent;
    let parent_member = p.row.get(p.prefix.len()..).unwrap_or_default().to_vec();
    let still_missing = TxOp::Check(TxCheck {
        row_prefix: p.prefix.clone(),
        member: parent_member,
        present: None,
        expiry: p.expiry.clone(),
    });
    let unchanged = Check {
        field: p.column.as_bytes().to_vec(),
        value: Some(d.stored.clone()),
    };
    let apply = match p.rule {
        OnDelete::Cascade => TxOp::Delete(TxDelete {
            numeric_ids: M::Key::NUMERIC,
            ids: l.ids.clone(),
            row_prefix: l.row_prefix.clone(),
            tag: l.tag.clone(),
            numeric: numeric_keys_in::<M>(l),
            checks: vec![unchanged],
            must_exist: true,
            member: d.member.clone(),
            graph: if has_rules::<M>() {
                graph_in::<M>(l)
            } else {
                Vec::new()
            },
            expiry: crate::storage::model::expiry_key::<M>(),
        }),
        // set_null, set_default (the walk sends no other rule)
        rule => {
            let value = if rule == OnDelete::SetDefault {
                p.default.clone()
            } else {
                None
            };
            TxOp::Save(SaveArgs {
                ids: l.ids.clone(),
                seq: l.seq.clone(),
                mode: SaveMode::Update,
                member: d.member.clone(),
                numeric_ids: M::Key::NUMERIC,
                row_prefix: l.row_prefix.clone(),
                tag: l.tag.clone(),
                checks: vec![unchanged],
                writes: vec![Write {
                    field: p.column.as_bytes().to_vec(),
                    value: value.clone(),
                }],
                numeric: l.numeric[p.index]
                    .iter()
                    .map(|k| NumOp {
                        key: k.clone(),
                        score: value
                            .as_deref()
                            .and_then(|v| std::str::from_utf8(v).ok()?.parse().ok()),
                    })
                    .collect(),
                touched: l
                    .slots
                    .iter()
                    .filter(|s| s.columns == [p.index])
                    .map(|s| Touched {
                        id: s.id.clone().into_bytes(),
                        kind: s.kind,
                        values: value.iter().cloned().collect(),
                    })
                    .collect(),
                parents: Vec::new(),
                expiry: Default::default(),
                structures: Vec::new(),
            })
        }
    };
    Plan::call(
        &CommitArgs {
            ops: vec![still_missing, apply],
        },
        Ok,
    )
    .step(format!(
        "apply on_delete = {:?} of {}.{} to a reference to a missing row",
        p.rule,
        M::SCHEMA.name,
        p.column
    ))
}
