// A scale a `Decimal` cannot have.
use rom::prelude::*;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = things)]
pub struct Thing {
    #[rom(primary_key)]
    pub id: Option<u64>,
    #[rom(index(numeric, scale = 29))]
    pub price: rust_decimal::Decimal,
}

fn main() {}
