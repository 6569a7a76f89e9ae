//! Emission of a model's native structure fields (`List`, `Set`, `Hash`,
//! `SortedSet`): their part of the `Model` impl and of the table module.

use crate::util::respan;
use proc_macro2::TokenStream as TokenStream2;
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;

/// The structure fields' part of the `Model` impl (`STRUCTURES`,
/// `structures`, `structures_mut`), their reads in `from_row` (a handle on
/// the row's key), their table items (`contains` on an indexed set), and the
/// aliases of their types (declared beside the model, so that a table item
/// cannot shadow a path in a field's type).
pub(crate) struct StructureCode {
    pub(crate) items: TokenStream2,
    pub(crate) reads: Vec<TokenStream2>,
    pub(crate) cols: Vec<TokenStream2>,
    pub(crate) aliases: Vec<TokenStream2>,
}

pub(crate) fn structures(
    name: &syn::Ident,
    ivis: &TokenStream2,
    structs: &[crate::check::StructField<'_>],
    key_arg: &syn::Ident,
    row_arg: &syn::Ident,
) -> StructureCode {
    let mut out = StructureCode {
        items: TokenStream2::new(),
        reads: Vec::new(),
        cols: Vec::new(),
        aliases: Vec::new(),
    };
    if structs.is_empty() {
        return out;
    }
    let mut defs = Vec::new();
    for (i, s) in structs.iter().enumerate() {
        let (ident, ty, index) = (s.ident, s.ty, s.index);
        let sname = ident.unraw().to_string();
        let alias = format_ident!("__rom_{}_st{}", name, i);
        let st = quote_spanned!(ty.span()=> <#ty as ::rom::__private::Structure>);
        defs.push(
            quote!(::rom::__private::StructureDef { name: #sname, kind: #st::KIND, index: #index }),
        );
        out.reads.push(
            quote!(#ident: #st::attached(::rom::__private::home::<Self>(&#key_arg, #i, #row_arg))),
        );
        out.aliases.push(quote! {
            #[doc(hidden)]
            #[allow(non_camel_case_types)]
            type #alias = #ty;
        });
        let doc = format!("The `{sname}` structure of [`{name}`](super::{name}).");
        let col_vis = respan(ivis.clone(), ident.span());
        let indexed = index.then(|| quote!(impl ::rom::__private::IndexedStructure for #ident {}));
        // spanned at the field, so that "`IndexedStructure` is not
        // implemented for `tags`" points at the field to annotate
        let col_struct = quote_spanned!(ident.span()=> #col_vis struct #ident;);
        out.cols.push(quote! {
            #[doc = #doc]
            #[allow(non_camel_case_types)]
            #[derive(::core::fmt::Debug, ::core::clone::Clone, ::core::marker::Copy, ::core::default::Default)]
            #col_struct
            impl ::rom::__private::Sealed for #ident {}
            impl ::rom::__private::StructureColumn for #ident {
                type Model = super::#name;
                type Elem = <super::#alias as ::rom::__private::Structure>::Elem;
                const INDEX: ::core::primitive::usize = #i;
            }
            #indexed
        });
    }
    let idents: Vec<_> = structs.iter().map(|s| s.ident).collect();
    out.items = quote! {
        const STRUCTURES: &'static [::rom::__private::StructureDef] = &[#(#defs),*];
        fn structures(&self) -> ::std::vec::Vec<&dyn ::rom::__private::AnyStructure> {
            ::std::vec![#(&self.#idents),*]
        }
        fn structures_mut(&mut self) -> ::std::vec::Vec<&mut dyn ::rom::__private::AnyStructure> {
            ::std::vec![#(&mut self.#idents),*]
        }
    };
    out
}
