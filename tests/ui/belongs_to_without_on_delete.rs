// a reference without its on_delete rule.
use rom::prelude::*;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = users)]
pub struct User {
    #[rom(primary_key)]
    pub id: Option<u64>,
}

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = posts)]
pub struct Post {
    #[rom(primary_key)]
    pub id: Option<u64>,
    #[rom(belongs_to(User))]
    pub author: u64,
}

fn main() {}
