// `buckets` on a member of a group: the group declares them.
use rom::prelude::*;

rom::group!(pub Shop = "shop", partitions = 16);

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = orders, group = Shop, partition(by = id, buckets = 8))]
pub struct Order {
    #[rom(primary_key)]
    pub id: Option<u64>,
}

fn main() {}
