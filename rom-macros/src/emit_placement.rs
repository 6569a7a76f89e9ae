//! Emission of a model's placement: its layout (one tag, a group's tag, or
//! one per bucket of a partitioned model), the placement marker traits, and
//! which table trait its table implements.

use proc_macro2::TokenStream as TokenStream2;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

/// The placement code of a model.
pub(crate) struct Placement {
    /// The expression of its `Model::layout()`.
    pub(crate) layout: TokenStream2,
    /// The marker impls beside the model (`PlacedIn`, `InGroup`,
    /// `Unpartitioned` or `Partitioned`).
    pub(crate) impls: TokenStream2,
    /// The table's trait impl (in the table module).
    pub(crate) table_impl: TokenStream2,
    /// Items inside `impl Model` (a partitioned model's buckets).
    pub(crate) model_items: TokenStream2,
}

/// The placement of model `name`: in `group`, partitioned into `buckets`
/// (0: not partitioned) by its key or by column `by` (its position and
/// field), or alone; `schema` is the path of its schema.
pub(crate) fn placement(
    name: &syn::Ident,
    group: Option<&syn::Path>,
    buckets: u16,
    by: Option<(usize, &syn::Ident)>,
    schema: &TokenStream2,
) -> Placement {
    let with_structures = quote!(.with_structures(<Self as ::rom::__private::Model>::STRUCTURES));
    if buckets > 0 {
        // rows in `buckets` slots: no group, structures or queries (the
        // derive refused them); the base layout names the model's global keys
        let (by_const, by_impl) = match by {
            Some((i, col)) => (
                quote!(const PARTITION_BY: ::core::option::Option<usize> = ::core::option::Option::Some(#i);),
                quote!(impl ::rom::placement::PartitionedBy for table { type Column = #col; }),
            ),
            None => (TokenStream2::new(), TokenStream2::new()),
        };
        return Placement {
            layout: quote!(::rom::__private::Layout::new(#schema)),
            impls: quote!(impl ::rom::placement::Partitioned for #name {}),
            table_impl: quote! {
                impl ::rom::placement::PartitionedTable for table { type Model = super::#name; }
                #by_impl
            },
            model_items: quote! {
                const BUCKETS: u16 = #buckets;
                #by_const
                fn bucket_layouts() -> &'static [::rom::__private::Layout] {
                    static LAYOUTS: ::rom::__private::OnceLock<::std::vec::Vec<::rom::__private::Layout>> = ::rom::__private::OnceLock::new();
                    LAYOUTS.get_or_init(|| ::rom::__private::Layout::partitioned(#schema, #buckets))
                }
            },
        };
    }
    let (layout, placed) = match group {
        Some(g) => {
            // spanned at the attribute's path, so that a type that is not a
            // group is reported there
            let name_of = quote_spanned!(g.span()=> <#g as ::rom::placement::Group>::NAME);
            (
                quote!(::rom::__private::Layout::in_group(#schema, #name_of) #with_structures),
                quote_spanned!(g.span()=>
                    impl ::rom::placement::InGroup<#g> for #name {}
                    impl ::rom::placement::PlacedIn<#g> for #name {}
                ),
            )
        }
        None => (
            quote!(::rom::__private::Layout::new(#schema) #with_structures),
            quote!(impl ::rom::placement::PlacedIn<#name> for #name {}),
        ),
    };
    Placement {
        layout,
        impls: quote! {
            #placed
            impl ::rom::placement::Unpartitioned for #name {}
        },
        table_impl: quote!(impl ::rom::__private::Table for table { type Model = super::#name; }),
        model_items: TokenStream2::new(),
    }
}
