// `case_insensitive` on every other type without case: one error per column,
// naming it, also through a type alias and on a type that is not a key at all.
use rom::prelude::*;

pub type Bytes = Vec<u8>;

#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq)]
pub struct Tag {
    pub name: String,
}

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = things)]
pub struct Thing {
    #[rom(primary_key)]
    pub id: Option<u64>,
    #[rom(index(eq, case_insensitive))]
    pub count: i64,
    #[rom(unique(case_insensitive))]
    pub small: Option<i32>,
    #[rom(index(eq, case_insensitive))]
    pub flag: bool,
    #[rom(unique(case_insensitive))]
    pub token: uuid::Uuid,
    #[rom(index(eq, case_insensitive))]
    pub day: chrono::NaiveDate,
    #[rom(index(eq, case_insensitive))]
    pub blob: Bytes,
    #[rom(index(eq, case_insensitive))]
    pub ratio: f64,
    #[rom(unique(case_insensitive))]
    pub tag: Json<Tag>,
}

fn main() {}
