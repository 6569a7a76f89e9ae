//! Text rules.
//! Public as `rom_dsl::text` (`src/text.rs`).

use std::borrow::Cow;
use std::collections::HashSet;
use std::hash::Hash;

use icu_casemap::CaseMapper;
use icu_normalizer::{ComposingNormalizerBorrowed, DecomposingNormalizerBorrowed};
use unicode_segmentation::UnicodeSegmentation;

pub use crate::storage::model::Fold;

/// The key of a text in an exact index: its canonical composition (NFC).
/// Borrows when the text already is in NFC (ASCII always is).
///
/// ```
/// use rom_dsl::text::exact;
/// assert_eq!(exact("jose\u{301}"), "jos\u{e9}");
/// assert_eq!(exact("Straße"), "Straße"); // case is kept
/// assert_eq!(exact("ﬁ"), "ﬁ"); // compatibility forms are kept
/// ```
pub fn exact(s: &str) -> Cow<'_, str> {
    if s.is_ascii() {
        return Cow::Borrowed(s);
    }
    ComposingNormalizerBorrowed::new_nfc().normalize(s)
}

/// The key of a text in a case-insensitive index: `NFC(casefold(NFD(s)))`,
/// with full Unicode case folding and no language-specific rule.
///
/// ```
/// use rom_dsl::text::fold;
/// assert_eq!(fold("STRAßE"), "strasse");
/// assert_eq!(fold("ΟΔΥΣΣΕΥΣ"), fold("οδυσσευς")); // final sigma
/// assert_eq!(fold("JOSE\u{301}"), "jos\u{e9}");
/// assert_eq!(fold("İ"), "i\u{307}"); // Turkish dotted capital I
/// assert_ne!(fold("ı"), fold("I")); // dotless i is its own letter
/// ```
pub fn fold(s: &str) -> String {
    if s.is_ascii() {
        return s.to_ascii_lowercase();
    }
    let nfd = DecomposingNormalizerBorrowed::new_nfd().normalize(s);
    let folded = CaseMapper::new().fold_string(&nfd);
    ComposingNormalizerBorrowed::new_nfc()
        .normalize(&folded)
        .into_owned()
}

/// The key of a text under `how`: [`exact`] or [`fold`].
///
/// ```
/// use rom_dsl::text::Fold;
/// use rom_dsl::text::key;
/// assert_eq!(key("Straße", Fold::Exact), "Straße");
/// assert_eq!(key("Straße", Fold::CaseInsensitive), "strasse");
/// ```
pub fn key(s: &str, how: Fold) -> Cow<'_, str> {
    match how {
        Fold::Exact => exact(s),
        Fold::CaseInsensitive => Cow::Owned(fold(s)),
    }
}

/// The words of a text as a full-text index holds them: the UAX #29 words of
/// its NFC form, case-folded, each kept once in order of first appearance.
///
/// ```
/// use rom_dsl::text::words;
/// assert_eq!(words("Hello, WORLD! hello-Ünïcode 42"), ["hello", "world", "ünïcode", "42"]);
/// assert_eq!(words("Don't stop"), ["don't", "stop"]);
/// assert_eq!(words("STRAßE strasse"), ["strasse"]);
/// ```
pub fn words(text: &str) -> Vec<String> {
    words_by(text, Fold::CaseInsensitive)
}

/// The words of a text keyed under `how` (a per-word prefix or suffix index
/// can be exact): like [`words`], but each word goes through [`key`].
///
/// ```
/// use rom_dsl::text::Fold;
/// use rom_dsl::text::words_by;
/// assert_eq!(words_by("Ab ab AB", Fold::Exact), ["Ab", "ab", "AB"]);
/// assert_eq!(words_by("Ab ab AB", Fold::CaseInsensitive), ["ab"]);
/// ```
pub fn words_by(text: &str, how: Fold) -> Vec<String> {
    let nfc = exact(text);
    dedup(nfc.unicode_words().map(|w| key(w, how).into_owned()))
}

/// Keeps the first of every run of equal items, in their order, in linear
/// time (a hash set of what was seen).
///
/// ```
/// assert_eq!(rom_dsl::text::dedup(["b", "a", "b", "c", "a"]), ["b", "a", "c"]);
/// ```
pub fn dedup<T: Eq + Hash>(items: impl IntoIterator<Item = T>) -> Vec<T> {
    let all: Vec<T> = items.into_iter().collect();
    let keep: Vec<bool> = {
        let mut seen = HashSet::with_capacity(all.len());
        all.iter().map(|x| seen.insert(x)).collect()
    };
    all.into_iter()
        .zip(keep)
        .filter_map(|(x, k)| k.then_some(x))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sharp_s_folds_to_ss() {
        for s in ["STRAßE", "Straße", "STRASSE", "strasse", "STRAẞE"] {
            assert_eq!(fold(s), "strasse", "{s}");
        }
        // an exact key keeps the letter
        assert_ne!(exact("Straße"), exact("Strasse"));
    }

    #[test]
    fn canonical_equivalents_share_every_key() {
        let (nfc, nfd) = ("jos\u{e9}", "jose\u{301}");
        assert_ne!(nfc, nfd);
        assert_eq!(exact(nfc), exact(nfd));
        assert_eq!(fold(nfc), fold(nfd));
        assert_eq!(fold("JOSE\u{301}"), fold(nfc));
        assert_eq!(words(nfd), [nfc]);
        // combining marks in either order are one text (canonical ordering)
        let (a, b) = ("q\u{307}\u{323}", "q\u{323}\u{307}");
        assert_eq!(exact(a), exact(b));
        assert_eq!(fold(a), fold(b));
    }

    #[test]
    fn folding_normalises_around_case_changes() {
        // U+1FB3 (alpha with ypogegrammeni) folds to alpha + iota, and so
        // does its decomposed form with the combining ypogegrammeni
        assert_eq!(fold("\u{1fb3}"), "\u{3b1}\u{3b9}");
        assert_eq!(fold("\u{3b1}\u{345}"), "\u{3b1}\u{3b9}");
        // Angstrom sign, A with ring, and A + combining ring are one letter
        assert_eq!(fold("\u{212b}"), fold("\u{e5}"));
        assert_eq!(fold("A\u{30a}"), "\u{e5}");
        // Kelvin sign
        assert_eq!(fold("\u{212a}"), "k");
    }

    #[test]
    fn greek_sigma_and_turkish_i() {
        assert_eq!(fold("ΟΔΥΣΣΕΥΣ"), fold("οδυσσευς"));
        assert_eq!(fold("σίσυφος"), fold("ΣΊΣΥΦΟΣ"));
        assert_eq!(fold("KIZ"), "kiz");
        assert_ne!(fold("KIZ"), fold("kız"));
        assert_eq!(fold("İSTANBUL"), "i\u{307}stanbul");
        assert_ne!(fold("İSTANBUL"), fold("istanbul"));
    }

    #[test]
    fn compatibility_forms_stay_distinct() {
        assert_ne!(exact("ﬁ"), exact("fi"));
        assert_ne!(fold("Ａ"), fold("a"));
        assert_ne!(exact("²"), exact("2"));
    }

    #[test]
    fn words_follow_uax29() {
        assert_eq!(words("Don't stop"), ["don't", "stop"]);
        assert!(!words("Don't stop").contains(&"don".to_string()));
        assert_eq!(
            words("pi is 3.14, e-mail me"),
            ["pi", "is", "3.14", "e", "mail", "me"]
        );
        assert_eq!(words("  ,;!? 🎉 "), Vec::<String>::new());
        assert_eq!(words(""), Vec::<String>::new());
        assert_eq!(words("Grüße GRÜSSE grüsse"), ["grüsse"]);
        assert_eq!(words("Jose\u{301} jos\u{e9}"), ["jos\u{e9}"]);
        assert_eq!(words("snake_case d'été"), ["snake_case", "d'été"]);
    }

    #[test]
    fn keys_are_stable_under_themselves() {
        for s in [
            "STRAßE",
            "jose\u{301}",
            "ΣΊΣΥΦΟΣ",
            "İı",
            "ﬁ",
            "abc",
            "\u{1fb3}",
        ] {
            let f = fold(s);
            assert_eq!(fold(&f), f, "{s}");
            assert_eq!(exact(&f), f, "{s}");
            let e = exact(s).into_owned();
            assert_eq!(exact(&e), e, "{s}");
        }
    }

    #[test]
    fn dedup_keeps_first_appearance_and_is_linear() {
        assert_eq!(dedup(Vec::<u8>::new()), Vec::<u8>::new());
        assert_eq!(dedup([3, 1, 3, 2, 1]), [3, 1, 2]);
        let many: Vec<String> = (0..200_000).map(|i| format!("w{}", i % 150_000)).collect();
        let d = dedup(many);
        assert_eq!(d.len(), 150_000);
        assert_eq!(d[149_999], "w149999");
    }
}
