// an on_delete rule whose parent does not list the column in `has_many`.
use rom::prelude::*;

rom::group!(pub Blog = "blog");

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = users, group = Blog)]
pub struct User {
    #[rom(primary_key)]
    pub id: Option<u64>,
}

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = posts, group = Blog)]
pub struct Post {
    #[rom(primary_key)]
    pub id: Option<u64>,
    #[rom(belongs_to(User, on_delete = cascade))]
    pub author: u64,
}

fn main() {}
