// `partition(by = ...)` on a member of a group that is not partitioned.
use rom::prelude::*;

rom::group!(pub Shop = "shop");

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = orders, group = Shop, partition(by = id))]
pub struct Order {
    #[rom(primary_key)]
    pub id: Option<u64>,
}

fn main() {}
