// a `pattern` rule that is not a regular expression.
use rom::prelude::*;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = users)]
pub struct User {
    #[rom(primary_key)]
    pub id: Option<u64>,
    #[rom(pattern = "[a-z")]
    pub name: String,
}

fn main() {}
