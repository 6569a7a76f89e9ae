// a filter by a parent record of the wrong model.
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
    #[rom(belongs_to(User, on_delete = no_action))]
    pub author: u64,
}

fn mine(post: &Record<Post>) -> rom::Query<Post> {
    posts::table.filter(posts::author.references(post))
}

fn main() {
    let _ = mine;
}
