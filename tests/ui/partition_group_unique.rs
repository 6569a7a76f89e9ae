// a unique column in a partitioned group that is not the partition column:
// claims across partitions are not made inside a group's transactions.
use rom::prelude::*;

rom::group!(pub Shop = "shop", partitions = 16);

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = customers, group = Shop, partition(by = id))]
pub struct Customer {
    #[rom(primary_key)]
    pub id: Option<u64>,
    #[rom(unique)]
    pub email: String,
}

fn main() {}
