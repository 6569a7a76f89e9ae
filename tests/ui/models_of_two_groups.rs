// an operation that needs co-located models, given models of two groups.
use rom::placement::{Group, InGroup};
use rom::prelude::*;

rom::group!(pub Shop = "shop");
rom::group!(pub Blog = "blog");

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = orders, group = Shop)]
pub struct Order {
    #[rom(primary_key)]
    pub id: Option<u64>,
}

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = posts, group = Blog)]
pub struct Post {
    #[rom(primary_key)]
    pub id: Option<u64>,
}

fn co_located<A: InGroup<G>, B: InGroup<G>, G: Group>() {}

fn main() {
    co_located::<Order, Post, Shop>();
}
