//! Unicode rules on a real server: canonically equivalent texts are one value,
//! case-insensitive means full case folding (ß is ss), words follow UAX #29,
//! and long texts save in linear time.
mod common;
use common::*;
use proptest::prelude::*;
use rom::text::Fold;
use std::collections::BTreeSet;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = accounts)]
struct Account {
    #[rom(primary_key)]
    id: Option<u64>,
    // a login: case-insensitive unique
    #[rom(unique(case_insensitive))]
    login: String,
    // a display handle: exact unique
    #[rom(unique)]
    handle: String,
    #[rom(index(eq))]
    name: Option<String>,
    #[rom(
        index(eq, case_insensitive),
        index(prefix, case_insensitive),
        index(suffix, case_insensitive)
    )]
    city: Option<String>,
    #[rom(index(prefix), index(suffix))]
    street: Option<String>,
    #[rom(index(text))]
    bio: Option<String>,
}

fn acct(login: &str, handle: &str) -> Account {
    Account {
        id: None,
        login: login.into(),
        handle: handle.into(),
        name: None,
        city: None,
        street: None,
        bio: None,
    }
}

fn ids(c: &mut redis::Connection, q: rom::Query<Account>) -> BTreeSet<u64> {
    q.ids(c).expect("query").into_iter().collect()
}

fn unique_violation(r: rom::Result<Record<Account>>, col: &str) {
    match r {
        Err(Error::UniqueViolation { column, .. }) => assert_eq!(column, col),
        other => panic!("expected a unique violation on {col}, got {other:?}"),
    }
}

#[test]
fn sharp_s_and_strasse_are_one_case_insensitive_value() {
    let (_s, mut c) = server();
    let a = acct("STRAßE", "h1").insert(&mut c).expect("insert");
    unique_violation(acct("strasse", "h2").insert(&mut c), "login");
    unique_violation(acct("Straße", "h3").insert(&mut c), "login");
    unique_violation(acct("STRAẞE", "h4").insert(&mut c), "login");
    for probe in ["strasse", "STRASSE", "straße", "STRAẞE"] {
        assert_eq!(
            ids(&mut c, accounts::table.filter(accounts::login.eq(probe))),
            BTreeSet::from([a.id.expect("id")]),
            "{probe}"
        );
    }
    // the exact unique keeps ß and ss apart
    acct("x1", "Straße").insert(&mut c).expect("insert");
    acct("x2", "Strasse")
        .insert(&mut c)
        .expect("ss is not ß exactly");
    assert_clean::<Account>(&mut c);
}

#[test]
fn nfc_and_nfd_spellings_are_one_user() {
    let (_s, mut c) = server();
    let (nfc, nfd) = ("jos\u{e9}", "jose\u{301}");
    assert_ne!(nfc, nfd);
    let a = acct(nfc, nfc).insert(&mut c).expect("insert");
    let id = a.id.expect("id");
    // the same look, the other encoding: refused by both kinds of unique
    unique_violation(acct(nfd, "other").insert(&mut c), "login");
    unique_violation(acct("other", nfd).insert(&mut c), "handle");
    unique_violation(acct("JOSE\u{301}", "other2").insert(&mut c), "login");
    for probe in [nfc, nfd] {
        assert_eq!(
            ids(&mut c, accounts::table.filter(accounts::login.eq(probe))),
            BTreeSet::from([id])
        );
        assert_eq!(
            ids(&mut c, accounts::table.filter(accounts::handle.eq(probe))),
            BTreeSet::from([id])
        );
    }
    // the row keeps the bytes it was given
    assert_eq!(
        Account::get(&mut c, id).expect("get").expect("row").handle,
        nfc
    );

    // an exact equality index, prefixes, suffixes and words agree
    let mut b = acct("b", "b");
    b.name = Some(nfd.into());
    b.street = Some(format!("Rue {nfd}"));
    b.bio = Some(format!("Bonjour {nfd}!"));
    let b = b.insert(&mut c).expect("insert");
    let bid = b.id.expect("id");
    assert_eq!(b.name.as_deref(), Some(nfd));
    for probe in [nfc, nfd] {
        let one = BTreeSet::from([bid]);
        assert_eq!(
            ids(&mut c, accounts::table.filter(accounts::name.eq(probe))),
            one
        );
        assert_eq!(
            ids(
                &mut c,
                accounts::table.filter(accounts::street.ends_with(probe))
            ),
            one
        );
        assert_eq!(
            ids(
                &mut c,
                accounts::table.filter(accounts::street.starts_with(&format!("Rue {probe}")))
            ),
            one
        );
        assert_eq!(
            ids(
                &mut c,
                accounts::table.filter(accounts::street.like(&format!("* {probe}")))
            ),
            one
        );
        assert_eq!(
            ids(
                &mut c,
                accounts::table.filter(accounts::bio.has_word(probe))
            ),
            one
        );
    }
    // in NFC é is one character: "Rue jose" is not a prefix of "Rue josé"
    assert!(
        ids(
            &mut c,
            accounts::table.filter(accounts::street.starts_with("Rue jose"))
        )
        .is_empty()
    );
    assert_eq!(
        ids(
            &mut c,
            accounts::table.filter(accounts::street.like("Rue jos?"))
        ),
        BTreeSet::from([bid])
    );
    assert_clean::<Account>(&mut c);
}

#[test]
fn greek_sigma_folds_and_turkish_i_has_no_locale_rule() {
    let (_s, mut c) = server();
    // capital, medial and final sigma are one letter
    acct("ΟΔΥΣΣΕΥΣ", "g1").insert(&mut c).expect("insert");
    unique_violation(acct("οδυσσευς", "g2").insert(&mut c), "login");
    unique_violation(acct("Οδυσσευσ", "g3").insert(&mut c), "login");
    // I folds to i everywhere; dotless ı and dotted İ stay their own letters
    acct("KIZ", "t1").insert(&mut c).expect("insert");
    unique_violation(acct("kiz", "t2").insert(&mut c), "login");
    acct("kız", "t3")
        .insert(&mut c)
        .expect("dotless i is another letter");
    acct("İstanbul", "t4").insert(&mut c).expect("insert");
    let ist = acct("istanbul", "t5")
        .insert(&mut c)
        .expect("İ folds to i + dot above, not i");
    unique_violation(acct("ISTANBUL", "t6").insert(&mut c), "login");
    // İ's folded form is i followed by U+0307, and a text spelled so is the same login
    unique_violation(acct("i\u{307}stanbul", "t7").insert(&mut c), "login");
    assert_eq!(
        ids(
            &mut c,
            accounts::table.filter(accounts::login.eq("IStanbul"))
        ),
        BTreeSet::from([ist.id.expect("id")])
    );
    assert_eq!(rom::text::fold("ΣΊΣΥΦΟΣ"), rom::text::fold("σίσυφος"));
    assert_clean::<Account>(&mut c);
}

#[test]
fn words_follow_uax29_and_keep_apostrophes() {
    let (_s, mut c) = server();
    let mut a = acct("a", "a");
    a.bio = Some("Don't stop".into());
    let a = a.insert(&mut c).expect("insert");
    let mut b = acct("b", "b");
    b.bio = Some("Don Quixote, e-mail: don@example.com; pi=3.14".into());
    let b = b.insert(&mut c).expect("insert");
    let (a, b) = (a.id.expect("id"), b.id.expect("id"));
    let has = |c: &mut redis::Connection, w: &str| {
        ids(c, accounts::table.filter(accounts::bio.has_word(w)))
    };
    assert_eq!(has(&mut c, "don't"), BTreeSet::from([a]));
    assert_eq!(has(&mut c, "DON'T"), BTreeSet::from([a]));
    assert_eq!(has(&mut c, "don"), BTreeSet::from([b]));
    assert_eq!(has(&mut c, "t"), BTreeSet::new());
    assert_eq!(has(&mut c, "3.14"), BTreeSet::from([b]));
    assert_eq!(has(&mut c, "mail"), BTreeSet::from([b]));
    assert_eq!(
        ids(
            &mut c,
            accounts::table.filter(accounts::bio.has_any_word(["STOP", "quixote"]))
        ),
        BTreeSet::from([a, b])
    );
    assert_clean::<Account>(&mut c);
}

#[test]
fn case_insensitive_prefix_suffix_and_like_with_sharp_s() {
    let (_s, mut c) = server();
    let mut a = acct("a", "a");
    a.city = Some("Straßburg".into());
    let a = a.insert(&mut c).expect("insert").id.expect("id");
    let mut b = acct("b", "b");
    b.city = Some("STRASSEN".into());
    let b = b.insert(&mut c).expect("insert").id.expect("id");
    let q = |c: &mut redis::Connection, f: rom::Filter<Account>| ids(c, accounts::table.filter(f));
    let both = BTreeSet::from([a, b]);
    assert_eq!(q(&mut c, accounts::city.starts_with("STRASS")), both);
    assert_eq!(q(&mut c, accounts::city.starts_with("straß")), both);
    assert_eq!(
        q(&mut c, accounts::city.starts_with("STRAẞB")),
        BTreeSet::from([a])
    );
    assert_eq!(
        q(&mut c, accounts::city.ends_with("SSBURG")),
        BTreeSet::from([a])
    );
    assert_eq!(
        q(&mut c, accounts::city.ends_with("ßburg")),
        BTreeSet::from([a])
    );
    assert_eq!(
        q(&mut c, accounts::city.eq("strassburg")),
        BTreeSet::from([a])
    );
    assert_eq!(
        q(&mut c, accounts::city.like("stra*burg")),
        BTreeSet::from([a])
    );
    assert_eq!(
        q(&mut c, accounts::city.like("*ßBURG")),
        BTreeSet::from([a])
    );
    assert_eq!(
        q(&mut c, accounts::city.like("STRAßEN")),
        BTreeSet::from([b])
    );
    // `?` is one character of the folded text, where ß is two
    assert_eq!(
        q(&mut c, accounts::city.like("stra??burg")),
        BTreeSet::from([a])
    );
    assert!(q(&mut c, accounts::city.like("stra?burg")).is_empty());
    // on an exact index ß is one character
    let mut s = acct("s", "s");
    s.street = Some("Straße".into());
    let s = s.insert(&mut c).expect("insert").id.expect("id");
    assert_eq!(
        q(&mut c, accounts::street.like("Stra?e")),
        BTreeSet::from([s])
    );
    assert!(q(&mut c, accounts::street.like("STRA?E")).is_empty());
    assert_clean::<Account>(&mut c);
}

/// A text of `n` distinct words (`wa wb ... wba ...`).
fn distinct_words(n: usize) -> String {
    let mut out = String::with_capacity(n * 6);
    for i in 0..n {
        out.push_str(if i == 0 { "W" } else { " W" });
        let mut k = i;
        loop {
            out.push(char::from(b'a' + (k % 26) as u8));
            k /= 26;
            if k == 0 {
                break;
            }
        }
    }
    out
}

#[test]
fn a_text_of_150000_distinct_words_saves() {
    let words = rom::text::words(&distinct_words(150_000));
    assert_eq!(words.len(), 150_000);
    assert_eq!(words[0], "wa");
    let (_s, mut c) = server();
    let mut a = acct("long", "long");
    a.bio = Some(distinct_words(150_000));
    let mut rec = a.insert(&mut c).expect("insert");
    let id = rec.id.expect("id");
    let has = |c: &mut redis::Connection, w: &str| {
        ids(c, accounts::table.filter(accounts::bio.has_word(w)))
    };
    for w in ["wa", "WB", &words[75_000], &words[149_999]] {
        assert_eq!(has(&mut c, w), BTreeSet::from([id]), "{w}");
    }
    // a save that drops most of the words removes their entries
    rec.bio = Some("Wa and nothing else".into());
    rec.save(&mut c).expect("save");
    assert_eq!(has(&mut c, "wa"), BTreeSet::from([id]));
    assert!(has(&mut c, &words[149_999]).is_empty());
    assert_clean::<Account>(&mut c);
}

// ---- a differential check over an awkward alphabet ----

#[derive(Model, Clone, Debug)]
#[rom(table = texts)]
struct Sample {
    #[rom(primary_key)]
    id: Option<u64>,
    #[rom(index(prefix), index(suffix), index(eq))]
    exact: String,
    #[rom(
        index(prefix, case_insensitive),
        index(suffix, case_insensitive),
        index(eq, case_insensitive)
    )]
    folded: String,
}

/// Letters whose folding or normalisation is not one character to one:
/// ß (→ ss), ẞ, a combining acute (composes with e and E), é, Σ σ ς, İ (→ i̇),
/// ı, I, i, the ligature ﬁ (→ fi), and s, e, E.
const ALPHABET: &[char] = &[
    'ß', 'ẞ', 's', 'S', 'e', 'E', '\u{301}', 'é', 'Σ', 'σ', 'ς', 'İ', 'ı', 'I', 'i', 'ﬁ', 'f',
];

#[derive(Debug, Clone)]
enum Tok {
    Lit(String),
    Star,
    One,
}

fn pattern_text(toks: &[Tok]) -> String {
    toks.iter()
        .map(|t| match t {
            Tok::Lit(s) => s.clone(),
            Tok::Star => "*".into(),
            Tok::One => "?".into(),
        })
        .collect()
}

/// The pattern as the documented rule reads it: literal runs keyed like the
/// index, then matched character by character.
fn keyed(toks: &[Tok], how: Fold) -> Vec<Option<char>> {
    let mut out = Vec::new();
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut Vec<Option<char>>| {
        out.extend(rom::text::key(run, how).chars().map(Some));
        run.clear();
    };
    for t in toks {
        match t {
            Tok::Lit(s) => run.push_str(s),
            Tok::Star => {
                flush(&mut run, &mut out);
                out.push(None);
            }
            Tok::One => {
                flush(&mut run, &mut out);
                out.push(Some('\u{0}')); // `?`: no letter of the alphabet
            }
        }
    }
    flush(&mut run, &mut out);
    out
}

fn matches(p: &[Option<char>], s: &[char]) -> bool {
    match p.split_first() {
        None => s.is_empty(),
        Some((None, rest)) => (0..=s.len()).any(|i| matches(rest, &s[i..])),
        Some((Some('\u{0}'), rest)) => !s.is_empty() && matches(rest, &s[1..]),
        Some((Some(c), rest)) => s.first() == Some(c) && matches(rest, &s[1..]),
    }
}

fn value() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(ALPHABET), 0..6)
        .prop_map(|v| v.into_iter().collect())
}

fn tok() -> impl Strategy<Value = Tok> {
    prop_oneof![
        4 => prop::sample::select(ALPHABET).prop_map(|c| Tok::Lit(c.to_string())),
        1 => Just(Tok::Star),
        1 => Just(Tok::One),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 150, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn queries_agree_with_the_documented_rule(
        values in prop::collection::vec(value(), 1..15),
        patterns in prop::collection::vec(prop::collection::vec(tok(), 0..5), 1..5),
        probes in prop::collection::vec(value(), 1..4),
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
            let rows: Vec<Sample> = values.iter().map(|v| Sample { id: None, exact: v.clone(), folded: v.clone() }).collect();
            let saved: Vec<u64> = Sample::insert_all(&mut *c, rows).expect("batch")
                .into_iter()
                .map(|r| r.expect("insert").id.expect("id"))
                .collect();
            let key = |v: &str, how: Fold| rom::text::key(v, how).into_owned();
            let want = |f: &dyn Fn(usize) -> bool| -> BTreeSet<u64> {
                (0..values.len()).filter(|&i| f(i)).map(|i| saved[i]).collect()
            };
            let got = |q: rom::Query<Sample>, c: &mut redis::Connection| -> BTreeSet<u64> {
                q.ids(c).expect("query").into_iter().collect()
            };
            for how in [Fold::Exact, Fold::CaseInsensitive] {
                let stored: Vec<Vec<char>> = values.iter().map(|v| key(v, how).chars().collect()).collect();
                let col = |q: rom::Filter<Sample>, e: rom::Filter<Sample>| if how == Fold::Exact { e } else { q };
                for p in &patterns {
                    let text = pattern_text(p);
                    let k = keyed(p, how);
                    prop_assert_eq!(
                        got(texts::table.filter(col(texts::folded.like(&text), texts::exact.like(&text))), &mut c),
                        want(&|i| matches(&k, &stored[i])),
                        "{:?} like {:?}", how, text
                    );
                }
                for pr in &probes {
                    let kp = key(pr, how);
                    let kv = |i: usize| key(&values[i], how);
                    prop_assert_eq!(
                        got(texts::table.filter(col(texts::folded.starts_with(pr), texts::exact.starts_with(pr))), &mut c),
                        want(&|i| kv(i).starts_with(kp.as_str())),
                        "{:?} starts_with {:?}", how, pr
                    );
                    prop_assert_eq!(
                        got(texts::table.filter(col(texts::folded.ends_with(pr), texts::exact.ends_with(pr))), &mut c),
                        want(&|i| { let s: Vec<char> = kv(i).chars().collect(); let p: Vec<char> = kp.chars().collect(); s.ends_with(&p) }),
                        "{:?} ends_with {:?}", how, pr
                    );
                    prop_assert_eq!(
                        got(texts::table.filter(col(texts::folded.eq(pr.as_str()), texts::exact.eq(pr.as_str()))), &mut c),
                        want(&|i| kv(i) == kp),
                        "{:?} eq {:?}", how, pr
                    );
                }
            }
            Ok(())
        })?;
    }
}
