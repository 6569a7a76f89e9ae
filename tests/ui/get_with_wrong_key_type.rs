// a row looked up with a string where the key is a `u64`.
use rom::prelude::*;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = users)]
pub struct User {
    #[rom(primary_key)]
    pub id: Option<u64>,
    pub name: String,
}

fn first_user(conn: &mut redis::Connection) -> rom::Result<Option<Record<User>>> {
    User::get(conn, "one")
}

fn main() {
    let _ = first_user;
}
