// `unique_together` with one column.
use rom::prelude::*;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = things, unique_together(title))]
pub struct Thing {
    #[rom(primary_key)]
    pub id: Option<u64>,
    pub owner: u64,
    pub title: String,
}

fn main() {}
