// one bucket is no partition; more than 1024 are refused.
use rom::prelude::*;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = accounts, partition(by = id, buckets = 1))]
pub struct Account {
    #[rom(primary_key)]
    pub id: u64,
    pub tenant: String,
}

fn main() {}
