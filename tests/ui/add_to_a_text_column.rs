// an increment of a column that is not an integer.
use rom::prelude::*;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = users)]
pub struct User {
    #[rom(primary_key)]
    pub id: Option<u64>,
    pub name: String,
}

fn main() -> rom::Result<()> {
    let server = rom::testing::RedisServer::start().expect("server");
    let mut conn = server.connection().expect("connect");
    User::increment(&mut conn, 1u64, users::name.add(1))?;
    Ok(())
}
