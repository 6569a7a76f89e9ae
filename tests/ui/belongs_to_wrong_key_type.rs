// a reference whose type is not the parent's key type.
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
    #[rom(belongs_to(User, on_delete = no_action))]
    pub author: String,
}

fn main() {}
