// `scale` given something other than a number of places.
use rom::prelude::*;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = things)]
pub struct Thing {
    #[rom(primary_key)]
    pub id: Option<u64>,
    #[rom(index(numeric, scale = "2"))]
    pub price: rust_decimal::Decimal,
}

fn main() {}
