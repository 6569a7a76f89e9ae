//! `like`, `starts_with` and `ends_with` against an in-memory reference, on
//! random values and patterns over an awkward alphabet (multi-byte characters,
//! NUL, every pattern metacharacter), exact and case-insensitive.
mod common;
use common::*;
use proptest::prelude::*;
use std::collections::BTreeSet;

#[derive(Model, Clone, Debug)]
#[rom(table = words)]
struct Word {
    #[rom(primary_key)]
    id: Option<u64>,
    #[rom(index(prefix), index(suffix))]
    exact: String,
    #[rom(index(prefix, case_insensitive), index(suffix, case_insensitive))]
    folded: String,
    #[rom(index(prefix))]
    prefix_only: String,
}

const ALPHABET: &[char] = &[
    'a', 'b', 'A', 'É', 'é', '日', '*', '?', '\\', '-', '.', '%', '[', '^', '$', '(', ' ', '\0',
    '\u{1}',
];

#[derive(Debug, Clone)]
enum Tok {
    Lit(char),
    Star,
    One,
}

fn pattern_text(toks: &[Tok]) -> String {
    let mut s = String::new();
    for t in toks {
        match t {
            Tok::Lit(c) => {
                if matches!(c, '*' | '?' | '\\') {
                    s.push('\\');
                }
                s.push(*c);
            }
            Tok::Star => s.push('*'),
            Tok::One => s.push('?'),
        }
    }
    s
}

/// The reference: `*` any run of characters, `?` exactly one.
fn matches(toks: &[Tok], s: &[char]) -> bool {
    match toks.split_first() {
        None => s.is_empty(),
        Some((Tok::Star, rest)) => (0..=s.len()).any(|i| matches(rest, &s[i..])),
        Some((Tok::One, rest)) => !s.is_empty() && matches(rest, &s[1..]),
        Some((Tok::Lit(c), rest)) => s.first() == Some(c) && matches(rest, &s[1..]),
    }
}

fn value() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(ALPHABET), 0..7)
        .prop_map(|v| v.into_iter().collect())
}

fn tok() -> impl Strategy<Value = Tok> {
    prop_oneof![
        3 => prop::sample::select(ALPHABET).prop_map(Tok::Lit),
        1 => Just(Tok::Star),
        1 => Just(Tok::One),
    ]
}

fn fold_toks(toks: &[Tok]) -> Vec<Tok> {
    toks.iter()
        .flat_map(|t| match t {
            Tok::Lit(c) => c.to_lowercase().map(Tok::Lit).collect::<Vec<_>>(),
            other => vec![other.clone()],
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn like_prefix_and_suffix_match_the_reference(
        values in prop::collection::vec(value(), 1..25),
        patterns in prop::collection::vec(prop::collection::vec(tok(), 0..6), 1..6),
        prefixes in prop::collection::vec(value(), 1..4),
        budget in prop::option::of(1u64..8),
    ) {
        thread_local! {
            static SERVER: (RedisServer, std::cell::RefCell<redis::Connection>) = {
                let (s, c) = server();
                (s, std::cell::RefCell::new(c))
            };
        }
        SERVER.with(|(_s, c)| {
            let mut c = c.borrow_mut();
            let _: () = redis::cmd("FLUSHALL").query(&mut *c).expect("flush");
            let rows: Vec<Word> = values
                .iter()
                .map(|v| Word { id: None, exact: v.clone(), folded: v.clone(), prefix_only: v.clone() })
                .collect();
            let saved: Vec<u64> = Word::insert_all(&mut *c, rows).expect("batch")
                .into_iter()
                .map(|r| r.expect("insert").id.expect("id"))
                .collect();
            let chars: Vec<Vec<char>> = values.iter().map(|v| v.chars().collect()).collect();
            let folded: Vec<Vec<char>> = values.iter().map(|v| v.to_lowercase().chars().collect()).collect();
            let want = |f: &dyn Fn(usize) -> bool| -> BTreeSet<u64> {
                (0..values.len()).filter(|&i| f(i)).map(|i| saved[i]).collect()
            };
            // with a small budget, each query runs in steps (a row tested
            // against its entry record, a count walking the index)
            let got = |q: rom::Query<Word>, c: &mut redis::Connection| -> BTreeSet<u64> {
                let q = match budget {
                    Some(b) => q.budget(rom::query::Budget::units(b)),
                    None => q,
                };
                let ids: BTreeSet<u64> = q.clone().ids(c).expect("query").into_iter().collect();
                assert_eq!(q.count(c).expect("count"), ids.len() as u64, "count agrees with ids");
                ids
            };
            for p in &patterns {
                let text = pattern_text(p);
                let ci = fold_toks(p);
                prop_assert_eq!(got(words::table.filter(words::exact.like(&text)), &mut c), want(&|i| matches(p, &chars[i])), "exact like {:?}", text);
                prop_assert_eq!(got(words::table.filter(words::folded.like(&text)), &mut c), want(&|i| matches(&ci, &folded[i])), "folded like {:?}", text);
                prop_assert_eq!(got(words::table.filter(words::prefix_only.like(&text)), &mut c), want(&|i| matches(p, &chars[i])), "prefix-only like {:?}", text);
            }
            for pre in &prefixes {
                prop_assert_eq!(got(words::table.filter(words::exact.starts_with(pre)), &mut c), want(&|i| values[i].starts_with(pre.as_str())), "starts_with {:?}", pre);
                prop_assert_eq!(got(words::table.filter(words::exact.ends_with(pre)), &mut c), want(&|i| values[i].ends_with(pre.as_str())), "ends_with {:?}", pre);
                let lp = pre.to_lowercase();
                prop_assert_eq!(got(words::table.filter(words::folded.starts_with(pre)), &mut c), want(&|i| values[i].to_lowercase().starts_with(lp.as_str())), "folded starts_with {:?}", pre);
                prop_assert_eq!(got(words::table.filter(words::folded.ends_with(pre)), &mut c), want(&|i| values[i].to_lowercase().ends_with(lp.as_str())), "folded ends_with {:?}", pre);
            }
            Ok(())
        })?;
    }
}
