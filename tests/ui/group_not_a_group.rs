// `group = ...` naming a type that was not declared with `rom::group!`.
use rom::prelude::*;

pub struct Shop;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = orders, group = Shop)]
pub struct Order {
    #[rom(primary_key)]
    pub id: Option<u64>,
}

fn main() {}
