// `scale` on a column that is not a `Decimal`.
use rom::prelude::*;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = things)]
pub struct Thing {
    #[rom(primary_key)]
    pub id: Option<u64>,
    #[rom(index(numeric, scale = 2))]
    pub price: i64,
}

fn main() {}
