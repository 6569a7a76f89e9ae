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
    /// The key is auto-increment (`Option<u64>`).
    pub(crate) auto: bool,
    pub(crate) cols: &'b [Col<'a>],
    pub(crate) structs: &'b [StructField<'a>],
    pub(crate) together: &'b [(Vec<Ident>, Option<proc_macro2::Span>, proc_macro2::Span)],
    pub(crate) group: Option<&'b syn::Path>,
    pub(crate) has_relations: Option<proc_macro2::Span>,
    pub(crate) expires: bool,
}

/// A checked partition: the number of buckets, and the column (its
/// position among the columns) whose value picks a row's bucket, `None`
/// for the key.
pub(crate) struct Partition {
    pub(crate) buckets: u16,
    pub(crate) by: Option<usize>,
}

/// Checks a partitioned model.
pub(crate) fn check(p: &PartitionAttr, d: &Declared<'_, '_>) -> syn::Result<Partition> {
    let err = |span, msg: String| Err(syn::Error::new(span, msg));
    let (name, pk) = (d.name, d.pk_ident.unraw());
    let by = if p.by.unraw() == pk {
        None
    } else {
        let Some(i) = d.cols.iter().position(|c| c.ident.unraw() == p.by.unraw()) else {
            return err(
                p.by.span(),
                format!(
                    "`{}` is not a column of `{name}`: partition by the primary key (`by = {pk}`) or by a column with an exact `index(eq)`",
                    p.by.unraw()
                ),
            );
        };
        let c = &d.cols[i];
        let col = c.ident.unraw();
        if c.attrs.eq != Some(false) {
            return err(
                p.by.span(),
                format!(
                    "`{col}` partitions `{name}`: give it an exact equality index, `#[rom(index(eq))]` (a query pinned to a partition filters on it)"
                ),
            );
        }
        if crate::util::option_inner(c.ty).is_some() {
            return err(
                p.by.span(),
                format!(
                    "`{col}` partitions `{name}`, so every row needs a value: make it a plain type, not an `Option`"
                ),
            );
        }
        if !d.auto {
            return err(
                d.pk_ident.span(),
                format!(
                    "`{name}` is partitioned by `{col}`, so rom picks each key in its row's partition: make the key auto-increment (`{pk}: Option<u64>`)"
                ),
            );
        }
        Some(i)
    };
    let buckets = match (d.group, p.buckets) {
        (Some(g), Some(_)) => {
            return err(
                syn::spanned::Spanned::span(g),
                format!(
                    "`{name}` is in a group: its number of buckets is the group's; remove `buckets = ...` and declare it on the group (`rom::group!(pub G = \"name\", partitions = N)`)"
                ),
            );
        }
        (Some(_), None) => 0,
        (None, Some(n)) => n,
        (None, None) => {
            return err(
                p.span,
                format!(
                    "`partition(...)` on `{name}` needs `buckets = N` (2 to 1024): `partition(by = {}, buckets = 64)`",
                    p.by.unraw()
                ),
            );
        }
    };
    // a unique on the partition column is local (its rows share a bucket);
    // any other is claimed across partitions (remote), which a partitioned
    // group's transactions cannot do atomically
    if let Some((_, c)) = d
        .cols
        .iter()
        .enumerate()
        .find(|(i, c)| c.attrs.unique.is_some() && by != Some(*i) && d.group.is_some())
    {
        return err(
            c.ident.span(),
            format!(
                "`{}` is unique, but `{name}` is a member of a partitioned group and is partitioned by another column: uniqueness across partitions is supported for a model partitioned alone, not in a group; partition `{name}` alone, use `index(eq)` instead of `unique`, or make `{}` the partition column",
                c.ident.unraw(),
                c.ident.unraw()
            ),
        );
    }
    for (cols, _, span) in d.together {
        let local = by.is_some_and(|i| cols.iter().any(|c| c.unraw() == d.cols[i].ident.unraw()));
        if !local {
            let names: Vec<String> = cols.iter().map(|c| c.unraw().to_string()).collect();
            let fix = match by {
                Some(i) => format!(
                    "include the partition column `{}` in it",
                    d.cols[i].ident.unraw()
                ),
                None => "partition by one of its columns".to_owned(),
            };
            return err(
                *span,
                format!(
                    "`unique_together({})` on `{name}`, which is partitioned: a composite unique is checked inside one partition, so it must include the partition column; {fix}, or do not partition",
                    names.join(", ")
                ),
            );
        }
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
    // relations stay inside a bucket: only in a partitioned group, and a
    // reference is the partition column (its parent's key picks the bucket)
    if let Some((i, c)) = d
        .cols
        .iter()
        .enumerate()
        .find(|(_, c)| c.attrs.belongs_to.is_some())
    {
        let col = c.ident.unraw();
        if d.group.is_none() {
            return err(
                c.ident.span(),
                format!(
                    "`{col}` references another model, but `{name}` is partitioned alone: relations need both models in one partitioned group (`group = G`, with `rom::group!(pub G = \"name\", partitions = N)`), or store the key as a plain column"
                ),
            );
        }
        if by != Some(i) {
            return err(
                c.ident.span(),
                format!(
                    "`{col}` references another model, but `{name}` is partitioned by another column: in a partitioned group a reference must be the partition column (`partition(by = {col})`), so that the parent is in the row's partition"
                ),
            );
        }
    }
    if let (Some(span), None) = (d.has_relations, d.group) {
        return err(
            span,
            format!(
                "`{name}` is partitioned alone: `has_many` and `has_one` need the models in one partitioned group (`group = G`), whose members referencing `{name}` are partitioned by that reference"
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
    Ok(Partition { buckets, by })
}
