// a default time to live without a unit.
use rom::prelude::*;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = sessions, expires(ttl = "30"))]
pub struct Session {
    #[rom(primary_key)]
    pub token: String,
}

fn main() {}
