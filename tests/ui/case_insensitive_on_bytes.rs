// `case_insensitive` on a `Vec<u8>` column: bytes have no case to ignore.
use rom::prelude::*;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = things)]
pub struct Thing {
    #[rom(primary_key)]
    pub id: Option<u64>,
    #[rom(index(eq, case_insensitive))]
    pub data: Vec<u8>,
}

fn main() {}
