// `checked_u53` on a column that is not `u64`.
use rom::prelude::*;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = things)]
pub struct Thing {
    #[rom(primary_key)]
    pub id: Option<u64>,
    #[rom(index(numeric, checked_u53))]
    pub bytes: i64,
}

fn main() {}
