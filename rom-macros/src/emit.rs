//! Emission: the `Model` impl and the table module of a checked model.

use crate::check::Checked;
use crate::emit_placement::{Placement, placement};
use crate::emit_structures::{StructureCode, structures};
use crate::util::{inner_vis, internal, option_inner, respan};
use proc_macro2::TokenStream as TokenStream2;
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;

/// The generated code of a checked model: its `Model` impl and its table module.
pub(crate) fn model(m: &Checked<'_>) -> syn::Result<TokenStream2> {
    let Checked {
        name,
        vis,
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
    } = m;
    let (name, vis, pk_ident, pk_ty, auto) = (*name, *vis, *pk_ident, *pk_ty, *auto);
    let ivis = inner_vis(vis);
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
    let mut checks = Vec::new();
    let mut parent_pushes = Vec::new();
    let mut relation_checks = Vec::new();
    for (i, c) in cols.iter().enumerate() {
        let ident = c.ident;
        let ty = c.ty;
        let sname = ident.unraw().to_string();
        let numeric = c.attrs.numeric;
        let text = c.attrs.text;
        let sort = c.attrs.sort;
        let texty = text || c.attrs.prefix.is_some() || c.attrs.suffix.is_some() || sort;
        // the schema entry: the fields that differ from `ColumnDef::new`
        let mut def_fields = Vec::new();
        for (field, on) in [("numeric", numeric), ("text", text), ("sort", sort)] {
            if on {
                let field = format_ident!("{}", field);
                def_fields.push(quote!(#field: true,));
            }
        }
        for (field, fold) in [
            ("eq", c.attrs.eq),
            ("unique", c.attrs.unique),
            ("prefix", c.attrs.prefix),
            ("suffix", c.attrs.suffix),
        ] {
            if fold.is_some() {
                let (field, fold) = (format_ident!("{}", field), opt_fold(fold));
                def_fields.push(quote!(#field: #fold,));
            }
        }
        defs.push(quote! {
            ::rom::__private::ColumnDef {
                nullable: <#ty as ::rom::__private::Field>::NULLABLE,
                #(#def_fields)*
                ..::rom::__private::ColumnDef::new(
                    #sname,
                    <<#ty as ::rom::__private::Field>::Inner as ::rom::__private::Value>::TYPE_NAME,
                )
            }
        });
        // the row's cell: what the column's indexes need of the value
        let mut needs = Vec::new();
        for (field, on) in [
            ("score", numeric),
            ("exact", in_slot(i, false)),
            ("folded", in_slot(i, true)),
            ("text", texty),
        ] {
            if on {
                let field = format_ident!("{}", field);
                needs.push(quote!(#field: true,));
            }
        }
        cells.push(quote! {
            <#table::#ident as ::rom::__private::Column>::cell(
                &self.#ident,
                ::rom::__private::CellNeeds { #(#needs)* ..::rom::__private::CellNeeds::NONE },
            )?
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
            let body = quote_spanned! {ci_span=>
                <Self::Value as ::rom::value::FoldsCase<Self>>::fold_key(#v, #fold_arg)
            };
            quote!(fn eq_key(#v: &Self::Value, #fold_arg: ::rom::__private::Fold) -> ::std::vec::Vec<#t_u8> { #body })
        } else if has_slot {
            let body = quote_spanned! {vspan=>
                match #fold_arg {
                    ::rom::__private::Fold::Exact => <Self::Value as ::rom::__private::EqKey>::eq_bytes(#v),
                    ::rom::__private::Fold::CaseInsensitive => <Self::Value as ::rom::__private::EqKey>::folded_bytes(#v),
                }
            };
            quote!(fn eq_key(#v: &Self::Value, #fold_arg: ::rom::__private::Fold) -> ::std::vec::Vec<#t_u8> { #body })
        } else {
            TokenStream2::new()
        };
        let score_body = if let Some((n, sspan)) = c.attrs.scale {
            quote_spanned!(sspan=> <Self::Value as ::rom::__private::Scaled<Self>>::scaled_score(#v, #n))
        } else if c.attrs.checked_u53 {
            quote_spanned!(vspan=> ::rom::__private::score_u53(#v))
        } else {
            quote_spanned!(vspan=> <Self::Value as ::rom::__private::Scored>::score(#v))
        };
        let score_fn = if numeric {
            quote!(fn score(#v: &Self::Value) -> ::core::result::Result<#t_f64, ::std::string::String> { #score_body })
        } else {
            TokenStream2::new()
        };
        let bound_fn = match c.attrs.scale {
            Some((n, sspan)) if numeric => {
                let body = quote_spanned!(sspan=> <Self::Value as ::rom::__private::Scaled<Self>>::scaled_bound(#v, #n));
                quote!(fn bound(#v: &Self::Value) -> ::core::result::Result<::rom::__private::ScoreBound, ::std::string::String> { ::core::result::Result::Ok(#body) })
            }
            _ => TokenStream2::new(),
        };
        let text_fn = if texty {
            let body = quote_spanned!(vspan=> ::core::option::Option::Some(<Self::Value as ::rom::__private::Text>::as_text(#v)));
            quote!(fn text(#v: &Self::Value) -> ::core::option::Option<&#t_str> { #body })
        } else {
            TokenStream2::new()
        };
        let (rule_checks, counter_fn) = rules(c, &sname, &v);
        checks.extend(rule_checks);
        let alias = format_ident!("__rom_{}_{}", name, i);
        let parent_alias = format_ident!("__rom_{}_{}_parent", name, i);
        let (reference_impl, parent_push, relation_check) = relation(
            c,
            name,
            table,
            group.as_ref(),
            partition.is_some(),
            &v,
            &parent_alias,
        )?;
        if let Some(b) = &c.attrs.belongs_to {
            let parent = &b.parent;
            aliases.push(quote! {
                #[doc(hidden)]
                #[allow(non_camel_case_types)]
                type #parent_alias = #parent;
            });
            if let (("SetDefault", _), Some(expr)) = (b.on_delete, &c.attrs.default) {
                let default_fn = format_ident!("{}_default", parent_alias);
                aliases.push(quote! {
                    #[doc(hidden)]
                    #[allow(non_snake_case)]
                    fn #default_fn() -> ::core::option::Option<::std::vec::Vec<::core::primitive::u8>> {
                        let #v: #ty = ::core::convert::Into::into(#expr);
                        ::rom::__private::Field::to_stored(&#v)
                    }
                });
            }
        }
        parent_pushes.extend(parent_push);
        relation_checks.extend(relation_check);
        let mut markers = Vec::new();
        if numeric || c.attrs.eq.is_some() || c.attrs.unique.is_some() {
            markers.push(quote!(#[diagnostic::do_not_recommend] impl ::rom::__private::EqFilterable for #ident {}));
        }
        if c.attrs.unique.is_some() {
            markers.push(
                quote!(#[diagnostic::do_not_recommend] impl ::rom::__private::Unique for #ident {}),
            );
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
                #eq_key
                #score_fn
                #bound_fn
                #text_fn
                #counter_fn
            }
            #[diagnostic::do_not_recommend]
            impl ::rom::__private::BelongsTo<super::#name> for #ident {}
            #reference_impl
            #(#markers)*
        });
    }

    let validate_fn = if checks.is_empty() {
        TokenStream2::new()
    } else {
        quote! {
            fn validate(&self) -> ::rom::Result<()> {
                #(#checks)*
                ::core::result::Result::Ok(())
            }
        }
    };
    // with `#[rom(hooks)]`, the model's `Hooks` impl is called (spanned at
    // the attribute: a missing impl is reported there)
    let hooks_fns = match hooks {
        Some(span) => quote_spanned! {*span=>
            fn hooks() -> ::rom::__private::HookTable<Self> {
                ::rom::__private::HookTable::of()
            }
        },
        None => TokenStream2::new(),
    };
    let parents_fn = if parent_pushes.is_empty() {
        TokenStream2::new()
    } else {
        quote! {
            fn parents(&self) -> ::std::vec::Vec<::rom::__private::ParentRef> {
                let mut out = ::std::vec::Vec::new();
                #(#parent_pushes)*
                out
            }
        }
    };
    // a has_one column is a has_many column that is also unique
    for p in has_one {
        relation_checks.push(quote_spanned!(p.span()=> ::rom::__private::check_has_one::<#p>();));
    }
    let (expires_const, expiring_impl) = match expires {
        Some(ms) => (
            quote!(const EXPIRES: ::core::option::Option<u64> = ::core::option::Option::Some(#ms);),
            quote!(impl ::rom::__private::Expiring for #name {}),
        ),
        None => (TokenStream2::new(), TokenStream2::new()),
    };
    let (children_fn, has_child) = if has_many.is_empty() && has_one.is_empty() {
        (TokenStream2::new(), TokenStream2::new())
    } else {
        let listed = || has_many.iter().chain(has_one.iter());
        let rels = listed()
            .map(|p| quote_spanned!(p.span()=> ::rom::__private::ChildRel::of::<Self, #p>()));
        let impls = listed().map(|p| quote!(impl ::rom::__private::HasChild<#p> for #name {}));
        (
            quote! {
                fn children() -> ::std::vec::Vec<::rom::__private::ChildRel> {
                    ::std::vec![#(#rels),*]
                }
            },
            quote!(#(#impls)*),
        )
    };
    let relation_checks = if relation_checks.is_empty() {
        TokenStream2::new()
    } else {
        quote! {
            const _: () = {
                #[allow(dead_code)]
                fn relation_checks() { #(#relation_checks)* }
            };
        }
    };
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

    let schema = quote!(<Self as ::rom::__private::Model>::SCHEMA);
    let StructureCode {
        items: structures_items,
        reads: struct_reads,
        cols: struct_cols,
        aliases: struct_aliases,
    } = structures(name, &ivis, structs, &key_arg, &row_arg);
    let Placement {
        layout,
        impls: in_group,
        table_impl,
        model_items: partition_items,
    } = placement(
        name,
        group.as_ref(),
        partition
            .as_ref()
            .map(|p| (p.buckets, p.by.map(|i| (i, cols[i].ident)))),
        &schema,
    );
    Ok(quote! {
        #in_group
        #has_child
        #relation_checks
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
                LAYOUT.get_or_init(|| #layout)
            }
            fn key(&self) -> ::core::option::Option<Self::Key> { #key_get }
            fn set_key(&mut self, #key_arg: Self::Key) { #key_set; }
            fn cells(&self) -> ::rom::Result<::std::vec::Vec<::rom::__private::Cell>> {
                ::core::result::Result::Ok(::std::vec![#(#cells),*])
            }
            fn from_row(#key_arg: Self::Key, #row_arg: &::rom::__private::RowData) -> ::rom::Result<Self> {
                ::core::result::Result::Ok(#name { #(#struct_reads,)* #key_read, #(#reads),* })
            }
            #structures_items
            #validate_fn
            #hooks_fns
            #parents_fn
            #children_fn
            #expires_const
            #partition_items
        }
        #expiring_impl

        #(#aliases)*
        #(#struct_aliases)*

        #[doc = #table_doc]
        #[allow(non_camel_case_types, dead_code)]
        #vis mod #table {
            #[doc = #table_struct_doc]
            #[allow(non_camel_case_types)]
            #[derive(::core::fmt::Debug, ::core::clone::Clone, ::core::marker::Copy, ::core::default::Default)]
            #ivis struct table;
            #table_impl
            #(#col_items)*
            #(#struct_cols)*
        }
    })
}

/// The checks of a column's validation rules (statements of
/// `Model::validate`, each run on a present value) and, when it has rules,
/// the `counter_rules` of its `Column` impl.
fn rules(
    c: &crate::check::Col<'_>,
    sname: &str,
    v: &syn::Ident,
) -> (Vec<TokenStream2>, TokenStream2) {
    use crate::parse::RuleKind;
    let ident = c.ident;
    let mut checks = Vec::new();
    let none = quote!(::core::option::Option::None);
    let (mut min, mut max, mut unchecked) = (none.clone(), none.clone(), None);
    let some = |e: &Option<syn::Expr>| match e {
        Some(e) => quote!(::core::option::Option::Some(#e)),
        None => quote!(::core::option::Option::None),
    };
    let opt_usize = |n: &Option<usize>| match n {
        Some(n) => quote!(::core::option::Option::Some(#n)),
        None => quote!(::core::option::Option::None),
    };
    for rule in &c.attrs.rules {
        let text = &rule.text;
        // spanned at the rule, so that a rule the type cannot take is
        // reported there
        let call = match &rule.kind {
            RuleKind::Length(lo, hi) => {
                let (lo, hi) = (opt_usize(lo), opt_usize(hi));
                unchecked.get_or_insert(text.clone());
                quote_spanned!(rule.span=> ::rom::__private::rules::length::<Self, _>(#sname, #text, #v, #lo, #hi))
            }
            RuleKind::Range(bounds) => {
                let (lo, hi) = &**bounds;
                let (slo, shi) = (some(lo), some(hi));
                if let Some(e) = lo {
                    min = quote!(::rom::__private::rules::as_i64::<Self::Value>(#e));
                }
                if let Some(e) = hi {
                    max = quote!(::rom::__private::rules::as_i64::<Self::Value>(#e));
                }
                quote_spanned!(rule.span=> ::rom::__private::rules::range::<Self, _>(#sname, #text, #v, #slo, #shi))
            }
            RuleKind::Pattern(lit) => {
                unchecked.get_or_insert(text.clone());
                quote_spanned! {rule.span=> {
                    static PATTERN: ::rom::__private::rules::Pattern = ::rom::__private::OnceLock::new();
                    ::rom::__private::rules::pattern::<Self, _>(#sname, #text, #v, &PATTERN, #lit)
                }}
            }
            RuleKind::Custom(path) => {
                unchecked.get_or_insert(text.clone());
                quote_spanned!(rule.span=> ::rom::__private::rules::custom::<Self, _>(#sname, #text, #path(#v)))
            }
        };
        checks.push(quote! {
            if let ::core::option::Option::Some(#v) = ::rom::__private::Field::inner(&self.#ident) {
                #call?;
            }
        });
    }
    if c.attrs.rules.is_empty() {
        return (checks, TokenStream2::new());
    }
    let unchecked = match unchecked {
        Some(t) => quote!(::core::option::Option::Some(#t)),
        None => none,
    };
    let counter = quote! {
        fn counter_rules() -> ::rom::__private::CounterRules {
            ::rom::__private::CounterRules { min: #min, max: #max, unchecked: #unchecked }
        }
    };
    (checks, counter)
}

/// A `belongs_to` column's `Reference` impl (in the table module), its push
/// into `Model::parents`, and the compile-time checks of its rule.
fn relation(
    c: &crate::check::Col<'_>,
    model: &syn::Ident,
    table: &syn::Ident,
    group: Option<&syn::Path>,
    partitioned: bool,
    v: &syn::Ident,
    parent_alias: &syn::Ident,
) -> syn::Result<(TokenStream2, Option<TokenStream2>, Option<TokenStream2>)> {
    let Some(b) = &c.attrs.belongs_to else {
        return Ok((TokenStream2::new(), None, None));
    };
    let (parent, ident, ty) = (&b.parent, c.ident, c.ty);
    // inside the table module, the parent and the field type by their
    // aliases (a path written in the model's module may not resolve there)
    let parent_in = quote_spanned!(parent.span()=> super::#parent_alias);
    let (rule, rule_span) = b.on_delete;
    let variant = format_ident!("{}", rule);
    let default_fn = match rule {
        "SetNull" if option_inner(ty).is_none() => {
            return Err(syn::Error::new(
                rule_span,
                "`on_delete = set_null` needs a nullable column: make the field an `Option`",
            ));
        }
        "SetDefault" => {
            if c.attrs.default.is_none() {
                return Err(syn::Error::new(
                    rule_span,
                    "`on_delete = set_default` needs the column's default: add `default = ...`",
                ));
            }
            // the default is evaluated in the model's module (see `aliases`)
            let default_fn = format_ident!("{}_default", parent_alias);
            quote! {
                fn default_stored() -> ::core::option::Option<::std::vec::Vec<::core::primitive::u8>> {
                    super::#default_fn()
                }
            }
        }
        _ => TokenStream2::new(),
    };
    let member = quote_spanned!(b.span=> ::rom::__private::member_of::<#parent_in, _>(#v));
    let reference = quote! {
        impl ::rom::__private::Reference for #ident {
            type Parent = #parent_in;
            const ON_DELETE: ::rom::__private::OnDelete = ::rom::__private::OnDelete::#variant;
            fn parent_member(#v: &Self::Value) -> ::std::vec::Vec<::core::primitive::u8> { #member }
            #default_fn
        }
    };
    let push = quote! {
        if let ::core::option::Option::Some(#v) = ::rom::__private::Field::inner(&self.#ident) {
            out.push(::rom::__private::ParentRef::of::<#table::#ident>(#v));
        }
    };
    // a partitioned parent's rows are in many slots: a reference to one
    // only from a model of its partitioned group (partitioned by the
    // reference, so the parent is in the row's bucket: the derive checked)
    let unpartitioned = match (partitioned, group) {
        (true, Some(g)) => quote_spanned!(parent.span()=>
            ::rom::__private::check_colocated::<#parent, #g>();),
        _ => quote_spanned!(parent.span()=>
            ::rom::__private::check_unpartitioned_parent::<#parent>();),
    };
    let check = if rule == "NoAction" {
        unpartitioned
    } else {
        let placement = match group {
            Some(g) => quote!(#g),
            None => quote!(#model),
        };
        quote_spanned! {rule_span=>
            #unpartitioned
            ::rom::__private::check_colocated::<#parent, #placement>();
            ::rom::__private::check_listed::<#parent, #table::#ident>();
        }
    };
    Ok((reference, Some(push), Some(check)))
}
