// an on_delete rule between models that do not share a placement.
use rom::prelude::*;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = users, has_many(posts::author))]
pub struct User {
    #[rom(primary_key)]
    pub id: Option<u64>,
}

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = posts)]
pub struct Post {
    #[rom(primary_key)]
    pub id: Option<u64>,
    #[rom(belongs_to(User, on_delete = cascade))]
    pub author: u64,
}

fn main() {}
