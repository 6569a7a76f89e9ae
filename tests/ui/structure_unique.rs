// `unique` on a structure field: a structure takes only `index(eq)`, on a `Set`.
use rom::prelude::*;
use rom::structure::Set;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = items)]
pub struct Item {
    #[rom(primary_key)]
    pub id: Option<u64>,
    #[rom(unique)]
    pub tags: Set<String>,
}

fn main() {}
