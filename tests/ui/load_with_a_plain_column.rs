// preloading through a column that references nothing.
use rom::prelude::*;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = posts)]
pub struct Post {
    #[rom(primary_key)]
    pub id: Option<u64>,
    #[rom(index(numeric))]
    pub likes: i64,
}

fn main() -> rom::Result<()> {
    let server = rom::testing::RedisServer::start().expect("server");
    let mut conn = server.connection().expect("connect");
    posts::table.load_with(&mut conn, posts::likes)?;
    Ok(())
}
