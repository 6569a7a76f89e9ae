// a `length` rule on a column that is not text or bytes.
use rom::prelude::*;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = users)]
pub struct User {
    #[rom(primary_key)]
    pub id: Option<u64>,
    #[rom(length(max = 3))]
    pub age: i64,
}

fn main() {}
