// an index kind that does not exist.
use rom::prelude::*;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = things)]
pub struct Thing {
    #[rom(primary_key)]
    pub id: Option<u64>,
    #[rom(index(range))]
    pub price: i64,
}

fn main() {}
