// A field name written twice: rustc says so (E0124, and E0062 from `derive(Clone)`); the derive adds nothing.
use rom::prelude::*;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = things)]
pub struct Thing {
    #[rom(primary_key)]
    pub id: Option<u64>,
    #[rom(index(eq))]
    pub name: String,
    pub age: u32,
    #[rom(index(eq))]
    pub name: String,
}

fn main() {}
