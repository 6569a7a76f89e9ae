// an auto-increment key that is not `Option<u64>`.
use rom::prelude::*;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = things)]
pub struct Thing {
    #[rom(primary_key)]
    pub id: Option<i64>,
    pub name: String,
}

fn main() {}
