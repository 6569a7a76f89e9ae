// an option of `unique` that does not exist.
use rom::prelude::*;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = things)]
pub struct Thing {
    #[rom(primary_key)]
    pub id: Option<u64>,
    #[rom(unique(ignore_case))]
    pub email: String,
}

fn main() {}
