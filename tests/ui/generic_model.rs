// a generic model.
use rom::prelude::*;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = things)]
pub struct Thing<T> {
    #[rom(primary_key)]
    pub id: Option<u64>,
    pub value: T,
}

fn main() {}
