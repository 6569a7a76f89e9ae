//! The derive works for every field name a user may write: no local,
//! parameter, helper or path of the generated code may collide with a field
//! (each field becomes a unit struct of the table module, and a unit struct
//! named `v` turns every `v` pattern in its scope into a match against it), a
//! type or an item of the user's module.
//!
//! The models below have fields named after every identifier the expansion of
//! `#[derive(Model)]` uses or used: its locals and parameters, the items and
//! fields of rom it names, the prelude and primitive types, the crates it
//! paths through, and raw identifiers. **Keep this list in step with
//! `rom-macros/src/lib.rs`**: a new identifier in the generated code gets a
//! field here. (`table` is the one reserved field name: the table module has
//! a `table` item; the derive refuses it with its own error.)
#![allow(
    non_snake_case,
    non_upper_case_globals,
    non_camel_case_types,
    missing_docs,
    unreachable_pub,
    clippy::upper_case_acronyms
)]

mod common;
use common::*;

/// The locals and parameters the expansion uses (or used before they were
/// made hygienic), and names from the runtime's own signatures, with an index
/// of every kind on some of them.
#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = locals, unique_together(s, i))]
pub struct Locals {
    #[rom(primary_key)]
    pub key: Option<u64>,
    #[rom(index(eq))]
    pub v: String,
    #[rom(unique(case_insensitive))]
    pub fold: String,
    #[rom(index(numeric))]
    pub f: i64,
    #[rom(index(text))]
    pub e: String,
    #[rom(index(prefix, case_insensitive))]
    pub row: String,
    #[rom(index(suffix))]
    pub cells: Option<String>,
    #[rom(index(sort))]
    pub out: String,
    #[rom(index(numeric), default = 5)]
    pub value: i32,
    #[rom(index(eq))]
    pub values: Vec<u8>,
    #[rom(unique)]
    pub self_: u64,
    pub s: String,
    pub i: u32,
    pub n: Option<f64>,
    #[rom(index(eq))]
    pub err: bool,
    pub m: Option<String>,
    pub M: i64,
    pub C: String,
    pub T: u32,
    pub K: u32,
    pub conn: Option<i64>,
    pub x: u32,
    pub w: u32,
    pub pos: u32,
    pub layout: u32,
    pub from_row: u32,
    pub set_key: u32,
    pub stored: u32,
    pub score: u32,
    pub exact: u32,
    pub folded: u32,
    pub text: u32,
    pub eq_key: u32,
    pub inner: u32,
    pub to_stored: u32,
    pub column: u32,
    pub invalid: u32,
    pub score_u53: u32,
    pub fold_key: u32,
    pub eq_bytes: u32,
    pub folded_bytes: u32,
    pub as_text: u32,
    pub get_or_init: u32,
    pub map: u32,
    pub map_err: u32,
    pub and_then: u32,
    pub name: u32,
    pub namespace: u32,
    pub key_name: u32,
    pub auto_key: u32,
    pub columns: u32,
    pub unique_together: u32,
    pub type_name: u32,
    pub nullable: u32,
    pub numeric: u32,
    pub eq: u32,
    pub unique: u32,
    pub prefix: u32,
    pub suffix: u32,
    pub sort: u32,
    pub INDEX: u32,
    pub NAME: u32,
    pub SCHEMA: u32,
    pub LAYOUT: u32,
}

/// The paths the expansion names: rom's traits and types, the prelude, the
/// primitives (a column struct `u8` shadows the type `u8` in the table
/// module), and the crates `rom`, `core`, `std`.
#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = paths)]
pub struct Paths {
    #[rom(primary_key)]
    pub id: Option<u64>,
    #[rom(index(eq))]
    pub Option: String,
    #[rom(index(numeric))]
    pub u8: i32,
    #[rom(unique)]
    pub rom: String,
    #[rom(index(eq))]
    pub core: u32,
    #[rom(index(sort))]
    pub str: String,
    #[rom(index(numeric))]
    pub f64: f64,
    pub std: Option<String>,
    pub alloc: u32,
    pub usize: u32,
    pub bool: bool,
    pub u32: u32,
    pub u64: u64,
    pub i32: i32,
    pub i64: i64,
    pub char: u32,
    pub Some: u32,
    pub None: u32,
    pub Result: u32,
    pub Ok: u32,
    pub Err: u32,
    pub Vec: u32,
    pub String: u32,
    pub Box: u32,
    pub Into: u32,
    pub ToOwned: u32,
    pub Debug: u32,
    pub Clone: u32,
    pub Copy: u32,
    pub Default: u32,
    pub PartialEq: u32,
    pub Send: u32,
    pub Sync: u32,
    pub Sized: u32,
    pub Model: u32,
    pub Value: u32,
    pub Field: u32,
    pub Key: u32,
    pub Column: u32,
    pub Table: u32,
    pub BelongsTo: u32,
    pub EqKey: u32,
    pub Scored: u32,
    pub Text: u32,
    pub Fold: u32,
    pub FoldsCase: u32,
    pub Cell: u32,
    pub ColumnDef: u32,
    pub Schema: u32,
    pub Layout: u32,
    pub RowData: u32,
    pub OnceLock: u32,
    pub Record: u32,
    pub Json: u32,
    pub Error: u32,
    pub Paths: u32,
    pub paths: u32,
    pub value: u32,
    pub private: u32,
    pub EqFilterable: u32,
    pub RangeFilterable: u32,
    pub Sortable: u32,
    pub TextFilterable: u32,
    pub PrefixFilterable: u32,
    pub SuffixFilterable: u32,
    pub LikeFilterable: u32,
}

/// Raw identifiers: the column (its struct, its stored field, its name in
/// errors) is the identifier without `r#`.
#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = raws, unique_together(r#type, r#loop))]
pub struct Raw {
    #[rom(primary_key)]
    pub r#fn: Option<u64>,
    #[rom(index(eq))]
    pub r#type: String,
    #[rom(unique(case_insensitive))]
    pub r#match: String,
    #[rom(index(numeric))]
    pub r#loop: i64,
    #[rom(index(prefix))]
    pub r#struct: Option<String>,
    #[rom(index(text))]
    pub r#impl: Option<String>,
    #[rom(default = 3u32)]
    pub r#return: u32,
}

/// A model whose table name is a keyword: `A` is stored in the table `as`,
/// and its module is `r#as`.
#[derive(Model, Clone, Debug, PartialEq)]
pub struct A {
    #[rom(primary_key)]
    pub id: String,
    #[rom(index(eq))]
    pub b: u32,
}

/// A module whose items shadow the prelude and the old internal names: unit
/// structs named like the former locals (a unit struct turns a `let` or a
/// parameter of that name into a pattern), constants a `default` reads, and
/// type aliases named like rom's traits.
mod shadowed {
    #![allow(dead_code)]
    use rom::prelude::Model;

    pub struct Option;
    pub struct Some;
    pub struct None;
    pub struct Vec;
    pub struct String;
    pub struct Ok;
    pub struct Err;
    pub struct Box;
    pub type Result = ();
    pub trait Into {}
    pub trait ToOwned {}
    pub trait Clone {}
    pub struct v;
    pub struct f;
    pub struct fold;
    pub struct LAYOUT;
    pub struct e;
    pub struct __private;
    pub const key: i64 = 40;
    pub const row: i64 = 2;

    pub type Value = std::string::String;
    pub type Field = i64;
    pub type Text = std::vec::Vec<u8>;

    #[derive(Model, Debug, PartialEq, core::clone::Clone)]
    #[rom(table = shadows)]
    pub struct Shadow {
        #[rom(primary_key)]
        pub id: core::option::Option<u64>,
        #[rom(unique(case_insensitive))]
        pub name: Value,
        #[rom(index(numeric), default = key + row)]
        pub n: Field,
        #[rom(index(eq))]
        pub bytes: Text,
        pub note: core::option::Option<std::string::String>,
    }
}
use shadowed::{Shadow, shadows};

fn locals(k: u8) -> Locals {
    Locals {
        key: None,
        v: format!("v{}", k % 2),
        fold: format!("Fold{k}"),
        f: i64::from(k) * 10,
        e: format!("some words here {k}"),
        row: format!("Row{k}"),
        cells: Some(format!("cell{k}")),
        out: format!("out{}", 9 - k),
        value: 7,
        values: vec![0, k, 255],
        self_: u64::from(k) + 100,
        s: "s".into(),
        i: u32::from(k),
        n: Some(0.5),
        err: k.is_multiple_of(2),
        m: None,
        M: -1,
        C: "c".into(),
        T: 3,
        K: 4,
        conn: Some(-9),
        x: 1,
        w: 2,
        pos: 3,
        layout: 4,
        from_row: 5,
        set_key: 6,
        stored: 7,
        score: 8,
        exact: 9,
        folded: 10,
        text: 11,
        eq_key: 12,
        inner: 13,
        to_stored: 14,
        column: 15,
        invalid: 16,
        score_u53: 17,
        fold_key: 18,
        eq_bytes: 19,
        folded_bytes: 20,
        as_text: 21,
        get_or_init: 22,
        map: 23,
        map_err: 24,
        and_then: 25,
        name: 26,
        namespace: 27,
        key_name: 28,
        auto_key: 29,
        columns: 30,
        unique_together: 31,
        type_name: 32,
        nullable: 33,
        numeric: 34,
        eq: 35,
        unique: 36,
        prefix: 37,
        suffix: 38,
        sort: 39,
        INDEX: 40,
        NAME: 41,
        SCHEMA: 42,
        LAYOUT: 43,
    }
}

#[test]
fn fields_named_like_the_expansion_round_trip() {
    let (_s, mut c) = server();
    let mut ids = Vec::new();
    for k in 0..4 {
        let r = locals(k).insert(&mut c).unwrap();
        assert_eq!(
            *r,
            Locals {
                key: r.key,
                ..locals(k)
            }
        );
        ids.push(r.key.unwrap());
    }
    let got = Locals::get(&mut c, ids[2]).unwrap().unwrap();
    assert_eq!(
        *got,
        Locals {
            key: Some(ids[2]),
            ..locals(2)
        }
    );

    // every index kind, on columns named like the old internals
    let count = |q: rom::Query<Locals>, c: &mut redis::Connection| q.count(c).unwrap();
    assert_eq!(count(locals::table.filter(locals::v.eq("v1")), &mut c), 2);
    assert_eq!(
        count(locals::table.filter(locals::fold.eq("FOLD3")), &mut c),
        1
    );
    assert_eq!(count(locals::table.filter(locals::f.ge(20)), &mut c), 2);
    assert_eq!(
        count(locals::table.filter(locals::e.has_word("3")), &mut c),
        1
    );
    assert_eq!(
        count(locals::table.filter(locals::row.starts_with("row")), &mut c),
        4
    );
    assert_eq!(
        count(locals::table.filter(locals::cells.ends_with("l1")), &mut c),
        1
    );
    assert_eq!(count(locals::table.filter(locals::value.eq(7)), &mut c), 4);
    assert_eq!(
        count(
            locals::table.filter(locals::values.eq(vec![0u8, 1, 255])),
            &mut c
        ),
        1
    );
    assert_eq!(
        count(locals::table.filter(locals::self_.eq(102u64)), &mut c),
        1
    );
    assert_eq!(count(locals::table.filter(locals::err.eq(true)), &mut c), 2);
    let by_out = locals::table
        .order_by(locals::out.asc())
        .load(&mut c)
        .unwrap();
    assert_eq!(
        by_out.iter().map(|r| r.i).collect::<Vec<_>>(),
        vec![3, 2, 1, 0]
    );

    // the unique together (s, i) holds
    let dup = Locals {
        i: 1,
        self_: 999,
        fold: "other".into(),
        ..locals(1)
    };
    assert!(matches!(
        dup.insert(&mut c),
        Err(Error::UniqueViolation { .. })
    ));

    // Record::save on a row, then delete
    let mut r = Locals::get(&mut c, ids[0]).unwrap().unwrap();
    r.v = "v9".into();
    r.f = -5;
    r.cells = None;
    r.save(&mut c).unwrap();
    let again = Locals::get(&mut c, ids[0]).unwrap().unwrap();
    assert_eq!(
        (again.v.as_str(), again.f, again.cells.clone()),
        ("v9", -5, None)
    );
    assert_eq!(
        locals::table.filter(locals::f.lt(0)).ids(&mut c).unwrap(),
        vec![ids[0]]
    );
    assert_clean::<Locals>(&mut c);
    assert!(again.delete(&mut c).unwrap());
    assert!(Locals::get(&mut c, ids[0]).unwrap().is_none());
    assert_eq!(locals::table.count(&mut c).unwrap(), 3);
    assert_clean::<Locals>(&mut c);
}

fn paths(k: u8) -> Paths {
    Paths {
        id: None,
        Option: format!("opt{}", k % 2),
        u8: i32::from(k) - 2,
        rom: format!("rom{k}"),
        core: u32::from(k % 3),
        str: format!("str{}", 9 - k),
        f64: f64::from(k) / 2.0,
        std: k.is_multiple_of(2).then(|| "std".to_string()),
        alloc: 1,
        usize: 2,
        bool: k % 2 == 1,
        u32: 3,
        u64: u64::MAX,
        i32: i32::MIN,
        i64: i64::MIN,
        char: 4,
        Some: 5,
        None: 6,
        Result: 7,
        Ok: 8,
        Err: 9,
        Vec: 10,
        String: 11,
        Box: 12,
        Into: 13,
        ToOwned: 14,
        Debug: 15,
        Clone: 16,
        Copy: 17,
        Default: 18,
        PartialEq: 19,
        Send: 20,
        Sync: 21,
        Sized: 22,
        Model: 23,
        Value: 24,
        Field: 25,
        Key: 26,
        Column: 27,
        Table: 28,
        BelongsTo: 29,
        EqKey: 30,
        Scored: 31,
        Text: 32,
        Fold: 33,
        FoldsCase: 34,
        Cell: 35,
        ColumnDef: 36,
        Schema: 37,
        Layout: 38,
        RowData: 39,
        OnceLock: 40,
        Record: 41,
        Json: 42,
        Error: 43,
        Paths: 44,
        paths: 45,
        value: 46,
        private: 47,
        EqFilterable: 48,
        RangeFilterable: 49,
        Sortable: 50,
        TextFilterable: 51,
        PrefixFilterable: 52,
        SuffixFilterable: 53,
        LikeFilterable: 54,
    }
}

#[test]
fn fields_named_like_types_and_crates_round_trip() {
    let (_s, mut c) = server();
    for k in 0..4 {
        let r = paths(k).insert(&mut c).unwrap();
        assert_eq!(
            *r,
            Paths {
                id: r.id,
                ..paths(k)
            }
        );
    }
    let got = Paths::get(&mut c, 4u64).unwrap().unwrap();
    assert_eq!(
        *got,
        Paths {
            id: Some(4),
            ..paths(3)
        }
    );
    assert_eq!(
        paths::table
            .filter(paths::Option.eq("opt0"))
            .ids(&mut c)
            .unwrap(),
        vec![1, 3]
    );
    assert_eq!(
        paths::table.filter(paths::u8.lt(0)).ids(&mut c).unwrap(),
        vec![1, 2]
    );
    assert_eq!(
        paths::table
            .filter(paths::rom.eq("rom2"))
            .ids(&mut c)
            .unwrap(),
        vec![3]
    );
    assert_eq!(
        paths::table
            .filter(paths::core.eq(0u32))
            .order_by(paths::f64.desc())
            .ids(&mut c)
            .unwrap(),
        vec![4, 1]
    );
    assert_eq!(
        paths::table.order_by(paths::str.asc()).ids(&mut c).unwrap(),
        vec![4, 3, 2, 1]
    );
    let mut r = Paths::get(&mut c, 1u64).unwrap().unwrap();
    r.u8 = 100;
    r.save(&mut c).unwrap();
    assert_eq!(Paths::get(&mut c, 1u64).unwrap().unwrap().u8, 100);
    assert!(r.delete(&mut c).unwrap());
    assert_eq!(paths::table.count(&mut c).unwrap(), 3);
    assert_clean::<Paths>(&mut c);
}

fn raw(t: &str, m: &str, l: i64) -> Raw {
    Raw {
        r#fn: None,
        r#type: t.into(),
        r#match: m.into(),
        r#loop: l,
        r#struct: Some(format!("{t}-{m}")),
        r#impl: Some(format!("an {t} here")),
        r#return: 1,
    }
}

#[test]
fn raw_identifiers_are_columns_named_without_r_hash() {
    // the column's name, in the schema, the column struct and Redis, is `type`
    let names: Vec<&str> = <Raw as Model>::SCHEMA
        .columns
        .iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(names, ["type", "match", "loop", "struct", "impl", "return"]);
    assert_eq!(<Raw as Model>::SCHEMA.key_name, "fn");
    assert_eq!(<raws::r#type as rom::Column>::NAME, "type");

    let (_s, mut c) = server();
    let a = raw("apple", "Ann", 3).insert(&mut c).unwrap();
    let b = raw("pear", "Bob", 1).insert(&mut c).unwrap();
    raw("apple", "Cid", 2).insert(&mut c).unwrap();
    assert_eq!((a.r#fn, b.r#fn), (Some(1), Some(2)));
    let stored: Option<String> = redis::cmd("HGET")
        .arg("{raws}:row:1")
        .arg("type")
        .query(&mut c)
        .unwrap();
    assert_eq!(stored.as_deref(), Some("apple"));

    // a filter on the indexed raw-identifier column, ordered by another
    let apples = raws::table
        .filter(raws::r#type.eq("apple"))
        .order_by(raws::r#loop.asc())
        .load(&mut c)
        .unwrap();
    assert_eq!(
        apples
            .iter()
            .map(|r| r.r#match.as_str())
            .collect::<Vec<_>>(),
        ["Cid", "Ann"]
    );
    assert_eq!(*apples[1], *a);
    let m = raws::table
        .filter(raws::r#match.eq("BOB"))
        .first(&mut c)
        .unwrap();
    assert_eq!(*m, *b);
    assert_eq!(
        raws::table
            .filter(raws::r#struct.starts_with("pear-"))
            .count(&mut c)
            .unwrap(),
        1
    );
    assert_eq!(
        raws::table
            .filter(raws::r#impl.has_word("apple"))
            .count(&mut c)
            .unwrap(),
        2
    );
    // unique together over raw identifiers, and the unique on `match`, name
    // the columns without `r#`
    match raw("apple", "Dan", 3).insert(&mut c) {
        Err(Error::UniqueViolation { column, .. }) => assert_eq!(column, "type+loop"),
        other => panic!("{other:?}"),
    }
    match raw("kiwi", "ANN", 9).insert(&mut c) {
        Err(Error::UniqueViolation { column, .. }) => assert_eq!(column, "match"),
        other => panic!("{other:?}"),
    }

    // a default on a raw identifier, read from a row that lacks the field
    let _: () = redis::cmd("HDEL")
        .arg("{raws}:row:2")
        .arg("return")
        .query(&mut c)
        .unwrap();
    let mut b = Raw::get(&mut c, 2u64).unwrap().unwrap();
    assert_eq!(b.r#return, 3);
    b.r#type = "plum".into();
    b.save(&mut c).unwrap();
    let b = Raw::get(&mut c, 2u64).unwrap().unwrap();
    assert_eq!((b.r#type.as_str(), b.r#return), ("plum", 3));
    assert_eq!(
        raws::table
            .filter(raws::r#type.eq("plum"))
            .ids(&mut c)
            .unwrap(),
        vec![2]
    );
    assert!(b.delete(&mut c).unwrap());
    assert_eq!(raws::table.count(&mut c).unwrap(), 2);
    assert_clean::<Raw>(&mut c);
}

#[test]
fn a_keyword_table_name_is_a_raw_module() {
    assert_eq!(<A as Model>::SCHEMA.namespace, "as");
    let (_s, mut c) = server();
    A {
        id: "x".into(),
        b: 1,
    }
    .insert(&mut c)
    .unwrap();
    A {
        id: "y".into(),
        b: 2,
    }
    .insert(&mut c)
    .unwrap();
    let got = r#as::table.filter(r#as::b.eq(2u32)).first(&mut c).unwrap();
    assert_eq!(got.id, "y");
    assert_clean::<A>(&mut c);
}

#[test]
fn items_shadowing_the_prelude_and_old_internals_do_not_reach_the_expansion() {
    let (_s, mut c) = server();
    let s = Shadow {
        id: None,
        name: "Ann".into(),
        n: 1,
        bytes: vec![1, 2],
        note: None,
    }
    .insert(&mut c)
    .unwrap();
    // an alias named `Value` of `String` is text: case_insensitive holds
    let dup = Shadow {
        id: None,
        name: "ANN".into(),
        n: 2,
        bytes: vec![],
        note: None,
    };
    assert!(matches!(
        dup.insert(&mut c),
        Err(Error::UniqueViolation { .. })
    ));
    let _: () = redis::cmd("HDEL")
        .arg("{shadows}:row:1")
        .arg("n")
        .query(&mut c)
        .unwrap();
    // the default reads the module's constants `key` and `row`
    let got = Shadow::get(&mut c, s.id.unwrap()).unwrap().unwrap();
    assert_eq!(got.n, 42);
    assert_eq!(
        shadows::table
            .filter(shadows::bytes.eq(vec![1u8, 2]))
            .ids(&mut c)
            .unwrap(),
        vec![1]
    );
    assert_eq!(
        shadows::table
            .filter(shadows::name.eq("aNN"))
            .ids(&mut c)
            .unwrap(),
        vec![1]
    );
}
