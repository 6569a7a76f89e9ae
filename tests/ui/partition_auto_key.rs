// an auto-increment key on a partitioned model (its counter is in one slot).
use rom::prelude::*;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = accounts, partition(by = id, buckets = 8))]
pub struct Account {
    #[rom(primary_key)]
    pub id: Option<u64>,
    pub tenant: String,
}

fn main() {}
