// a natural key of a type rom cannot key by.
use rom::prelude::*;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = things)]
pub struct Thing {
    #[rom(primary_key)]
    pub id: i64,
    pub name: String,
}

fn main() {}
