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

/// The placement of model `name`: in `group` or alone, partitioned into
/// `buckets` (0 in a group: the group's) by its key or by column `by` (its
/// position and field), or not; `schema` is the path of its schema.
pub(crate) fn placement(
    name: &syn::Ident,
    group: Option<&syn::Path>,
    partition: Option<(u16, Option<(usize, &syn::Ident)>)>,
    schema: &TokenStream2,
) -> Placement {
    let with_structures = quote!(.with_structures(<Self as ::rom::__private::Model>::STRUCTURES));
    // spanned at the attribute's path, so that a type that is not a group
    // is reported there
    let group_items = group.map(|g| {
        (
            quote_spanned!(g.span()=> <#g as ::rom::placement::Group>::NAME),
            quote_spanned!(g.span()=> <#g as ::rom::placement::Group>::BUCKETS),
            quote_spanned!(g.span()=>
                impl ::rom::placement::InGroup<#g> for #name {}
                impl ::rom::placement::PlacedIn<#g> for #name {}
            ),
        )
    });
    if let Some((buckets, by)) = partition {
        // rows in many slots: no structures or relations (the derive
        // refused them); the base layout names the model's global keys
        let (by_const, by_impl) = match by {
            Some((i, col)) => (
                quote!(const PARTITION_BY: ::core::option::Option<usize> = ::core::option::Option::Some(#i);),
                quote!(impl ::rom::placement::PartitionedBy for table { type Column = #col; }),
            ),
            None => (TokenStream2::new(), TokenStream2::new()),
        };
        let (layout, n, base, placed) = match &group_items {
            Some((name_of, n, placed)) => (
                quote!(::rom::__private::Layout::in_group(#schema, #name_of)),
                n.clone(),
                quote!(::core::option::Option::Some(#name_of)),
                quote! {
                    #placed
                    const _: () = ::core::assert!(
                        #n > 0,
                        "a model declared `partition(by = ...)` in a group needs a partitioned group: `rom::group!(pub G = \"name\", partitions = N)`"
                    );
                },
            ),
            None => (
                quote!(::rom::__private::Layout::new(#schema)),
                quote!(#buckets),
                quote!(::core::option::Option::None),
                TokenStream2::new(),
            ),
        };
        return Placement {
            layout,
            impls: quote! {
                impl ::rom::placement::Partitioned for #name {}
                #placed
            },
            table_impl: quote! {
                impl ::rom::placement::PartitionedTable for table { type Model = super::#name; }
                #by_impl
            },
            model_items: quote! {
                const BUCKETS: u16 = #n;
                #by_const
                fn bucket_layouts() -> &'static [::rom::__private::Layout] {
                    static LAYOUTS: ::rom::__private::OnceLock<::std::vec::Vec<::rom::__private::Layout>> = ::rom::__private::OnceLock::new();
                    LAYOUTS.get_or_init(|| ::rom::__private::Layout::partitioned_in(#schema, #base, #n))
                }
            },
        };
    }
    let (layout, placed) = match group_items {
        Some((name_of, n, placed)) => (
            quote!(::rom::__private::Layout::in_group(#schema, #name_of) #with_structures),
            quote! {
                #placed
                const _: () = ::core::assert!(
                    #n == 0,
                    "this model's group is partitioned: declare `partition(by = column)` on it (the column whose value picks its rows' partition)"
                );
            },
        ),
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
