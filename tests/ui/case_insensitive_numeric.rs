// `case_insensitive` on a numeric index.
use rom::prelude::*;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = things)]
pub struct Thing {
    #[rom(primary_key)]
    pub id: Option<u64>,
    #[rom(index(numeric, case_insensitive))]
    pub age: i32,
}

fn main() {}
