// a member of a partitioned group that does not say by which column.
use rom::prelude::*;

rom::group!(pub Shop = "shop", partitions = 16);

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = orders, group = Shop)]
pub struct Order {
    #[rom(primary_key)]
    pub id: Option<u64>,
}

fn main() {}
