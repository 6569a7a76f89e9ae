// two primary keys.
use rom::prelude::*;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = things)]
pub struct Thing {
    #[rom(primary_key)]
    pub id: Option<u64>,
    #[rom(primary_key)]
    pub code: String,
}

fn main() {}
