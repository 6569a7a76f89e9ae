// an `_async` terminal (`load_async`) given a synchronous connection.
use rom::prelude::*;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = users)]
pub struct User {
    #[rom(primary_key)]
    pub id: Option<u64>,
    #[rom(index(eq))]
    pub name: String,
}

async fn all_users(conn: &mut redis::Connection) -> rom::Result<Vec<Record<User>>> {
    users::table.load_async(conn).await
}

fn main() {
    let _ = all_users;
}
