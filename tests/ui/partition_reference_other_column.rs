// in a partitioned group, a reference that is not the partition column:
// its parent could be in another partition.
use rom::prelude::*;

rom::group!(pub Shop = "shop", partitions = 16);

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = customers, group = Shop, partition(by = id))]
pub struct Customer {
    #[rom(primary_key)]
    pub id: Option<u64>,
}

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = orders, group = Shop, partition(by = store))]
pub struct Order {
    #[rom(primary_key)]
    pub id: Option<u64>,
    #[rom(index(eq))]
    pub store: u64,
    #[rom(belongs_to(Customer, on_delete = cascade))]
    pub customer: u64,
}

fn main() {}
