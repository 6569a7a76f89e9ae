//! Every rule rom applies to text before it becomes an index key, in one
//! place: normalisation, case folding, word splitting and de-duplication.
//!
//! The rules follow the Unicode Standard, through maintained implementations
//! of it: [`icu_normalizer`] and [`icu_casemap`] (ICU4X, from the Unicode
//! Consortium) and [`unicode_segmentation`]. All three carry Unicode 17 data.
//!
//! | index | key of a text `s` |
//! |---|---|
//! | exact (`unique`, `index(eq)`, `index(prefix)`, `index(suffix)`, `index(sort)`) | [`exact`]: `NFC(s)` |
//! | case-insensitive (`unique(case_insensitive)`, `index(eq, case_insensitive)`, ...) | [`fold`]: `NFC(casefold(NFD(s)))` |
//! | full text (`index(text)`) | [`words`]: the UAX #29 words of `NFC(s)`, each folded, each once |
//!
//! - **Canonically equivalent texts are the same text.** `"jos\u{e9}"`
//!   (é as one character, NFC) and `"jose\u{301}"` (e and a combining
//!   accent, NFD) look the same and have the same key, in every index, exact
//!   or not. Compatibility forms stay distinct: `"ﬁ"` (a ligature) and
//!   `"fi"` differ in an exact index, and full-width `"Ａ"` differs from `"A"`
//!   in every index.
//! - **Case-insensitive means full Unicode case folding** (the `C` and `F`
//!   mappings of `CaseFolding.txt`), without language-specific rules: `ß` and
//!   `ẞ` fold to `ss`, so `STRAßE`, `Straße` and `strasse` are one key; `Σ`,
//!   `σ` and final `ς` are one letter; `I` folds to `i`, Turkish `İ` to
//!   `i̇` (an `i` and a combining dot above), and dotless `ı` stays itself.
//!   This is the Unicode *canonical caseless match*: two texts share a key
//!   exactly when `NFD(casefold(NFD(a))) == NFD(casefold(NFD(b)))`; the key
//!   is stored in NFC, the shorter form.
//! - **Words** are the words of Unicode Standard Annex #29 that contain a
//!   letter or a digit: `"Don't stop"` has the words `don't` and `stop`
//!   (not `don` and `t`), `"3.14"` is one word, `"e-mail"` is two, and
//!   punctuation, spaces and emoji are not words. Each word is folded as
//!   above and kept once, in order of first appearance, in linear time.
//! - **Prefixes, suffixes and patterns** go through the same rule as the
//!   stored values: a prefix index holds `exact(s)` or `fold(s)`, a suffix
//!   index holds the same text reversed character by character, and a query's
//!   prefix, suffix or pattern literal is normalised (and folded) the same
//!   way before it is compared. Consequences: `"e"` is not a prefix of `"é"`
//!   (one character in NFC); on a case-insensitive index `"STRAS"` is a prefix
//!   of `"Straße"` (folded `strasse`), and a `like` `?` stands for one
//!   character *of the folded text*, so `"stra?e"` does not match `"Straße"`
//!   on a case-insensitive index (it is `strasse`, which `"stra??e"` matches)
//!   while it does on an exact one.
//!
//! Keys depend on the Unicode version of the data: characters a later
//! version assigns may fold differently then. Rows saved under other rules
//! keep their old keys until they are saved again or repaired (see the
//! limits chapter of the book).
//!
//! ```
//! use rom_dsl::text;
//! assert_eq!(text::fold("STRAßE"), text::fold("strasse"));
//! assert_eq!(text::exact("jose\u{301}"), "jos\u{e9}");
//! assert_eq!(text::words("Don't STOP, don't!"), ["don't", "stop"]);
//! ```

pub use crate::storage::text::*;
