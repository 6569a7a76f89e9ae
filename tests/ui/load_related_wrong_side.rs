// `load_related` with a relation of another model: `parent(posts::author)`
// names a post's author, not something of a user.
use rom::prelude::*;
use rom::relations::parent;

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
    pub author: u64,
}

fn main() -> rom::Result<()> {
    let server = rom::testing::RedisServer::start().expect("server");
    let mut conn = server.connection().expect("connect");
    users::table.load_related(&mut conn, (parent(posts::author),))?;
    Ok(())
}
