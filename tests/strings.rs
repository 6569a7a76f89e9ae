//! String indexes: full-text words, prefix / suffix / like, ordering by text.
mod common;
use common::*;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = people)]
struct Person {
    #[rom(primary_key)]
    id: Option<u64>,
    #[rom(index(text), index(prefix), index(suffix))]
    name: String,
    #[rom(index(prefix, case_insensitive), index(sort))]
    handle: Option<String>,
    #[rom(index(numeric))]
    age: i32,
}

fn p(name: &str, handle: Option<&str>, age: i32) -> Person {
    Person {
        id: None,
        name: name.into(),
        handle: handle.map(Into::into),
        age,
    }
}

fn names(rows: &[Record<Person>]) -> Vec<String> {
    rows.iter().map(|r| r.name.clone()).collect()
}

#[test]
fn words_prefixes_suffixes_patterns_and_text_order() {
    let (_s, mut c) = server();
    let data = [
        p("Ada Lovelace", Some("ada"), 36),
        p("Alan Turing", Some("Alan.T"), 41),
        p("Grace Hopper", Some("grace-h"), 85),
        p("Édouard Lucas", Some("édouard"), 49),
        p("Alonzo Church", Some("alonzo_church_the_lambda_man"), 92),
        p("Alonzo Church Jr", Some("alonzo_church_the_lambda_kid"), 60),
        p("Barbara Liskov (PhD) 100%", Some("a*b?c"), 80),
        p("nul\0name", None, 1),
    ];
    let mut all = Vec::new();
    for d in data {
        all.push(d.insert(&mut c).expect("insert").into_inner());
    }
    // the oracle for every check: filter in memory
    let expect = |f: &dyn Fn(&Person) -> bool| -> Vec<String> {
        all.iter()
            .filter(|p| f(p))
            .map(|p| p.name.clone())
            .collect()
    };
    let load = |c: &mut redis::Connection, q: rom::Query<Person>| names(&q.load(c).expect("load"));
    let words_of = |p: &Person| rom::value::words(&p.name);

    assert_eq!(
        load(
            &mut c,
            people::table.filter(people::name.has_word("CHURCH"))
        ),
        expect(&|p| words_of(p).contains(&"church".into()))
    );
    assert_eq!(
        load(
            &mut c,
            people::table.filter(people::name.has_all_words(["alonzo", "jr"]))
        ),
        vec!["Alonzo Church Jr".to_string()]
    );
    assert_eq!(
        load(
            &mut c,
            people::table.filter(people::name.has_any_word(["ada", "grace", "nobody"]))
        ),
        expect(&|p| words_of(p).iter().any(|w| w == "ada" || w == "grace"))
    );
    // per word prefixes on the full-text column (case-sensitive as declared)
    assert_eq!(
        load(&mut c, people::table.filter(people::name.starts_with("Al"))),
        expect(&|p| p
            .name
            .split(|c: char| !c.is_alphanumeric())
            .any(|w| w.starts_with("Al")))
    );
    assert_eq!(
        load(&mut c, people::table.filter(people::name.ends_with("ing"))),
        expect(&|p| p
            .name
            .split(|c: char| !c.is_alphanumeric())
            .any(|w| w.ends_with("ing")))
    );
    // whole-value prefix, case-insensitive, longer than 7 bytes
    assert_eq!(
        load(
            &mut c,
            people::table.filter(people::handle.starts_with("ALONZO_CHURCH_THE_LAMBDA_K"))
        ),
        vec!["Alonzo Church Jr".to_string()]
    );
    assert_eq!(
        load(
            &mut c,
            people::table.filter(people::handle.starts_with("É"))
        ),
        vec!["Édouard Lucas".to_string()]
    );
    // patterns: metacharacters match themselves; \\ escapes * and ?
    assert_eq!(
        load(
            &mut c,
            people::table.filter(people::handle.like("a\\*b\\?c"))
        ),
        vec!["Barbara Liskov (PhD) 100%".to_string()]
    );
    assert_eq!(
        load(&mut c, people::table.filter(people::handle.like("alan.?"))),
        vec!["Alan Turing".to_string()]
    );
    assert_eq!(
        load(&mut c, people::table.filter(people::handle.like("*-h"))),
        vec!["Grace Hopper".to_string()]
    );
    assert_eq!(
        load(&mut c, people::table.filter(people::handle.like("?douard"))),
        vec!["Édouard Lucas".to_string()]
    );
    assert_eq!(
        load(&mut c, people::table.filter(people::name.like("*ac*"))),
        expect(&|p| p
            .name
            .split(|c: char| !c.is_alphanumeric())
            .any(|w| w.contains("ac")))
    );
    // combined with other predicates and with ordering
    assert_eq!(
        load(
            &mut c,
            people::table
                .filter(people::name.starts_with("Al").and(people::age.lt(70)))
                .order_by(people::age.desc())
        ),
        vec!["Alonzo Church Jr".to_string(), "Alan Turing".to_string()]
    );
    // ordering by the whole text (UTF-8 byte order), nulls last, both directions
    let mut want: Vec<&Person> = all.iter().collect();
    want.sort_by(|a, b| match (&a.handle, &b.handle) {
        (Some(x), Some(y)) => x.as_bytes().cmp(y.as_bytes()),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.id.cmp(&b.id),
    });
    let want: Vec<String> = want.iter().map(|p| p.name.clone()).collect();
    assert_eq!(
        load(&mut c, people::table.order_by(people::handle.asc())),
        want
    );
    assert_eq!(
        load(
            &mut c,
            people::table.order_by(people::handle.asc()).limit(3)
        ),
        want[..3].to_vec()
    );
    let mut pages = people::table.order_by(people::handle.asc()).pages(3);
    let mut paged = Vec::new();
    while let Some(pg) = pages.next_page(&mut c).expect("page") {
        paged.extend(names(&pg));
    }
    assert_eq!(paged, want);
    let desc = load(&mut c, people::table.order_by(people::handle.desc()));
    let mut want_desc = want[..7].to_vec();
    want_desc.reverse();
    want_desc.push(want[7].clone());
    assert_eq!(desc, want_desc);
    // a changed name moves between word sets; verify checks every index
    let mut ada = people::table
        .filter(people::name.has_word("ada"))
        .first(&mut c)
        .expect("ada");
    ada.name = "Augusta Ada King".into();
    ada.save(&mut c).expect("save");
    assert!(
        people::table
            .filter(people::name.has_word("lovelace"))
            .first(&mut c)
            .optional()
            .expect("q")
            .is_none()
    );
    assert_eq!(
        people::table
            .filter(people::name.has_word("augusta"))
            .count(&mut c)
            .expect("count"),
        1
    );
    assert_clean::<Person>(&mut c);
    // reads wrote nothing: no probe members anywhere
    let keys: Vec<String> = redis::cmd("KEYS").arg("*tmp*").query(&mut c).expect("keys");
    assert!(keys.is_empty());
}
