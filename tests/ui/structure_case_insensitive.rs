// `index(eq, case_insensitive)` on a `Set`: a set's index is exact.
use rom::prelude::*;
use rom::structure::Set;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = items)]
pub struct Item {
    #[rom(primary_key)]
    pub id: Option<u64>,
    #[rom(index(eq, case_insensitive))]
    pub tags: Set<String>,
}

fn main() {}
