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
    /// Validation rules, in the order written.
    pub(crate) rules: Vec<Rule>,
    /// `belongs_to(Parent, on_delete = rule)`.
    pub(crate) belongs_to: Option<BelongsTo>,
}

/// A column that references a row of another model (or of its own).
pub(crate) struct BelongsTo {
    /// The parent model's type.
    pub(crate) parent: syn::Path,
    /// The rule, as its variant name (`Cascade`...), and where it was written.
    pub(crate) on_delete: (&'static str, Span),
    pub(crate) span: Span,
}

const ON_DELETE: &str =
    "`on_delete = no_action`, `restrict`, `cascade`, `set_null` or `set_default`";

fn parse_belongs_to(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<BelongsTo> {
    let span = meta.path.span();
    let mut parent = None;
    let mut on_delete = None;
    meta.parse_nested_meta(|m| {
        if m.path.is_ident("on_delete") {
            let rule: Ident = m.value()?.parse()?;
            let variant = match rule.to_string().as_str() {
                "no_action" => "NoAction",
                "restrict" => "Restrict",
                "cascade" => "Cascade",
                "set_null" => "SetNull",
                "set_default" => "SetDefault",
                other => {
                    return Err(syn::Error::new(
                        rule.span(),
                        format!("unknown on_delete rule `{other}`; expected {ON_DELETE}"),
                    ));
                }
            };
            on_delete = Some((variant, rule.span()));
        } else if parent.is_none() && (m.input.is_empty() || m.input.peek(syn::Token![,])) {
            parent = Some(m.path.clone());
        } else {
            return Err(m.error(format!(
                "`belongs_to` takes the parent model and the rule: `belongs_to(User, {ON_DELETE})`"
            )));
        }
        Ok(())
    })?;
    let parent = parent.ok_or_else(|| {
        syn::Error::new(
            span,
            format!("`belongs_to` names the parent model: `belongs_to(User, {ON_DELETE})`"),
        )
    })?;
    let on_delete = on_delete.ok_or_else(|| {
        syn::Error::new(
            span,
            format!("`belongs_to` needs a rule for when the parent row is deleted: {ON_DELETE}"),
        )
    })?;
    Ok(BelongsTo {
        parent,
        on_delete,
        span,
    })
}

/// A validation rule of a column, with where it was written and how it
/// reads (for messages: `length(min = 1, max = 64)`).
pub(crate) struct Rule {
    pub(crate) kind: RuleKind,
    pub(crate) span: Span,
    pub(crate) text: String,
}

pub(crate) enum RuleKind {
    /// `length(min = .., max = ..)`: characters of text, bytes of `Vec<u8>`.
    Length(Option<usize>, Option<usize>),
    /// `range(min = .., max = ..)`: expressions of the column's type.
    Range(Box<(Option<Expr>, Option<Expr>)>),
    /// `pattern = "..."`: a regular expression the whole value must match.
    Pattern(LitStr),
    /// `validate = path`: `fn(&T) -> Result<(), String>`.
    Custom(syn::Path),
}

/// `min = ..` and `max = ..` inside `length(...)` or `range(...)`.
fn parse_bounds(
    meta: &syn::meta::ParseNestedMeta<'_>,
    what: &str,
) -> syn::Result<(Option<Expr>, Option<Expr>)> {
    let (mut min, mut max) = (None, None);
    meta.parse_nested_meta(|m| {
        if m.path.is_ident("min") {
            min = Some(m.value()?.parse::<Expr>()?);
        } else if m.path.is_ident("max") {
            max = Some(m.value()?.parse::<Expr>()?);
        } else {
            return Err(m.error(format!(
                "`{what}` takes `min = ...` and/or `max = ...`: `#[rom({what}(min = 1, max = 64))]`"
            )));
        }
        Ok(())
    })?;
    if min.is_none() && max.is_none() {
        return Err(meta.error(format!(
            "`{what}` needs `min = ...`, `max = ...` or both: `#[rom({what}(min = 1, max = 64))]`"
        )));
    }
    Ok((min, max))
}

fn usize_of(e: Option<Expr>) -> syn::Result<Option<usize>> {
    match e {
        None => Ok(None),
        Some(Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(i),
            ..
        })) => Ok(Some(i.base10_parse()?)),
        Some(other) => Err(syn::Error::new(
            other.span(),
            "a `length` bound is a whole number: `length(min = 1, max = 64)`",
        )),
    }
}

fn bounds_text(what: &str, min: &Option<Expr>, max: &Option<Expr>) -> String {
    use quote::ToTokens;
    let mut parts = Vec::new();
    if let Some(m) = min {
        parts.push(format!("min = {}", m.to_token_stream()));
    }
    if let Some(m) = max {
        parts.push(format!("max = {}", m.to_token_stream()));
    }
    format!("{what}({})", parts.join(", "))
}

fn parse_rule(meta: &syn::meta::ParseNestedMeta<'_>, id: &str) -> syn::Result<Rule> {
    use quote::ToTokens;
    let span = meta.path.span();
    Ok(match id {
        "length" => {
            let (min, max) = parse_bounds(meta, "length")?;
            let text = bounds_text("length", &min, &max);
            Rule {
                kind: RuleKind::Length(usize_of(min)?, usize_of(max)?),
                span,
                text,
            }
        }
        "range" => {
            let (min, max) = parse_bounds(meta, "range")?;
            let text = bounds_text("range", &min, &max);
            Rule {
                kind: RuleKind::Range(Box::new((min, max))),
                span,
                text,
            }
        }
        "pattern" => {
            let lit: LitStr = meta.value()?.parse()?;
            if let Err(e) = regex_syntax::Parser::new().parse(&lit.value()) {
                return Err(syn::Error::new(
                    lit.span(),
                    format!("this `pattern` is not a valid regular expression: {e}"),
                ));
            }
            let text = format!("pattern = {:?}", lit.value());
            Rule {
                kind: RuleKind::Pattern(lit),
                span,
                text,
            }
        }
        _ => {
            let path: syn::Path = meta.value()?.parse()?;
            let shown = path.to_token_stream().to_string().replace(' ', "");
            let text = format!("validate = {shown}");
            Rule {
                kind: RuleKind::Custom(path),
                span,
                text,
            }
        }
    })
}

const FIELD_KEYS: &str = "`primary_key`, `unique`, `unique(case_insensitive)`, `index(eq)`, `index(eq, case_insensitive)`, `index(numeric)`, `index(text)`, `index(prefix)`, `index(suffix)`, `index(sort)`, `default = ...`, and the validation rules `length(min = .., max = ..)`, `range(min = .., max = ..)`, `pattern = \"...\"`, `validate = path`, and `belongs_to(Parent, on_delete = ...)`";

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
                "belongs_to" => {
                    a.belongs_to = Some(parse_belongs_to(&meta)?);
                }
                "length" | "range" | "pattern" | "validate" => {
                    let rule = parse_rule(&meta, &id)?;
                    a.rules.push(rule);
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
    // a reference is found from its parent through an equality index
    if a.belongs_to.is_some() && a.eq.is_none() {
        a.eq = Some(false);
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
    /// `hooks`: the model implements `rom::Hooks` itself (where written).
    pub(crate) hooks: Option<Span>,
    /// `has_many(children::column, ...)`: the columns of other models (or
    /// its own) that reference this model.
    pub(crate) has_many: Vec<syn::Path>,
    /// `has_one(children::column, ...)`: unique columns of other models (or
    /// its own) that reference this model (one-to-one).
    pub(crate) has_one: Vec<syn::Path>,
    /// `expires` / `expires(ttl = "30m")`: rows may expire; the default
    /// time to live in milliseconds (0: none).
    pub(crate) expires: Option<u64>,
    /// `partition(by = column, buckets = N)`: the model's rows are spread
    /// over `N` hash tags by the column's value.
    pub(crate) partition: Option<PartitionAttr>,
}

/// `partition(by = column, buckets = N)`.
pub(crate) struct PartitionAttr {
    /// The column whose value picks a row's bucket.
    pub(crate) by: Ident,
    /// The number of buckets, 2..=1024 (`None` in a group: the group's).
    pub(crate) buckets: Option<u16>,
    /// The attribute's path, for errors about the whole declaration.
    pub(crate) span: Span,
}

/// Parses `partition(by = column, buckets = N)`.
fn partition_attr(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<PartitionAttr> {
    let span = meta.path.span();
    let (mut by, mut buckets) = (None, None);
    meta.parse_nested_meta(|m| {
        if m.path.is_ident("by") {
            by = Some(m.value()?.parse::<Ident>()?);
        } else if m.path.is_ident("buckets") {
            let n: syn::LitInt = m.value()?.parse()?;
            match n.base10_parse::<u16>() {
                Ok(v) if (2..=1024).contains(&v) => buckets = Some(v),
                _ => return Err(syn::Error::new(n.span(), "`buckets` is the number of partitions, from 2 to 1024 (it can never change once rows are stored)")),
            }
        } else {
            return Err(m.error("expected `by = column` (the column whose value picks a row's partition) or `buckets = N`"));
        }
        Ok(())
    })?;
    match by {
        Some(by) => Ok(PartitionAttr { by, buckets, span }),
        None => Err(syn::Error::new(
            span,
            "`partition(...)` needs `by = column` (and `buckets = N` outside a partitioned group): `#[rom(partition(by = id, buckets = 64))]`",
        )),
    }
}

/// A duration written `"<n><unit>"` (`ms`, `s`, `m`, `h`, `d`), in
/// milliseconds.
fn duration_ms(lit: &LitStr) -> syn::Result<u64> {
    let text = lit.value();
    let t = text.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(digits);
    let per = match unit.trim() {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => 0,
    };
    let n: u64 = n.parse().unwrap_or(0);
    match n.checked_mul(per) {
        Some(ms) if ms > 0 && ms <= 1 << 53 => Ok(ms),
        _ => Err(syn::Error::new(
            lit.span(),
            "a time to live is a positive whole number and a unit: \"500ms\", \"30s\", \"15m\", \"2h\" or \"7d\"",
        )),
    }
}

/// Parses the struct's `#[rom(...)]` attributes.
pub(crate) fn model_attrs(input: &DeriveInput) -> syn::Result<ModelAttrs> {
    let mut table: Option<Ident> = None;
    let mut namespace: Option<LitStr> = None;
    let mut group: Option<syn::Path> = None;
    let mut together: Vec<(Vec<Ident>, Option<Span>, Span)> = Vec::new();
    let mut hooks = None;
    let mut has_many = Vec::new();
    let mut has_one = Vec::new();
    let mut expires = None;
    let mut partition = None;
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("rom")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("table") {
                table = Some(meta.value()?.parse()?);
            } else if meta.path.is_ident("namespace") {
                let ns: LitStr = meta.value()?.parse()?;
                if ns.value().is_empty() || ns.value().contains(['{', '}', '#']) {
                    return Err(syn::Error::new(ns.span(), "a namespace must be non-empty and contain no `{`, `}` or `#`"));
                }
                namespace = Some(ns);
            } else if meta.path.is_ident("group") {
                group = Some(meta.value()?.parse()?);
            } else if meta.path.is_ident("hooks") {
                hooks = Some(meta.path.span());
            } else if meta.path.is_ident("has_many") {
                meta.parse_nested_meta(|m| {
                    has_many.push(m.path.clone());
                    Ok(())
                })?;
            } else if meta.path.is_ident("expires") {
                expires = Some(0);
                if meta.input.peek(syn::token::Paren) {
                    meta.parse_nested_meta(|m| {
                        if m.path.is_ident("ttl") {
                            expires = Some(duration_ms(&m.value()?.parse()?)?);
                            Ok(())
                        } else {
                            Err(m.error("expected `ttl = \"30m\"` (the default time to live)"))
                        }
                    })?;
                }
            } else if meta.path.is_ident("partition") {
                partition = Some(partition_attr(&meta)?);
            } else if meta.path.is_ident("has_one") {
                meta.parse_nested_meta(|m| {
                    has_one.push(m.path.clone());
                    Ok(())
                })?;
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
                return Err(meta.error(format!("unknown rom attribute{what} on a model; expected `table = name`, `namespace = \"...\"`, `group = Group`, `unique_together(a, b)`, `hooks`, `has_many(children::column)`, `has_one(children::column)`, `expires(ttl = \"30m\")` or `partition(by = column, buckets = N)` (index attributes go on the fields)")));
            }
            Ok(())
        })?;
    }
    Ok(ModelAttrs {
        table,
        namespace,
        group,
        together,
        hooks,
        has_many,
        has_one,
        expires,
        partition,
    })
}
