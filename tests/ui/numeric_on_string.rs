// a numeric index on a `String`.
use rom::prelude::*;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = things)]
pub struct Thing {
    #[rom(primary_key)]
    pub id: Option<u64>,
    #[rom(index(numeric))]
    pub zip_code: String,
}

fn main() {}
