//! `like`, `starts_with` and `ends_with` patterns as lexicographic ranges
//! and globs (the glob's encoding is the one `glob.lua` parses).

use super::filter::{Node, fold_for, lex_slot};
use crate::index::Column;
use crate::storage::model::Slot;
use crate::value::{lex_escape, reversed};
/// A piece of a `like` pattern.
#[derive(Debug, Clone, PartialEq)]
enum Glob {
    Lit(String),
    Any,
    One,
}

/// Parses a `like` pattern: `*` any run, `?` one character, `\` escapes the
/// next character; everything else matches itself.
fn parse_glob(p: &str) -> Vec<Glob> {
    let mut out: Vec<Glob> = Vec::new();
    let mut chars = p.chars();
    let push_lit = |out: &mut Vec<Glob>, c: char| match out.last_mut() {
        Some(Glob::Lit(s)) => s.push(c),
        _ => out.push(Glob::Lit(c.to_string())),
    };
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(n) => push_lit(&mut out, n),
                None => push_lit(&mut out, '\\'),
            },
            '*' => {
                if out.last() != Some(&Glob::Any) {
                    out.push(Glob::Any);
                }
            }
            '?' => out.push(Glob::One),
            c => push_lit(&mut out, c),
        }
    }
    out
}

/// The glob as the query script reads it: `G`, then `*`, `?`, or
/// `L<len>:<bytes>` per piece, literals lex-escaped like index values.
fn encode_glob(g: &[Glob]) -> Vec<u8> {
    // a leading G tells a pattern (even an empty one) from no pattern
    let mut out = vec![b'G'];
    for piece in g {
        match piece {
            Glob::Any => out.push(b'*'),
            Glob::One => out.push(b'?'),
            Glob::Lit(s) => {
                let e = lex_escape(s);
                out.extend_from_slice(format!("L{}:", e.len()).as_bytes());
                out.extend_from_slice(&e);
            }
        }
    }
    out
}

/// A lex range over values starting with `prefix` (all values when empty).
pub(crate) fn prefix_range(prefix: &str) -> (Vec<u8>, Vec<u8>) {
    if prefix.is_empty() {
        return (b"-".to_vec(), b"+".to_vec());
    }
    let e = lex_escape(prefix);
    // UTF-8 never has a 0xFF byte, so every value starting with the prefix sorts
    // before prefix + 0xFF
    (
        [b"[", &e[..]].concat(),
        [b"(", &e[..], &[0xff][..]].concat(),
    )
}

pub(crate) fn like_node<C: Column>(pattern: &str) -> Node {
    let (pre, suf) = (lex_slot::<C>(false), lex_slot::<C>(true));
    // wildcards are syntax: only the literal pieces are keyed like the index
    let glob_of = |slot: &Slot| -> Vec<Glob> {
        parse_glob(pattern)
            .into_iter()
            .map(|g| match g {
                Glob::Lit(s) => Glob::Lit(fold_for(slot, &s)),
                other => other,
            })
            .collect()
    };
    match (pre, suf) {
        (Some(p), s) => {
            let g = glob_of(p);
            // a leading wildcard with a literal end is answered by the suffix index
            if let (Some(s), Some(Glob::Any | Glob::One), Some(Glob::Lit(_))) =
                (s, g.first(), g.last())
            {
                return suffix_like(s, glob_of(s));
            }
            let lit = match g.first() {
                Some(Glob::Lit(l)) => l.clone(),
                _ => String::new(),
            };
            let (lo, hi) = prefix_range(&lit);
            Node::Lex(p.key.clone(), lo, hi, encode_glob(&g))
        }
        (None, Some(s)) => suffix_like(s, glob_of(s)),
        (None, None) => Node::Invalid(C::NAME.into(), "no prefix or suffix index".into()),
    }
}

fn suffix_like(slot: &Slot, g: Vec<Glob>) -> Node {
    // the suffix index holds reversed text: reverse the pattern too
    let rev: Vec<Glob> = g
        .into_iter()
        .rev()
        .map(|p| match p {
            Glob::Lit(s) => Glob::Lit(reversed(&s)),
            other => other,
        })
        .collect();
    let lit = match rev.first() {
        Some(Glob::Lit(l)) => l.clone(),
        _ => String::new(),
    };
    let (lo, hi) = prefix_range(&lit);
    Node::Lex(slot.key.clone(), lo, hi, encode_glob(&rev))
}
