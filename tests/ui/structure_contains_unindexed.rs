// `contains` on a `Set` field without `index(eq)`.
use rom::prelude::*;
use rom::structure::Set;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = items)]
pub struct Item {
    #[rom(primary_key)]
    pub id: Option<u64>,
    pub tags: Set<String>,
}

fn main() {
    let _query = items::table.filter(items::tags.contains("rust"));
}
