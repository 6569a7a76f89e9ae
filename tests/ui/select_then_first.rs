// a terminal a selection does not have: `first` after `select`.
use rom::prelude::*;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = users)]
pub struct User {
    #[rom(primary_key)]
    pub id: Option<u64>,
    #[rom(unique)]
    pub email: String,
    #[rom(index(numeric))]
    pub age: i32,
}

fn oldest(conn: &mut redis::Connection) -> rom::Result<(String, i32)> {
    users::table
        .order_by(users::age.desc())
        .select((users::email, users::age))
        .first(conn)
}

fn main() {
    let _ = oldest;
}
