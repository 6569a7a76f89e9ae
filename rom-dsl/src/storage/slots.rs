//! What a row holds in each slot (the value-keyed indexes of its layout), and
//! the row's record of it: the `#i` field, `<slot id>\0<len>:<value>`
//! repeated, read back by the server (`rows.lua`'s `parse_rec`) and by verify.
//! Save, query and verify all take a row's entries from here.

use crate::storage::model::{Cell, Fold, Key, Model, Slot, SlotKind, Source};
use crate::value::{lex_escape, reversed, words};

/// The values a row holds in a slot: none when a member column is null (a
/// null skips a constraint), several for the words of a text.
pub(crate) fn slot_values(cells: &[Cell], slot: &Slot) -> Vec<Vec<u8>> {
    let pick = |c: &Cell| match slot.fold {
        Fold::Exact => c.exact.clone(),
        Fold::CaseInsensitive => c.folded.clone().or_else(|| c.exact.clone()),
    };
    let text = |c: &Cell| -> Option<String> {
        let t = c.text.as_deref()?;
        Some(crate::text::key(t, slot.fold).into_owned())
    };
    let cols = &slot.columns;
    match slot.source {
        Source::Value => {
            if let [one] = cols[..] {
                return pick(&cells[one]).into_iter().collect();
            }
            // composite: length-prefixed parts, so that ("a:b", "c") and ("a", "b:c") differ
            let mut out = Vec::new();
            for &i in cols {
                let Some(v) = pick(&cells[i]) else {
                    return Vec::new();
                };
                out.extend_from_slice(v.len().to_string().as_bytes());
                out.push(b':');
                out.extend_from_slice(&v);
            }
            vec![out]
        }
        Source::Words => cells[cols[0]]
            .text
            .as_deref()
            .map(|t| words(t).into_iter().map(String::into_bytes).collect())
            .unwrap_or_default(),
        Source::Whole => text(&cells[cols[0]])
            .map(|t| lex_escape(&t))
            .into_iter()
            .collect(),
        Source::WholeReversed => text(&cells[cols[0]])
            .map(|t| lex_escape(&reversed(&t)))
            .into_iter()
            .collect(),
        Source::EachWord | Source::EachWordReversed => {
            let Some(t) = cells[cols[0]].text.as_deref() else {
                return Vec::new();
            };
            // words_by keeps each word once; reversing and escaping keep them apart
            crate::text::words_by(t, slot.fold)
                .into_iter()
                .map(|w| match slot.source {
                    Source::EachWord => lex_escape(&w),
                    _ => lex_escape(&reversed(&w)),
                })
                .collect()
        }
    }
}

/// Parses a `#i` record into (slot id, value) pairs; `None` when unreadable.
pub(crate) fn parse_record(s: &[u8]) -> Option<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < s.len() {
        let z = pos + s[pos..].iter().position(|&b| b == 0)?;
        let from = z + 1;
        let c = from + s[from..].iter().position(|&b| b == b':')?;
        let len: usize = std::str::from_utf8(&s[from..c]).ok()?.parse().ok()?;
        if s[from..c].is_empty() || !s[from..c].iter().all(u8::is_ascii_digit) {
            return None;
        }
        let end = c + 1 + len;
        if end > s.len() {
            return None;
        }
        out.push((s[pos..z].to_vec(), s[c + 1..end].to_vec()));
        pos = end;
    }
    Some(out)
}

/// The member of a lexicographic index for value `v` of row `m`.
pub(crate) fn lex_member<M: Model>(v: &[u8], m: &[u8]) -> Vec<u8> {
    let mut out = v.to_vec();
    out.extend_from_slice(&[0, 0]);
    if M::Key::NUMERIC {
        out.push(u8::try_from(m.len()).unwrap_or(u8::MAX));
    }
    out.extend_from_slice(m);
    out
}

/// The key holding the entry with value `v` of the slot with id `id` and kind
/// `kind`: `{ns}:<id>`, plus the value for a set per value (as `rows.lua`'s
/// `slotkey`).
pub(crate) fn entry_key(tag: &[u8], kind: SlotKind, id: &[u8], v: &[u8]) -> Vec<u8> {
    let mut k = [tag, b":", id].concat();
    if kind == SlotKind::Set {
        k.extend_from_slice(v);
    }
    k
}

/// The kind of a slot named by id alone, as a row's `#i` record names it
/// (`rows.lua`'s `slotkind`); `None` for an id of no known kind.
pub(crate) fn kind_of_id(id: &[u8]) -> Option<SlotKind> {
    match id.split(|&b| b == b':').next()? {
        b"uniq" => Some(SlotKind::Unique),
        b"eq" | b"text" => Some(SlotKind::Set),
        b"pre" | b"suf" | b"sort" => Some(SlotKind::Lex),
        _ => None,
    }
}
