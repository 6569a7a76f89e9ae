// `touch` on a model whose rows do not expire.
use rom::prelude::*;
use std::time::Duration;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = users)]
pub struct User {
    #[rom(primary_key)]
    pub id: Option<u64>,
}

fn main() -> rom::Result<()> {
    let server = rom::testing::RedisServer::start().expect("server");
    let mut conn = server.connection().expect("connect");
    User::touch(&mut conn, &1, Duration::from_secs(60))?;
    Ok(())
}
