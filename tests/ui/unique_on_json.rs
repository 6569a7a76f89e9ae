// a unique constraint on a `Json` column.
use rom::prelude::*;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = things)]
pub struct Thing {
    #[rom(primary_key)]
    pub id: Option<u64>,
    #[rom(unique)]
    pub tags: Json<Vec<String>>,
}

fn main() {}
