// a partition column without an exact equality index.
use rom::prelude::*;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = accounts, partition(by = tenant, buckets = 8))]
pub struct Account {
    #[rom(primary_key)]
    pub id: Option<u64>,
    pub tenant: String,
}

fn main() {}
