// a query written without `use rom::prelude::*`.
use rom::Model;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = users)]
pub struct User {
    #[rom(primary_key)]
    pub id: Option<u64>,
    #[rom(unique)]
    pub email: String,
}

fn main() {
    let _query = users::email.eq("a@example.com");
}
