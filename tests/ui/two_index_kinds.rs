// two index kinds in one `index(...)`.
use rom::prelude::*;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = things)]
pub struct Thing {
    #[rom(primary_key)]
    pub id: Option<u64>,
    #[rom(index(eq, numeric))]
    pub price: i64,
}

fn main() {}
