// an index on the primary key.
use rom::prelude::*;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = things)]
pub struct Thing {
    #[rom(primary_key, unique)]
    pub id: Option<u64>,
    pub name: String,
}

fn main() {}
