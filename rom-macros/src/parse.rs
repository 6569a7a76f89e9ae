//! Parsing of the `#[rom(...)]` attributes, on the struct and on its fields.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{DeriveInput, Expr, Ident, LitStr};

#[derive(Default)]
pub(crate) struct ColAttrs {
    pub(crate) primary_key: Option<Span>,
    pub(crate) unique: Option<bool>,
    pub(crate) eq: Option<bool>,
    pub(crate) numeric: bool,
    pub(crate) checked_u53: bool,
    /// Where `checked_u53` was written (for an error on a non-`u64` column).
    pub(crate) checked_span: Option<Span>,
    pub(crate) numeric_span: Option<Span>,
    /// `index(numeric, scale = N)` (a `Decimal` column) and where it was written.
    pub(crate) scale: Option<(u32, Span)>,
    pub(crate) text: bool,
    pub(crate) prefix: Option<bool>,
    pub(crate) suffix: Option<bool>,
    pub(crate) sort: bool,
    pub(crate) default: Option<Expr>,
    /// Where `case_insensitive` was written on `index(eq, ...)` or `unique(...)`.
    pub(crate) ci_span: Option<Span>,
    /// The first attribute other than `primary_key` (for an error on a key).
    pub(crate) first_other: Option<(Span, String)>,
}

const FIELD_KEYS: &str = "`primary_key`, `unique`, `unique(case_insensitive)`, `index(eq)`, `index(eq, case_insensitive)`, `index(numeric)`, `index(text)`, `index(prefix)`, `index(suffix)`, `index(sort)`, `default = ...`";

fn parse_index(meta: &syn::meta::ParseNestedMeta<'_>, a: &mut ColAttrs) -> syn::Result<()> {
    let mut kind: Option<Ident> = None;
    let mut ci = false;
    let mut checked = false;
    let mut ci_span: Option<Span> = None;
    let mut checked_span: Option<Span> = None;
    let mut scale: Option<(u32, Span)> = None;
    if !meta.input.peek(syn::token::Paren) {
        return Err(meta.error(format!(
            "`index` needs a kind in parentheses, such as `index(eq)`: {KINDS_HELP}"
        )));
    }
    meta.parse_nested_meta(|m| {
        let Some(id) = m.path.get_ident().cloned() else {
            return Err(m.error(KINDS_HELP));
        };
        match id.to_string().as_str() {
            "case_insensitive" => {
                ci = true;
                ci_span = Some(id.span());
            }
            "checked_u53" => {
                checked = true;
                checked_span = Some(id.span());
            }
            "scale" => {
                let lit: syn::LitInt = m.value()?.parse().map_err(|e| {
                    syn::Error::new(e.span(), "`scale` takes a number of decimal places: `scale = 2`")
                })?;
                let n = lit.base10_parse::<u32>().ok().filter(|n| *n <= 28).ok_or_else(|| {
                    syn::Error::new(
                        lit.span(),
                        "`scale` is a number of decimal places from 0 to 28 (a `Decimal` has at most 28)",
                    )
                })?;
                scale = Some((n, id.span()));
            }
            "eq" | "numeric" | "text" | "prefix" | "suffix" | "sort" => {
                if kind.is_some() {
                    return Err(m.error(
                        "one index kind per `index(...)`; write a second `index(...)` for another",
                    ));
                }
                kind = Some(id);
            }
            other => {
                return Err(m.error(format!("unknown index kind `{other}`: {KINDS_HELP}")));
            }
        }
        Ok(())
    })?;
    let Some(kind) = kind else {
        return Err(meta.error(format!("`index(...)` needs a kind: {KINDS_HELP}")));
    };
    let k = kind.to_string();
    if checked && k != "numeric" {
        return Err(syn::Error::new(
            checked_span.unwrap_or(kind.span()),
            "`checked_u53` goes with `index(numeric)`",
        ));
    }
    if let Some((_, span)) = scale {
        if k != "numeric" {
            return Err(syn::Error::new(
                span,
                "`scale = N` goes with `index(numeric)` on a `Decimal` column: `index(numeric, scale = 2)`",
            ));
        }
        if checked {
            return Err(syn::Error::new(
                span,
                "`scale` (for `Decimal`) and `checked_u53` (for `u64`) cannot both be on one column",
            ));
        }
    }
    if ci && !matches!(k.as_str(), "eq" | "prefix" | "suffix") {
        return Err(syn::Error::new(
            ci_span.unwrap_or(kind.span()),
            format!(
                "`case_insensitive` goes with `index(eq)`, `index(prefix)`, `index(suffix)` or `unique`, not `index({k})` (full-text words are always case-insensitive)"
            ),
        ));
    }
    match k.as_str() {
        "eq" => {
            a.eq = Some(ci);
            if ci {
                a.ci_span = ci_span;
            }
        }
        "numeric" => {
            a.numeric = true;
            a.checked_u53 = checked;
            a.checked_span = checked_span;
            a.scale = scale;
            a.numeric_span = Some(kind.span());
        }
        "text" => a.text = true,
        "prefix" => a.prefix = Some(ci),
        "suffix" => a.suffix = Some(ci),
        _ => a.sort = true,
    }
    Ok(())
}

const KINDS_HELP: &str = "expected `eq` (equality), `numeric` (ranges and ordering), `text` (words), `prefix`, `suffix` (`starts_with`, `ends_with`, `like`) or `sort` (ordering by text)";

pub(crate) fn col_attrs(field: &syn::Field) -> syn::Result<ColAttrs> {
    let mut a = ColAttrs::default();
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("rom")) {
        attr.parse_nested_meta(|meta| {
            let Some(id) = meta.path.get_ident().map(ToString::to_string) else {
                return Err(meta.error(format!(
                    "unknown rom attribute; expected one of {FIELD_KEYS}"
                )));
            };
            if id != "primary_key" && a.first_other.is_none() {
                a.first_other = Some((meta.path.span(), id.clone()));
            }
            match id.as_str() {
                "primary_key" => {
                    a.primary_key = Some(meta.path.span());
                }
                "unique" => {
                    let mut ci = false;
                    if meta.input.peek(syn::token::Paren) {
                        meta.parse_nested_meta(|m| {
                            if m.path.is_ident("case_insensitive") {
                                ci = true;
                                a.ci_span = Some(m.path.span());
                                Ok(())
                            } else {
                                Err(m.error("the only option of `unique` is `case_insensitive`: `#[rom(unique(case_insensitive))]`"))
                            }
                        })?;
                    }
                    a.unique = Some(ci);
                }
                "index" => parse_index(&meta, &mut a)?,
                "default" => {
                    a.default = Some(meta.value()?.parse()?);
                }
                other => {
                    return Err(meta.error(format!(
                        "unknown rom attribute `{other}`; expected one of {FIELD_KEYS}"
                    )));
                }
            }
            Ok(())
        })?;
    }
    Ok(a)
}

/// The `#[rom(...)]` attributes of the struct.
pub(crate) struct ModelAttrs {
    /// `table = name`.
    pub(crate) table: Option<Ident>,
    /// `namespace = "..."`.
    pub(crate) namespace: Option<LitStr>,
    /// `group = Path`: the placement group (a type declared with `rom::group!`).
    pub(crate) group: Option<syn::Path>,
    /// `unique_together(a, b, ...)`: the names, where `case_insensitive` was
    /// written, and the attribute's span.
    pub(crate) together: Vec<(Vec<Ident>, Option<Span>, Span)>,
}

/// Parses the struct's `#[rom(...)]` attributes.
pub(crate) fn model_attrs(input: &DeriveInput) -> syn::Result<ModelAttrs> {
    let mut table: Option<Ident> = None;
    let mut namespace: Option<LitStr> = None;
    let mut group: Option<syn::Path> = None;
    let mut together: Vec<(Vec<Ident>, Option<Span>, Span)> = Vec::new();
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("rom")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("table") {
                table = Some(meta.value()?.parse()?);
            } else if meta.path.is_ident("namespace") {
                let ns: LitStr = meta.value()?.parse()?;
                if ns.value().is_empty() || ns.value().contains(['{', '}']) {
                    return Err(syn::Error::new(ns.span(), "a namespace must be non-empty and contain no `{` or `}`"));
                }
                namespace = Some(ns);
            } else if meta.path.is_ident("group") {
                group = Some(meta.value()?.parse()?);
            } else if meta.path.is_ident("unique_together") {
                let mut cols = Vec::new();
                let mut ci = None;
                let span = meta.path.span();
                meta.parse_nested_meta(|m| {
                    let id = m.path.get_ident().cloned().ok_or_else(|| m.error("expected a column name"))?;
                    if id == "case_insensitive" {
                        ci = Some(id.span());
                    } else {
                        cols.push(id);
                    }
                    Ok(())
                })?;
                if cols.len() < 2 {
                    return Err(syn::Error::new(span, "`unique_together(...)` needs two or more columns; use `#[rom(unique)]` on a field for one"));
                }
                together.push((cols, ci, span));
            } else {
                let what = meta.path.get_ident().map_or_else(String::new, |i| format!(" `{i}`"));
                return Err(meta.error(format!("unknown rom attribute{what} on a model; expected `table = name`, `namespace = \"...\"`, `group = Group` or `unique_together(a, b)` (index attributes go on the fields)")));
            }
            Ok(())
        })?;
    }
    Ok(ModelAttrs {
        table,
        namespace,
        group,
        together,
    })
}
