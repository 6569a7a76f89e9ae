//! The procedural macros of rom: `#[derive(Model)]` and `#[rom::test]`.
//!
//! Use them through the `rom` crate, which documents the attributes.

#![deny(missing_docs)]

mod check;
mod check_partition;
mod emit;
mod emit_placement;
mod emit_structures;
mod parse;
mod test_attr;
mod util;

use proc_macro::TokenStream;
use proc_macro2::TokenStream as TokenStream2;
use syn::{DeriveInput, ItemFn, parse_macro_input};

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

/// `#[rom::test]`: a test with its own throwaway redis-server. Re-exported
/// as `rom::test` with rom's `testing` feature, which documents it.
#[proc_macro_attribute]
pub fn test(attr: TokenStream, item: TokenStream) -> TokenStream {
    let item = parse_macro_input!(item as ItemFn);
    match test_attr::expand(attr.into(), item) {
        Ok(ts) => ts.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

/// The expansion of `#[derive(Model)]` for a parsed input: the checked model,
/// emitted; or the first error.
fn expand(input: &DeriveInput) -> syn::Result<TokenStream2> {
    let model = check::model(input)?;
    emit::model(&model)
}

#[cfg(test)]
mod tests;
