// a struct attribute that does not exist.
use rom::prelude::*;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = things, prefix = "app")]
pub struct Thing {
    #[rom(primary_key)]
    pub id: Option<u64>,
    pub name: String,
}

fn main() {}
