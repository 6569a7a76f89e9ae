// A query built step by step: every builder method returns the same `Query`
// type, so filters, an order and a page can be added under conditions.
use rom::Query;
use rom::prelude::*;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = users)]
pub struct User {
    #[rom(primary_key)]
    pub id: Option<u64>,
    #[rom(unique(case_insensitive))]
    pub email: String,
    #[rom(index(eq))]
    pub name: Option<String>,
    #[rom(index(numeric))]
    pub age: i32,
    #[rom(index(numeric), default = 0.0)]
    pub score: f64,
}

#[derive(Default)]
struct Search<'a> {
    name: Option<&'a str>,
    min_age: Option<i32>,
    max_age: Option<i32>,
    best_first: bool,
    page: Option<(u64, u64)>,
}

fn query(s: &Search<'_>) -> Query<User> {
    let mut q = users::table.into_query();
    if let Some(n) = s.name {
        q = q.filter(users::name.eq(n));
    }
    if let Some(a) = s.min_age {
        q = q.filter(users::age.ge(a));
    }
    if let Some(a) = s.max_age {
        q = q.filter(users::age.le(a));
    }
    if s.best_first {
        q = q.order_by(users::score.desc());
    }
    if let Some((offset, limit)) = s.page {
        q = q.offset(offset).limit(limit);
    }
    q
}

fn main() {
    let everything = query(&Search::default()).explain();
    assert!(everything.contains("every row"), "{everything}");

    let narrow = query(&Search {
        name: Some("Ann"),
        min_age: Some(30),
        max_age: Some(39),
        best_first: true,
        page: Some((20, 10)),
    })
    .explain();
    for part in [
        "{users}:eq:name:Ann",
        "{users}:num:age",
        "score desc",
        "offset 20, limit 10",
    ] {
        assert!(narrow.contains(part), "{part:?} missing from {narrow}");
    }
}
