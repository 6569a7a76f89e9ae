// a full-text index on a number.
use rom::prelude::*;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = things)]
pub struct Thing {
    #[rom(primary_key)]
    pub id: Option<u64>,
    #[rom(index(text))]
    pub year: i32,
}

fn main() {}
