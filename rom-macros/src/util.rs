//! Small helpers shared by parsing, checks and emission.

use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::quote;
use syn::{Ident, Type};

/// `Option<T>` -> `Some(T)`.
pub(crate) fn option_inner(ty: &Type) -> Option<&Type> {
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
pub(crate) fn respan(ts: TokenStream2, span: Span) -> TokenStream2 {
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
pub(crate) fn type_text(ty: &Type) -> String {
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

pub(crate) fn is_ident_type(ty: &Type, name: &str) -> bool {
    matches!(ty, Type::Path(p) if p.qself.is_none() && p.path.is_ident(name))
}

/// The visibility of the table module's items: the model's own, seen from
/// inside the module (private becomes `pub(super)`).
pub(crate) fn inner_vis(vis: &syn::Visibility) -> TokenStream2 {
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
pub(crate) fn plain_ident(name: &str, span: Span) -> Ident {
    if syn::parse_str::<Ident>(name).is_ok() {
        Ident::new(name, span)
    } else {
        Ident::new_raw(name, span)
    }
}

/// A name for a local, parameter or helper of the generated code: the `__rom_`
/// prefix is refused for fields (so no column struct can be named so), and
/// the mixed-site span hides it from the user's tokens (a `default`
/// expression cannot see it).
pub(crate) fn internal(name: &str) -> Ident {
    Ident::new(&format!("__rom_{name}"), Span::mixed_site())
}

/// The default table name of a model: its name in snake case (by `heck`,
/// which keeps acronyms together: `HTTPLog` → `http_log`) plus `s`.
pub(crate) fn snake_plural(name: &str) -> String {
    use heck::ToSnakeCase;
    let mut s = name.to_snake_case();
    s.push('s');
    s
}

/// Whether `ty` is a plain path whose last segment is `name` (`Decimal`,
/// `rust_decimal::Decimal`).
pub(crate) fn last_ident_is(ty: &Type, name: &str) -> bool {
    matches!(ty, Type::Path(p) if p.qself.is_none()
        && p.path.segments.last().is_some_and(|s| s.ident == name && s.arguments.is_empty()))
}

/// Whether `ty` names a native structure (`List<..>`, `Set<..>`,
/// `Hash<..>`, `SortedSet<..>`, by any path): such a field is not a column.
pub(crate) fn is_structure(ty: &Type) -> bool {
    matches!(ty, Type::Path(p) if p.qself.is_none()
    && p.path.segments.last().is_some_and(|s| {
        matches!(s.arguments, syn::PathArguments::AngleBracketed(_))
            && ["List", "Set", "Hash", "SortedSet"].iter().any(|n| s.ident == n)
    }))
}
