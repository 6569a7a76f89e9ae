// a synchronous terminal (`load`) given an asynchronous connection.
use rom::prelude::*;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = users)]
pub struct User {
    #[rom(primary_key)]
    pub id: Option<u64>,
    #[rom(index(eq))]
    pub name: String,
}

fn all_users(conn: &mut redis::aio::ConnectionManager) -> rom::Result<Vec<Record<User>>> {
    users::table.load(conn)
}

fn main() {
    let _ = all_users;
}
