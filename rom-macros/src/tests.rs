//! Snapshots of the expansion of a few representative models, and the size of
//! the code generated per column.
//!
//! A changed expansion fails `cargo test -p rom-macros`; after a deliberate
//! change, review and accept it with `cargo insta review` (or rerun with
//! `INSTA_UPDATE=always` and read the diff of `src/snapshots/`).

use syn::DeriveInput;

/// The expansion of `input`, pretty-printed.
fn expand_str(input: &str) -> String {
    let input: DeriveInput = syn::parse_str(input).expect("a derive input");
    let tokens = crate::expand(&input).expect("a model that passes the checks");
    let file: syn::File = syn::parse2(tokens).expect("the expansion parses as items");
    prettyplease::unparse(&file)
}

#[test]
fn auto_key_every_index_kind() {
    insta::assert_snapshot!(expand_str(
        r#"
        #[rom(table = users, unique_together(first, last))]
        pub struct User {
            #[rom(primary_key)]
            id: Option<u64>,
            #[rom(unique)]
            email: String,
            #[rom(unique(case_insensitive))]
            handle: String,
            #[rom(index(eq))]
            level: i32,
            #[rom(index(eq, case_insensitive))]
            city: Option<String>,
            #[rom(index(numeric))]
            age: i64,
            #[rom(index(numeric, checked_u53))]
            visits: u64,
            #[rom(index(text))]
            bio: String,
            #[rom(index(prefix), index(suffix, case_insensitive))]
            first: String,
            #[rom(index(sort), default = "")]
            last: String,
            notes: Option<String>,
        }
        "#
    ));
}

#[test]
fn structures() {
    insta::assert_snapshot!(expand_str(
        r#"
        #[rom(table = inboxes)]
        pub struct Inbox {
            #[rom(primary_key)]
            id: Option<u64>,
            owner: String,
            messages: List<String>,
            #[rom(index(eq))]
            labels: rom::structure::Set<String>,
            prefs: Hash<String, i64>,
            scores: SortedSet<String>,
        }
        "#
    ));
}

#[test]
fn natural_string_key_composite_unique() {
    insta::assert_snapshot!(expand_str(
        r#"
        #[rom(namespace = "acct", unique_together(org, login, case_insensitive))]
        pub(crate) struct Account {
            #[rom(primary_key)]
            name: String,
            org: String,
            login: String,
            #[rom(index(eq))]
            active: bool,
        }
        "#
    ));
}

#[test]
fn raw_identifiers() {
    insta::assert_snapshot!(expand_str(
        r#"
        struct As {
            #[rom(primary_key)]
            r#fn: Option<u64>,
            #[rom(index(eq))]
            r#type: String,
            #[rom(index(numeric))]
            r#match: i32,
            r#loop: Option<bool>,
        }
        "#
    ));
}

#[test]
fn json_chrono_uuid_columns() {
    insta::assert_snapshot!(expand_str(
        r#"
        #[rom(table = events)]
        pub struct Event {
            #[rom(primary_key)]
            id: uuid::Uuid,
            payload: rom::Json<Vec<String>>,
            #[rom(index(numeric))]
            at: chrono::DateTime<chrono::Utc>,
            #[rom(index(numeric))]
            day: Option<chrono::NaiveDate>,
            #[rom(unique)]
            token: uuid::Uuid,
            blob: Vec<u8>,
        }
        "#
    ));
}

/// A model with `n` columns of `attr` (and an auto key).
#[test]
fn validation_rules_and_hooks() {
    insta::assert_snapshot!(expand_str(
        r#"
        #[rom(table = users, hooks)]
        pub struct User {
            #[rom(primary_key)]
            id: Option<u64>,
            #[rom(length(min = 1, max = 64), validate = checks::no_spaces)]
            name: String,
            #[rom(pattern = "[a-z]+")]
            code: Option<String>,
            #[rom(index(numeric), range(min = 0, max = 150))]
            age: i32,
        }
        "#
    ));
}

#[test]
fn relations() {
    insta::assert_snapshot!(expand_str(
        r#"
        #[rom(table = posts, group = Blog, has_many(comments::post), has_one(covers::post))]
        pub struct Post {
            #[rom(primary_key)]
            id: Option<u64>,
            #[rom(belongs_to(User, on_delete = cascade))]
            author: u64,
            #[rom(belongs_to(User, on_delete = set_default), default = 0u64)]
            editor: u64,
        }
        "#
    ));
}

#[test]
fn expiring_model() {
    insta::assert_snapshot!(expand_str(
        r#"
        #[rom(table = sessions, expires(ttl = "30m"))]
        pub struct Session {
            #[rom(primary_key)]
            token: String,
            user: u64,
        }
        "#
    ));
}

#[test]
fn partitioned_model() {
    insta::assert_snapshot!(expand_str(
        r#"
        #[rom(table = carts, partition(by = id, buckets = 32))]
        pub struct Cart {
            #[rom(primary_key)]
            id: u64,
            #[rom(index(eq))]
            owner: String,
        }
        "#
    ));
}

#[test]
fn partitioned_by_a_column() {
    insta::assert_snapshot!(expand_str(
        r#"
        #[rom(table = invoices, partition(by = tenant, buckets = 16))]
        pub struct Invoice {
            #[rom(primary_key)]
            id: Option<u64>,
            #[rom(index(eq))]
            tenant: String,
        }
        "#
    ));
}

fn model_of(n: usize, attr: &str) -> String {
    let cols: String = (0..n).map(|i| format!("{attr} c{i}: i64,\n")).collect();
    format!("struct Wide {{ #[rom(primary_key)] id: Option<u64>, {cols} }}")
}

/// The pretty-printed lines generated per column: the growth from `n` to
/// `n + 10` columns, divided by 10.
fn lines_per_column(attr: &str) -> (usize, usize) {
    let lines = |n| expand_str(&model_of(n, attr)).lines().count();
    let (a, b, c) = (lines(10), lines(20), lines(30));
    assert_eq!(b - a, c - b, "the expansion grows linearly in columns");
    ((b - a) / 10, (b - a) % 10)
}

#[test]
fn output_is_linear_and_small_per_column() {
    for attr in ["", "#[rom(index(eq))]", "#[rom(index(numeric))]"] {
        let (per, rest) = lines_per_column(attr);
        println!("lines per column `{attr}`: {per}.{rest}");
        // 66 (plain), 74 (`index(eq)`), 71 (`index(numeric)`) before the
        // bodies moved to `Column::cell` and the trait's defaults
        assert!(per < 50, "{per} lines per column `{attr}`");
    }
}

#[test]
fn default_table_names() {
    use crate::util::snake_plural;
    assert_eq!(snake_plural("User"), "users");
    assert_eq!(snake_plural("BlogPost"), "blog_posts");
    assert_eq!(snake_plural("HTTPLog"), "http_logs");
    assert_eq!(snake_plural("user_event"), "user_events");
}
