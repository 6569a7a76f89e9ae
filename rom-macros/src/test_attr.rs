//! `#[rom::test]`: a test function that gets a fresh redis-server and its
//! arguments made from it (see `rom_testing::TestArg`).

use proc_macro2::TokenStream as TokenStream2;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, ItemFn, Pat, Type};

/// The expansion: an outer `#[test]` function that starts the server, makes
/// each argument and calls the user's function, kept as an inner item.
pub(crate) fn expand(attr: TokenStream2, item: ItemFn) -> syn::Result<TokenStream2> {
    if !attr.is_empty() {
        return Err(syn::Error::new(
            attr.span(),
            "`#[rom::test]` takes no arguments: write `#[rom::test]`",
        ));
    }
    if !item.sig.generics.params.is_empty() {
        return Err(syn::Error::new(
            item.sig.generics.span(),
            "a `#[rom::test]` function cannot be generic",
        ));
    }
    let is_async = item.sig.asyncness.is_some();
    let name = &item.sig.ident;
    let mut args = Vec::new();
    for input in &item.sig.inputs {
        let FnArg::Typed(pt) = input else {
            return Err(syn::Error::new(
                input.span(),
                "a `#[rom::test]` function cannot take `self`",
            ));
        };
        let label = match &*pt.pat {
            Pat::Ident(p) => p.ident.to_string(),
            _ => "_".to_string(),
        };
        args.push(make_arg(&pt.ty, &label, is_async));
    }
    let outer_attrs = item.attrs.iter();
    let vis = &item.vis;
    let output = &item.sig.output;
    let mut inner = item.clone();
    inner.attrs.clear();
    inner.vis = syn::Visibility::Inherited;
    let call = if is_async {
        quote! {
            ::rom::testing::__private::block_on(async move { #name(#(#args),*).await })
        }
    } else {
        quote! { #name(#(#args),*) }
    };
    Ok(quote! {
        #[::core::prelude::v1::test]
        #(#outer_attrs)*
        #vis fn #name() #output {
            #inner
            let __rom_server = ::rom::testing::__private::start();
            let __rom_server = &__rom_server;
            #call
        }
    })
}

/// How one argument is made: `&RedisServer` is the server itself; any other
/// type goes through `TestArg` (or `AsyncTestArg` in an async test), whose
/// `on_unimplemented` names what is accepted.
fn make_arg(ty: &Type, label: &str, is_async: bool) -> TokenStream2 {
    if let Type::Reference(r) = ty
        && r.mutability.is_none()
        && is_redis_server(&r.elem)
    {
        return quote_spanned!(ty.span()=> __rom_server);
    }
    if is_async {
        quote_spanned! {ty.span()=>
            ::rom::testing::__private::arg(
                <#ty as ::rom::testing::AsyncTestArg>::from_server(__rom_server).await,
                #label,
            )
        }
    } else {
        quote_spanned! {ty.span()=>
            ::rom::testing::__private::arg(
                <#ty as ::rom::testing::TestArg>::from_server(__rom_server),
                #label,
            )
        }
    }
}

fn is_redis_server(ty: &Type) -> bool {
    matches!(ty, Type::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "RedisServer"))
}
