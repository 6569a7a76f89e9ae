// `unique_together` naming a field that is not a column.
use rom::prelude::*;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = things, unique_together(owner, name))]
pub struct Thing {
    #[rom(primary_key)]
    pub id: Option<u64>,
    pub owner: u64,
    pub title: String,
}

fn main() {}
