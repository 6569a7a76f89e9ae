// `load_child` (has_one) through a column that is not unique: use load_children.
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
    pub author: u64,
}

fn main() -> rom::Result<()> {
    let server = rom::testing::RedisServer::start().expect("server");
    let mut conn = server.connection().expect("connect");
    users::table.load_child(&mut conn, posts::author)?;
    Ok(())
}
