// no primary key.
use rom::prelude::*;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = things)]
pub struct Thing {
    pub name: String,
}

fn main() {}
