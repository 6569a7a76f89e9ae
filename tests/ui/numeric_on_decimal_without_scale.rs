// A numeric index on a `Decimal` without a declared scale.
use rom::prelude::*;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = things)]
pub struct Thing {
    #[rom(primary_key)]
    pub id: Option<u64>,
    #[rom(index(numeric))]
    pub price: rust_decimal::Decimal,
}

fn main() {}
