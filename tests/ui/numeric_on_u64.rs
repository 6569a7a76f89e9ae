// a numeric index on `u64` without `checked_u53`.
use rom::prelude::*;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = things)]
pub struct Thing {
    #[rom(primary_key)]
    pub id: Option<u64>,
    #[rom(index(numeric))]
    pub bytes: u64,
}

fn main() {}
