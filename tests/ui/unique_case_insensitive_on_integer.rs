// `unique(case_insensitive)` on an integer column.
use rom::prelude::*;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = things)]
pub struct Thing {
    #[rom(primary_key)]
    pub id: Option<u64>,
    #[rom(unique(case_insensitive))]
    pub code: u32,
}

fn main() {}
