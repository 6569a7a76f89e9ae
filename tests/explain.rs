//! Golden tests: the plans of representative queries, printed by `explain()`
//! without a server. Re-bless after an intended change with
//! `ROM_BLESS=1 cargo test --all-features --test explain`.
mod common;
use common::*;

fn check(name: &str, text: String) {
    let text = text.lines().collect::<Vec<_>>().join("\n") + "\n";
    let path = format!("{}/tests/golden/{name}.txt", env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("ROM_BLESS").is_some() {
        std::fs::write(&path, &text).expect("write golden file");
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("missing {path}: run with ROM_BLESS=1"));
    assert_eq!(text, want, "plan of {name} changed (ROM_BLESS=1 to accept)");
}

#[test]
fn plans_of_representative_queries() {
    check(
        "unique_lookup",
        users::table
            .filter(users::email.eq("Ann@Example.com"))
            .limit(1)
            .explain(),
    );
    check(
        "range_order_limit",
        users::table
            .filter(users::age.between(20..=30))
            .order_by(users::score.asc())
            .limit(10)
            .explain(),
    );
    check(
        "or_not_offset",
        users::table
            .filter(users::name.eq("ann").or(users::age.gt(65)))
            .filter(users::name.eq("bob").not())
            .order_by(users::age.desc())
            .offset(20)
            .limit(10)
            .explain(),
    );
    check(
        "eq_any_open_range",
        users::table
            .filter(users::name.eq_any(["a", "b"]))
            .filter(users::score.lt(0.5))
            .explain(),
    );
    check(
        "count",
        users::table
            .filter(users::age.ge(18))
            .count_plan()
            .expect("plan")
            .explain(),
    );
    check("everything", users::table.explain());
    let mut u = user("ann@example.com", "Ann", 30, 1.0);
    u.id = Some(7);
    check("put", rom::Crud::upsert_plan(&u).expect("plan").explain());
    check("get_many", User::get_plan(&[1, 2, 3]).explain());
    // a unique claimed across partitions: the reservation is the first
    // call, and the steps name the protocol's calls
    let m = Member {
        id: 7,
        email: "Ann@Example.com".into(),
    };
    // (the attempt's token is random: shown as <token>)
    let text = rom::Crud::insert_plan(&m).expect("plan").explain();
    let text = text
        .split(' ')
        .map(|w| {
            if w.len() == 32 && w.bytes().all(|b| b.is_ascii_hexdigit()) {
                "<token>"
            } else {
                w
            }
        })
        .collect::<Vec<_>>()
        .join(" ");
    check("claimed_insert", text);
}

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = members, partition(by = id, buckets = 8))]
struct Member {
    #[rom(primary_key)]
    id: u64,
    #[rom(unique(case_insensitive))]
    email: String,
}
