// `primary_key` on a structure field.
use rom::prelude::*;
use rom::structure::Set;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = items)]
pub struct Item {
    #[rom(primary_key)]
    pub tags: Set<String>,
    pub name: String,
}

fn main() {}
