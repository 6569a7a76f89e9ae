// a string compared with an `i32` column.
use rom::prelude::*;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = users)]
pub struct User {
    #[rom(primary_key)]
    pub id: Option<u64>,
    #[rom(unique)]
    pub email: String,
    #[rom(index(eq))]
    pub name: Option<String>,
    #[rom(index(eq))]
    pub level: i32,
    #[rom(index(numeric))]
    pub age: i32,
    pub visits: i64,
    pub bio: Option<String>,
}

fn main() {
    let _query = users::table.filter(users::age.eq("30"));
}
