//! The rules of `#[rom(partition(by = column, buckets = N))]`: what a
//! partitioned model may declare in this version (one error per rule, each
//! naming the column and the fix).

use crate::check::{Col, StructField};
use crate::parse::PartitionAttr;
use syn::Ident;
use syn::ext::IdentExt;

/// The parts of a model declaration the partition rules look at.
pub(crate) struct Declared<'a, 'b> {
    pub(crate) name: &'a Ident,
    pub(crate) pk_ident: &'a Ident,
    pub(crate) cols: &'b [Col<'a>],
    pub(crate) structs: &'b [StructField<'a>],
    pub(crate) together: &'b [(Vec<Ident>, Option<proc_macro2::Span>, proc_macro2::Span)],
    pub(crate) group: Option<&'b syn::Path>,
    pub(crate) has_relations: Option<proc_macro2::Span>,
    pub(crate) expires: bool,
}

/// Checks a partitioned model; the number of buckets when it passes.
pub(crate) fn check(p: &PartitionAttr, d: &Declared<'_, '_>) -> syn::Result<u16> {
    let err = |span, msg: String| Err(syn::Error::new(span, msg));
    let (name, pk) = (d.name, d.pk_ident.unraw());
    if p.by.unraw() != pk {
        return err(
            p.by.span(),
            format!(
                "`{}`: a model is partitioned by its primary key in this version; write `partition(by = {pk}, buckets = {})` (partitioning by another column comes with partitioned groups)",
                p.by.unraw(),
                p.buckets
            ),
        );
    }
    if let Some(g) = d.group {
        return err(
            syn::spanned::Spanned::span(g),
            format!(
                "`{name}` is in a group and partitioned: partitioned groups are not supported yet; remove `group = ...` or `partition(...)`"
            ),
        );
    }
    if let Some(c) = d.cols.iter().find(|c| c.attrs.unique.is_some()) {
        return err(
            c.ident.span(),
            format!(
                "`{}` is unique, but `{name}` is partitioned by `{pk}`: the owner of a value could be in any partition, and uniqueness across partitions is not supported yet; use `index(eq)` instead of `unique`, or do not partition",
                c.ident.unraw()
            ),
        );
    }
    if let Some((cols, _, span)) = d.together.first() {
        let names: Vec<String> = cols.iter().map(|c| c.unraw().to_string()).collect();
        return err(
            *span,
            format!(
                "`unique_together({})` on `{name}`, which is partitioned by `{pk}`: uniqueness across partitions is not supported yet; remove it or do not partition",
                names.join(", ")
            ),
        );
    }
    if let Some(s) = d.structs.first() {
        return err(
            s.ident.span(),
            format!(
                "`{}` is a structure field, but `{name}` is partitioned: structures of partitioned models are not supported yet; make it a column (`Json<...>`) or do not partition",
                s.ident.unraw()
            ),
        );
    }
    if let Some(c) = d.cols.iter().find(|c| c.attrs.belongs_to.is_some()) {
        return err(
            c.ident.span(),
            format!(
                "`{}` references another model, but `{name}` is partitioned: relations of partitioned models are not supported yet; store the key as a plain column or do not partition",
                c.ident.unraw()
            ),
        );
    }
    if let Some(span) = d.has_relations {
        return err(
            span,
            format!(
                "`{name}` is partitioned: relations of partitioned models (`has_many`, `has_one`) are not supported yet; remove them or do not partition"
            ),
        );
    }
    if d.expires {
        return err(
            p.span,
            format!(
                "`{name}` expires and is partitioned: expiring partitioned models are not supported yet; remove `expires` or `partition(...)`"
            ),
        );
    }
    Ok(p.buckets)
}
