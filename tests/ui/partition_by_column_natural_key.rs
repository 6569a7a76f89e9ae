// a model partitioned by a column with a natural key: rom must pick keys.
use rom::prelude::*;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = accounts, partition(by = tenant, buckets = 8))]
pub struct Account {
    #[rom(primary_key)]
    pub id: u64,
    #[rom(index(eq))]
    pub tenant: String,
}

fn main() {}
