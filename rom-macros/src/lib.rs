//! The procedural macros of rom: `#[derive(Model)]`.
//!
//! Use them through the `rom` crate, which documents the attributes.

#![deny(missing_docs)]

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Expr, Fields, Ident, LitStr, Type, parse_macro_input};

/// Derives `rom::Model` for a struct with named fields, and generates the
/// table module (`users::table`, one unit struct per column). See the `rom`
/// crate documentation for the attributes.
#[proc_macro_derive(Model, attributes(rom))]
pub fn derive_model(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match expand(&input) {
        Ok(ts) => ts.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

#[derive(Default)]
struct ColAttrs {
    primary_key: Option<Span>,
    unique: Option<bool>,
    eq: Option<bool>,
    numeric: bool,
    checked_u53: bool,
    /// Where `checked_u53` was written (for an error on a non-`u64` column).
    checked_span: Option<Span>,
    numeric_span: Option<Span>,
    text: bool,
    prefix: Option<bool>,
    suffix: Option<bool>,
    sort: bool,
    default: Option<Expr>,
    /// Where `case_insensitive` was written on `index(eq, ...)` or `unique(...)`.
    ci_span: Option<Span>,
    /// The first attribute other than `primary_key` (for an error on a key).
    first_other: Option<(Span, String)>,
}

struct Col<'a> {
    ident: &'a Ident,
    ty: &'a Type,
    attrs: ColAttrs,
}

/// Primitive types that are not primary key types (for a clearer error than
/// the unmet `Key` bound).
const NOT_KEYS: &[&str] = &[
    "i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16", "u32", "u128", "usize", "f32", "f64",
    "bool", "char",
];

const FIELD_KEYS: &str = "`primary_key`, `unique`, `unique(case_insensitive)`, `index(eq)`, `index(eq, case_insensitive)`, `index(numeric)`, `index(text)`, `index(prefix)`, `index(suffix)`, `index(sort)`, `default = ...`";

fn parse_index(meta: &syn::meta::ParseNestedMeta<'_>, a: &mut ColAttrs) -> syn::Result<()> {
    let mut kind: Option<Ident> = None;
    let mut ci = false;
    let mut checked = false;
    let mut ci_span: Option<Span> = None;
    let mut checked_span: Option<Span> = None;
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

fn col_attrs(field: &syn::Field) -> syn::Result<ColAttrs> {
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

/// `Option<T>` -> `Some(T)`.
fn option_inner(ty: &Type) -> Option<&Type> {
    let Type::Path(p) = ty else { return None };
    let last = p.path.segments.last()?;
    if last.ident != "Option" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first()? {
        syn::GenericArgument::Type(t) => Some(t),
        _ => None,
    }
}

/// The tokens with every span set to `span`.
fn respan(ts: TokenStream2, span: Span) -> TokenStream2 {
    ts.into_iter()
        .map(|mut t| {
            if let proc_macro2::TokenTree::Group(g) = &t {
                let mut n = proc_macro2::Group::new(g.delimiter(), respan(g.stream(), span));
                n.set_span(span);
                t = proc_macro2::TokenTree::Group(n);
            } else {
                t.set_span(span);
            }
            t
        })
        .collect()
}

/// The type as written, for messages: `Vec<String>`.
fn type_text(ty: &Type) -> String {
    quote!(#ty)
        .to_string()
        .replace(" < ", "<")
        .replace("< ", "<")
        .replace(" <", "<")
        .replace(" >", ">")
        .replace(" ,", ",")
        .replace(" :: ", "::")
        .replace("& ", "&")
}

/// An error for a field type that can never be a column: a type no crate can
/// implement `Value` for (std collections, tuples, arrays, references, the
/// primitives rom does not store, a nested `Option`). Other types are left to
/// the `Value` bound, which a user type may meet.
fn not_a_column_type(ty: &Type) -> Option<syn::Error> {
    let inner = option_inner(ty).unwrap_or(ty);
    let text = type_text(inner);
    let json = format!(
        "`{text}` cannot be stored in a rom column; store it as JSON in a `Json<{text}>` column (`rom::Json`, for any serde type)"
    );
    let msg = match inner {
        Type::Tuple(_) | Type::Array(_) | Type::Slice(_) => json,
        Type::Reference(_) => format!(
            "a column cannot hold a reference (`{text}`); use an owned type such as `String`"
        ),
        Type::Path(p) if p.qself.is_none() => {
            let last = p.path.segments.last()?;
            let id = last.ident.to_string();
            match id.as_str() {
                "i8" | "i16" | "i128" | "isize" | "u8" | "u16" | "u128" | "usize"
                    if p.path.segments.len() == 1 =>
                {
                    format!(
                        "`{id}` cannot be stored in a rom column; integer columns are `i32`, `i64`, `u32` and `u64`"
                    )
                }
                "f32" if p.path.segments.len() == 1 => {
                    "`f32` cannot be stored in a rom column; use `f64`".to_owned()
                }
                "char" if p.path.segments.len() == 1 => {
                    "`char` cannot be stored in a rom column; use `String`".to_owned()
                }
                "str" if p.path.segments.len() == 1 => {
                    "`str` cannot be stored in a rom column; use `String`".to_owned()
                }
                "Option" => format!(
                    "a nullable column is `Option<T>` once; `Option<{text}>` has nothing more to store"
                ),
                "Vec" => {
                    let byte = matches!(&last.arguments, syn::PathArguments::AngleBracketed(a)
                        if a.args.len() == 1 && matches!(a.args.first(), Some(syn::GenericArgument::Type(t)) if is_ident_type(t, "u8")));
                    if byte {
                        return None;
                    }
                    json
                }
                "VecDeque" | "HashMap" | "HashSet" | "BTreeMap" | "BTreeSet" | "LinkedList"
                | "BinaryHeap" => json,
                _ => return None,
            }
        }
        _ => return None,
    };
    Some(syn::Error::new_spanned(inner, msg))
}

fn is_ident_type(ty: &Type, name: &str) -> bool {
    matches!(ty, Type::Path(p) if p.qself.is_none() && p.path.is_ident(name))
}

/// The visibility of the table module's items: the model's own, seen from
/// inside the module (private becomes `pub(super)`).
fn inner_vis(vis: &syn::Visibility) -> TokenStream2 {
    match vis {
        syn::Visibility::Public(_) => quote!(pub),
        syn::Visibility::Inherited => quote!(pub(super)),
        syn::Visibility::Restricted(r) => {
            let p = &r.path;
            if p.is_ident("crate") || p.segments.first().is_some_and(|s| s.ident == "crate") {
                quote!(#vis)
            } else if p.is_ident("self") {
                quote!(pub(super))
            } else if p.is_ident("super") {
                quote!(pub(in super::super))
            } else {
                quote!(pub(super))
            }
        }
    }
}

/// `name` as an identifier, raw if it is a keyword (the table of a model `A`
/// is `r#as`).
fn plain_ident(name: &str, span: Span) -> Ident {
    if syn::parse_str::<Ident>(name).is_ok() {
        Ident::new(name, span)
    } else {
        Ident::new_raw(name, span)
    }
}

/// The name of a type that is surely not text, as written (`i64`, `Vec<u8>`,
/// `Uuid`...), for a derive-time error; `None` for `String` and for every type
/// the derive cannot tell (an alias, a user type).
fn known_non_text(ty: &Type) -> Option<String> {
    let inner = option_inner(ty).unwrap_or(ty);
    let Type::Path(p) = inner else { return None };
    let last = p.path.segments.last()?;
    let id = last.ident.to_string();
    let sure = match id.as_str() {
        "i32" | "i64" | "u32" | "u64" | "f64" | "bool" => p.path.segments.len() == 1,
        "Uuid" | "DateTime" | "NaiveDate" | "NaiveTime" | "Json" => true,
        "Vec" => not_a_column_type(inner).is_none(),
        _ => false,
    };
    sure.then(|| type_text(inner))
}

/// A name for a local, parameter or helper of the generated code: the `__rom_`
/// prefix is refused for fields (so no column struct can be named so), and
/// the mixed-site span hides it from the user's tokens (a `default`
/// expression cannot see it).
fn internal(name: &str) -> Ident {
    Ident::new(&format!("__rom_{name}"), Span::mixed_site())
}

fn snake_plural(name: &str) -> String {
    let mut s = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 {
                s.push('_');
            }
            s.extend(c.to_lowercase());
        } else {
            s.push(c);
        }
    }
    s.push('s');
    s
}

fn expand(input: &DeriveInput) -> syn::Result<TokenStream2> {
    let name = &input.ident;
    let vis = &input.vis;
    let ivis = inner_vis(vis);
    if !input.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &input.generics,
            "a rom model cannot be generic: its columns and Redis keys are fixed when it is compiled; declare one struct per stored type (a generic value can be a `Json<T>` column of a concrete `T`)",
        ));
    }
    let data = match &input.data {
        Data::Struct(data) => data,
        Data::Enum(e) => {
            return Err(syn::Error::new(
                e.enum_token.span,
                "`#[derive(Model)]` needs a struct with named fields, not an enum; to store an enum, make it a `Json<...>` column of a model (it needs serde's `Serialize` and `Deserialize`)",
            ));
        }
        Data::Union(u) => {
            return Err(syn::Error::new(
                u.union_token.span,
                "`#[derive(Model)]` needs a struct with named fields, not a union",
            ));
        }
    };
    let Fields::Named(fields) = &data.fields else {
        return Err(syn::Error::new(
            name.span(),
            "`#[derive(Model)]` needs a struct with named fields: each field is a column, named by the field; write `struct Name { #[rom(primary_key)] id: Option<u64>, ... }`",
        ));
    };

    // struct attributes
    let mut table: Option<Ident> = None;
    let mut namespace: Option<LitStr> = None;
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
                return Err(meta.error(format!("unknown rom attribute{what} on a model; expected `table = name`, `namespace = \"...\"` or `unique_together(a, b)` (index attributes go on the fields)")));
            }
            Ok(())
        })?;
    }
    let table =
        table.unwrap_or_else(|| plain_ident(&snake_plural(&name.unraw().to_string()), name.span()));
    let ns = namespace
        .map(|n| n.value())
        .unwrap_or_else(|| table.unraw().to_string());

    // fields
    let mut pk: Option<(&Ident, &Type, bool)> = None;
    let mut cols: Vec<Col<'_>> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for f in &fields.named {
        let ident = f
            .ident
            .as_ref()
            .ok_or_else(|| syn::Error::new(f.span(), "unnamed field"))?;
        // a field name written twice: rustc reports it (E0124, naming the
        // field); the derive goes on with the first, so that it is the one error
        if !seen.insert(ident.unraw().to_string()) {
            continue;
        }
        let attrs = col_attrs(f)?;
        let sname = ident.unraw().to_string();
        if let Some(span) = attrs.primary_key {
            if pk.is_some() {
                return Err(syn::Error::new(
                    span,
                    "a model has exactly one primary key; this is the second `#[rom(primary_key)]`",
                ));
            }
            if attrs.unique.is_some()
                || attrs.eq.is_some()
                || attrs.numeric
                || attrs.text
                || attrs.prefix.is_some()
                || attrs.suffix.is_some()
                || attrs.sort
                || attrs.default.is_some()
            {
                let (at, what) = attrs
                    .first_other
                    .clone()
                    .unwrap_or((span, "the other attributes".to_owned()));
                return Err(syn::Error::new(
                    at,
                    format!(
                        "the primary key is unique and indexed already; remove `{what}` from it"
                    ),
                ));
            }
            let auto = option_inner(&f.ty).is_some();
            if let Some(inner) = option_inner(&f.ty).filter(|t| !is_ident_type(t, "u64")) {
                return Err(syn::Error::new(
                    inner.span(),
                    "an auto-increment primary key is `Option<u64>`; a natural key is `u64`, `String` or `Uuid`",
                ));
            }
            // a primitive that is not a key type (other types meet the `Key` bound)
            if let Some(t) = NOT_KEYS.iter().find(|t| is_ident_type(&f.ty, t)) {
                return Err(syn::Error::new(
                    f.ty.span(),
                    format!(
                        "`{t}` cannot be a primary key: a natural key is `u64`, `String` or `Uuid`, and an auto-increment key is `Option<u64>`"
                    ),
                ));
            }
            pk = Some((ident, &f.ty, auto));
            continue;
        }
        if let (Some(d), Some(_)) = (&attrs.default, option_inner(&f.ty)) {
            return Err(syn::Error::new(
                d.span(),
                "`default` applies to required fields: an `Option` field reads a missing value as `None`",
            ));
        }
        if sname == "table" || sname.starts_with("__") {
            return Err(syn::Error::new(
                ident.span(),
                format!(
                    "`{sname}` is reserved by rom (the table module has a `table` item); rename the field"
                ),
            ));
        }
        if let Some(e) = not_a_column_type(&f.ty) {
            return Err(e);
        }
        if let Some(span) = attrs.checked_span {
            let inner = option_inner(&f.ty).unwrap_or(&f.ty);
            if let Some(t) = ["i32", "i64", "u32", "f64", "bool"]
                .iter()
                .find(|t| is_ident_type(inner, t))
            {
                return Err(syn::Error::new(
                    span,
                    format!(
                        "`checked_u53` is only for `u64` columns; remove it: `#[rom(index(numeric))]` on `{t}` needs no option"
                    ),
                ));
            }
        }
        if attrs.numeric && !attrs.checked_u53 {
            let inner = option_inner(&f.ty).unwrap_or(&f.ty);
            if is_ident_type(inner, "u64") {
                return Err(syn::Error::new(
                    inner.span(),
                    "a numeric index on `u64`: values above 2^53 cannot be exact scores; write `#[rom(index(numeric, checked_u53))]` to refuse larger values at save, or use `i64`/`u32`",
                ));
            }
        }
        cols.push(Col {
            ident,
            ty: &f.ty,
            attrs,
        });
    }
    let Some((pk_ident, pk_ty, auto)) = pk else {
        return Err(syn::Error::new(
            name.span(),
            "a model needs one `#[rom(primary_key)]` field (`Option<u64>` for an auto-increment key)",
        ));
    };

    // composite uniques -> positions
    let mut together_pos = Vec::new();
    for (names, ci, _) in &together {
        let mut pos = Vec::new();
        for n in names {
            match cols.iter().position(|c| c.ident.unraw() == n.unraw()) {
                Some(p) => pos.push(p),
                None if n.unraw() == pk_ident.unraw() => {
                    return Err(syn::Error::new(
                        n.span(),
                        format!(
                            "`{n}` is the primary key of `{name}`, unique by itself; `unique_together` names two or more other columns"
                        ),
                    ));
                }
                None => {
                    let known = cols
                        .iter()
                        .map(|c| format!("`{}`", c.ident))
                        .collect::<Vec<_>>()
                        .join(", ");
                    return Err(syn::Error::new(
                        n.span(),
                        format!("`{n}` is not a column of `{name}`; its columns are {known}"),
                    ));
                }
            }
        }
        if let Some(ci_span) = ci {
            let kinds: Vec<String> = pos
                .iter()
                .map_while(|&p| known_non_text(cols[p].ty))
                .collect();
            if kinds.len() == pos.len() {
                let members = pos
                    .iter()
                    .zip(&kinds)
                    .map(|(&p, k)| format!("`{}` is `{k}`", cols[p].ident.unraw()))
                    .collect::<Vec<_>>()
                    .join(", ");
                return Err(syn::Error::new(
                    *ci_span,
                    format!(
                        "`case_insensitive` on a `unique_together` with no text column ({members}): only text has a case to ignore; remove it"
                    ),
                ));
            }
        }
        together_pos.push((pos, ci.is_some()));
    }
    let in_slot = |i: usize, want_ci: bool| -> bool {
        let c = &cols[i].attrs;
        c.unique == Some(want_ci)
            || c.eq == Some(want_ci)
            || together_pos
                .iter()
                .any(|(p, ci)| *ci == want_ci && p.contains(&i))
    };

    // every local and parameter of the generated code (see `internal`)
    let v = internal("v");
    let f = internal("f");
    let e = internal("e");
    let fold_arg = internal("fold");
    let key_arg = internal("key");
    let row_arg = internal("row");
    // primitives, by a path no column struct (say `u8`) can shadow
    let t_u8 = quote!(::core::primitive::u8);
    let t_f64 = quote!(::core::primitive::f64);
    let t_str = quote!(::core::primitive::str);
    let t_usize = quote!(::core::primitive::usize);

    let fold = |ci: bool| {
        if ci {
            quote!(::rom::__private::Fold::CaseInsensitive)
        } else {
            quote!(::rom::__private::Fold::Exact)
        }
    };
    let opt_fold = |o: Option<bool>| match o {
        Some(ci) => {
            let f = fold(ci);
            quote!(::core::option::Option::Some(#f))
        }
        None => quote!(::core::option::Option::None),
    };

    let mut defs = Vec::new();
    let mut cells = Vec::new();
    let mut reads = Vec::new();
    let mut col_items = Vec::new();
    let mut aliases = Vec::new();
    for (i, c) in cols.iter().enumerate() {
        let ident = c.ident;
        let ty = c.ty;
        let sname = ident.unraw().to_string();
        let numeric = c.attrs.numeric;
        let eq = opt_fold(c.attrs.eq);
        let unique = opt_fold(c.attrs.unique);
        let text = c.attrs.text;
        let prefix = opt_fold(c.attrs.prefix);
        let suffix = opt_fold(c.attrs.suffix);
        let sort = c.attrs.sort;
        let texty = text || c.attrs.prefix.is_some() || c.attrs.suffix.is_some() || sort;
        defs.push(quote! {
            ::rom::__private::ColumnDef {
                name: #sname,
                type_name: <<#ty as ::rom::__private::Field>::Inner as ::rom::__private::Value>::TYPE_NAME,
                nullable: <#ty as ::rom::__private::Field>::NULLABLE,
                numeric: #numeric,
                eq: #eq,
                unique: #unique,
                text: #text,
                prefix: #prefix,
                suffix: #suffix,
                sort: #sort,
            }
        });
        let score = if numeric {
            quote! {
                match ::rom::__private::Field::inner(#f) {
                    ::core::option::Option::Some(#v) => ::core::option::Option::Some(
                        <#table::#ident as ::rom::__private::Column>::score(#v)
                            .map_err(|#e| ::rom::__private::invalid::<Self>(#sname, #e))?,
                    ),
                    ::core::option::Option::None => ::core::option::Option::None,
                }
            }
        } else {
            quote!(::core::option::Option::None)
        };
        let key_of = |ci: bool| {
            let fl = fold(ci);
            quote!(::rom::__private::Field::inner(#f).map(|#v| <#table::#ident as ::rom::__private::Column>::eq_key(#v, #fl)))
        };
        let exact = if in_slot(i, false) {
            key_of(false)
        } else {
            quote!(::core::option::Option::None)
        };
        let folded = if in_slot(i, true) {
            key_of(true)
        } else {
            quote!(::core::option::Option::None)
        };
        let text_cell = if texty {
            quote!(::rom::__private::Field::inner(#f)
                .and_then(|#v| <#table::#ident as ::rom::__private::Column>::text(#v))
                .map(::std::borrow::ToOwned::to_owned))
        } else {
            quote!(::core::option::Option::None)
        };
        cells.push(quote! {
            {
                let #f = &self.#ident;
                ::rom::__private::Cell {
                    stored: ::rom::__private::Field::to_stored(#f),
                    score: #score,
                    exact: #exact,
                    folded: #folded,
                    text: #text_cell,
                }
            }
        });
        let default = match &c.attrs.default {
            Some(expr) => {
                quote!(::core::option::Option::Some((|| ::core::convert::Into::into(#expr)) as fn() -> #ty))
            }
            None => quote!(::core::option::Option::None),
        };
        reads.push(quote!(#ident: #row_arg.column::<#ty>(#sname, #default)?));

        // errors about the value type point at it (`f64` in `Option<f64>`)
        let vspan = option_inner(ty).unwrap_or(ty).span();
        let has_slot = in_slot(i, false) || in_slot(i, true);
        let eq_key = if let Some(ci_span) = c.attrs.ci_span {
            // the column asks to ignore case: its type must be text (one
            // bound, at `case_insensitive`, so one error naming the column)
            quote_spanned! {ci_span=>
                <Self::Value as ::rom::value::FoldsCase<Self>>::fold_key(#v, #fold_arg)
            }
        } else if has_slot {
            quote_spanned! {vspan=>
                match #fold_arg {
                    ::rom::__private::Fold::Exact => <Self::Value as ::rom::__private::EqKey>::eq_bytes(#v),
                    ::rom::__private::Fold::CaseInsensitive => <Self::Value as ::rom::__private::EqKey>::folded_bytes(#v),
                }
            }
        } else {
            quote!({
                let _ = (#v, #fold_arg);
                ::std::vec::Vec::new()
            })
        };
        let score_fn = if numeric && c.attrs.checked_u53 {
            quote_spanned!(vspan=> ::rom::__private::score_u53(#v))
        } else if numeric {
            quote_spanned!(vspan=> <Self::Value as ::rom::__private::Scored>::score(#v))
        } else {
            quote!({
                let _ = #v;
                ::core::result::Result::Err(::std::string::String::from("no numeric index"))
            })
        };
        let text_fn = if texty {
            quote_spanned!(vspan=> ::core::option::Option::Some(<Self::Value as ::rom::__private::Text>::as_text(#v)))
        } else {
            quote!({
                let _ = #v;
                ::core::option::Option::None
            })
        };
        let mut markers = Vec::new();
        if numeric || c.attrs.eq.is_some() || c.attrs.unique.is_some() {
            markers.push(quote!(#[diagnostic::do_not_recommend] impl ::rom::__private::EqFilterable for #ident {}));
        }
        if numeric {
            markers.push(quote!(#[diagnostic::do_not_recommend] impl ::rom::__private::RangeFilterable for #ident {}));
        }
        if numeric || sort {
            markers.push(quote!(#[diagnostic::do_not_recommend] impl ::rom::__private::Sortable for #ident {}));
        }
        if text {
            markers.push(quote!(#[diagnostic::do_not_recommend] impl ::rom::__private::TextFilterable for #ident {}));
        }
        if c.attrs.prefix.is_some() || sort {
            markers.push(quote!(#[diagnostic::do_not_recommend] impl ::rom::__private::PrefixFilterable for #ident {}));
        }
        if c.attrs.suffix.is_some() {
            markers.push(quote!(#[diagnostic::do_not_recommend] impl ::rom::__private::SuffixFilterable for #ident {}));
        }
        if c.attrs.prefix.is_some() || c.attrs.suffix.is_some() || sort {
            markers.push(quote!(#[diagnostic::do_not_recommend] impl ::rom::__private::LikeFilterable for #ident {}));
        }
        // the field type, named from outside the table module so that a column
        // struct (say `uuid`) cannot shadow a path in it (say `uuid::Uuid`)
        // by position, not field name: `__rom_<Model>_<index>` is one name per
        // column of each model (a field name could contain `_<digits>`)
        let alias = format_ident!("__rom_{}_{}", name, i);
        aliases.push(quote! {
            #[doc(hidden)]
            #[allow(non_camel_case_types)]
            type #alias = #ty;
        });
        let ty_in = quote_spanned!(ty.span()=> super::#alias);
        let doc = format!("The `{sname}` column of [`{name}`](super::{name}).");
        // spanned at the field, so that "the trait `EqFilterable` is not
        // implemented for `bio`" points at the field to annotate
        let col_vis = respan(ivis.clone(), ident.span());
        let col_struct = quote_spanned!(ident.span()=> #col_vis struct #ident;);
        col_items.push(quote! {
            #[doc = #doc]
            #[allow(non_camel_case_types)]
            #[derive(::core::fmt::Debug, ::core::clone::Clone, ::core::marker::Copy, ::core::default::Default)]
            #col_struct
            impl ::rom::__private::Sealed for #ident {}
            impl ::rom::__private::Column for #ident {
                type Model = super::#name;
                type Value = <#ty_in as ::rom::__private::Field>::Inner;
                type Field = #ty_in;
                const INDEX: #t_usize = #i;
                const NAME: &'static #t_str = #sname;
                fn eq_key(#v: &Self::Value, #fold_arg: ::rom::__private::Fold) -> ::std::vec::Vec<#t_u8> { #eq_key }
                fn score(#v: &Self::Value) -> ::core::result::Result<#t_f64, ::std::string::String> { #score_fn }
                fn text(#v: &Self::Value) -> ::core::option::Option<&#t_str> { #text_fn }
            }
            #[diagnostic::do_not_recommend]
            impl ::rom::__private::BelongsTo<super::#name> for #ident {}
            #(#markers)*
        });
    }

    let together_defs = together_pos.iter().map(|(pos, ci)| {
        let f = fold(*ci);
        quote!((&[#(#pos),*], #f))
    });
    let sname = name.unraw().to_string();
    let pk_name = pk_ident.unraw().to_string();
    let (key_ty, key_get, key_set, key_read) = if auto {
        let inner = option_inner(pk_ty).unwrap_or(pk_ty);
        (
            quote!(#inner),
            quote!(self.#pk_ident),
            quote!(self.#pk_ident = ::core::option::Option::Some(#key_arg)),
            quote!(#pk_ident: ::core::option::Option::Some(#key_arg)),
        )
    } else {
        (
            quote!(#pk_ty),
            quote!(::core::option::Option::Some(::core::clone::Clone::clone(&self.#pk_ident))),
            quote!(self.#pk_ident = #key_arg),
            quote!(#pk_ident: #key_arg),
        )
    };
    let table_doc = format!(
        "The columns of [`{name}`](super::{name}), for queries: `{table}::table.filter({table}::<column>.eq(..))`."
    );
    let table_struct_doc =
        format!("The table of [`{name}`](super::{name}): the start of every query.");

    Ok(quote! {
        impl ::rom::__private::Sealed for #name {}
        impl ::rom::__private::Model for #name {
            type Key = #key_ty;
            const SCHEMA: &'static ::rom::__private::Schema = &::rom::__private::Schema {
                name: #sname,
                namespace: #ns,
                key_name: #pk_name,
                auto_key: #auto,
                columns: &[#(#defs),*],
                unique_together: &[#(#together_defs),*],
            };
            fn layout() -> &'static ::rom::__private::Layout {
                static LAYOUT: ::rom::__private::OnceLock<::rom::__private::Layout> = ::rom::__private::OnceLock::new();
                LAYOUT.get_or_init(|| ::rom::__private::Layout::new(<Self as ::rom::__private::Model>::SCHEMA))
            }
            fn key(&self) -> ::core::option::Option<Self::Key> { #key_get }
            fn set_key(&mut self, #key_arg: Self::Key) { #key_set; }
            fn cells(&self) -> ::rom::Result<::std::vec::Vec<::rom::__private::Cell>> {
                ::core::result::Result::Ok(::std::vec![#(#cells),*])
            }
            fn from_row(#key_arg: Self::Key, #row_arg: &::rom::__private::RowData) -> ::rom::Result<Self> {
                ::core::result::Result::Ok(#name { #key_read, #(#reads),* })
            }
        }

        #(#aliases)*

        #[doc = #table_doc]
        #[allow(non_camel_case_types, dead_code)]
        #vis mod #table {
            #[doc = #table_struct_doc]
            #[allow(non_camel_case_types)]
            #[derive(::core::fmt::Debug, ::core::clone::Clone, ::core::marker::Copy, ::core::default::Default)]
            #ivis struct table;
            impl ::rom::__private::Table for table { type Model = super::#name; }
            #(#col_items)*
        }
    })
}
