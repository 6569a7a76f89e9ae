// a unique column on a partitioned model: its owner could be in any bucket.
use rom::prelude::*;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = accounts, partition(by = id, buckets = 8))]
pub struct Account {
    #[rom(primary_key)]
    pub id: u64,
    #[rom(unique)]
    pub email: String,
}

fn main() {}
