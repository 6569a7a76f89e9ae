// Every predicate, on a column whose index answers it, with the value types
// each column accepts.
use rom::Filter;
use rom::prelude::*;
use std::ops::Bound;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = people)]
pub struct Person {
    #[rom(primary_key)]
    pub id: Option<u64>,
    #[rom(unique(case_insensitive))]
    pub email: String,
    #[rom(index(eq))]
    pub city: Option<String>,
    #[rom(index(eq))]
    pub level: i32,
    #[rom(index(numeric))]
    pub age: i32,
    #[rom(index(numeric))]
    pub visits: i64,
    #[rom(index(numeric))]
    pub rating: f64,
    #[rom(index(numeric))]
    pub active: bool,
    #[rom(index(numeric, checked_u53))]
    pub bytes: u64,
    #[rom(index(numeric))]
    pub born: Option<chrono::NaiveDate>,
    #[rom(index(text))]
    pub bio: Option<String>,
    #[rom(index(prefix, case_insensitive), index(suffix))]
    pub handle: String,
    #[rom(index(sort))]
    pub surname: String,
}

fn main() {
    let city = String::from("Lyon");
    let day = chrono::NaiveDate::from_ymd_opt(1990, 1, 1).expect("a date");
    let filters: Vec<Filter<Person>> = vec![
        // equality: equality index, unique constraint, numeric index
        people::city.eq("Lyon"),
        people::city.eq(&city),
        people::city.eq(city.clone()),
        people::email.eq("ann@example.com"),
        people::level.eq(3),
        people::age.eq(30),
        people::active.eq(true),
        people::city.eq_any(["Lyon", "Nice"]),
        people::level.eq_any(vec![1, 2, 3]),
        people::email.eq_any(Vec::<String>::new()),
        // ranges: numeric indexes only
        people::age.gt(17),
        people::age.ge(18),
        people::age.lt(65),
        people::age.le(64),
        people::age.between(18..=64),
        people::age.between(18..65),
        people::age.between(18..),
        people::age.between(..=64),
        people::age.between((Bound::Excluded(17), Bound::Unbounded)),
        people::visits.gt(10),    // an i32 for an i64 column
        people::visits.ge(10i64), // or an i64
        people::rating.lt(4.5),
        people::rating.ge(3),      // an i32 for an f64 column
        people::rating.le(4.5f32), // an f32 for an f64 column
        people::bytes.le(1u64 << 40),
        people::born.lt(day),
        // words, prefixes, suffixes and patterns
        people::bio.has_word("Redis"),
        people::bio.has_all_words(["rust", "redis"]),
        people::bio.has_any_word(["go", "rust"]),
        people::handle.starts_with("ann"),
        people::handle.ends_with("_dev"),
        people::handle.like("a*_dev"),
        people::surname.starts_with("Mar"),
        people::surname.like("Mar?in"),
        // combinations
        people::age.ge(18).and(people::city.eq("Lyon")),
        people::age.lt(18).or(people::level.eq(9)),
        people::active.eq(true).not(),
        people::age.ge(18).and_not(people::city.eq("Nice")),
        (people::age.ge(18) & people::active.eq(true)) | !people::level.eq(1),
    ];
    for f in &filters {
        let plan = people::table.filter(f.clone()).explain();
        assert!(!plan.starts_with("invalid"), "{f:?}: {plan}");
    }
    // orderings: numeric indexes and sort indexes, both directions
    for o in [
        people::age.asc(),
        people::rating.desc(),
        people::born.asc(),
        people::surname.asc(),
        people::surname.desc(),
    ] {
        let plan = people::table.order_by(o).limit(10).explain();
        assert!(!plan.starts_with("invalid"), "{plan}");
    }
    // selections of one to six columns
    let _one = people::table.select((people::email,));
    let _six = people::table.filter(people::age.ge(18)).select((
        people::email,
        people::city,
        people::age,
        people::rating,
        people::born,
        people::bio,
    ));
}
