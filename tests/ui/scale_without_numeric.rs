// `scale` on an index that is not numeric.
use rom::prelude::*;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = things)]
pub struct Thing {
    #[rom(primary_key)]
    pub id: Option<u64>,
    #[rom(index(eq, scale = 2))]
    pub price: rust_decimal::Decimal,
}

fn main() {}
