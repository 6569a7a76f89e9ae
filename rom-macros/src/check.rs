//! Checks of a model declaration: everything the derive can refuse with one
//! error naming the field and the fix, before any code is generated.

use crate::parse::{ColAttrs, ModelAttrs, col_attrs, model_attrs};
use crate::util::{
    is_ident_type, is_structure, last_ident_is, option_inner, plain_ident, snake_plural, type_text,
};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, Ident, Type};

pub(crate) struct Col<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) ty: &'a Type,
    pub(crate) attrs: ColAttrs,
}

/// A native structure field (`List`, `Set`, `Hash`, `SortedSet`).
pub(crate) struct StructField<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) ty: &'a Type,
    /// `#[rom(index(eq))]`: an equality index over the members.
    pub(crate) index: bool,
}

/// Checks a structure field's attributes: only `index(eq)`, exact, on a
/// `Set`.
fn structure_field<'a>(
    ident: &'a Ident,
    ty: &'a Type,
    a: &ColAttrs,
) -> syn::Result<StructField<'a>> {
    let is_set =
        matches!(ty, Type::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "Set"));
    let field = ident.unraw();
    if let Some(span) = a.primary_key {
        return Err(syn::Error::new(
            span,
            format!(
                "`{field}` is a structure and cannot be the primary key; remove `primary_key` from it and declare a key column (`id: Option<u64>`, or a `u64`, `String` or `Uuid` natural key)"
            ),
        ));
    }
    if let Some(span) = a.ci_span {
        return Err(syn::Error::new(
            span,
            format!(
                "the index of the structure `{field}` is exact (members compare as stored bytes, as Redis compares them); remove `case_insensitive`"
            ),
        ));
    }
    if a.eq.is_some() && !is_set && a.first_other.as_ref().is_some_and(|(_, w)| w == "index") {
        let at = a.first_other.as_ref().map_or(ident.span(), |(s, _)| *s);
        return Err(syn::Error::new(
            at,
            format!(
                "only a `Set` field can be indexed; remove `index(eq)` from the structure `{field}`"
            ),
        ));
    }
    let other = a.unique.is_some()
        || a.numeric
        || a.text
        || a.prefix.is_some()
        || a.suffix.is_some()
        || a.sort
        || a.default.is_some()
        || !a.rules.is_empty()
        || a.belongs_to.is_some()
        || (a.eq.is_some() && !is_set);
    if other {
        let (at, what) = a
            .first_other
            .clone()
            .unwrap_or((ident.span(), "this attribute".to_owned()));
        return Err(syn::Error::new(
            at,
            format!(
                "`{what}` does not apply to the structure field `{}`: a structure takes only `#[rom(index(eq))]`, on a `Set`",
                ident.unraw()
            ),
        ));
    }
    Ok(StructField {
        ident,
        ty,
        index: a.eq.is_some(),
    })
}

/// Primitive types that are not primary key types (for a clearer error than
/// the unmet `Key` bound).
const NOT_KEYS: &[&str] = &[
    "i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16", "u32", "u128", "usize", "f32", "f64",
    "bool", "char",
];

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

/// A model that passed every check: what emission needs.
pub(crate) struct Checked<'a> {
    pub(crate) name: &'a Ident,
    pub(crate) vis: &'a syn::Visibility,
    pub(crate) table: Ident,
    pub(crate) ns: String,
    /// The placement group's type, when the model joined one.
    pub(crate) group: Option<syn::Path>,
    pub(crate) pk_ident: &'a Ident,
    pub(crate) pk_ty: &'a Type,
    pub(crate) auto: bool,
    pub(crate) cols: Vec<Col<'a>>,
    /// The native structure fields, in declaration order.
    pub(crate) structs: Vec<StructField<'a>>,
    /// Composite unique constraints: column positions, case-insensitive.
    pub(crate) together: Vec<(Vec<usize>, bool)>,
    /// `#[rom(hooks)]`: where it was written.
    pub(crate) hooks: Option<proc_macro2::Span>,
    /// `has_many(...)`: the referencing columns.
    pub(crate) has_many: Vec<syn::Path>,
    /// `has_one(...)`: the unique referencing columns.
    pub(crate) has_one: Vec<syn::Path>,
    /// `expires`: the default time to live in milliseconds (0: none).
    pub(crate) expires: Option<u64>,
    /// `partition(..)`: the number of buckets (0 in a group: the group's),
    /// and the partition column (`None`: the key); `None`: not partitioned.
    pub(crate) partition: Option<crate::check_partition::Partition>,
}

/// Checks the derive input; the first error found, or the checked model.
pub(crate) fn model(input: &DeriveInput) -> syn::Result<Checked<'_>> {
    let name = &input.ident;
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
    let ModelAttrs {
        table,
        namespace,
        group,
        together,
        hooks,
        has_many,
        has_one,
        expires,
        partition,
    } = model_attrs(input)?;
    let table =
        table.unwrap_or_else(|| plain_ident(&snake_plural(&name.unraw().to_string()), name.span()));
    let ns = namespace
        .map(|n| n.value())
        .unwrap_or_else(|| table.unraw().to_string());

    // fields
    let mut pk: Option<(&Ident, &Type, bool)> = None;
    let mut cols: Vec<Col<'_>> = Vec::new();
    let mut structs: Vec<StructField<'_>> = Vec::new();
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
        if is_structure(&f.ty) {
            if sname == "table" || sname.starts_with("__") {
                return Err(syn::Error::new(
                    ident.span(),
                    format!(
                        "`{sname}` is reserved by rom (the table module has a `table` item); rename the field"
                    ),
                ));
            }
            structs.push(structure_field(ident, &f.ty, &attrs)?);
            continue;
        }
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
                || !attrs.rules.is_empty()
                || attrs.belongs_to.is_some()
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
        if attrs.numeric && attrs.scale.is_none() {
            let inner = option_inner(&f.ty).unwrap_or(&f.ty);
            if last_ident_is(inner, "Decimal") {
                return Err(syn::Error::new(
                    attrs.numeric_span.unwrap_or(inner.span()),
                    "a numeric index on `Decimal` needs a declared scale, the most decimal places a value may have: `#[rom(index(numeric, scale = 2))]` scores 12.34 as the exact integer 1234 (values with more places, or beyond ±2^53 once scaled, are refused at save)",
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
    let partition = match &partition {
        Some(p) => crate::check_partition::check(
            p,
            &crate::check_partition::Declared {
                name,
                pk_ident,
                auto,
                cols: &cols,
                structs: &structs,
                together: &together,
                group: group.as_ref(),
                has_relations: has_many
                    .first()
                    .or(has_one.first())
                    .map(syn::spanned::Spanned::span),
                expires: expires.is_some(),
            },
        )
        .map(Some)?,
        None => None,
    };
    Ok(Checked {
        name,
        vis: &input.vis,
        table,
        ns,
        group,
        pk_ident,
        pk_ty,
        auto,
        cols,
        structs,
        together: together_pos,
        hooks,
        has_many,
        has_one,
        expires,
        partition,
    })
}
